/** `meshload run`'s implementation, loaded when a run starts (see run.ts). */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resultLine } from '../../k8s/result-line';
import { startAtOf, parseShard } from '../../k8s/sharding';
import { toFortioJson } from '../../report/fortio/json';
import { renderReportHtml } from '../../report/html/render-report';
import { renderJunit } from '../../report/scenario/junit';
import { readResult } from '../../report/read-result';
import { renderScenarioMarkdown } from '../../report/scenario/markdown';
import { checkLine, checksTable, phaseFooter, phaseHeader, stepLine, verdictLine } from '../../report/scenario/text';
import { PLAIN, screenFor, type Screen } from '../../report/screen';
import { withBaseline } from '../../scenario/baseline';
import { checkExpectation } from '../../checks';
import { runScenario, shardProblems } from '../../scenario/run-scenario';
import { baselineReference, type ScenarioResult } from '../../scenario/scenario-result';
import { loadScenario, ScenarioError } from '../../scenario/load-scenario';
import { MeshloadError, usageError } from '../../util/errors';
import { parsePercentage } from '../../util/percent';
import type { CommandContext } from '../command-context';
import { EXIT, type ExitCode } from '../exit-codes';
import { startProgress } from '../progress-line';
import { readScenarioFile } from '../scenario-file';

export interface RunFlags {
  reportDir: string;
  report: boolean;
  baseline?: string;
  tolerance: string;
  /** `I/N`: run shard I of N generators running the scenario side by side (Job pods). */
  shard?: string;
  /** ISO 8601 time to start the first phase at. */
  startAt?: string;
  /** -v: the sidecar block lists every stat, not only what moved and what checks read. */
  verbose?: boolean;
}

export async function runAction(file: string, flags: RunFlags, ctx: CommandContext): Promise<void> {
  const result = await runScenarioText(readScenarioFile(file), file, flags, ctx, undefined, ctx.io.env);
  // Last, after every stderr line: in `kubectl logs` nothing can then land inside it.
  if (result?.shard !== undefined) ctx.io.stdout.write(resultLine(result));
}

/** Validates and runs a scenario given as text, prints as it goes, writes the reports and sets
 * the exit code; `meshload verify` runs its derived plan through here too. `epilogue` adds
 * lines (to the terminal and summary.txt, rendered for each screen) before the final verdict;
 * `variables` fill the text's `${VAR}` references (none for a derived plan). Returns undefined
 * when the scenario is invalid (reported, exit 2). */
export async function runScenarioText(
  text: string,
  file: string,
  flags: RunFlags,
  ctx: CommandContext,
  epilogue?: (result: ScenarioResult, screen: Screen) => string,
  variables?: Record<string, string | undefined>,
): Promise<ScenarioResult | undefined> {
  const shard = flags.shard === undefined ? undefined : parseShard(flags.shard);
  const startAt = flags.startAt === undefined ? undefined : startAtOf(flags.startAt, Date.now());
  let scenario;
  try {
    scenario = loadScenario(text, file, { checkExpression: checkExpectation, ...(variables !== undefined ? { env: variables } : {}) });
    const unsplittable = shard === undefined ? [] : shardProblems(scenario, shard.count);
    if (unsplittable.length > 0) throw new ScenarioError(file, unsplittable);
  } catch (error) {
    if (!(error instanceof ScenarioError)) throw error;
    // Every problem at once, one per line: fixing a file one error per run wastes CI runs.
    ctx.io.stderr.write(`meshload: ${error.report()}\n`);
    ctx.exitCode = EXIT.USAGE;
    return undefined;
  }
  const baseline = flags.baseline === undefined ? undefined : readBaseline(flags.baseline);
  const tolerance = parseTolerance(flags.tolerance);
  // summary.txt is what was printed, rendered again on the PLAIN screen: a file never holds
  // colour codes, whatever the terminal was.
  const screen = screenFor(ctx.io.stderr, ctx.io.env);
  let printed = '';
  const say = (text: string | ((screen: Screen) => string)): void => {
    const plain = typeof text === 'string' ? text : text(PLAIN);
    printed += plain;
    ctx.io.stderr.write(typeof text === 'string' || !screen.color ? plain : text(screen));
  };
  const tty = ctx.io.stderr.isTTY === true;
  let ticker: { stop(): void } | undefined;
  if (startAt !== undefined && startAt.lateMs > 0) say(`--start-at ${flags.startAt ?? ''} passed ${startAt.lateMs} ms ago: starting now\n`);
  // From here a second signal cuts the cleanup short and the partial report is still written.
  if (ctx.io.hurry !== undefined) ctx.io.hurry.handled = true;
  let result = await runScenario(scenario, file, ctx.io.signal, {
    phaseStarted: (index, phase) => say((s) => phaseHeader(index, scenario.phases.length, phase, s)),
    stepDone: (step) => say((s) => stepLine(step, s)),
    phaseDone: (phase) => say((s) => phaseFooter(phase, { ...s, verbose: flags.verbose === true })),
    // The live line is for people watching, not for summary.txt.
    loadStarted: (progress) => {
      if (tty) ticker = startProgress(progress, ctx.io.stderr);
    },
    loadDone: () => {
      ticker?.stop();
      ticker = undefined;
    },
    waiting: (untilMs) => say(`waiting until ${new Date(untilMs).toISOString()} (--start-at, in ${((untilMs - Date.now()) / 1000).toFixed(1)}s)\n`),
  }, { shard, startAtMs: startAt?.atMs, env: ctx.io.env, hurry: ctx.io.hurry?.signal });
  if (baseline !== undefined) {
    // Kept in result.json: report.html (now, and from `meshload report`) draws it beside this run.
    result = { ...withBaseline(result, baseline, tolerance), baseline: baselineReference(baseline, flags.baseline ?? '') };
    say(`== against the baseline ${flags.baseline ?? ''} (tolerance ${flags.tolerance})\n`);
    for (const phase of result.phases) for (const check of phase.checks.filter((c) => c.path.endsWith('.baseline'))) say((s) => `  ${phase.name}:${checkLine(check, s)}`);
  }
  if (tty) say((s) => checksTable(result, s));
  if (epilogue !== undefined) say((s) => epilogue(result, s));
  say((s) => verdictLine(result, s));
  if (shard !== undefined) say(`shard ${shard.index}/${shard.count}: this part ran its share of each load, so its checks do not gate (a shard that ran exits 0); 'meshload merge' of every shard's result evaluates them on the whole\n`);
  if (flags.report) writeReports(result, printed, flags.reportDir, ctx);
  ctx.exitCode = exitCodeOf(result);
  return result;
}

