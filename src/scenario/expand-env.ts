/** `${NAME}` and `${NAME:-default}` in scenario files, from the environment, as envsubst and
 * docker compose write them: one file serves CI and laptops (ports, hosts, config paths).
 * Variables are data: they are expanded inside scalar values of the parsed YAML, never in its
 * text, so a value cannot add keys, end a string or start a comment. Shell commands (`run:`,
 * `start:`, `statsCmd:`) keep their references: the shell expands them from the environment. */
import { isAlias, isMap, isPair, isScalar, isSeq, visit, type Document, type Scalar } from 'yaml';

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const ONE_REFERENCE = /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}$/;

/** Nesting beyond this is no scenario: refused before anything recurses deeper. */
export const MAX_DEPTH = 64;

type Env = Record<string, string | undefined>;
type Segment = string | number;

/** Expands every reference in one string; an unset or empty variable takes its default, and
 * without one is listed in `missing` (and expands to nothing). */
export function expandEnv(text: string, env: Env): { text: string; missing: string[] } {
  const missing = new Set<string>();
  const expanded = text.replace(REFERENCE, (_, name: string, fallback: string | undefined) => {
    const value = env[name];
    if (value !== undefined && value !== '') return value;
    if (fallback !== undefined) return fallback;
    missing.add(name);
    return '';
  });
  return { text: expanded, missing: [...missing] };
}

/** The variables a text uses that are unset (or empty) and have no default. */
export function missingVariables(text: string, env: Env): string[] {
  return expandEnv(text, env).missing;
}

export function hasReference(text: string): boolean {
  REFERENCE.lastIndex = 0;
  const found = REFERENCE.test(text);
  REFERENCE.lastIndex = 0;
  return found;
}

/** Private-use characters around a reference's index: a plain scalar may hold them anywhere, in
 * flow collections too, where `{` and `}` would end it. */
const OPEN = '\uE000';
const CLOSE = '\uE001';
const TOKEN = /\uE000(\d+)\uE001/g;
const ONE_LINE_REFERENCE = /\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}\n]*)?\}/g;

/** The text with each reference (as the author wrote it) replaced by a token that YAML reads as
 * part of a scalar wherever it stands, so `load: { connections: ${C:-4} }` parses; `restore`
 * puts the references back into parsed strings. Lines do not move. Only the file's own text is
 * tokenised: variable values never pass through YAML. */
export function protectReferences(text: string): { text: string; restore: (parsed: string) => string } {
  if (text.includes(OPEN) || text.includes(CLOSE)) return { text, restore: (parsed) => parsed };
  const references: string[] = [];
  const tokenised = text.replace(ONE_LINE_REFERENCE, (reference) => `${OPEN}${references.push(reference) - 1}${CLOSE}`);
  return { text: tokenised, restore: (parsed) => (parsed.includes(OPEN) ? parsed.replace(TOKEN, (token, index: string) => references[Number(index)] ?? token) : parsed) };
}

/** Puts the references back into every scalar of a document parsed from protectReferences' text,
 * keys included (where expandDocument refuses them). */
export function restoreReferences(doc: Document, restore: (parsed: string) => string): void {
  visit(doc, {
    Scalar: (_, node) => {
      if (typeof node.value === 'string') node.value = restore(node.value);
    },
  });
}

/** What YAML's core schema makes of a plain scalar, limited to numbers, booleans and null: a
 * variable may be a port or a count, never a mapping, a list, an alias or a tag. */
export function plainScalarValue(text: string): string | number | boolean | null {
  if (/^(?:~|null|Null|NULL)?$/.test(text)) return null;
  if (/^(?:true|True|TRUE)$/.test(text)) return true;
  if (/^(?:false|False|FALSE)$/.test(text)) return false;
  if (/^[-+]?[0-9]+$/.test(text)) return Number(text);
  if (/^0o[0-7]+$/.test(text)) return parseInt(text.slice(2), 8);
  if (/^0x[0-9a-fA-F]+$/.test(text)) return parseInt(text.slice(2), 16);
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/.test(text)) return Number(text);
  if (/^[-+]?\.(?:inf|Inf|INF)$/.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  if (/^\.(?:nan|NaN|NAN)$/.test(text)) return NaN;
  return text;
}

/** Fields run by `sh -c`: their `${VAR}` stay in the text and reach the shell through the
 * environment, where expanding a value never re-parses it as shell syntax. */
export function isCommandPath(path: readonly Segment[]): boolean {
  const last = path[path.length - 1];
  const before = path[path.length - 2];
  if (path.length === 2 && path[0] === 'sidecar' && last === 'statsCmd') return true;
  if (last === 'run' && typeof before === 'number') return true;
  return last === 'command' && (before === 'run' || before === 'start') && typeof path[path.length - 3] === 'number';
}

export interface ExpansionIssue {
  path: Segment[];
  /** The source offset of the node, for its line. */
  offset: number | undefined;
  message: string;
}

/** Expands the references in every scalar value of a parsed document, in place (the document
 * is the caller's own, just parsed). Returns the problems: unset variables without a default,
 * references in keys, nesting deeper than MAX_DEPTH. */
export function expandDocument(doc: Document, env: Env, unsetHint: string): ExpansionIssue[] {
  const issues: ExpansionIssue[] = [];
  const offsetOf = (node: unknown): number | undefined => (node as { range?: [number, number, number] | null }).range?.[0];
  const unset = (names: string[], path: Segment[], node: unknown): void => {
    for (const name of names) issues.push({ path, offset: offsetOf(node), message: `variable ${name} is unset or empty (${unsetHint.replaceAll('NAME', name)})` });
  };
  const walk = (node: unknown, path: Segment[]): void => {
    if (path.length > MAX_DEPTH) {
      issues.push({ path, offset: offsetOf(node), message: `nested deeper than ${MAX_DEPTH} levels` });
      return;
    }
    // An alias is its anchor's node, expanded where the anchor is.
    if (isAlias(node)) return;
    if (isScalar(node)) return expandScalar(node, path);
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = pair.key;
        const name = isScalar(key) ? String(key.value) : '?';
        if (isScalar(key) && typeof key.value === 'string' && hasReference(key.value)) {
          issues.push({ path: [...path, name], offset: offsetOf(key), message: 'a key cannot use ${VAR}: variables fill values only' });
        } else if (!isScalar(key) && key !== null) {
          issues.push({ path, offset: offsetOf(key), message: 'keys must be plain names' });
        }
        walk(pair.value, [...path, name]);
      }
      return;
    }
    if (isSeq(node)) node.items.forEach((item, index) => walk(item, [...path, index]));
  };
  const expandScalar = (node: Scalar, path: Segment[]): void => {
    if (typeof node.value !== 'string' || !hasReference(node.value)) return;
    const source = node.value;
    if (isCommandPath(path)) return unset(missingVariables(source, env), path, node);
    const { text, missing } = expandEnv(source, env);
    if (missing.length > 0) return unset(missing, path, node);
    // Only an untagged plain scalar that is one reference is typed, as `port: 8080` would be.
    const typed = node.type === 'PLAIN' && node.tag === undefined && ONE_REFERENCE.test(source);
    node.value = typed ? plainScalarValue(text) : text;
  };
  walk(doc.contents, []);
  return issues;
}
