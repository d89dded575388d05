/** `meshload merge`'s implementation, loaded when it runs (see merge.ts). */
import { writeFileSync } from 'node:fs';
import { RESULT_MARKER, resultsFromLogs } from '../../k8s/result-line';
import { renderLoadText } from '../../report/fortio/text';
import { mergeFiles, type ResultFile } from '../../report/merge-files';
import { readResultText, RESULT_SIZE_LIMIT, resultFromJson } from '../../report/read-result';
import { renderSidecarText } from '../../report/sidecar-text';
import { phaseFooter, verdictLine } from '../../report/scenario/text';
import { screenFor } from '../../report/screen';
import { MeshloadError, usageError } from '../../util/errors';
import type { CommandContext } from '../command-context';
import { exitCodeOf } from './run-action';

export interface MergeFlags {
  output?: string;
  fromLogs: string[];
  verbose?: boolean;
}

export async function mergeAction(paths: readonly string[], flags: MergeFlags, ctx: CommandContext): Promise<void> {
  // A lone `-` among the files is the logs on stdin: `kubectl logs ... | meshload merge -`.
  const logs = [...flags.fromLogs, ...paths.filter((p) => p === '-')];
  const jsonPaths = paths.filter((p) => p !== '-');
  if (logs.filter((l) => l === '-').length > 1) throw usageError('stdin (-) is given more than once', 'read the logs from stdin once, or save them to files');
  if (jsonPaths.length < 2 && logs.length === 0) throw usageError('merge needs at least two result files', 'give the JSON of every generator: meshload merge a.json b.json -o merged.json; or the logs of sharded runs: meshload merge --from-logs FILE');
  const files: ResultFile[] = jsonPaths.map((file) => {
    const text = readInput(file);
    try {
      return { file, data: JSON.parse(text) as unknown };
    } catch (error) {
      throw usageError(`${file} is not JSON: ${(error as Error).message}`, 'give files written by meshload load -json or meshload run, or logs with --from-logs');
    }
  });
  for (const log of logs) files.push(...fromLogs(log === '-' ? 'stdin' : log, log === '-' ? await readStdin() : readInput(log)));
  // The shape checked first, as compare and report check it: someone else's JSON is bad input
  // with its path, not a crash somewhere in the merge.
  for (const file of files) if (!isFortioOnly(file.data)) resultFromJson(file.data, file.file);
  const merged = mergeFiles(files);
  const out = merged.kind === 'load' ? merged.json : merged.result;
  const json = JSON.stringify(out, null, 2) + '\n';
  if (flags.output === undefined) {
    ctx.io.stdout.write(json);
  } else {
    try {
      writeFileSync(flags.output, json);
    } catch (error) {
      throw new MeshloadError('E_OUTPUT', `cannot write ${flags.output}: ${(error as Error).message}`, 'check the path and permissions');
    }
  }
  const stderr = ctx.io.stderr;
  const screen = screenFor(stderr, ctx.io.env, flags.verbose === true);
  stderr.write(merged.kind === 'scenario' && merged.shards !== undefined ? `merged ${files.length} shards of '${merged.result.name}'\n` : `merged ${files.length} results\n`);
  for (const note of merged.notes) stderr.write(`note: ${note}\n`);
  if (merged.kind === 'load') {
    stderr.write(renderLoadText(merged.result));
    if (merged.result.sidecar !== undefined) stderr.write(renderSidecarText(merged.result.sidecar, screen));
    return;
  }
  // The footer has the load line and every check.
  for (const phase of merged.result.phases) stderr.write(`== ${phase.name}\n${phaseFooter(phase, screen)}`);
  stderr.write(verdictLine(merged.result, screen));
  ctx.exitCode = exitCodeOf(merged.result);
}

function readInput(file: string): string {
  return readResultText(file, 'give files written by meshload load -json or meshload run, or logs with --from-logs');
}

/** Fortio's own JSON: mergeFiles says why it cannot be merged. */
function isFortioOnly(data: unknown): boolean {
  return typeof data === 'object' && data !== null && !('Meshload' in data) && !('phases' in data) && 'DurationHistogram' in data;
}

/** The results in one log text, each named `FILE line N` for error messages. */
function fromLogs(name: string, text: string): ResultFile[] {
  const { found, broken } = resultsFromLogs(text);
  const [first] = broken;
  if (first !== undefined) {
    throw usageError(
      `${name} line ${first.line}: a ${RESULT_MARKER.trim()} line is not complete JSON (${first.error})`,
      'the log was cut: fetch it whole with kubectl logs --tail=-1 (the default for -l is the last 10 lines), and check the pod was not restarted or evicted mid-write',
    );
  }
  if (found.length === 0) {
    throw usageError(
      `no ${RESULT_MARKER.trim()} line in ${name}`,
      "sharded runs print one as their last line: fetch whole logs with 'kubectl logs -l job-name=NAME -c meshload --tail=-1' once the Job completed, from pods run with 'meshload run --shard'",
    );
  }
  return found.map((f) => ({ file: `${name} line ${f.line}`, data: f.data }));
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    if (size > RESULT_SIZE_LIMIT) throw usageError(`the logs on stdin are more than ${RESULT_SIZE_LIMIT} bytes`, 'fetch the logs of one Job at a time');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
