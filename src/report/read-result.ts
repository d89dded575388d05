/** Any result meshload can show, as a ScenarioResult: a run directory (with result.json), a
 * result.json of `meshload run`, a `meshload load -json` file (its `Meshload` object as a
 * one-phase run without checks), or Fortio's own JSON (imported, approximated: see
 * fortio-import.ts). `resultFromJson` is pure; `readResult` reads the file. */
import { readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { type LoadResult, type StoredLoadResult, upgradeLoadResult } from '../engine/load-result';
import { phaseVerdict, scenarioVerdict } from '../scenario/run-scenario';
import type { PhaseResult, ScenarioResult } from '../scenario/scenario-result';
import { usageError } from '../util/errors';
import { fromFortioJson, importNote, isFortioJson } from './fortio-import';

/** `run-dir` and `scenario` are `meshload run` output; `load` is `meshload load -json`; `fortio`
 * is Fortio's JSON. */
export type ResultKind = 'run-dir' | 'scenario' | 'load' | 'fortio';

export interface ReadResult {
  /** The path as given. */
  path: string;
  /** The JSON file read (path, or path/result.json for a run directory). */
  file: string;
  kind: ResultKind;
  result: ScenarioResult;
  /** Set when the data is approximated (Fortio's JSON): one line saying how. */
  note: string | undefined;
}

/** The phase name a single load result gets. */
export const LOAD_PHASE_NAME = 'load';

const HINT = 'give a run directory or result.json of meshload run, a meshload load -json file, or a fortio load -json file';

export function readResult(path: string): ReadResult {
  let file = path;
  let kind: ResultKind | undefined;
  try {
    if (statSync(path).isDirectory()) {
      file = join(path, 'result.json');
      kind = 'run-dir';
    }
  } catch (error) {
    throw usageError(`cannot read ${path}: ${(error as Error).message}`, 'check the path');
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT' && kind === 'run-dir';
    throw usageError(missing ? `${path} has no result.json` : `cannot read ${file}: ${(error as Error).message}`, missing ? 'give a report directory written by meshload run' : 'check the path');
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw usageError(`${file} is not JSON: ${(error as Error).message}`, HINT);
  }
  const parsed = resultFromJson(data, file);
  return { path, file, ...parsed, kind: kind ?? parsed.kind };
}

/** Classifies parsed JSON and turns it into a ScenarioResult. */
export function resultFromJson(data: unknown, file: string): { kind: Exclude<ResultKind, 'run-dir'>; result: ScenarioResult; note: string | undefined } {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw usageError(`${file} is not a meshload or Fortio result`, HINT);
  const object = data as Record<string, unknown>;
  if (Array.isArray(object['phases'])) return { kind: 'scenario', result: checkScenario(object, file), note: undefined };
  const meshload = object['Meshload'];
  if (typeof meshload === 'object' && meshload !== null) {
    const load = meshload as StoredLoadResult;
    checkLoad(load, file, 'Meshload');
    return { kind: 'load', result: asScenario(upgradeLoadResult(load), file), note: undefined };
  }
  if (isFortioJson(object)) {
    const load = fromFortioJson(object, file);
    return { kind: 'fortio', result: asScenario(load, file), note: importNote(load) };
  }
  throw usageError(`${file} is not a meshload or Fortio result`, HINT);
}

/** A single load as a run of one phase named `load`, without checks. Its verdict is what
 * phaseVerdict gives a phase without checks (pass), except that a failed warm-up fails, as it
 * makes `meshload load` exit 1; a run stopped by Ctrl-C is marked interrupted. */
export function asScenario(load: LoadResult, file: string): ScenarioResult {
  const warmupFailed = load.stopReason === 'warmup-failed';
  const verdict = warmupFailed ? 'fail' : phaseVerdict([], []);
  const phase: PhaseResult = { name: LOAD_PHASE_NAME, steps: [], load, checks: [], verdict };
  return {
    name: load.plan.labels !== '' ? load.plan.labels : basename(file).replace(/\.json$/i, ''),
    file,
    startTime: load.startTime,
    durationMs: load.durationMs,
    phases: [phase],
    always: [],
    verdict: scenarioVerdict([phase], [], false),
    interrupted: load.stopReason === 'interrupted',
  };
}

/** Enough of the shape to render and compare without crashing on someone else's JSON. */
function checkScenario(data: Record<string, unknown>, file: string): ScenarioResult {
  const bad = (what: string): never => {
    throw usageError(`${file} is not a meshload run result: ${what}`, HINT);
  };
  if (typeof data['name'] !== 'string') bad('no name');
  if (typeof data['startTime'] !== 'string') bad('no startTime');
  for (const [i, phase] of (data['phases'] as unknown[]).entries()) {
    if (typeof phase !== 'object' || phase === null) return bad(`phases[${i}] is not an object`);
    const p = phase as Record<string, unknown>;
    if (typeof p['name'] !== 'string') bad(`phases[${i}] has no name`);
    if (!Array.isArray(p['checks']) || !Array.isArray(p['steps'])) bad(`phases[${i}] has no checks or steps`);
    if (p['load'] !== undefined && p['load'] !== null) checkLoad(p['load'] as LoadResult, file, `phases[${i}].load`);
  }
  if (!Array.isArray(data['always'])) bad('no always');
  const result = data as unknown as ScenarioResult;
  // JSON may say null where the type says undefined (a phase that ran no load).
  // Loads written by an older meshload lack the fields added since.
  return { ...result, phases: result.phases.map((p) => ({ ...p, load: p.load === undefined || p.load === null ? undefined : upgradeLoadResult(p.load) })) };
}

function checkLoad(load: StoredLoadResult, file: string, where: string): void {
  const encoded = ['latency', 'latencyUncorrected', 'errorLatency', 'headerSizes', 'totalSizes'] as const;
  const ok =
    typeof load === 'object' &&
    typeof load.plan === 'object' &&
    load.plan !== null &&
    typeof load.codes === 'object' &&
    typeof load.version === 'string' &&
    encoded.every((key) => typeof load[key] === 'object' && load[key] !== null && typeof load[key].hdr === 'string' && typeof load[key].count === 'number');
  if (!ok) throw usageError(`${file}: ${where} is not a meshload load result (no encoded histograms)`, HINT);
}
