/** `meshload compare`'s implementation, loaded when it runs (see compare.ts). */
import { writeFileSync } from 'node:fs';
import { compareResults } from '../../report/compare/compare';
import { renderCompareHtml } from '../../report/compare/html';
import { renderCompareText } from '../../report/compare/text';
import { readResult } from '../../report/read-result';
import { screenFor } from '../../report/screen';
import { MeshloadError, usageError } from '../../util/errors';
import { parsePercentage } from '../../util/percent';
import type { CommandContext } from '../command-context';
import { EXIT } from '../exit-codes';

export interface CompareFlags {
  tolerance: string;
  output?: string;
  json?: boolean;
}

export function compareAction(pathA: string, pathB: string, flags: CompareFlags, ctx: CommandContext): void {
  // The same parsing and message as `meshload run --tolerance`.
  const tolerance = parsePercentage(flags.tolerance);
  if (tolerance === undefined) throw usageError(`--tolerance '${flags.tolerance}' is not a percentage`, 'use e.g. 10%');
  const a = readResult(pathA);
  const b = readResult(pathB);
  const comparison = compareResults(a.result, b.result, { tolerance, labels: { a: pathA, b: pathB } });
  // The table goes to stdout, or to stderr when stdout has the JSON: coloured for where it goes.
  const text = renderCompareText(comparison, screenFor(flags.json === true ? ctx.io.stderr : ctx.io.stdout, ctx.io.env));
  if (flags.json === true) {
    ctx.io.stdout.write(JSON.stringify(comparison, null, 2) + '\n');
    ctx.io.stderr.write(text);
  } else {
    ctx.io.stdout.write(text);
  }
  if (flags.output !== undefined) {
    try {
      writeFileSync(flags.output, renderCompareHtml(comparison));
    } catch (error) {
      throw new MeshloadError('E_OUTPUT', `cannot write ${flags.output}: ${(error as Error).message}`, 'check the path and permissions');
    }
    ctx.io.stderr.write(`wrote ${flags.output}\n`);
  }
  ctx.exitCode = comparison.regressions > 0 ? EXIT.FAILED : EXIT.OK;
}
