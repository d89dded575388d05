/** `meshload merge`: results of generators that ran side by side (Kubernetes Jobs, several
 * laptops) become one, exactly (histograms bucket by bucket, counters added), and a scenario's
 * checks are evaluated again on the whole. Inputs are `meshload load -json` files (Fortio's
 * shape with a `Meshload` object) or `meshload run` result.json files, all of one kind. Pure. */
import type { LoadResult } from '../engine/load-result';
import { mergeResults } from '../metrics/merge-results';
import { evaluateExpectation, parseExpectation } from '../scenario/expectation';
import { phaseVerdict, scenarioVerdict } from '../scenario/run-scenario';
import type { PhaseResult, ScenarioResult } from '../scenario/scenario-result';
import { usageError } from '../util/errors';
import { toFortioJson, type FortioJsonResult } from './fortio-json';

export interface ResultFile {
  file: string;
  data: unknown;
}

export type Merged = { kind: 'load'; result: LoadResult; json: FortioJsonResult } | { kind: 'scenario'; result: ScenarioResult };

export function mergeFiles(files: readonly ResultFile[]): Merged {
  if (files.length < 2) throw usageError('merge needs at least two result files', 'give the JSON of every generator: meshload merge a.json b.json -o merged.json');
  const kinds = files.map(kindOf);
  const first = kinds[0] as 'load' | 'scenario';
  const other = kinds.findIndex((k) => k !== first);
  if (other >= 0) {
    throw usageError(`${files[other]?.file ?? ''} is a ${kinds[other] ?? ''} result but ${files[0]?.file ?? ''} is a ${first} result`, 'merge results of one kind: all from meshload load -json, or all result.json of meshload run');
  }
  if (first === 'load') {
    const result = withoutSidecars(mergeResults(files.map((f) => (f.data as { Meshload: LoadResult }).Meshload)), files.length);
    return { kind: 'load', result, json: toFortioJson(result) };
  }
  return { kind: 'scenario', result: mergeScenarios(files.map((f) => ({ file: f.file, result: f.data as ScenarioResult }))) };
}

function kindOf(file: ResultFile): 'load' | 'scenario' {
  const data = file.data as Record<string, unknown> | null;
  if (data !== null && typeof data === 'object') {
    const meshload = data['Meshload'] as Record<string, unknown> | undefined;
    if (meshload !== undefined && typeof meshload === 'object' && typeof meshload['latency'] === 'object') return 'load';
    if (Array.isArray(data['phases'])) return 'scenario';
    if (data['DurationHistogram'] !== undefined) {
      throw usageError(`${file.file} is a Fortio result without meshload's histograms`, "Fortio's JSON keeps only buckets, which cannot merge exactly: run the generators with meshload load -json");
    }
  }
  throw usageError(`${file.file} is not a meshload result`, 'give files written by meshload load -json or meshload run (result.json)');
}

/** Each generator's proxy stats came from its own sidecar; summing reports of different proxies
 * is not done yet, so the merged result says so instead of showing one pod's stats as all. */
function withoutSidecars(result: LoadResult, parts: number): LoadResult {
  if (result.sidecar === undefined) return result;
  return {
    ...result,
    sidecar: {
      ...result.sidecar,
      clusters: [],
      total: undefined,
      agreement: [],
      diagnostics: [],
      unavailable: `the ${parts} generators' proxy stats are per generator and are not merged: read each part's`,
    },
  };
}

function mergeScenarios(parts: ReadonlyArray<{ file: string; result: ScenarioResult }>): ScenarioResult {
  const [head] = parts;
  if (head === undefined) throw new Error('mergeScenarios needs parts');
  const names = head.result.phases.map((p) => p.name);
  for (const part of parts) {
    if (part.result.name !== head.result.name) {
      throw usageError(`${part.file} is a run of '${part.result.name}', ${head.file} of '${head.result.name}'`, 'merge the parts of one scenario run');
    }
    const theirs = part.result.phases.map((p) => p.name);
    if (theirs.join('\n') !== names.join('\n')) {
      throw usageError(`${part.file} ran phases ${theirs.join(', ')}; ${head.file} ran ${names.join(', ')}`, 'merge parts that ran the same phases (a part that stopped early cannot be merged phase by phase)');
    }
  }
  const phases: PhaseResult[] = names.map((name, index) => {
    const own = parts.map((p) => p.result.phases[index] as PhaseResult);
    const loads = own.map((p) => p.load).filter((l): l is LoadResult => l !== undefined);
    const load = loads.length === 0 ? undefined : withoutSidecars(mergeResults(loads), loads.length);
    const steps = own.flatMap((p) => p.steps);
    // The scenario's own checks, again on the whole; baseline checks belong to one run.
    const checks = (head.result.phases[index] as PhaseResult).checks
      .filter((c) => !c.path.endsWith('.baseline'))
      .map((c) =>
        load === undefined
          ? { ...c, observed: undefined, observedValue: undefined, verdict: 'no_data' as const, reason: 'no part of this phase ran its load' }
          : evaluateExpectation(parseExpectation(c.expression), load, c.path, c.expression),
      );
    return { name, steps, load, checks, verdict: phaseVerdict(steps, checks) };
  });
  const always = parts.flatMap((p) => p.result.always);
  const starts = parts.map((p) => Date.parse(p.result.startTime));
  const ends = parts.map((p) => Date.parse(p.result.startTime) + p.result.durationMs);
  return {
    name: head.result.name,
    file: head.result.file,
    startTime: new Date(Math.min(...starts)).toISOString(),
    durationMs: Math.max(...ends) - Math.min(...starts),
    phases,
    always,
    verdict: scenarioVerdict(phases, always, false),
    interrupted: parts.some((p) => p.result.interrupted),
  };
}
