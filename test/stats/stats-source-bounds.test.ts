/** Every stats read is bounded: --stats-timeout is a deadline for the whole read (an endless
 * slow-drip URL is cut, a command's whole process group is killed), --stats-max-bytes ends a
 * runaway source, parsing yields to the event loop, and credentials in a URL never show. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeSource, readStats, readText, type StatsSource } from '../../src/stats/stats-source';
import type { StatSample } from '../../src/stats/stat-sample';
import { MeshloadError } from '../../src/util/errors';

const ENVOY_JSON_FIXTURE = '/work/shared/fixtures/envoy/stats-histogram.json';

let dir: string;
let server: http.Server | undefined;
const open = new Set<http.ServerResponse>();

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'meshload-stats-bounds-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

afterEach(async () => {
  for (const res of open) res.destroy();
  open.clear();
  if (server !== undefined) {
    server.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  }
});

async function serve(handler: http.RequestListener): Promise<string> {
  server = http.createServer((req, res) => {
    open.add(res);
    res.once('close', () => open.delete(res));
    handler(req, res);
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The MeshloadError a read fails with, and how long it took. */
async function failure(read: Promise<unknown>): Promise<{ error: MeshloadError; ms: number }> {
  const started = performance.now();
  try {
    await read;
  } catch (error) {
    if (!(error instanceof MeshloadError)) throw error;
    return { error, ms: performance.now() - started };
  }
  throw new Error('the read succeeded');
}

