/** Bad input of every kind, to `run` (scenario files) and to `merge`, `compare` and `report`
 * (result files): each is a usage error, exit 2, never "internal error" (which CI would read as
 * "checks failed", exit 1) and never a stack trace. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { cli, type CliRun } from '../helpers/cli';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'meshload-bad-input-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function expectUsageError(run: CliRun, pattern: RegExp): void {
  expect(run.code).toBe(2);
  expect(run.stdout).toBe('');
  expect(run.stderr).not.toMatch(/internal error|\n\s+at /);
  expect(run.stderr).toMatch(pattern);
}

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function fifo(name: string): string {
  const path = join(dir, name);
  execFileSync('mkfifo', [path]);
  return path;
}

/** Billion laughs: each anchor holds ten aliases of the one before. */
function aliasBomb(): string {
  const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 9; i++) lines.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ')}]`);
  return `${lines.join('\n')}\nname: bomb\nphases: [{ name: p, expect: [] }]\n`;
}

const VALID = 'name: ok\ntarget: http://127.0.0.1:1\nphases:\n  - name: p\n    load:\n';

describe('meshload run with a bad scenario file', () => {
  it.each([
    ['an alias bomb', () => file('bomb.yaml', aliasBomb()), /more than 100 alias expansions/],
    ['a FIFO', () => fifo('fifo.yaml'), /scenario .*fifo\.yaml is not a regular file/],
    ['a directory', () => {
      mkdirSync(join(dir, 'd.yaml'));
      return join(dir, 'd.yaml');
    }, /is a directory/],
    ['a file over 4 MiB', () => file('big.yaml', `# ${'x'.repeat(4 * 1024 * 1024)}\n`), /more than the 4194304 allowed/],
    ['binary garbage', () => file('bin.yaml', Buffer.from([0xff, 0xfe, 0x00, 0x81, 0xc3, 0x28])), /not UTF-8 text/],
    ['nesting 10,000 deep', () => file('deep.yaml', `name: ${'['.repeat(10_000)}${']'.repeat(10_000)}\n`), /YAML syntax: .*call stack|nested deeper/],
    ['connections: 1e12', () => file('c.yaml', `${VALID}      connections: 1e12\n`), /phases\[0\]\.load\.connections \(line 6\): must be at most 100000/],
    ['duration: 10000000h', () => file('d.yaml', `${VALID}      duration: 10000000h\n`), /phases\[0\]\.load\.duration \(line 6\): must be at most 596h/],
    ['sleep: 600h', () => file('s.yaml', 'name: s\ntarget: http://127.0.0.1:1\nphases:\n  - name: p\n    steps: [{ sleep: 600h }]\n'), /phases\[0\]\.steps\[0\]\.sleep \(line 5\): must be at most 596h/],
    ['payloadSize: 1e12', () => file('p.yaml', `${VALID}      payloadSize: 1000000000000\n`), /payloadSize \(line 6\): must be at most/],
    ['a variable in a key', () => file('k.yaml', `${VALID}      headers: { "\${H:-x}": v }\n`), /a key cannot use/],
  ])('%s: one message, exit 2', async (_, make, pattern) => {
    const run = await cli('run', make(), '--no-report');
    expectUsageError(run, pattern);
  });
});

describe('meshload verify with bad manifests', () => {
  function manifestBomb(): string {
    const lines = ['apiVersion: networking.istio.io/v1', 'kind: VirtualService', 'metadata: { name: x }', 'spec:', '  hosts: [x]', '  a0: &a0 { route: [] }'];
    for (let i = 1; i < 9; i++) lines.push(`  a${i}: &a${i} [${Array.from({ length: 20 }, () => `*a${i - 1}`).join(', ')}]`);
    return `${lines.join('\n')}\n  http: *a8\n`;
  }

  it.each([
    ['an alias bomb', () => file('bomb.yaml', manifestBomb()), /more than 100 YAML aliases/],
    ['a FIFO', () => fifo('m.yaml'), /m\.yaml is not a regular file/],
  ])('%s: one message, exit 2', async (_, make, pattern) => {
    const run = await cli('verify', 'http://127.0.0.1:1', '-f', make(), '--dry-run', '--stats', 'http://127.0.0.1:1/stats');
    expectUsageError(run, pattern);
  });
});

const RESULT = JSON.stringify({ name: 'x', file: 'f', startTime: '2026-01-01T00:00:00Z', durationMs: 1, verdict: 'pass', interrupted: false, phases: [], always: [] });

describe('merge, compare and report with a bad result file', () => {
  const cases: Array<[string, () => string, RegExp]> = [
    ['not JSON', () => file('a.json', 'hello'), /is not JSON/],
    ['truncated JSON', () => file('a.json', RESULT.slice(0, 40)), /is not JSON/],
    ['binary garbage', () => file('a.json', Buffer.from([0x80, 0x81, 0xfe, 0xff])), /not UTF-8 text/],
    ['a FIFO', () => fifo('a.json'), /is not a regular file/],
    ['a list', () => file('a.json', '[1, 2]'), /is not a meshload/],
    ['a run with a check of the wrong type', () => file('a.json', RESULT.replace('"phases":[]', '"phases":[{"name":"p","verdict":"pass","checks":[1],"steps":[]}]')), /phases\[0\]\.checks\[0\] is not a check/],
    ['a run with no startTime', () => file('a.json', RESULT.replace('"2026-01-01T00:00:00Z"', 'null')), /no startTime/],
    ['a step of the wrong shape', () => file('a.json', RESULT.replace('"always":[]', '"always":[{"kind":"run"}]')), /always\[0\] is not a step/],
    ['a load whose histogram is not one', () => file('a.json', JSON.stringify({ Meshload: badLoad() })), /latency is not a histogram meshload can read/],
    ['a load whose histogram is a deflate bomb', () => file('a.json', JSON.stringify({ Meshload: badLoad(deflateBomb()) })), /latency is not a histogram meshload can read: inflates to more than/],
    ['a Fortio file with wrong types', () => file('a.json', JSON.stringify({ RunType: 'HTTP', DurationHistogram: { Count: 'x', Data: 5 }, RetCodes: 7 })), /Fortio/],
  ];
  it.each(cases)('%s: merge, compare and report each exit 2 with one message', async (_, make, pattern) => {
    const path = make();
    const good = file('good.json', RESULT);
    for (const argv of [['merge', path, good], ['compare', path, good], ['report', path, '-o', join(dir, 'out.html')]]) {
      const run = await cli(...argv);
      expectUsageError(run, pattern);
      expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    }
  });
});

/** HdrHistogram's compressed cookie and length around 64 MiB of zeros deflated (about 64 KB). */
function deflateBomb(): string {
  const body = deflateSync(Buffer.alloc(64 * 1024 * 1024));
  const head = Buffer.alloc(8);
  head.writeUInt32BE(0x1c849314, 0);
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]).toString('base64');
}

function badLoad(hdr = '@@@'): Record<string, unknown> {
  const histogram = { hdr, count: 1, sum: 1, sumSq: 1, min: 1, max: 1 };
  return {
    tool: 'meshload',
    version: '1',
    plan: { labels: '', url: 'http://x/' },
    startTime: '2026-01-01T00:00:00Z',
    durationMs: 1,
    actualQps: 1,
    codes: {},
    latency: histogram,
    latencyUncorrected: histogram,
    errorLatency: histogram,
    headerSizes: histogram,
    totalSizes: histogram,
  };
}
