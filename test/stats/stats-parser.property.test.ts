/** Property tests of the stats parsers (fast-check): how a valid dump is chunked, spaced or
 * ordered never changes what it says; random bytes and random mutations of valid dumps end in
 * samples or the parser's own StatsParseError (E_STATS through readStats), never another
 * exception, and never take long. */
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StatsParseError, type StatSample } from '../../src/stats/stat-sample';
import type { StatsFormat } from '../../src/model/sidecar-report';
import { parseStats, StatsParser } from '../../src/stats/stats-parser';
import { readStats } from '../../src/stats/stats-source';
import { MeshloadError } from '../../src/util/errors';

const RUNS = 200;
/** Every parse of these small inputs must end well within this: a guard against runaway
 * (quadratic or backtracking) parsing, generous so that a stalled CI machine never trips it. */
const MAX_MS = 5000;

// ---- generators of valid dumps ------------------------------------------------------------------

const statName = fc.stringMatching(/^[a-z_][a-z0-9_]{0,8}(\.[a-z0-9_|;-]{1,12}){0,4}$/);
const metricName = fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,20}$/).filter((n) => !n.endsWith(':'));
const labelName = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,10}$/).filter((n) => n !== '__proto__');
const labelValue = fc.string({ unit: fc.constantFrom('a', 'b', '|', '.', ' ', '"', '\\', '\n', 'ü', '{', '}', ',', '=', '1'), maxLength: 12 });
const finite = fc.oneof(fc.integer({ min: -1e9, max: 1e12 }), fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e15, max: 1e15 }));
const quantileValue = fc.oneof(fc.constant(null), fc.double({ noNaN: true, noDefaultInfinity: true, min: 0, max: 1e6 }));

/** Envoy /stats text: numbers, text readouts, histograms. */
const envoyText = fc
  .array(
    fc.oneof(
      fc.tuple(statName, finite).map(([n, v]) => `${n}: ${String(v)}`),
      fc.tuple(statName, fc.string({ unit: fc.constantFrom('a', ' ', ':', '"', 'x', '1'), maxLength: 10 })).map(([n, t]) => `${n}: "${t}"`),
      fc.tuple(statName, fc.array(fc.tuple(quantileValue, quantileValue), { minLength: 1, maxLength: 4 })).map(
        ([n, qs]) => `${n}: ${qs.map(([i, c], k) => `P${k * 25}(${i === null ? 'nan' : String(i)},${c === null ? 'nan' : String(c)})`).join(' ')}`,
      ),
      statName.map((n) => `${n}: No recorded values`),
    ),
    { minLength: 1, maxLength: 30 },
  )
  .map((lines) => lines.join('\n') + '\n');

interface PromSeries {
  name: string;
  labels: Array<[string, string]>;
  value: string;
}

const promSeries: fc.Arbitrary<PromSeries> = fc.record({
  name: metricName,
  labels: fc.uniqueArray(fc.tuple(labelName, labelValue), { maxLength: 4, selector: ([n]) => n }),
  value: fc.oneof(finite.map(String), fc.constantFrom('NaN', '+Inf', '-Inf')),
});

