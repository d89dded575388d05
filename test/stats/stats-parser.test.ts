import { readFileSync } from 'node:fs';
import path from 'node:path';
import { StatsParseError, type StatSample } from '../../src/stats/stat-sample';
import type { StatsFormat } from '../../src/model/sidecar-report';
import { detectFormat, parseStats, StatsParser } from '../../src/stats/stats-parser';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'stats');
const fixture = (name: string): string => readFileSync(path.join(FIXTURES, name), 'utf8');

/** Parses `chunks` in order through one StatsParser. */
function parseChunks(format: StatsFormat, chunks: string[]): StatSample[] {
  const samples: StatSample[] = [];
  const parser = new StatsParser(format, (s) => samples.push(s));
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  return samples;
}

/** The error parseStats throws, for table rows that expect one. */
function parseError(text: string, format: StatsFormat): StatsParseError {
  try {
    parseStats(text, format);
  } catch (error) {
    if (error instanceof StatsParseError) return error;
    throw error;
  }
  throw new Error(`no error for ${JSON.stringify(text)}`);
}

const sample = (name: string, value: number, line: number, extra: Partial<StatSample> = {}): StatSample => ({
  name,
  labels: {},
  kind: 'untyped',
  value,
  line,
  ...extra,
});

describe('fixtures', () => {
  it.each<[string, StatsFormat, number]>([
    ['envoy-quickstart-stats.txt', 'envoy-text', 70],
    ['envoy-stats-histogram.json', 'envoy-json', 1],
    ['envoy-prometheus-formatter.txt', 'prometheus', 34],
    ['istio-1.23-sidecar.txt', 'envoy-text', 59],
    ['istio-1.22-sidecar.txt', 'envoy-text', 53],
    ['istio-sidecar.json', 'envoy-json', 12],
    ['istio-prometheus.txt', 'prometheus', 26],
    ['plain-envoy-prometheus.txt', 'prometheus', 9],
    ['haproxy-promex.txt', 'prometheus', 19],
  ])('%s is %s and parses into %d samples', (name, format, count) => {
    const text = fixture(name);
    expect(detectFormat(text)).toBe(format);
    expect(detectFormat(text.slice(0, 100))).toBe(format);
    const samples = parseStats(text);
    expect(samples).toHaveLength(count);
    for (const s of samples) {
      expect(s.name.length).toBeGreaterThan(0);
      expect(s.line).toBeGreaterThanOrEqual(1);
    }
  });

  it('reads the quick-start histogram lines as printed, nan as null', () => {
    const samples = parseStats(fixture('envoy-quickstart-stats.txt'));
    expect(samples[2]).toEqual(sample('http.ingress_http.downstream_cx_destroy', 3, 3));
    const histogram = samples.find((s) => s.name === 'http.ingress_http.downstream_cx_length_ms');
    expect(histogram).toMatchObject({ kind: 'histogram', line: 69, labels: {} });
    expect(histogram?.value).toBeNaN();
    expect(histogram?.quantiles).toHaveLength(10);
    expect(histogram?.quantiles?.[0]).toEqual({ percentile: 0, interval: null, cumulative: 2 });
    expect(histogram?.quantiles?.[7]).toEqual({ percentile: 99.5, interval: null, cumulative: 17.985 });
    expect(histogram?.quantiles?.[9]).toEqual({ percentile: 100, interval: null, cumulative: 18 });
  });

  it('reads the JSON histogram with percentiles from supported_quantiles', () => {
    const [h1] = parseStats(fixture('envoy-stats-histogram.json'));
    expect(h1).toMatchObject({ name: 'h1', kind: 'histogram', line: 37 });
    expect(h1?.quantiles?.map((q) => q.percentile)).toEqual([0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100]);
    expect(h1?.quantiles?.[1]).toEqual({ percentile: 25, interval: 207.5, cumulative: 207.5 });
  });

  it('types the formatter output by its # TYPE lines', () => {
    const samples = parseStats(fixture('envoy-prometheus-formatter.txt'));
    expect(samples[0]).toEqual({ name: 'envoy_cluster_upstream_cx_connect_fail', labels: { cluster: 'aaa' }, kind: 'counter', value: 0, line: 2 });
    expect(samples.find((s) => s.name === 'envoy_cluster_upstream_cx_active')?.kind).toBe('gauge');
    const buckets = samples.filter((s) => s.name === 'envoy_cluster_upstream_response_time_bucket');
    expect(buckets).toHaveLength(20);
    expect(buckets.every((s) => s.kind === 'histogram')).toBe(true);
    expect(buckets[19]).toMatchObject({ labels: { cluster: 'aaa', le: '+Inf' }, value: 7 });
    expect(samples.at(-2)).toMatchObject({ name: 'envoy_cluster_upstream_response_time_sum', kind: 'histogram', value: 5532, line: 42 });
  });

  it('reads Istio names with ; and |, text readouts and No recorded values', () => {
    const samples = parseStats(fixture('istio-1.23-sidecar.txt'));
    expect(samples[0]).toEqual(sample('cluster_manager.cds.version_text', NaN, 1, { kind: 'text', text: '2025-11-20T09:12:44Z/42' }));
    expect(samples[4]).toEqual(sample('cluster.inbound|8080||;.upstream_rq_total', 12, 5));
    const empty = samples.find((s) => s.name === 'cluster.outbound|9080|v2|reviews.default.svc.cluster.local;.upstream_rq_time');
    expect(empty).toMatchObject({ kind: 'histogram', line: 58 });
    expect(empty?.quantiles).toBeUndefined();
    const json = parseStats(fixture('istio-sidecar.json'));
    expect(json[8]).toMatchObject({ name: 'cluster.outbound|9080|v2|reviews.default.svc.cluster.local.circuit_breakers.default.remaining_cx_pools', value: Number('18446744073709551614'), line: 11 });
    expect(json[10]).toMatchObject({ name: 'cluster.outbound|8000||httpbin.default.svc.cluster.local;.upstream_rq_time', kind: 'histogram', line: 18 });
    expect(json[10]?.quantiles?.[4]).toEqual({ percentile: 90, interval: null, cumulative: 12.09 });
    expect(json[11]).toMatchObject({ name: 'server.initialization_time_ms', line: 33 });
  });
});

