/** `meshload verify` knows its backend: one probe tells a meshload server, httpbin and an unknown
 * server apart, and the plan asks each only for faults it honours (meshload within its delay
 * cap, httpbin by its paths, an unknown server for none). A fault the server clamps during the
 * run makes the policy inconclusive, never a silent fail. Real servers on loopback. */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEchoServer, type RunningEchoServer } from '../../src/server/echo-server';
import { checkExpectation } from '../../src/checks';
import { loadScenario } from '../../src/scenario/load-scenario';
import { probeBackend, probeDelayCap } from '../../src/verify/probe-backend';
import { cli } from '../helpers/cli';

const MANIFESTS = join(__dirname, '..', '..', 'scenarios', 'istio', 'manifests');
const RETRIES = join(MANIFESTS, 'meshload-server-retries.yaml');
const TIMEOUT = join(MANIFESTS, 'meshload-server-timeout.yaml');
const BREAKER = join(MANIFESTS, 'httpbin-circuit-breaker.yaml');
const STATS = ['--stats', 'http://127.0.0.1:1/stats'];

const echoServers: RunningEchoServer[] = [];
const plainServers: http.Server[] = [];
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'meshload-verify-backend-'));
});

afterEach(async () => {
  await Promise.all(echoServers.splice(0).map((s) => s.close()));
  await Promise.all(
    plainServers.splice(0).map(
      (s) =>
        new Promise<void>((resolve) => {
          s.closeAllConnections();
          s.close(() => resolve());
        }),
    ),
  );
  rmSync(dir, { recursive: true, force: true });
});

async function meshloadServer(maxDelayMs: number): Promise<string> {
  const server = await startEchoServer({ echo: { host: '127.0.0.1', port: 0 }, admin: null, maxDelayMs, maxPayloadBytes: 1024 });
  echoServers.push(server);
  return `http://127.0.0.1:${server.echoPort}`;
}

async function plainServer(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  plainServers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A small httpbin: /get (its JSON), /status/:codes (uniform among a comma list), /delay/:n. */
function httpbinLike(): Promise<string> {
  return plainServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/get') return json(200, { args: Object.fromEntries(url.searchParams), headers: req.headers, origin: '127.0.0.1', url: url.toString() });
    const status = /^\/status\/([\d,]+)$/.exec(url.pathname);
    if (status !== null) {
      const codes = (status[1] as string).split(',');
      res.writeHead(Number(codes[Math.floor(Math.random() * codes.length)]));
      return res.end();
    }
    const delay = /^\/delay\/([\d.]+)$/.exec(url.pathname);
    if (delay !== null) {
      setTimeout(() => json(200, { url: url.toString() }), Math.min(10, Number(delay[1])) * 1000);
      return;
    }
    json(404, { error: 'not found' });
  });
}

function phasesOf(stdout: string): Array<{ name: string; url: string | undefined; description: string }> {
  return loadScenario(stdout, 'plan.yaml', { checkExpression: checkExpectation }).phases.map((p) => ({ name: p.name, url: p.load?.url, description: p.description ?? '' }));
}

/** A VirtualService for host `httpbin` with retries on 5xx and a route timeout. */
function httpbinRoute(): string {
  const file = join(dir, 'httpbin-vs.yaml');
  writeFileSync(file, 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: httpbin}\nspec:\n  hosts: [httpbin]\n  http:\n  - route: [{destination: {host: httpbin}}]\n    retries: {attempts: 2, retryOn: 5xx}\n    timeout: 500ms\n');
  return file;
}