function promLine(s: PromSeries, blank: () => string): string {
  const labels = s.labels.map(([n, v]) => `${n}${blank()}=${blank()}"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  const block = labels.length === 0 ? '' : `{${blank()}${labels.join(`${blank()},${blank()}`)}${blank()}}`;
  return `${blank()}${s.name}${block}${labels.length === 0 ? ' ' : blank()}${blank()}${s.value}${blank()}`;
}

/** Prometheus text: a TYPE line and its family, then loose series. */
const prometheus = fc
  .tuple(metricName, fc.constantFrom('counter', 'gauge', 'histogram', 'summary', 'untyped'), fc.array(promSeries, { minLength: 1, maxLength: 20 }))
  .map(([family, type, series]) => ({ family, type, series }));

function promText(p: { family: string; type: string; series: PromSeries[] }, rand: () => number): string {
  const blank = (): string => [' ', '', '\t', '  '][Math.floor(rand() * 4)] ?? '';
  const lines = [`# HELP ${p.family} help text`, `# TYPE ${p.family} ${p.type}`];
  for (const s of p.series) {
    if (rand() < 0.2) lines.push('');
    lines.push(promLine(s, blank));
  }
  return lines.join(rand() < 0.5 ? '\n' : '\r\n') + '\n';
}

interface EnvoyJsonDoc {
  stats: Array<{ name: string; value: number | string }>;
  histograms: { supported: number[]; computed: Array<{ name: string; values: Array<[number | null, number | null]> }> } | undefined;
}

const envoyJsonDoc: fc.Arbitrary<EnvoyJsonDoc> = fc
  .record({
    stats: fc.array(fc.record({ name: fc.oneof(statName, fc.string({ minLength: 1, maxLength: 10 })), value: fc.oneof(finite, fc.string({ maxLength: 8 })) }), { maxLength: 20 }),
    quantiles: fc.uniqueArray(fc.constantFrom(0, 25, 50, 75, 90, 99, 99.9, 100), { minLength: 1, maxLength: 5 }),
    histograms: fc.option(fc.array(fc.tuple(statName, fc.array(fc.tuple(quantileValue, quantileValue), { minLength: 8, maxLength: 8 })), { maxLength: 5 }), { nil: undefined }),
  })
  .map(({ stats, quantiles, histograms }) => ({
    stats,
    histograms: histograms === undefined ? undefined : { supported: quantiles, computed: histograms.map(([name, values]) => ({ name, values: values.slice(0, quantiles.length) })) },
  }));

/** A small deterministic generator, so one fast-check seed drives spacing and key order. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

/** JSON with random whitespace between tokens and object keys in random order. */
function spacedJson(value: unknown, rand: () => number): string {
  const ws = (): string => ['', ' ', '\n', '\t', '\r\n  ', ''][Math.floor(rand() * 6)] ?? '';
  const out = (v: unknown): string => {
    if (Array.isArray(v)) return `[${ws()}${v.map((item) => `${ws()}${out(item)}${ws()}`).join(',')}${ws()}]`;
    if (typeof v === 'object' && v !== null) {
      const entries = Object.entries(v).filter(([, x]) => x !== undefined);
      for (let i = entries.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [entries[i], entries[j]] = [entries[j] as [string, unknown], entries[i] as [string, unknown]];
      }
      return `{${ws()}${entries.map(([k, x]) => `${ws()}${JSON.stringify(k)}${ws()}:${ws()}${out(x)}${ws()}`).join(',')}${ws()}}`;
    }
    return JSON.stringify(v);
  };
  return out(value);
}

function envoyJsonValue(doc: EnvoyJsonDoc): unknown {
  const stats: unknown[] = doc.stats.map((s) => ({ name: s.name, value: s.value }));
  if (doc.histograms !== undefined) {
    stats.push({
      histograms: {
        supported_quantiles: doc.histograms.supported,
        computed_quantiles: doc.histograms.computed.map((c) => ({ name: c.name, values: c.values.map(([interval, cumulative]) => ({ interval, cumulative })) })),
      },
    });
  }
  return { stats };
}

// ---- helpers ------------------------------------------------------------------------------------

type Outcome = { samples: StatSample[] } | { error: string };

/** Parses `text` in the chunks that `cuts` (sorted offsets) make. */
function parseChunks(format: StatsFormat, text: string, cuts: number[]): Outcome {
  const samples: StatSample[] = [];
  const started = performance.now();
  try {
    const parser = new StatsParser(format, (s) => samples.push(s));
    let from = 0;
    for (const cut of [...cuts, text.length]) {
      parser.push(text.slice(from, cut));
      from = cut;
    }
    parser.end();
    return { samples };
  } catch (error) {
    if (!(error instanceof StatsParseError)) throw error;
    return { error: error.message };
  } finally {
    expect(performance.now() - started).toBeLessThan(MAX_MS);
  }
}

const cutsOf = (text: string): fc.Arbitrary<number[]> =>
  fc.uniqueArray(fc.integer({ min: 0, max: text.length }), { maxLength: 12 }).map((cuts) => cuts.sort((a, b) => a - b));

const withoutLines = (samples: StatSample[]): Array<Omit<StatSample, 'line'>> => samples.map(({ line: _line, ...rest }) => rest);

function valid(format: StatsFormat, text: string): StatSample[] {
  const outcome = parseChunks(format, text, []);
  if ('error' in outcome) throw new Error(`the generator made an invalid ${format} dump: ${outcome.error}\n${text}`);
  return outcome.samples;
}

/** Random edits of a text: insertions, deletions and replacements of characters likely to matter. */
const mutation = fc.array(
  fc.record({
    at: fc.nat(),
    op: fc.constantFrom('insert', 'delete', 'replace'),
    char: fc.constantFrom('{', '}', '[', ']', '"', ':', ',', '\\', '\n', ' ', 'x', '0', '-', 'e', '.', '#', '\u0000', 'ü', '\ud800'),
  }),
  { minLength: 1, maxLength: 6 },
);

function mutate(text: string, edits: Array<{ at: number; op: string; char: string }>): string {
  let out = text;
  for (const { at, op, char } of edits) {
    const i = out.length === 0 ? 0 : at % (out.length + 1);
    if (op === 'insert') out = out.slice(0, i) + char + out.slice(i);
    else if (op === 'delete') out = out.slice(0, i) + out.slice(i + 1);
    else out = out.slice(0, i) + char + out.slice(i + 1);
  }
  return out;
}

const FORMATS: StatsFormat[] = ['envoy-text', 'envoy-json', 'prometheus'];

/** A valid dump of each format, as text. */
const anyDump: fc.Arbitrary<[StatsFormat, string]> = fc.oneof(
  envoyText.map((t): [StatsFormat, string] => ['envoy-text', t]),
  fc.tuple(prometheus, fc.integer()).map(([p, seed]): [StatsFormat, string] => ['prometheus', promText(p, random(seed))]),
  fc.tuple(envoyJsonDoc, fc.integer()).map(([d, seed]): [StatsFormat, string] => ['envoy-json', spacedJson(envoyJsonValue(d), random(seed))]),
);

// ---- properties ---------------------------------------------------------------------------------

describe('valid dumps', () => {
  it('parse to the same samples however they are chunked', () => {
    fc.assert(
      fc.property(
        anyDump.chain(([format, text]) => fc.tuple(fc.constant(format), fc.constant(text), cutsOf(text))),
        ([format, text, cuts]) => {
          expect(parseChunks(format, text, cuts)).toEqual({ samples: valid(format, text) });
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('Envoy JSON: whitespace and key order never change the samples', () => {
    fc.assert(
      fc.property(envoyJsonDoc, fc.integer(), fc.integer(), (doc, seedA, seedB) => {
        const a = valid('envoy-json', spacedJson(envoyJsonValue(doc), random(seedA)));
        const b = valid('envoy-json', spacedJson(envoyJsonValue(doc), random(seedB)));
        expect(withoutLines(b)).toEqual(withoutLines(a));
        expect(a.filter((s) => s.kind !== 'histogram').map((s) => s.name)).toEqual(doc.stats.map((s) => s.name));
      }),
      { numRuns: RUNS },
    );
  });

  it('Envoy JSON: the compact one-line form says what the pretty one says', () => {
    fc.assert(
      fc.property(envoyJsonDoc, (doc) => {
        const value = envoyJsonValue(doc);
        expect(withoutLines(valid('envoy-json', JSON.stringify(value)))).toEqual(withoutLines(valid('envoy-json', JSON.stringify(value, null, 2))));
      }),
      { numRuns: RUNS },
    );
  });

  it('Prometheus: blanks, blank lines and CRLF never change the samples', () => {
    fc.assert(
      fc.property(prometheus, fc.integer(), fc.integer(), (p, seedA, seedB) => {
        const a = valid('prometheus', promText(p, random(seedA)));
        const b = valid('prometheus', promText(p, random(seedB)));
        expect(withoutLines(b)).toEqual(withoutLines(a));
        expect(a.map((s) => s.name)).toEqual(p.series.map((s) => s.name));
      }),
      { numRuns: RUNS },
    );
  });

  it('Envoy text: blank lines and CRLF never change the samples', () => {
    fc.assert(
      fc.property(envoyText, fc.boolean(), (text, crlf) => {
        const spaced = text.split('\n').join(crlf ? '\r\n\r\n' : '\n\n');
        expect(withoutLines(valid('envoy-text', spaced))).toEqual(withoutLines(valid('envoy-text', text)));
      }),
      { numRuns: RUNS },
    );
  });
});

describe('hostile input', () => {
  it('random mutations of valid dumps give samples or a StatsParseError, the same however chunked', () => {
    fc.assert(
      fc.property(
        anyDump.chain(([format, text]) => fc.tuple(fc.constant(format), mutation.map((edits) => mutate(text, edits)))).chain(([format, text]) => fc.tuple(fc.constant(format), fc.constant(text), cutsOf(text))),
        ([format, text, cuts]) => {
          expect(parseChunks(format, text, cuts)).toEqual(parseChunks(format, text, []));
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });

  it('random bytes give samples or a StatsParseError in every format, and when detected', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom<StatsFormat | undefined>(...FORMATS, undefined), (bytes, format) => {
        const text = Buffer.from(bytes).toString('utf8');
        const started = performance.now();
        try {
          parseStats(text, format);
        } catch (error) {
          expect(error).toBeInstanceOf(StatsParseError);
        }
        expect(performance.now() - started).toBeLessThan(MAX_MS);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('random JSON-ish text (nesting, literals, escapes) gives samples or a StatsParseError', () => {
    const piece = fc.constantFrom('{', '}', '[', ']', '"stats"', '"name"', '"value"', '"histograms"', '"supported_quantiles"', '"computed_quantiles"', ':', ',', '1', '-0.5e3', 'true', 'null', '"\\u00e9"', '"\\x"', ' ', '\n');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 60 }), (pieces) => {
        const outcome = parseChunks('envoy-json', `{"stats":[${pieces.join('')}`, []);
        if ('samples' in outcome) expect(Array.isArray(outcome.samples)).toBe(true);
        else expect(outcome.error).toMatch(/^line \d+: /);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  describe('through readStats, from a file', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'meshload-stats-prop-'));
    });
    afterAll(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    it('a mutated dump is read or fails with E_STATS, whether its format is given or detected', async () => {
      let n = 0;
      await fc.assert(
        fc.asyncProperty(anyDump, mutation, fc.boolean(), async ([format, text], edits, given) => {
          const path = join(dir, `dump-${n++}`);
          writeFileSync(path, mutate(text, edits));
          try {
            await readStats({ kind: 'file', path }, { timeoutMs: 5000, format: given ? format : undefined }, () => undefined);
          } catch (error) {
            expect(error).toBeInstanceOf(MeshloadError);
            expect((error as MeshloadError).code).toBe('E_STATS');
            expect((error as MeshloadError).oneLine()).not.toMatch(/\n/);
          }
        }),
        { numRuns: 60 },
      );
    });
  });
});
