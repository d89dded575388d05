/** Fortio is a Go program: its flags are `-name value`, `-name=value`, `--name value`, and
 * booleans take a value only with `=` (`-keepalive=false`). Commander wants `--name` for long
 * options and `-c` for short ones. This rewrites a sub-command's arguments from the Go forms to
 * commander's, using the command's own option list, so the flags are declared once. It also
 * rejects unknown flags itself, so the error can name the flag as the user typed it and suggest
 * the closest real one. */
import type { Command, Option } from 'commander';
import { usageError } from '../util/errors';
import { suggest } from '../util/suggest';
import { parseDuration } from '../util/duration';
import { fortioFlag, parseRunDuration, type FortioFlag } from './fortio-flags';

/** The hidden option through which a command learns which Fortio flags it accepted and ignores. */
export const FORTIO_UNUSED = 'fortio-unused';

interface FlagInfo {
  option: Option;
  /** The commander token to emit: "--http-port" or "-c". */
  token: string;
  takesValue: boolean;
}

const GO_TRUE = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
const GO_FALSE = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

/** A boolean as Go's strconv.ParseBool reads it; undefined for anything else. */
export function parseGoBool(text: string): boolean | undefined {
  return GO_TRUE.has(text) ? true : GO_FALSE.has(text) ? false : undefined;
}
const HELP_NAMES = new Set(['h', 'help']);

function flagTable(command: Command): Map<string, FlagInfo> {
  const table = new Map<string, FlagInfo>();
  for (const option of command.options) {
    const takesValue = option.required || option.optional;
    if (option.long !== undefined) {
      table.set(option.long.replace(/^--/, ''), { option, token: option.long, takesValue });
    }
    if (option.short !== undefined) {
      table.set(option.short.replace(/^-/, ''), { option, token: option.short, takesValue });
    }
  }
  return table;
}

/** The names a user may type, Go style, for the "did you mean" list and for help text. */
export function goFlagNames(command: Command): string[] {
  const names: string[] = [];
  for (const option of command.options) {
    const long = option.long?.replace(/^--/, '');
    if (long !== undefined) names.push(option.negate ? long.replace(/^no-/, '') : long);
    if (option.short !== undefined) names.push(option.short.replace(/^-/, ''));
  }
  return names;
}

export function normalizeGoFlags(args: readonly string[], command: Command): string[] {
  const table = flagTable(command);
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--') {
      out.push(...args.slice(i));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      out.push(arg);
      continue;
    }
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const inlineValue = eq >= 0 ? body.slice(eq + 1) : undefined;
    if (HELP_NAMES.has(name) && !table.has(name)) {
      out.push('--help');
      continue;
    }
    const fortio = fortioFlag(name);
    const flag = table.get(name) ?? (fortio?.alias !== undefined ? table.get(fortio.alias) : undefined);
    if (flag !== undefined && flag.takesValue) {
      if (inlineValue !== undefined) {
        out.push(flag.token, inlineValue);
      } else {
        out.push(flag.token);
        // The next token is this flag's value even if it starts with a dash (`-abort-on -1`).
        if (i + 1 < args.length) out.push(args[++i] as string);
      }
      continue;
    }
    const boolToken = booleanToken(flag !== undefined && fortio?.alias !== undefined && !table.has(name) ? fortio.alias : name, inlineValue, table, command);
    if (boolToken !== undefined) {
      if (boolToken !== '') out.push(boolToken);
      continue;
    }
    // A Fortio flag this command does not act on: accepted (Fortio takes every flag with every
    // command), its value checked as Fortio would, and passed on so the command can say so.
    if (fortio !== undefined && table.has(FORTIO_UNUSED)) {
      let value = inlineValue;
      if (fortio.type !== 'bool' && value === undefined && i + 1 < args.length) value = args[++i] as string;
      checkFortioValue(fortio, value, command);
      out.push(`--${FORTIO_UNUSED}`, name);
      continue;
    }
    // meshload's own load flags (-workers, -open, ...) ride along too: Fortio's rule is every
    // flag with every command, and a curl line is often a load line with one word changed.
    const loadFlag = table.has(FORTIO_UNUSED) && command.name() !== 'load' ? loadFlagInfo(command, name) : undefined;
    if (loadFlag !== undefined) {
      if (loadFlag.takesValue && inlineValue === undefined && i + 1 < args.length) i++;
      out.push(`--${FORTIO_UNUSED}`, name);
      continue;
    }
    const candidates = goFlagNames(command).map((n) => `-${n}`);
    const close = suggest(`-${name}`, candidates);
    const where = `meshload ${command.name()}`;
    throw usageError(
      `unknown flag '${arg}' for '${where}'`,
      close !== undefined ? `did you mean ${close}? see '${where} --help'` : `see '${where} --help'`,
    );
  }
  return out;
}

/** Returns the commander token for a boolean flag, '' when the flag only restates the default,
 * or undefined when `name` is not a boolean flag of this command. */
function booleanToken(
  name: string,
  inlineValue: string | undefined,
  table: Map<string, FlagInfo>,
  command: Command,
): string | undefined {
  const positive = table.get(name);
  const negative = table.get(`no-${name}`);
  const isPositive = positive !== undefined && !positive.takesValue && !positive.option.negate;
  const isNegative = negative !== undefined && !negative.takesValue && negative.option.negate;
  if (!isPositive && !isNegative) {
    // `--no-keepalive` typed directly is already commander's form.
    if (positive !== undefined && positive.option.negate && inlineValue === undefined) return positive.token;
    return undefined;
  }
  let value = true;
  if (inlineValue !== undefined) {
    if (GO_TRUE.has(inlineValue)) value = true;
    else if (GO_FALSE.has(inlineValue)) value = false;
    else {
      throw usageError(
        `flag -${name} of 'meshload ${command.name()}' takes true or false, not '${inlineValue}'`,
        `write -${name} or -${name}=false`,
      );
    }
  }
  if (value) return isPositive ? (positive as FlagInfo).token : '';
  return isNegative ? (negative as FlagInfo).token : '';
}

/** `name` as a flag of the sibling `load` command, if it is one. */
function loadFlagInfo(command: Command, name: string): FlagInfo | undefined {
  const load = command.parent?.commands.find((c) => c.name() === 'load');
  if (load === undefined) return undefined;
  const table = flagTable(load);
  return table.get(name) ?? table.get(`no-${name}`);
}

/** Fortio exits on a malformed value even for a flag it then ignores; so does meshload. */
function checkFortioValue(flag: FortioFlag, value: string | undefined, command: Command): void {
  const where = `flag -${flag.name} of 'meshload ${command.name()}'`;
  if (flag.type === 'bool') {
    if (value !== undefined && !GO_TRUE.has(value) && !GO_FALSE.has(value)) throw usageError(`${where} takes true or false, not '${value}'`, `write -${flag.name} or -${flag.name}=false`);
    return;
  }
  if (value === undefined) throw usageError(`${where} needs a value`, `write -${flag.name}=VALUE (Fortio default: '${flag.default}')`);
  const ok =
    flag.type === 'int' ? /^[+-]?\d+$/.test(value.trim()) :
    flag.type === 'float' ? value.trim() !== '' && Number.isFinite(Number(value)) :
    flag.type === 'duration' ? (flag.name === 't' ? parseRunDuration(value) : parseDuration(value)) !== undefined :
    true;
  if (!ok) throw usageError(`${where} takes ${flag.type === 'int' ? 'a whole number' : flag.type === 'float' ? 'a number' : 'a Go duration like 3s'}, not '${value}'`, `Fortio's default is '${flag.default}'`);
}