describe('Envoy /stats text lines', () => {
  it.each<[string, string, StatSample[]]>([
    ['counter', 'a.b: 7', [sample('a.b', 7, 1)]],
    ['uint64 beyond 2^53', 'x.remaining_cx_pools: 18446744073709551614', [sample('x.remaining_cx_pools', Number('18446744073709551614'), 1)]],
    ['Istio name with | and ;', 'cluster.outbound|8000||httpbin.default.svc.cluster.local;.upstream_rq_total: 9', [sample('cluster.outbound|8000||httpbin.default.svc.cluster.local;.upstream_rq_total', 9, 1)]],
    ['name with ": " splits at the last one', 'weird: name: 5', [sample('weird: name', 5, 1)]],
    ['name with spiffe://', 'istiocustom.x.spiffe://cluster.local/ns/a/sa/b.code.200: 2', [sample('istiocustom.x.spiffe://cluster.local/ns/a/sa/b.code.200', 2, 1)]],
    ['text readout', 'a.version_text: "v1"', [sample('a.version_text', NaN, 1, { kind: 'text', text: 'v1' })]],
    ['text readout with ": " and quotes inside', 'a.t: "k: "v": 3"', [sample('a.t', NaN, 1, { kind: 'text', text: 'k: "v": 3' })]],
    ['empty text readout', 'a.t: ""', [sample('a.t', NaN, 1, { kind: 'text', text: '' })]],
    ['text readout after a name with ": "', 'a: b: "v"', [sample('a: b', NaN, 1, { kind: 'text', text: 'v' })]],
    ['No recorded values', 'h: No recorded values', [sample('h', NaN, 1, { kind: 'histogram' })]],
    [
      'any quantile count, numbers in any notation',
      'h: P50(1e+06,nan) P99(-nan,0.5)',
      [sample('h', NaN, 1, { kind: 'histogram', quantiles: [{ percentile: 50, interval: 1e6, cumulative: null }, { percentile: 99, interval: null, cumulative: 0.5 }] })],
    ],
    ['blank lines, CRLF and a missing final newline', '\na: 1\r\n\r\n   \nb: 2', [sample('a', 1, 2), sample('b', 2, 5)]],
  ])('%s', (_, text, expected) => {
    expect(parseStats(text, 'envoy-text')).toEqual(expected);
  });

  it.each<[string, string, number, RegExp]>([
    ['no separator', 'a: 1\nnovalue', 2, /expected "name: value", found no ": " in "novalue"/],
    ['no space after the colon', 'a:1', 1, /found no ": "/],
    ['empty name', ': 5', 1, /found no ": "/],
    ['word value', 'a: 1\nb: 2\nc: many', 3, /expected a number, "text", P<percentile>\(interval,cumulative\) quantiles or "No recorded values" after ": ", got "many"/],
    ['number with junk', 'a: 12abc', 1, /expected a number after "a: ", got "12abc"/],
    ['hex', 'a: 0x10', 1, /expected a number/],
    ['trailing space', 'a: 12 ', 1, /expected a number/],
    ['unterminated text', 'a: "', 1, /expected a number, "text"/],
    ['quantiles glued together', 'h: P0(1,2)P25(3,4)', 1, /expected histogram quantiles .* at column 11, got "P25\(3,4\)"/],
    ['quantile with one value', 'h: P0(1) P25(3,4)', 1, /expected histogram quantiles .* at column 4/],
    ['quantile with a word', 'h: P0(1,2) P25(x,4)', 1, /at column 12/],
    ['histogram buckets', 'h: B0.5(0,0) B1(0,0)', 1, /histogram_buckets output is not supported/],
    ['detailed histogram', 'h:', 1, /histogram_buckets=detailed/],
  ])('rejects %s, naming the line', (_, text, line, message) => {
    const error = parseError(text, 'envoy-text');
    expect(error.line).toBe(line);
    expect(error.message).toMatch(message);
    expect(error.message.startsWith(`line ${line}: `)).toBe(true);
  });
});