describe('verify --dry-run probes the backend', () => {
  it('a meshload server capping delays at 1.5s: the 3s per-try phase is not planned, and the plan says what the server needs', async () => {
    const target = await meshloadServer(1500);
    const run = await cli('verify', '-f', RETRIES, '-f', TIMEOUT, `${target}/echo`, ...STATS, '--dry-run');
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^verify: backend meshload: a meshload server: it refused the probe's bad parameter/m);
    expect(run.stderr).toMatch(/^verify: the server caps delays at 1\.5s \(x-meshload-clamped: delay=3s>1\.5s\)$/m);
    expect(phasesOf(run.stdout).map((p) => p.name)).toEqual(['retries: each try fails at 50%', 'timeout: upstream slower than 500ms', 'timeout: upstream faster than 500ms']);
    expect(run.stdout).toMatch(/perTryTimeout 2s: needs -max-echo-delay >= 3s on the meshload server \(it caps delays at 1\.5s\)/);
    expect(run.stdout).not.toMatch(/url: .*delay=3s/);
    expect(phasesOf(run.stdout)[1]?.url).toBe(`${target}/echo?delay=750ms`);
  });

  it('a meshload server allowing 5s (as the shipped manifests start it): the 3s per-try phase is planned', async () => {
    const target = await meshloadServer(5000);
    const run = await cli('verify', '-f', RETRIES, `${target}/echo`, ...STATS, '--dry-run');
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^verify: the server held a 3s delay unclamped$/m);
    const slow = phasesOf(run.stdout).find((p) => p.name === 'retries: every try is too slow');
    expect(slow?.url).toBe(`${target}/echo?delay=3s`);
  });

  it('a plan whose only phases need more than the default cap still asks the server for its cap', async () => {
    const route = join(dir, 'vs.yaml');
    writeFileSync(route, 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: svc}\nspec:\n  hosts: [svc]\n  http:\n  - route: [{destination: {host: svc}}]\n    timeout: 2s\n');
    const roomy = await meshloadServer(5000);
    const ok = await cli('verify', '-f', route, `${roomy}/echo`, ...STATS, '--dry-run');
    expect(ok.code).toBe(0);
    expect(phasesOf(ok.stdout).map((p) => p.url)).toEqual([`${roomy}/echo?delay=3s`, `${roomy}/echo?delay=1s`]);
    const tight = await meshloadServer(1500);
    const refused = await cli('verify', '-f', route, `${tight}/echo`, ...STATS, '--dry-run');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^meshload: nothing to verify for svc: timeout: needs -max-echo-delay >= 3s on the meshload server \(it caps delays at 1\.5s\)/m);
  });

  it('httpbin: its paths, never echo parameters, and the breaker text is true', async () => {
    const target = await httpbinLike();
    const run = await cli('verify', '-f', BREAKER, '-f', httpbinRoute(), `${target}/get`, ...STATS, '--dry-run');
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^verify: backend httpbin: httpbin: GET \/get answered its JSON/m);
    const phases = phasesOf(run.stdout);
    expect(phases.find((p) => p.name.startsWith('retries: each try fails'))?.url).toBe(`${target}/status/200,503`);
    expect(phases.find((p) => p.name === 'timeout: upstream slower than 500ms')?.url).toBe(`${target}/delay/0.75`);
    const under = phases.find((p) => p.name.startsWith('connectionPool: under the limit'));
    expect(under?.url).toBe(`${target}/delay/0.05`);
    expect(under?.description).toMatch(/the upstream holds each call 50ms/);
    expect(run.stdout).not.toMatch(/[?&](status|delay)=/);
  });

  it("Fortio (sets the header asked for, answers 400 to the bad status): query parameters within its assumed 1.5s cap", async () => {
    // Fortio's EchoHandler: header=Name:Value adds a response header; a status that is not a number is a 400.
    const target = await plainServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      for (const h of url.searchParams.getAll('header')) {
        const [name, value] = h.split(':', 2);
        if (name !== undefined && value !== undefined) res.setHeader(name, value);
      }
      res.writeHead(/^\d+$/.test(url.searchParams.get('status') ?? '200') ? 200 : 400);
      res.end();
    });
    const run = await cli('verify', '-f', RETRIES, `${target}/echo`, ...STATS, '--dry-run');
    expect(run.code).toBe(0);
    expect(run.stderr).toBe("verify: backend fortio: an echo server taking Fortio's parameters: it set the x-meshload-probe header the probe asked for (status 400)\n");
    expect(phasesOf(run.stdout).map((p) => p.url)).toEqual([`${target}/echo?status=503:50`]);
    expect(run.stdout).toMatch(/perTryTimeout 2s: needs -max-echo-delay >= 3s on the Fortio server \(its default cap, 1\.5s, assumed: pass --max-echo-delay if it was started with more\)/);
  });

  it('an unknown server: no upstream fault is asked, and the policies that need one say why', async () => {
    const target = await plainServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('no such page\n');
    });
    const run = await cli('verify', '-f', BREAKER, '-f', httpbinRoute(), `${target}/get`, ...STATS, '--dry-run');
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('verify: backend unknown: the probe GET /get answered 404 "no such page", like no meshload server, Fortio or httpbin\n');
    const phases = phasesOf(run.stdout);
    expect(phases.map((p) => p.name)).toEqual(['connectionPool: under the limit (1 connection)', 'connectionPool: over the limit (6 connections)']);
    expect(phases.every((p) => p.url === `${target}/get`)).toBe(true);
    expect(run.stdout).not.toMatch(/holds each call/);
    expect(run.stdout).toMatch(/retries \(VirtualService httpbin http\[0\]\): NOT VERIFIED: the target's server was not identified as a meshload server, Fortio or httpbin/);
    expect(run.stdout).toMatch(/timeout \(VirtualService httpbin http\[0\]\): NOT VERIFIED: the target's server was not identified/);
  });

  it('a probe that fails is one line and means unknown', async () => {
    const closed = await plainServer(() => undefined);
    const url = closed;
    await new Promise<void>((resolve) => (plainServers.pop() as http.Server).close(() => resolve()));
    const run = await cli('verify', '-f', BREAKER, `${url}/get`, ...STATS, '--dry-run');
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^verify: backend unknown: the probe GET http:\/\/127\.0\.0\.1:\d+\/get\?status=meshload-probe&header=x-meshload-probe:1 failed: connect ECONNREFUSED [^\n]*\n$/);
  });

  it('--backend says it without probing (offline)', async () => {
    const run = await cli('verify', '-f', BREAKER, '-f', httpbinRoute(), 'http://127.0.0.1:1/get', ...STATS, '--dry-run', '--backend', 'httpbin');
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^# Backend: httpbin \(--backend\)$/m);
    expect(phasesOf(run.stdout).find((p) => p.name.startsWith('retries: each try fails'))?.url).toBe('http://127.0.0.1:1/status/200,503');
  });

  it("a 5xx (the mesh's abort or breaker) is probed again, at most five times", async () => {
    let calls = 0;
    const flaky = await plainServer((req, res) => {
      calls++;
      if (calls <= 2) {
        res.writeHead(503, { 'content-type': 'text/plain' });
        res.end('fault filter abort');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ args: {}, headers: {}, url: `http://x${req.url ?? ''}` }));
    });
    expect((await probeBackend(`${flaky}/`)).backend).toBe('httpbin');
    calls = -10;
    const down = await probeBackend(`${flaky}/`);
    expect(down).toEqual({ backend: 'unknown', evidence: 'the probe GET /get answered 503 "fault filter abort", like no meshload server, Fortio or httpbin' });
    expect(calls).toBe(-5);
  });

  it('a delay too long to probe is not asked for, and the line says how to give the cap', async () => {
    const probe = await probeDelayCap('http://127.0.0.1:1/echo', 90_000);
    expect(probe).toEqual({ capMs: undefined, evidence: 'the plan needs a 1m30s delay: too long to probe (over 30s); pass --max-echo-delay if the server allows it' });
  });

  it('an endless answer is cut at its bound: the probe ends, unknown', async () => {
    const target = await plainServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(16 * 1024, 0x61);
      const pump = (): void => {
        while (res.write(chunk));
        res.once('drain', pump);
      };
      pump();
    });
    const probe = await probeBackend(`${target}/`, 5000);
    expect(probe.backend).toBe('unknown');
    expect(probe.evidence).toMatch(/^the probe GET \/get answered 200 "a{80}\.\.\."/);
  });
});

