/** The HAProxy breaker scenario end to end: HAProxy from Debian started by the scenario's own
 * start: step, in front of the embedded echo server. It passes with the breaker's limits and
 * must fail, naming the check, without them: a gate that cannot fail is worthless. */
import { join } from 'node:path';
import { runCli } from '../../src/cli/main';
import { testIo } from '../helpers/cli';
import { freePort } from '../helpers/server-process';

const LOCAL = join(__dirname, '..', '..', 'scenarios', 'local');
const SCENARIO = join(LOCAL, 'haproxy-breaker.yaml');

async function runWith(config: string, scenario = SCENARIO, ...flags: string[]): Promise<{ code: number; text: string }> {
  const { io, stderr } = testIo();
  io.env = { HAPROXY_PORT: String(await freePort()), HAPROXY_METRICS_PORT: String(await freePort()), HAPROXY_CFG: config };
  const code = await runCli(['run', scenario, '--no-report', ...flags], io);
  return { code, text: stderr.text };
}

describe('scenarios/local/haproxy-breaker.yaml', () => {
  it('passes through HAProxy configured as a breaker, client and proxy agreeing', async () => {
    const { code, text } = await runWith('haproxy-breaker.cfg');
    expect(text).toMatch(/^ {2}PASS {9}agree\(breaker\)/m);
    expect(text).toMatch(/== haproxy circuit breaker: PASS/);
    expect(code).toBe(0);
  });

  it('fails with exit 1 naming the failed checks against HAProxy without the limits', async () => {
    const { code, text } = await runWith('haproxy-unlimited.cfg');
    expect(code).toBe(1);
    expect(text).toMatch(/^ {2}FAIL {9}cause\(breaker\) > 0 {2}\(expected > 0, observed 0 /m);
    expect(text).toMatch(/^ {2}FAIL {9}breaker\.rejected > 0 {2}\(expected > 0, observed 0; breaker\.rejected 0 is not above 0\)/m);
    expect(text).toMatch(/== haproxy circuit breaker: FAIL/);
  });
});

describe('scenarios/local/haproxy-retries.yaml and haproxy-timeout.yaml', () => {
  it.each(['haproxy-retries.yaml', 'haproxy-timeout.yaml'])('%s passes', async (name) => {
    const { code, text } = await runWith('', join(LOCAL, name));
    expect(text).toMatch(/: PASS \(\d+ passed, 0 failed/);
    expect(code).toBe(0);
  });

  // HAProxy 2.6 counts each L7 retry twice in retry_warnings_total: "attempts - retries" reads
  // fewer requests than were sent, which must not be reported as traffic that bypassed the proxy.
  it('haproxy-retries.yaml: every request is accounted for, none reported as a bypass', async () => {
    const { code, text } = await runWith('', join(LOCAL, 'haproxy-retries.yaml'));
    expect(code).toBe(0);
    expect(text).toMatch(/^ +agree\(requests\): client 80, proxy 80 \(agree\)/m);
    expect(text).not.toMatch(/DISAGREE|bypass/i);
    // The sidecar block: what moved, by the names checks take; the rest counted on one line.
    expect(text).toMatch(/^ +view: requests\.sent \d+, retries\.attempted \d+/m);
    expect(text).toMatch(/delta\(http_requests_total\) 80/);
    expect(text).toMatch(/^ +\(\d+ more not shown: .*-v shows them\)$/m);
    expect(text).not.toMatch(/unknown|retries\.succeeded|delta\([^)]*\) 0\b/);
  });

  it('haproxy-retries.yaml -v: every stat of the phase, and what HAProxy does not report', async () => {
    const { code, text } = await runWith('', join(LOCAL, 'haproxy-retries.yaml'), '-v');
    expect(code).toBe(0);
    expect(text).toMatch(/delta\(requests_denied_total\) 0\b/);
    expect(text).toMatch(/^ +not reported by haproxy: breaker\.active, breaker\.connection, retries\.succeeded/m);
    expect(text).not.toMatch(/more not shown/);
  });
});
