/** `meshload merge`: results of generators that ran side by side (Kubernetes Jobs, several
 * laptops) become one, exactly (histograms bucket by bucket, counters and sidecar stat deltas
 * added), and a scenario's checks are evaluated again on the whole. Inputs are `meshload load
 * -json` files (Fortio's shape with a `Meshload` object) or `meshload run` result.json files, all
 * of one kind. Pure. */
import type { LoadResult } from '../model/load-result';
import { mergeResults, partSpans } from '../metrics/merge-results';
import { evaluateExpectation, parseExpectation } from '../checks';
import { phaseVerdict, scenarioVerdict, SKIPPED_ON_SHARD, type Shard } from '../scenario/run-scenario';
import type { PhaseResult, ScenarioResult } from '../scenario/scenario-result';
import { mergeSidecarReports } from '../stats/merge-sidecar-reports';
import { formatDuration } from '../util/duration';
import { usageError } from '../util/errors';
import { toFortioJson, type FortioJsonResult } from './fortio/json';

export interface ResultFile {
  file: string;
  data: unknown;
}

/** `notes`: lines for the user about the merge itself (parts that did not run at the same time). */
export type Merged =
  | { kind: 'load'; result: LoadResult; json: FortioJsonResult; notes: string[] }
  /** `shards`: how many shards of a sharded run (`run --shard`) were merged; undefined otherwise. */
  | { kind: 'scenario'; result: ScenarioResult; shards: number | undefined; notes: string[] };

export function mergeFiles(files: readonly ResultFile[]): Merged {
  const needTwo = (): Error => usageError('merge needs at least two result files', 'give the JSON of every generator: meshload merge a.json b.json -o merged.json');
  if (files.length === 0) throw needTwo();
  const kinds = files.map(kindOf);
  const first = kinds[0] as 'load' | 'scenario';
  const other = kinds.findIndex((k) => k !== first);
  if (other >= 0) {
    throw usageError(`${files[other]?.file ?? ''} is a ${kinds[other] ?? ''} result but ${files[0]?.file ?? ''} is a ${first} result`, 'merge results of one kind: all from meshload load -json, or all result.json of meshload run');
  }
  if (first === 'scenario') {
    const parts = files.map((f) => ({ file: f.file, result: f.data as ScenarioResult }));
    const shards = everyShardOnce(parts);
    // The one shard of a sharded run (a Job of parallelism 1) is the whole run.
    if (shards === undefined && files.length < 2) throw needTwo();
    const ordered = shards ?? parts;
    const notes = (ordered[0]?.result.phases ?? []).flatMap((phase, index) => {
      const loads = ordered.flatMap((p) => {
        const load = p.result.phases[index]?.load;
        return load === undefined ? [] : [{ file: p.file, load }];
      });
      const note = notTogetherNote(loads);
      return note === undefined ? [] : [`phase ${phase.name}: ${note}`];
    });
    return { kind: 'scenario', result: mergeScenarios(ordered), shards: shards?.length, notes };
  }
  if (files.length < 2) throw needTwo();
  const loads = files.map((f) => ({ file: f.file, load: (f.data as { Meshload: LoadResult }).Meshload }));
  const result = mergeLoads(loads);
  const note = notTogetherNote(loads);
  return { kind: 'load', result, json: toFortioJson(result), notes: note === undefined ? [] : [note] };
}

/** Below this share of the time any part ran, the parts did not run side by side: the sum of
 * their rates was never asked for at once, and a lower merged rate is no generator falling behind. */
const TOGETHER_SHARE = 0.9;
const PARTS_NAMED = 4;

/** One line when the parts did not run at the same time; undefined when they did. */
export function notTogetherNote(parts: ReadonlyArray<{ file: string; load: Pick<LoadResult, 'startTime' | 'durationMs'> }>): string | undefined {
  if (parts.length < 2) return undefined;
  const { togetherMs, anyMs } = partSpans(parts.map((p) => p.load));
  if (anyMs <= 0 || togetherMs >= anyMs * TOGETHER_SHARE) return undefined;
  // Times re-printed from the parsed value: a file's startTime text is not echoed to a terminal.
  const named = parts.slice(0, PARTS_NAMED).map((p) => `${p.file} from ${new Date(Date.parse(p.load.startTime)).toISOString()} for ${formatDuration(p.load.durationMs)}`);
  if (parts.length > PARTS_NAMED) named.push(`${parts.length - PARTS_NAMED} more`);
  return (
    `the parts did not run at the same time: all of them together for ${formatDuration(togetherMs)} of the ${formatDuration(anyMs)} any of them ran ` +
    `(${named.join('; ')}); calls/s is over those ${formatDuration(anyMs)}, not the rate they would make side by side`
  );
}

type Part = { file: string; result: ScenarioResult };

