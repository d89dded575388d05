/** The YAML side of reading Istio manifests: where each node is (file, line), the problems and
 * notes found on the way, what happened to every key (for the field accounting), and the typed
 * values (integers, percentages, durations, lists) every resource reader builds on. */
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, visit } from 'yaml';
import { parseDuration } from '../util/duration';
import { suggest } from '../util/suggest';
import type { Disposition, FieldRecord } from './field-accounting';
import type { Origin, PolicyNote } from './istio-policy';

// ---------------------------------------------------------------------------------------------
// Field lists. `read`: mapped into IstioPolicies. `unverified`: real Istio fields meshload
// leaves alone (a note says so). `unsupported`: Istio fields that make the enclosing part
// unusable for meshload (the part becomes undefined). Anything else is a typo candidate.

export interface Shape {
  read: readonly string[];
  unverified: readonly string[];
  unsupported?: readonly string[];
}

const INT32_MAX = 2_147_483_647;

type NoteOrigin = PolicyNote['origin'];

export interface Ctx {
  file: string;
  doc: Document.Parsed;
  lines: LineCounter;
  /** How problems name the resource: `DestinationRule httpbin`, or `document 2` before a name is known. */
  where: string;
  origin: NoteOrigin;
  /** Position of the file in the input, so problems and notes can be put in file order. */
  fileIndex: number;
  problems: Positioned<string>[];
  notes: Positioned<PolicyNote>[];
  /** 1-based document number in the file, and `items[i].` inside a kubectl List. */
  document: number;
  prefix: string;
  /** What happened to every key met, for the field accounting. */
  records: FieldRecord[];
}

/** Problems and notes are found in reading order (a mapping's keys before its children's);
 * they are reported in file order. */
export interface Positioned<T> {
  fileIndex: number;
  line: number;
  value: T;
}

export function inFileOrder<T>(items: readonly Positioned<T>[]): T[] {
  return [...items].sort((a, b) => a.fileIndex - b.fileIndex || a.line - b.line).map((item) => item.value);
}

/** A mapping entry: its value node (aliases resolved) and the line of its key. */
export interface Entry {
  node: unknown;
  line: number;
}

export function lineOf(ctx: Ctx, node: unknown, fallback: number): number {
  const range = (node as { range?: [number, number, number] | null } | null | undefined)?.range;
  return range === undefined || range === null ? fallback : ctx.lines.linePos(range[0]).line;
}

export function problem(ctx: Ctx, line: number, path: string, text: string, fix: string): void {
  const at = path === '' ? '' : `${path}: `;
  ctx.problems.push({ fileIndex: ctx.fileIndex, line, value: `${ctx.file}:${line}: ${ctx.where}: ${at}${text} - ${fix}` });
}

export function note(ctx: Ctx, line: number, path: string, message: string): void {
  ctx.notes.push({ fileIndex: ctx.fileIndex, line, value: { origin: ctx.origin, path, message } });
}

/** Records what happened to the key at `path` (see field-accounting). */
export function record(ctx: Ctx, path: string, disposition: Disposition, value: unknown, message?: string): void {
  const origin = ctx.origin.kind === 'DestinationRule' || ctx.origin.kind === 'VirtualService' ? (ctx.origin as Origin) : undefined;
  const empty = isNull(value) || ((isMap(value) || isSeq(value)) && value.items.length === 0);
  ctx.records.push({
    file: ctx.file,
    document: ctx.document,
    prefix: ctx.prefix,
    path,
    disposition,
    message,
    origin,
    resource: `${ctx.origin.kind} ${ctx.origin.name}`,
    value: isScalar(value) ? value.value : undefined,
    empty,
  });
}

/** Aliases one document may hold: a handful is reuse, more is a resource exhaustion attack. */
export const MAX_ALIASES = 100;

export function aliasCount(doc: Document): number {
  let count = 0;
  visit(doc, {
    Alias: () => {
      count++;
      // Enough seen: stop walking a document that may be all aliases.
      return count > MAX_ALIASES ? visit.BREAK : undefined;
    },
  });
  return count;
}

export function resolve(ctx: Ctx, node: unknown): unknown {
  return isAlias(node) ? node.resolve(ctx.doc) : node;
}

export function isNull(node: unknown): boolean {
  return node === null || node === undefined || (isScalar(node) && node.value === null);
}

export function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

export function describeNode(node: unknown): string {
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return typeof node.value === 'string' ? `string ${JSON.stringify(node.value)}` : String(node.value);
  return 'nothing';
}

/** The entries of the mapping `node` that `shape` reads; every other key becomes a note. Null
 * values count as absent, as they do when kubectl applies the manifest. */
