/** Any result meshload can show, as a ScenarioResult: a run directory (with result.json), a
 * result.json of `meshload run`, a `meshload load -json` file (its `Meshload` object as a
 * one-phase run without checks), or Fortio's own JSON (imported, approximated: see
 * fortio/import.ts). `resultFromJson` is pure; `readResult` reads the file. */
import { statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { type LoadResult, type StoredLoadResult, upgradeLoadResult } from '../model/load-result';
import { phaseVerdict, scenarioVerdict } from '../scenario/run-scenario';
import type { PhaseResult, ScenarioResult } from '../scenario/scenario-result';
import { Distribution } from '../metrics/distribution';
import type { EncodedDistribution } from '../model/encoded-histograms';
import { usageError } from '../util/errors';
import { readInputFile } from '../util/read-input-file';
import { fromFortioJson, importNote, isFortioImport, isFortioJson } from './fortio/import';

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

/** Far beyond any result (histograms are compressed); a bound so a wrong path is refused at once. */
export const RESULT_SIZE_LIMIT = 64 * 1024 * 1024;

/** A result file's text, bounded: no directory, FIFO, huge or binary file gets further. */
export function readResultText(file: string, hint = HINT): string {
  return readInputFile(file, RESULT_SIZE_LIMIT, 'result', hint);
}

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
  try {
    statSync(file);
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT' && kind === 'run-dir';
    throw usageError(missing ? `${path} has no result.json` : `cannot read ${file}: ${(error as Error).message}`, missing ? 'give a report directory written by meshload run' : 'check the path');
  }
  const text = readResultText(file);
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

/** A single load as a run of one phase named `load`, without checks. Its stored verdict is what
 * phaseVerdict gives a phase without checks (pass), which every report shows as 'no checks'
 * (shownResultVerdict), never PASS; a failed warm-up fails, as it makes `meshload load` exit 1;
 * a run stopped by Ctrl-C is marked interrupted. */
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
    origin: isFortioImport(load) ? 'fortio' : 'load',
  };
}

/** Enough of the shape to render and compare without crashing on someone else's JSON. */
function checkScenario(data: Record<string, unknown>, file: string): ScenarioResult {
  const bad = (what: string): never => {
    throw usageError(`${file} is not a meshload run result: ${what}`, HINT);
  };
  if (typeof data['name'] !== 'string') bad('no name');
  if (!isTime(data['startTime'])) bad('no startTime (an ISO 8601 time)');
  if (!isCount(data['durationMs'])) bad('durationMs is not a number of milliseconds');
  if (typeof data['file'] !== 'string') bad('no file');
  if (typeof data['verdict'] !== 'string') bad('no verdict');
  for (const [i, phase] of (data['phases'] as unknown[]).entries()) {
    if (!isObject(phase)) return bad(`phases[${i}] is not an object`);
    if (typeof phase['name'] !== 'string') bad(`phases[${i}] has no name`);
    if (typeof phase['verdict'] !== 'string') bad(`phases[${i}] has no verdict`);
    if (!Array.isArray(phase['checks']) || !Array.isArray(phase['steps'])) bad(`phases[${i}] has no checks or steps`);
    (phase['checks'] as unknown[]).forEach((check, j) => {
      if (!isObject(check) || typeof check['expression'] !== 'string' || typeof check['path'] !== 'string' || typeof check['verdict'] !== 'string' || typeof check['expected'] !== 'string') {
        bad(`phases[${i}].checks[${j}] is not a check (expression, path, expected, verdict)`);
      }
    });
    checkSteps(phase['steps'] as unknown[], `phases[${i}].steps`, bad);
    if (phase['load'] !== undefined && phase['load'] !== null) checkLoad(phase['load'] as LoadResult, file, `phases[${i}].load`);
  }
  if (!Array.isArray(data['always'])) bad('no always');
  checkSteps(data['always'] as unknown[], 'always', bad);
  const result = data as unknown as ScenarioResult;
  // JSON may say null where the type says undefined (a phase that ran no load).
  // Loads written by an older meshload lack the fields added since.
  return { ...result, phases: result.phases.map((p) => ({ ...p, load: p.load === undefined || p.load === null ? undefined : upgradeLoadResult(p.load) })) };
}

function checkSteps(steps: unknown[], where: string, bad: (what: string) => never): void {
  steps.forEach((step, i) => {
    if (!isObject(step) || typeof step['kind'] !== 'string' || typeof step['description'] !== 'string' || typeof step['ok'] !== 'boolean' || !isCount(step['durationMs'])) {
      bad(`${where}[${i}] is not a step (kind, description, ok, durationMs)`);
    }
  });
}

function checkLoad(load: StoredLoadResult, file: string, where: string): void {
  const encoded = ['latency', 'latencyUncorrected', 'errorLatency', 'headerSizes', 'totalSizes'] as const;
  const ok =
    isObject(load) &&
    isObject(load.plan) &&
    typeof load.plan.labels === 'string' &&
    typeof load.plan.url === 'string' &&
    isObject(load.codes) &&
    Object.values(load.codes).every(isCount) &&
    typeof load.version === 'string' &&
    isTime(load.startTime) &&
    isCount(load.durationMs) &&
    isCount(load.actualQps) &&
    encoded.every((key) => isEncoded(load[key]));
  if (!ok) throw usageError(`${file}: ${where} is not a meshload load result (no encoded histograms)`, HINT);
  // The histograms are decoded by every renderer: one that does not decode is bad input, said here.
  const all: Array<[string, unknown]> = [...encoded.map((key): [string, unknown] => [key, load[key]]), ['scheduleLag', load.scheduleLag], ...Object.entries(isObject(load.latencyByCode) ? load.latencyByCode : {})];
  for (const [name, value] of all) {
    if (value === undefined) continue;
    try {
      if (!isEncoded(value)) throw new Error('not an encoded histogram');
      checkInflatedSize(value.hdr);
      Distribution.decode(value);
    } catch (error) {
      throw usageError(`${file}: ${where}.${name} is not a histogram meshload can read: ${(error as Error).message}`, HINT);
    }
  }
}

/** A real histogram inflates to well under a megabyte; a deflate bomb (200 KB to 200 MB) would
 * exhaust memory inside the decoder, so it is inflated here first with a bound. */
const MAX_HISTOGRAM_BYTES = 16 * 1024 * 1024;

function checkInflatedSize(hdr: string): void {
  // HdrHistogram's compressed form: a 4-byte cookie, a 4-byte length, then zlib data.
  const bytes = Buffer.from(hdr, 'base64');
  if (bytes.length < 8) throw new Error('too short');
  try {
    inflateSync(bytes.subarray(8), { maxOutputLength: MAX_HISTOGRAM_BYTES });
  } catch (error) {
    const tooLarge = (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
    throw new Error(tooLarge ? `inflates to more than ${MAX_HISTOGRAM_BYTES} bytes` : (error as Error).message);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function isTime(value: unknown): value is string {
  return typeof value === 'string' && !Number.isNaN(Date.parse(value));
}

function isEncoded(value: unknown): value is EncodedDistribution {
  return isObject(value) && typeof value['hdr'] === 'string' && ['count', 'sum', 'sumSq', 'min', 'max'].every((key) => typeof value[key] === 'number' && Number.isFinite(value[key]));
}
