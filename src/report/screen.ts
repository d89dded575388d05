/** What a text renderer may assume of where its text goes: colour (ANSI SGR) and detail. A
 * renderer takes a Screen and returns a string (STYLE: render(result, screen) -> string); only
 * cli/ decides the Screen, from the stream and the environment. */

export interface Screen {
  /** ANSI colours: a terminal, unless NO_COLOR; or FORCE_COLOR. */
  color: boolean;
  /** -v: every field, not only what moved and what checks use. */
  verbose: boolean;
}

/** Plain text, as for a pipe or a file: what scripts and tests read. */
export const PLAIN: Screen = { color: false, verbose: false };

/** The convention of no-color.org and FORCE_COLOR (Node, chalk): FORCE_COLOR wins when set to
 * anything but "0" or "false"; NO_COLOR (any non-empty value) turns colour off; otherwise colour
 * goes to a terminal only, and never to TERM=dumb. */
export function screenFor(stream: { isTTY?: boolean }, env: Record<string, string | undefined>, verbose = false): Screen {
  const force = env['FORCE_COLOR'];
  if (force !== undefined && force !== '0' && force.toLowerCase() !== 'false') return { color: true, verbose };
  if (force !== undefined) return { color: false, verbose };
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return { color: false, verbose };
  return { color: stream.isTTY === true && env['TERM'] !== 'dumb', verbose };
}

const SGR = { red: 31, green: 32, yellow: 33, magenta: 35, bold: 1, dim: 2 } as const;

export type Paint = keyof typeof SGR;

/** `text` in a colour or weight when the screen has colour; as is otherwise. */
export function paint(screen: Screen, style: Paint, text: string): string {
  return screen.color ? `\x1b[${SGR[style]}m${text}\x1b[${style === 'bold' || style === 'dim' ? 22 : 39}m` : text;
}

/** The colour of a verdict word, as every renderer shows it: PASS green, FAIL red, the
 * undecided ones yellow (inconclusive) and magenta (no data). */
export function verdictStyle(verdict: string): Paint | undefined {
  switch (verdict.toLowerCase()) {
    case 'pass':
      return 'green';
    case 'fail':
    case 'failed':
      return 'red';
    case 'inconclusive':
      return 'yellow';
    case 'no_data':
      return 'magenta';
  }
  return undefined;
}