/** Whether a process still runs: a zombie (killed, not yet reaped by a container's init) is dead. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** SIGKILL is delivered asynchronously; a process gets up to 3 s to be gone. */
async function gone(pids: number[]): Promise<boolean> {
  const until = Date.now() + 3000;
  while (pids.some(alive)) {
    if (Date.now() > until) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

function pidsIn(file: string): number[] {
  return readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
}

/** One line of compact Envoy JSON, `clusters` clusters of the fixture's shape, plus its histogram. */
function compactEnvoyJson(clusters: number): string {
  const fixture = JSON.parse(readFileSync(ENVOY_JSON_FIXTURE, 'utf8')) as { stats: Array<{ histograms: { supported_quantiles: number[]; computed_quantiles: Array<{ values: unknown[] }> } }> };
  const histograms = fixture.stats[0]?.histograms;
  if (histograms === undefined) throw new Error(`${ENVOY_JSON_FIXTURE} has no histograms`);
  const entries: string[] = [];
  const computed: string[] = [];
  const values = histograms.computed_quantiles[0]?.values ?? [];
  for (let i = 0; i < clusters; i++) {
    const cluster = `cluster.outbound|8000||svc${i}.default.svc.cluster.local;`;
    for (const stat of ['upstream_rq_total', 'upstream_rq_503', 'upstream_rq_pending_overflow', 'circuit_breakers.default.rq_pending_open']) {
      entries.push(JSON.stringify({ name: `${cluster}.${stat}`, value: i }));
    }
    computed.push(JSON.stringify({ name: `${cluster}.upstream_rq_time`, values }));
  }
  entries.push(JSON.stringify({ histograms: { supported_quantiles: histograms.supported_quantiles, computed_quantiles: [] } }).replace('[]}}', `[${computed.join(',')}]}}`));
  return `{"stats":[${entries.join(',')}]}`;
}

describe('--stats-timeout is a deadline for the whole read', () => {
  it('cuts an endless slow-drip URL and closes its connection', async () => {
    let closed: Promise<void> | undefined;
    const base = await serve((req, res) => {
      closed = new Promise((resolve) => req.socket.once('close', () => resolve()));
      res.writeHead(200, { 'content-type': 'text/plain' });
      let n = 0;
      const drip = setInterval(() => res.write(`cluster.a.upstream_rq_total: ${n++}\n`), 50);
      res.once('close', () => clearInterval(drip));
    });
    const { error, ms } = await failure(readStats({ kind: 'url', url: `${base}/stats` }, { timeoutMs: 1000 }, () => undefined));
    expect(error.code).toBe('E_STATS');
    expect(error.message).toMatch(/took longer than --stats-timeout 1000 ms/);
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThan(5000);
    await closed;
  });

  it('kills the whole process group of a command, children that hold the pipe included', async () => {
    const pids = join(dir, 'group.pids');
    // The background sleep keeps stdout open after sh is gone: killing only sh would hang.
    const command = `sleep 100 & echo $$ $! > '${pids}'; echo 'a.b: 1'; sleep 100`;
    const { error, ms } = await failure(readStats({ kind: 'command', command }, { timeoutMs: 1000 }, () => undefined));
    expect(error.message).toMatch(/took longer than --stats-timeout 1000 ms/);
    expect(ms).toBeLessThan(5000);
    const started = pidsIn(pids);
    expect(started).toHaveLength(2);
    expect(await gone(started)).toBe(true);
  });

  it('kills what a finished command left running in the background', async () => {
    const pids = join(dir, 'left.pids');
    const command = `sleep 100 >/dev/null 2>&1 & echo $! > '${pids}'; echo 'a.b: 1'`;
    const samples: StatSample[] = [];
    await readStats({ kind: 'command', command }, { timeoutMs: 5000 }, (s) => samples.push(s));
    expect(samples.map((s) => s.name)).toEqual(['a.b']);
    expect(await gone(pidsIn(pids))).toBe(true);
  });

  it('ends at once on Ctrl-C (the signal), killing the group', async () => {
    const pids = join(dir, 'ctrl-c.pids');
    const controller = new AbortController();
    const command = `echo $$ > '${pids}'; echo 'a.b: 1'; sleep 100`;
    // The first sample shows the command runs; Ctrl-C comes while it sleeps.
    const read = failure(readStats({ kind: 'command', command }, { timeoutMs: 60_000, format: 'envoy-text', signal: controller.signal }, () => controller.abort()));
    const { error, ms } = await read;
    expect(error.message).toMatch(/^reading stats from command '.*' was interrupted$/);
    expect(ms).toBeLessThan(5000);
    expect(await gone(pidsIn(pids))).toBe(true);
  });

  it('bounds readText (the /clusters page) the same way', async () => {
    const base = await serve((_req, res) => {
      res.writeHead(200);
      const drip = setInterval(() => res.write('x'), 50);
      res.once('close', () => clearInterval(drip));
    });
    const { error, ms } = await failure(readText({ kind: 'url', url: `${base}/clusters` }, 800));
    expect(error.message).toMatch(/took longer than --stats-timeout 800 ms/);
    expect(ms).toBeLessThan(5000);
  });
});

describe('--stats-max-bytes ends a runaway source', () => {
  it('a URL that never stops sending', async () => {
    const base = await serve((_req, res) => {
      res.writeHead(200);
      const line = Buffer.from('cluster.a.upstream_rq_total: 1\n'.repeat(2048));
      const pump = (): void => {
        while (res.write(line));
        res.once('drain', pump);
      };
      pump();
    });
    const { error } = await failure(readStats({ kind: 'url', url: `${base}/stats` }, { timeoutMs: 10_000, maxBytes: 1024 * 1024 }, () => undefined));
    expect(error.message).toMatch(/sent more than 1 MiB of stats \(--stats-max-bytes 1MiB\)$/);
    expect(error.oneLine().split('\n')).toHaveLength(1);
  });

  it('a command that keeps writing, whose group is then killed', async () => {
    const pids = join(dir, 'yes.pids');
    const command = `echo $$ > '${pids}'; yes 'a.b: 1'`;
    const { error } = await failure(readStats({ kind: 'command', command }, { timeoutMs: 10_000, maxBytes: 256 * 1024 }, () => undefined));
    expect(error.message).toMatch(/sent more than 256 KiB of stats \(--stats-max-bytes 256KiB\)/);
    expect(await gone(pidsIn(pids))).toBe(true);
  });

  it('a file larger than the cap', async () => {
    const path = join(dir, 'big.txt');
    writeFileSync(path, 'cluster.a.upstream_rq_total: 1\n'.repeat(100_000));
    const { error } = await failure(readStats({ kind: 'file', path }, { timeoutMs: 10_000, maxBytes: 1000 }, () => undefined));
    expect(error.message).toBe(`${path} sent more than 1000 bytes of stats (--stats-max-bytes 1000bytes)`);
  });
});

/** Typically 20-40 ms on a shared 2-core machine; parsing these dumps without yielding blocks the
 * loop for a second or more, so the bound leaves room for a GC pause and still tells them apart. */
const LATE_MS = 200;
const CLUSTERS = 24_000;

describe('parsing yields to the event loop', () => {
  it('a timer fires on time while a large one-line Envoy JSON dump is parsed', async () => {
    const path = join(dir, 'compact.json');
    const text = compactEnvoyJson(CLUSTERS);
    expect(text.length).toBeGreaterThan(10_000_000);
    expect(text.includes('\n')).toBe(false);
    writeFileSync(path, text);
    let last = performance.now();
    let worst = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      worst = Math.max(worst, now - last);
      last = now;
    }, 5);
    let samples = 0;
    try {
      await readStats({ kind: 'file', path }, { timeoutMs: 60_000 }, () => samples++);
    } finally {
      clearInterval(ticker);
    }
    expect(samples).toBe(CLUSTERS * 5);
    expect(worst).toBeLessThan(LATE_MS);
  });

  it('the same holds for a dump that arrives from a URL in one write', async () => {
    // A Buffer, so the server's own work (encoding 6 MB) is not counted against the parser.
    const body = Buffer.from(compactEnvoyJson(CLUSTERS));
    const base = await serve((_req, res) => res.end(body));
    let last = performance.now();
    let worst = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      worst = Math.max(worst, now - last);
      last = now;
    }, 5);
    let samples = 0;
    try {
      await readStats({ kind: 'url', url: `${base}/stats?format=json` }, { timeoutMs: 60_000 }, () => samples++);
    } finally {
      clearInterval(ticker);
    }
    expect(samples).toBe(CLUSTERS * 5);
    expect(worst).toBeLessThan(LATE_MS);
  });
});

