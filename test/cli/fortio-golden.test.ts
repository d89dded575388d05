/** Golden tests: meshload's text output held to real Fortio output, as published in Istio's
 * circuit-breaking task (test/fixtures/fortio/, sources in its README), line kind by line kind.
 * What the task's own test.sh checks (the first line of `curl -quiet`, the `Code 200 :` and
 * `Code 503 :` lines) is checked exactly; the rest by Fortio's format strings and order. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEchoServer, type RunningEchoServer } from '../../src/server/echo-server';
import { cli } from '../helpers/cli';
import { fortioLineKind, fortioSummaryKinds, inFortioOrder } from '../helpers/fortio-lines';

const FIXTURES = join(__dirname, '..', 'fixtures', 'fortio');
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');

let server: RunningEchoServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function echoUrl(): Promise<string> {
  server = await startEchoServer({ echo: { host: '127.0.0.1', port: 0 }, admin: null, maxDelayMs: 1500, maxPayloadBytes: 256 * 1024 });
  return server.echoUrl;
}

/** A subsequence check: every kind of `wanted`, in order, somewhere in `have`. */
function containsInOrder(have: readonly string[], wanted: readonly string[]): boolean {
  let at = 0;
  for (const kind of have) if (kind === wanted[at]) at += 1;
  return at === wanted.length;
}

describe('the line classifier reads real Fortio output', () => {
  it('knows every line of the circuit-breaking task output', () => {
    const unknown = fixture('istio-io-circuit-breaking-c3.txt')
      .trimEnd()
      .split('\n')
      .filter((line) => fortioLineKind(line) === undefined);
    expect(unknown).toEqual([]);
    expect(inFortioOrder(fortioSummaryKinds(fixture('istio-io-circuit-breaking-c3.txt')))).toBe(true);
  });
});

describe("Istio's circuit-breaking task, run with meshload", () => {
  it('`curl -quiet URL`: the first line is what the task checks, then headers, a blank line and the body', async () => {
    const url = await echoUrl();
    const run = await cli('curl', '-quiet', `${url}/get`);
    expect(run.code).toBe(0);
    const golden = fixture('istio-io-circuit-breaking-curl.txt').split('\n');
    const lines = run.stderr.split('\n');
    expect(lines[0]).toBe(golden[0]);
    const blank = lines.indexOf('');
    expect(blank).toBeGreaterThan(1);
    for (const header of lines.slice(1, blank)) expect(header).toMatch(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+: /);
  });

  it('`load -c 3 -qps 0 -n 30 -loglevel Warning URL`: every line kind Fortio printed, in its order, `All done` last', async () => {
    const url = await echoUrl();
    // 503s from the echo server stand in for the breaker's: the client side sees the same thing.
    const run = await cli('load', '-c', '3', '-qps', '0', '-n', '30', '-loglevel', 'Warning', `${url}/echo?status=503:60`);
    expect(run.code).toBe(0);
    const text = run.stderr;
    const lines = text.trimEnd().split('\n');

    const kinds = fortioSummaryKinds(text);
    expect(inFortioOrder(kinds)).toBe(true);
    expect(containsInOrder(kinds, fortioSummaryKinds(fixture('istio-io-circuit-breaking-c3.txt')).filter((kind) => kind !== 'banner'))).toBe(true);
    expect(fortioLineKind(lines[lines.length - 1] ?? '')).toBe('allDone');

    // What the task's test.sh greps, and the socket count the breaker makes visible.
    expect(text).toMatch(/^Code 200 : \d+ \(\d+\.\d %\)$/m);
    expect(text).toMatch(/^Code 503 : \d+ \(\d+\.\d %\)$/m);
    const sockets = /^Sockets used: (\d+) \(for perfect keepalive, would be 3\)$/m.exec(text);
    const errors = Number(/^Code 503 : (\d+)/m.exec(text)?.[1]);
    expect(Number(sockets?.[1])).toBeGreaterThan(3);
    expect(Number(sockets?.[1])).toBeLessThanOrEqual(3 + errors);

    // Fortio's Info lines are gone at -loglevel Warning; its Warning lines may stay.
    expect(text).not.toMatch(/^\d\d:\d\d:\d\d(?:\.\d+)? I /m);
    expect(text).not.toMatch(/"level":"info"/);
  });
});