/** The baseline is read and checked as `compare` reads a result: bounded, its shape checked. */
function readBaseline(path: string): ScenarioResult {
  const hint = "give the result.json of an earlier 'meshload run'";
  let read;
  try {
    read = readResult(path);
  } catch (error) {
    if (error instanceof MeshloadError) throw usageError(`cannot read the baseline ${path}: ${error.message}`, hint);
    throw error;
  }
  if (read.kind !== 'scenario' && read.kind !== 'run-dir') throw usageError(`${path} is not a meshload run result (no phases)`, hint);
  return read.result;
}

function parseTolerance(text: string): number {
  const tolerance = parsePercentage(text);
  if (tolerance === undefined) throw usageError(`--tolerance '${text}' is not a percentage`, 'use e.g. 10%');
  return tolerance;
}

export function exitCodeOf(result: ScenarioResult): ExitCode {
  if (result.interrupted) return EXIT.INTERRUPTED;
  // A shard's checks saw 1/N of the load; a failing pod would also fail the Job before merge.
  if (result.shard !== undefined) return EXIT.OK;
  if (result.verdict === 'pass') return EXIT.OK;
  if (result.verdict === 'inconclusive') return EXIT.INCONCLUSIVE;
  return EXIT.FAILED;
}

function slugOf(name: string): string {
  return name.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_|_$/g, '').slice(0, 60);
}

/** reports/<timestamp>_<name>/: result.json, summary.txt, junit.xml, summary.md, report.html, and phases/NN-<phase>/fortio.json. */
function writeReports(result: ScenarioResult, printed: string, reportDir: string, ctx: CommandContext): void {
  const stamp = result.startTime.replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const dir = join(reportDir, `${stamp}_${slugOf(result.name)}`);
  const markdown = renderScenarioMarkdown(result);
  // The page is a convenience: a renderer bug must not cost the result files, so it only warns.
  let html: string | undefined;
  try {
    html = renderReportHtml(result, { source: join(dir, 'result.json') });
  } catch (error) {
    ctx.io.stderr.write(`meshload: report.html not written: ${(error as Error).message}\n`);
  }
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'result.json'), JSON.stringify(result, null, 2) + '\n');
    writeFileSync(join(dir, 'summary.txt'), printed);
    writeFileSync(join(dir, 'junit.xml'), renderJunit(result));
    writeFileSync(join(dir, 'summary.md'), markdown);
    if (html !== undefined) writeFileSync(join(dir, 'report.html'), html);
    // Fortio's result shape per phase: Fortio's UI, `fortio report` and existing scripts read it.
    result.phases.forEach((phase, index) => {
      if (phase.load === undefined) return;
      const phaseDir = join(dir, 'phases', `${String(index + 1).padStart(2, '0')}-${slugOf(phase.name)}`);
      mkdirSync(phaseDir, { recursive: true });
      writeFileSync(join(phaseDir, 'fortio.json'), JSON.stringify(toFortioJson(phase.load), null, 2) + '\n');
    });
    const github = ctx.io.env.GITHUB_STEP_SUMMARY;
    if (github !== undefined && github !== '') appendFileSync(github, markdown);
  } catch (error) {
    throw new MeshloadError('E_OUTPUT', `cannot write the report to ${dir}: ${(error as Error).message}`, 'check --report-dir, or pass --no-report');
  }
  ctx.io.stderr.write(`report: ${dir}\n`);
}