describe('credentials in a stats URL', () => {
  const secret = 's3cr3t-pw';

  it('are redacted in the source name', () => {
    const source: StatsSource = { kind: 'url', url: `http://admin:${secret}@127.0.0.1:15000/stats` };
    expect(describeSource(source)).toBe('http://<redacted>@127.0.0.1:15000/stats');
    expect(describeSource({ kind: 'command', command: `curl -s http://admin:${secret}@localhost:15000/stats` })).toBe("command 'curl -s http://<redacted>@localhost:15000/stats'");
  });

  it.each<[string, (base: string) => Promise<string>]>([
    ['an error status', async () => serve((_req, res) => res.writeHead(503).end(`upstream down\n${'x'.repeat(10_000)}`))],
    ['a timeout', async () => serve((_req, res) => res.writeHead(200).write('a.b: 1\n'))],
    ['an unreachable port', async () => 'http://127.0.0.1:1'],
    ['an unparsable body', async () => serve((_req, res) => res.writeHead(200).end('a.b: 1\nnot a stat\n'))],
  ])('never appear in the error for %s', async (_, start) => {
    const base = await start('');
    const url = base.replace('http://', `http://admin:${secret}@`) + '/stats';
    const { error } = await failure(readStats({ kind: 'url', url }, { timeoutMs: 800, format: 'envoy-text' }, () => undefined));
    expect(error.oneLine()).toContain('http://<redacted>@127.0.0.1:');
    expect(error.oneLine()).not.toContain(secret);
    expect(error.oneLine().split('\n')).toHaveLength(1);
  });
});