/** Results of a sharded run (`run --shard I/N`, the pods of `meshload k8s job`) merge only when
 * every shard 0..N-1 is there exactly once: a missing one would make the whole describe less load
 * than the scenario's, a duplicate more. Returns the parts in shard order, or undefined when none
 * is a shard's (side-by-side generators, merged as they are). */
export function everyShardOnce(parts: readonly Part[]): Part[] | undefined {
  const shardOf = (part: Part): Shard | undefined => {
    const shard = part.result.shard as unknown;
    if (shard === undefined) return undefined;
    const { index, count } = (shard ?? {}) as Partial<Shard>;
    if (!Number.isInteger(index) || !Number.isInteger(count) || (index as number) < 0 || (index as number) >= (count as number)) {
      throw usageError(`${part.file} has a malformed shard ${JSON.stringify(shard)}`, 'give results written by meshload run --shard I/N');
    }
    return { index: index as number, count: count as number };
  };
  const shards = parts.map(shardOf);
  const sharded = shards.findIndex((s) => s !== undefined);
  if (sharded === -1) return undefined;
  const ref = shards[sharded] as Shard;
  const refFile = (parts[sharded] as Part).file;
  const plain = shards.findIndex((s) => s === undefined);
  if (plain !== -1) {
    throw usageError(`${(parts[plain] as Part).file} is a whole run but ${refFile} is shard ${ref.index}/${ref.count} of one`, 'merge the shards of one sharded run, and nothing else');
  }
  const other = shards.findIndex((s) => (s as Shard).count !== ref.count);
  if (other !== -1) {
    const s = shards[other] as Shard;
    throw usageError(`${(parts[other] as Part).file} is shard ${s.index}/${s.count} but ${refFile} is shard ${ref.index}/${ref.count}`, 'merge the shards of one sharded run, and nothing else');
  }
  const byIndex = new Map<number, string[]>();
  shards.forEach((s, i) => byIndex.set((s as Shard).index, [...(byIndex.get((s as Shard).index) ?? []), (parts[i] as Part).file]));
  const missing = Array.from({ length: ref.count }, (_, i) => i).filter((i) => !byIndex.has(i));
  const twice = [...byIndex].filter(([, files]) => files.length > 1);
  if (missing.length > 0 || twice.length > 0) {
    const problems = [
      ...(missing.length > 0 ? [`shard${missing.length === 1 ? '' : 's'} ${missing.join(', ')} of ${ref.count} missing`] : []),
      ...twice.map(([index, files]) => `shard ${index} given ${files.length} times (${files.join(', ')})`),
    ];
    throw usageError(
      `${problems.join('; ')}: the merged result would not be the scenario's load`,
      missing.length > 0
        ? "give every shard's result: fetch whole logs with 'kubectl logs -l job-name=NAME -c meshload --tail=-1' once the Job completed; a pod that failed left no result, so run the Job again"
        : 'give each shard once (the same logs or files twice?)',
    );
  }
  return shards.map((s, i) => ({ s: s as Shard, part: parts[i] as Part })).sort((a, b) => a.s.index - b.s.index).map((x) => x.part);
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

/** The loads merged, with their sidecar reports merged on the whole (each generator's came from
 * its own sidecar: deltas add, see merge-sidecar-reports.ts). */
function mergeLoads(parts: ReadonlyArray<{ file: string; load: LoadResult }>): LoadResult {
  const { sidecar: _first, ...merged } = mergeResults(parts.map((p) => p.load));
  const sidecar = mergeSidecarReports(parts.map((p) => ({ file: p.file, report: p.load.sidecar })), merged);
  return sidecar === undefined ? merged : { ...merged, sidecar };
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
    const loads = own.flatMap((p, i) => (p.load === undefined ? [] : [{ file: (parts[i] as Part).file, load: p.load }]));
    const load = loads.length === 0 ? undefined : mergeLoads(loads);
    // Shards 1..N-1 record the steps only shard 0 ran: the whole ran them once.
    const steps = own.flatMap((p) => p.steps).filter((s) => !s.description.startsWith(SKIPPED_ON_SHARD));
    // The scenario's own checks, again on the whole; baseline checks belong to one run.
    const checks = (head.result.phases[index] as PhaseResult).checks
      .filter((c) => !c.path.endsWith('.baseline'))
      .map((c) =>
        load === undefined
          ? { ...c, observed: undefined, observedValue: undefined, verdict: 'no_data' as const, reason: 'no part of this phase ran its load' }
          : evaluateExpectation(parseExpectation(c.expression), load, c.path, c.expression),
      );
    // The whole phase started when its earliest part did.
    const startedAt = own.map((p) => p.startedAt).filter((t): t is string => t !== undefined).sort()[0];
    return { name, ...(startedAt !== undefined ? { startedAt } : {}), steps, load, checks, verdict: phaseVerdict(steps, checks) };
  });
  const always = parts.flatMap((p) => p.result.always).filter((s) => !s.description.startsWith(SKIPPED_ON_SHARD));
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