export function entries(ctx: Ctx, node: unknown, line: number, path: string, shape: Shape): Map<string, Entry> | undefined {
  if (!isMap(node)) {
    problem(ctx, lineOf(ctx, node, line), path, `expected a mapping, got ${describeNode(node)}`, `write ${path.split('.').pop() ?? path} as indented key: value lines`);
    return undefined;
  }
  const out = new Map<string, Entry>();
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
    const keyLine = lineOf(ctx, pair.key, line);
    if (key === undefined) {
      problem(ctx, keyLine, path, 'complex mapping key', 'use plain field names as keys');
      continue;
    }
    const here = join(path, key);
    const value = resolve(ctx, pair.value);
    if (shape.read.includes(key)) {
      record(ctx, here, 'read', value);
      if (!isNull(value)) out.set(key, { node: value, line: keyLine });
    } else if (shape.unverified.includes(key)) {
      record(ctx, here, 'unverified', value);
      note(ctx, keyLine, here, 'not verified by meshload');
    } else if (shape.unsupported?.includes(key) === true) {
      record(ctx, here, 'unsupported', value, `unsupported by meshload: the ${path.split('.').pop() ?? 'part'} is not verified`);
      out.set(key, { node: value, line: keyLine });
    } else {
      const guess = suggest(key, [...shape.read, ...shape.unverified, ...(shape.unsupported ?? [])]);
      const message = guess === undefined ? 'unknown field (typo?), ignored' : `unknown field (typo?), ignored: did you mean ${guess}?`;
      record(ctx, here, 'unknown', value, message);
      note(ctx, keyLine, here, message);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Typed values. Each returns undefined when the entry is absent or wrong (the problem is recorded).

interface IntRange {
  min: number;
  max: number;
}

export function readInt(ctx: Ctx, entry: Entry | undefined, path: string, range: IntRange = { min: 0, max: INT32_MAX }): number | undefined {
  if (entry === undefined) return undefined;
  const line = lineOf(ctx, entry.node, entry.line);
  const value = isScalar(entry.node) ? entry.node.value : undefined;
  // Istio's CRD schema types these as integers: a quoted "1" is rejected by the API server.
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    const fix = typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? `remove the quotes: ${value.trim()}` : `write a whole number in ${range.min}..${range.max}`;
    problem(ctx, line, path, `expected an integer, got ${describeNode(entry.node)}`, fix);
    return undefined;
  }
  if (value < 0 && range.min >= 0) {
    problem(ctx, line, path, `must not be negative, got ${value}`, `use a number in ${range.min}..${range.max}`);
    return undefined;
  }
  if (value < range.min || value > range.max) {
    problem(ctx, line, path, `must be in ${range.min}..${range.max}, got ${value}`, `use a number in ${range.min}..${range.max}`);
    return undefined;
  }
  return value;
}

export function readPercent(ctx: Ctx, entry: Entry | undefined, path: string): number | undefined {
  if (entry === undefined) return undefined;
  const line = lineOf(ctx, entry.node, entry.line);
  const value = isScalar(entry.node) ? entry.node.value : undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    problem(ctx, line, path, `expected a number, got ${describeNode(entry.node)}`, 'write a percentage between 0 and 100 without quotes, e.g. value: 50');
    return undefined;
  }
  if (value < 0 || value > 100) {
    problem(ctx, line, path, `must be in 0..100, got ${value}`, 'write a percentage between 0 and 100, e.g. value: 50');
    return undefined;
  }
  return value;
}

export function readString(ctx: Ctx, entry: Entry | undefined, path: string): string | undefined {
  if (entry === undefined) return undefined;
  const value = isScalar(entry.node) ? entry.node.value : undefined;
  if (typeof value !== 'string' || value === '') {
    problem(ctx, lineOf(ctx, entry.node, entry.line), path, `expected a non-empty string, got ${describeNode(entry.node)}`, 'write a plain string value');
    return undefined;
  }
  return value;
}

/** Durations in Istio's form ("1s", "0.5s", "100ms", "1m"). `minMs` 1 where Istio's
 * ValidateDuration applies (it rejects anything under 1ms). */
export function readDuration(ctx: Ctx, entry: Entry | undefined, path: string, minMs: number): number | undefined {
  if (entry === undefined) return undefined;
  const line = lineOf(ctx, entry.node, entry.line);
  const value = isScalar(entry.node) ? entry.node.value : undefined;
  const ms = typeof value === 'string' ? parseDuration(value) : undefined;
  if (ms === undefined) {
    const fix = typeof value === 'number' ? `add a unit: ${value}s or ${value}ms` : 'write a duration like 1s, 0.5s, 100ms or 1m';
    problem(ctx, line, path, `expected a duration, got ${describeNode(entry.node)}`, fix);
    return undefined;
  }
  if (ms < minMs) {
    problem(ctx, line, path, `must be at least ${minMs === 0 ? '0s' : `${minMs}ms`}, got ${String(value)}`, 'write a positive duration like 1s or 100ms');
    return undefined;
  }
  return ms;
}

export function readSeq(ctx: Ctx, entry: Entry | undefined, path: string, example: string): Array<{ node: unknown; line: number }> | undefined {
  if (entry === undefined) return undefined;
  if (!isSeq(entry.node)) {
    problem(ctx, lineOf(ctx, entry.node, entry.line), path, `expected a list, got ${describeNode(entry.node)}`, `write it as a list: ${example}`);
    return undefined;
  }
  return entry.node.items.map((item) => ({ node: resolve(ctx, item), line: lineOf(ctx, item, entry.line) }));
}

export function scalarString(entry: { node: unknown } | undefined): string | undefined {
  const value = entry !== undefined && isScalar(entry.node) ? entry.node.value : undefined;
  return typeof value === 'string' && value !== '' ? value : undefined;
}