describe('verify run: a clamped fault is inconclusive, never a silent fail', () => {
  it('told the server allows 5s while it caps at 1.5s: the slow phase is clamped and the timeout policy is inconclusive with the reason', async () => {
    const target = await meshloadServer(1500);
    const route = join(dir, 'vs.yaml');
    // timeout 2s asks the upstream for 3s, over the server's real cap.
    writeFileSync(route, 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: svc}\nspec:\n  hosts: [svc]\n  http:\n  - route: [{destination: {host: svc}}]\n    timeout: 2s\n');
    const stats = join(dir, 'stats.txt');
    writeFileSync(stats, 'cluster.svc.upstream_rq_timeout: 0\ncluster.svc.upstream_rq_total: 0\n');
    const run = await cli('verify', '-f', route, `${target}/echo`, '--stats-cmd', `cat ${stats}`, '--cluster', 'svc', '--backend', 'meshload', '--max-echo-delay', '5s', '--no-report');
    expect(run.stderr).toMatch(/timeout \(VirtualService svc http\[0\]\): inconclusive: timeout: upstream slower than 2s: the server clamped the fault of 8 responses \(x-meshload-clamped: its -max-echo-delay is below the planned delay\)/);
    // Where the checks are evaluated: the clamped phase's checks, line and verdict say inconclusive, none FAIL.
    expect(run.stderr).toMatch(/^ {2}phase timeout: upstream slower than 2s: INCONCLUSIVE$/m);
    expect(run.stderr).toMatch(/^ {2}INCONCLUSIVE status\(504\) == 100% .*the server clamped the fault of 8 responses/m);
    expect(run.stderr).not.toMatch(/^ {2}FAIL /m);
    expect(run.stderr).toMatch(/^== verify svc: INCONCLUSIVE \(2 passed, 0 failed/m);
    expect(run.code).toBe(3);
  }, 30_000);
});

describe('load counts responses carrying x-meshload-clamped', () => {
  it.each([[[] as string[]], [['--h2']]])('over HTTP/1.1 and h2c (%p)', async (flags) => {
    const target = await meshloadServer(20);
    const clamped = async (query: string): Promise<number | undefined> => {
      const run = await cli('load', ...flags, '-n', '6', '-c', '2', '--qps', '0', '--json', '-', `${target}/echo?${query}`);
      expect(run.code).toBe(0);
      return (JSON.parse(run.stdout) as { Meshload: { clamped?: number } }).Meshload.clamped;
    };
    // 1s is over the 20ms cap: every response says so; 10ms is within it: none does.
    expect(await clamped('delay=1s')).toBe(6);
    expect(await clamped('delay=10ms')).toBe(0);
  });
});