describe('Prometheus exposition text', () => {
  const prom = (name: string, labels: Record<string, string>, value: number, line: number, kind: StatSample['kind'] = 'untyped'): StatSample => ({
    name,
    labels,
    kind,
    value,
    line,
  });

  it.each<[string, string, StatSample[]]>([
    ['bare sample', 'up 1', [prom('up', {}, 1, 1)]],
    ['empty label set', 'a{} 2', [prom('a', {}, 2, 1)]],
    ['labels, trailing comma, blanks', 'a{ x = "1" , y="2", } 3 ', [prom('a', { x: '1', y: '2' }, 3, 1)]],
    ['escapes', String.raw`a{p="C:\\dir",q="say \"hi\"",r="two\nlines"} 1`, [prom('a', { p: 'C:\\dir', q: 'say "hi"', r: 'two\nlines' }, 1, 1)]],
    ['escape then a second label', String.raw`a{p="\\",cluster_name="outbound|80||x.y"} 1`, [prom('a', { p: '\\', cluster_name: 'outbound|80||x.y' }, 1, 1)]],
    ['special characters in a value', 'a{v="{},= #"} 1', [prom('a', { v: '{},= #' }, 1, 1)]],
    ['timestamp', 'a 1 1700000000000\nb -2 -5', [prom('a', {}, 1, 1), prom('b', {}, -2, 2)]],
    ['exponents', 'a 1.5e3\nb 2E-2\nc -.5\nd 1e999', [prom('a', {}, 1500, 1), prom('b', {}, 0.02, 2), prom('c', {}, -0.5, 3), prom('d', {}, Infinity, 4)]],
    ['infinities', 'a +Inf\nb -Inf\nc Inf', [prom('a', {}, Infinity, 1), prom('b', {}, -Infinity, 2), prom('c', {}, Infinity, 3)]],
    ['metric names with colons', 'job:rq:rate5m 4', [prom('job:rq:rate5m', {}, 4, 1)]],
    ['__proto__ is just a label', 'a{__proto__="x"} 1', [prom('a', { ['__proto__']: 'x' }, 1, 1)]],
    ['tabs and CRLF', 'a\t1\r\n\tb{x="y"}\t2\t3\r\n', [prom('a', {}, 1, 1), prom('b', { x: 'y' }, 2, 2)]],
    [
      'TYPE applies to its family only',
      '# HELP c_total Requests.\n# TYPE c counter\nc 1\nc_total 2\n# TYPE g gauge\ng 3\n# some comment\nother 4',
      [prom('c', {}, 1, 3, 'counter'), prom('c_total', {}, 2, 4), prom('g', {}, 3, 6, 'gauge'), prom('other', {}, 4, 8)],
    ],
    [
      'histogram and summary series',
      '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 2\nh_count 3\nh_other 4\n# TYPE s summary\ns{quantile="0.5"} 5\ns_sum 6\ns_count 7\ns_bucket 8',
      [
        prom('h_bucket', { le: '1' }, 1, 2, 'histogram'),
        prom('h_sum', {}, 2, 3, 'histogram'),
        prom('h_count', {}, 3, 4, 'histogram'),
        prom('h_other', {}, 4, 5),
        prom('s', { quantile: '0.5' }, 5, 7, 'histogram'),
        prom('s_sum', {}, 6, 8, 'histogram'),
        prom('s_count', {}, 7, 9, 'histogram'),
        prom('s_bucket', {}, 8, 10),
      ],
    ],
  ])('%s', (_, text, expected) => {
    expect(parseStats(text, 'prometheus')).toEqual(expected);
  });

  it('reads NaN values', () => {
    const [a, b] = parseStats('a NaN\nb nan', 'prometheus');
    expect(a?.value).toBeNaN();
    expect(b?.value).toBeNaN();
  });

  it('keeps __proto__ as data, not as the prototype', () => {
    const [s] = parseStats('a{__proto__="x",b="y"} 1', 'prometheus');
    expect(Object.keys(s?.labels ?? {})).toEqual(['__proto__', 'b']);
    expect(Object.getPrototypeOf(s?.labels)).toBe(Object.prototype);
  });

  it.each<[string, string, number, RegExp]>([
    ['unknown type', 'a 1\n# TYPE a countr', 2, /expected a metric type \(counter, gauge, histogram, summary or untyped\) after "# TYPE a", got "countr"/],
    ['TYPE without a name', '# TYPE', 1, /expected "# TYPE <metric name> <type>"/],
    ['name starting with a digit', '1a 2', 1, /expected a metric name at column 1/],
    ['no value', 'a{x="1"}', 1, /expected a value after "a\{\.\.\.\}"/],
    ['word value', 'a{x="1"} many', 1, /expected a sample value \(a number, NaN, \+Inf or -Inf\) at column 10, got "many"/],
    ['name glued to junk', 'a.b 1', 1, /expected "\{", a space or a tab after the metric name at column 2/],
    ['fractional timestamp', 'a 1 1.5', 1, /expected an integer timestamp or the end of the line at column 5, got "1.5"/],
    ['extra token', 'a 1 2 3', 1, /expected the end of the line after the timestamp at column 7/],
    ['unterminated label value', 'ok 1\na{x="1} 2', 2, /expected a closing quote for label x/],
    ['unterminated after an escape', String.raw`a{x="\\} 2`, 1, /expected a closing quote for label x/],
    ['bad escape', String.raw`a{x="\t"} 1`, 1, /expected an escape \\\\, \\" or \\n in label x at column 6/],
    ['duplicate label', 'a{x="1",x="2"} 1', 1, /expected each label once, got x twice/],
    ['missing =', 'a{x "1"} 1', 1, /expected "=" after label x at column 5/],
    ['unquoted value', 'a{x=1} 1', 1, /expected a quoted value for label x/],
    ['missing comma', 'a{x="1" y="2"} 1', 1, /expected "," or "}" after label x at column 9/],
    ['bad label name', 'a{1x="1"} 1', 1, /expected a label name or "}" at column 3/],
  ])('rejects %s, naming the line', (_, text, line, message) => {
    const error = parseError(text, 'prometheus');
    expect(error.line).toBe(line);
    expect(error.message).toMatch(message);
  });
});

describe('Envoy JSON', () => {
  it('reads numbers, text readouts and histograms with null quantiles', () => {
    const text = '{"stats":[{"name":"a","value":1},{"name":"t","value":"v"},{"histograms":{"supported_quantiles":[50,99],"computed_quantiles":[{"name":"h","values":[{"interval":null,"cumulative":2},{"cumulative":3}]}]}}]}';
    expect(parseStats(text)).toEqual([
      sample('a', 1, 1),
      sample('t', NaN, 1, { kind: 'text', text: 'v' }),
      sample('h', NaN, 1, { kind: 'histogram', quantiles: [{ percentile: 50, interval: null, cumulative: 2 }, { percentile: 99, interval: null, cumulative: 3 }] }),
    ]);
  });

  it('reads a dump saved with a byte order mark, and only one', () => {
    expect(parseStats('\ufeff{"stats":[{"name":"a","value":1}]}')).toEqual([sample('a', 1, 1)]);
    expect(parseError('\ufeff\ufeff{"stats":[]}', 'envoy-json').message).toMatch(/Unexpected token U\+FEFF/);
  });

  it('reads the compact one-line form of a large dump in linear time', () => {
    const entries = Array.from({ length: 200_000 }, (_, i) => `{"name":"cluster.outbound|80||s${i}.ns.svc.cluster.local.upstream_rq_total","value":${i}}`);
    const text = `{"stats":[${entries.join(',')}]}`;
    const started = performance.now();
    let count = 0;
    const parser = new StatsParser('envoy-json', () => count++);
    for (let at = 0; at < text.length; at += 65536) parser.push(text.slice(at, at + 65536));
    parser.end();
    expect(count).toBe(200_000);
    // ~16 MB on one line: about a second; the old line locator searched the rest of the line
    // per entry, minutes here. The bound is generous for a noisy machine.
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('gives each entry the line of its name, even a stat named "name"', () => {
    const text = '{"stats":[\n{"name":"name","value":1},\n{"value":2,\n "name" : "b"}\n]}\n';
    expect(parseStats(text, 'envoy-json').map((s) => [s.name, s.line])).toEqual([
      ['name', 2],
      ['b', 4],
    ]);
  });

  it.each<[string, string, number, RegExp]>([
    ['a bad token (JSON.parse gives no position)', '{"stats":[\n{"name":"a","value":1},\n{"name":"b","value":nan}\n]}', 3, /expected valid JSON: Unexpected token/],
    ['a missing comma', '{"stats":[\n{"name":"a" "value":1}\n]}', 2, /expected valid JSON/],
    ['a truncated document', '{"stats":[\n{"name":"a","value":1},\n', 3, /Unexpected end of JSON input/],
    ['trailing text', '{"stats":[]}\n\nxx', 3, /expected valid JSON/],
    ['no stats array', '{"stat":[]}', 1, /expected a JSON object \{"stats":\[\.\.\.\]\}/],
    ['a boolean value', '{"stats":[\n{"name":"a","value":1},\n{"name":"b","value":true}]}', 3, /stats\[1\] \(b\): expected a number or a string "value", got true/],
    ['a missing name', '{"stats":[\n{"value":1}]}', 2, /stats\[0\]: expected a "name" string/],
    [
      'fewer values than quantiles',
      '{"stats":[{"histograms":{"supported_quantiles":[0,50],\n"computed_quantiles":[\n{"name":"h","values":[{"interval":1,"cumulative":1}]}]}}]}',
      3,
      /computed_quantiles\[0\] \(h\): expected 2 values, one per supported quantile, got 1/,
    ],
    ['a string quantile', '{"stats":[{"histograms":{"supported_quantiles":[0],"computed_quantiles":[{"name":"h","values":[{"interval":"1","cumulative":1}]}]}}]}', 1, /values\[0\] \(h\): expected \{"interval":number\|null/],
    ['histogram_buckets output', '{"stats":[{"histograms":[{"name":"h","buckets":[]}]}]}', 1, /histogram_buckets output is not supported/],
    ['combined histogram output', '{"stats":[{"supported_percentiles":[0,50]}]}', 1, /histogram_buckets output is not supported/],
  ])('rejects %s, naming the line', (_, text, line, message) => {
    const error = parseError(text, 'envoy-json');
    expect(error.line).toBe(line);
    expect(error.message).toMatch(message);
  });
});

describe('streaming', () => {
  const inputs: Array<[StatsFormat, string]> = [
    ['envoy-text', 'a.b: 1\r\ncluster.outbound|80||x.y;.upstream_rq_total: 22\n\nt: "k: v"\nh: P0(nan,1) P50(2,3.5)\nn: No recorded values\nlast: 9'],
    ['prometheus', '# TYPE h histogram\nh_bucket{le="+Inf",c="a\\"b\\\\c\\nd"} 1\r\nh_sum 2.5 17\n\nx{a="1",b="2"} NaN\ny -Inf\n'],
    ['envoy-json', '{"stats":[\n{"name":"a","value":1},\n{"name":"t","value":"x"},\n{"histograms":{"supported_quantiles":[0],"computed_quantiles":[{"name":"h","values":[{"interval":null,"cumulative":1}]}]}}]}\n'],
  ];

  it.each(inputs)('%s gives the same samples for every split point and byte by byte', (format, text) => {
    const whole = parseChunks(format, [text]);
    expect(whole.length).toBeGreaterThan(2);
    for (let i = 0; i <= text.length; i++) {
      expect(parseChunks(format, [text.slice(0, i), text.slice(i)])).toEqual(whole);
    }
    for (let i = 0; i <= text.length; i++) {
      for (let j = i; j <= text.length; j += 7) {
        expect(parseChunks(format, [text.slice(0, i), text.slice(i, j), text.slice(j)])).toEqual(whole);
      }
    }
    expect(parseChunks(format, Array.from(text))).toEqual(whole);
  });

  it('reports the same line for an error wherever the chunks split', () => {
    const text = 'a: 1\nb: 2\n\nc: 3\nd: oops\ne: 5\n';
    for (let i = 0; i <= text.length; i++) {
      expect(() => parseChunks('envoy-text', [text.slice(0, i), text.slice(i)])).toThrow(new StatsParseError(5, 'expected a number, "text", P<percentile>(interval,cumulative) quantiles or "No recorded values" after ": ", got "oops"'));
    }
  });

  it('emits complete lines as they arrive and counts lines', () => {
    const seen: string[] = [];
    const parser = new StatsParser('envoy-text', (s) => seen.push(s.name));
    parser.push('a: 1\nb: ');
    expect(seen).toEqual(['a']);
    expect(parser.lines).toBe(1);
    parser.push('2\n\nc: 3');
    expect(seen).toEqual(['a', 'b']);
    expect(parser.lines).toBe(3);
    parser.end();
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(parser.lines).toBe(4);
  });

  it('counts JSON lines at the end', () => {
    const parser = new StatsParser('envoy-json', () => undefined);
    parser.push('{"stats":[\n{"name":"a","value":1}\n]}\n');
    parser.end();
    expect(parser.lines).toBe(3);
  });

  it('refuses input after end() and after an error', () => {
    const ended = new StatsParser('envoy-text', () => undefined);
    ended.end();
    expect(() => ended.push('a: 1\n')).toThrow('StatsParser.push() after end()');
    const failed = new StatsParser('prometheus', () => undefined);
    expect(() => failed.push('a{ 1\n')).toThrow(StatsParseError);
    expect(() => failed.push('b 1\n')).toThrow('StatsParser.push() after a parse error');
    expect(() => failed.end()).toThrow('after a parse error');
  });

  it('parses a dump much larger than a chunk with memory bounded by a line', () => {
    const line = 'cluster.outbound|8000||httpbin.default.svc.cluster.local;.upstream_rq_total: 12345\n';
    const chunk = line.repeat(800); // ~66 KB
    let count = 0;
    const parser = new StatsParser('envoy-text', () => count++);
    for (let i = 0; i < 50; i++) parser.push(chunk.slice(0, 1000) + chunk.slice(1000));
    parser.end();
    expect(count).toBe(40_000);
    expect(parser.lines).toBe(40_000);
  });
});

describe('detectFormat', () => {
  it.each<[string, StatsFormat | undefined]>([
    ['{"stats":[]}', 'envoy-json'],
    ['\ufeff  \n {\n  "stats": [', 'envoy-json'],
    ['{"other":1}', undefined],
    ['# HELP a b\n', 'prometheus'],
    ['# TYPE a counter\n', 'prometheus'],
    ['# any comment\n', 'prometheus'],
    ['envoy_x{a="b: c"} 1\n', 'prometheus'],
    ['up 1\n', 'prometheus'],
    ['job:rate 1\n', 'prometheus'],
    ['envoy_cluster_x{cluster_name="outbound|80||a.b"', 'prometheus'],
    ['server.uptime: 5\n', 'envoy-text'],
    ['\n\ncluster.outbound|80||a.b;.upstream_rq_total: 1', 'envoy-text'],
    ['uptime: 5\n', 'envoy-text'],
    ['cluster.outbound|80||a.b', undefined],
    ['', undefined],
    ['hello world!\n', undefined],
    ['up 1.5e', undefined],
  ])('%j -> %s', (head, format) => {
    expect(detectFormat(head)).toBe(format);
  });

  it('parseStats detects the format, and says what it expected when it cannot', () => {
    expect(parseStats('a.b: 1')).toEqual([sample('a.b', 1, 1)]);
    expect(() => parseStats('??')).toThrow(/line 1: expected Envoy \/stats text/);
  });
});
