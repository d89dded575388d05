/** `meshload merge`'s implementation, loaded when it runs (see merge.ts). */
import { readFileSync, writeFileSync } from 'node:fs';
import { renderLoadText } from '../../report/fortio-text';
import { mergeFiles, type ResultFile } from '../../report/merge-files';
import { checkLine, phaseFooter, verdictLine } from '../../report/scenario-text';
import { MeshloadError, usageError } from '../../util/errors';
import type { CommandContext } from '../command-context';
import { exitCodeOf } from './run-action';
import type { MergeFlags } from './merge';

export function mergeAction(paths: readonly string[], flags: MergeFlags, ctx: CommandContext): void {
  if (paths.length < 2) throw usageError('merge needs at least two result files', 'give the JSON of every generator: meshload merge a.json b.json -o merged.json');
  const files: ResultFile[] = paths.map((file) => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw usageError(`cannot read ${file}: ${(error as Error).message}`, 'check the path');
    }
    try {
      return { file, data: JSON.parse(text) as unknown };
    } catch (error) {
      throw usageError(`${file} is not JSON: ${(error as Error).message}`, 'give files written by meshload load -json or meshload run');
    }
  });
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
  stderr.write(`merged ${files.length} results\n`);
  if (merged.kind === 'load') {
    stderr.write(renderLoadText(merged.result));
    return;
  }
  for (const phase of merged.result.phases) {
    stderr.write(`== ${phase.name}\n`);
    for (const check of phase.checks) stderr.write(checkLine(check));
    stderr.write(phaseFooter(phase));
  }
  stderr.write(verdictLine(merged.result));
  ctx.exitCode = exitCodeOf(merged.result);
}
