import net from 'node:net';
import { runCli } from '../../src/cli/main';
import { meshloadVersion } from '../../src/util/version';
import { cli, testIo } from '../helpers/cli';
import { fetchReply } from '../helpers/http';

/** Every error is one line on stderr, prefixed, with nothing on stdout. */
function expectOneLineError(run: { stdout: string; stderr: string }, pattern: RegExp): void {
  expect(run.stdout).toBe('');
  expect(run.stderr.endsWith('\n')).toBe(true);
  expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(run.stderr).toMatch(/^meshload: /);
  expect(run.stderr).toMatch(pattern);
}

describe('meshload CLI skeleton', () => {
  it.each([['--version'], ['-version'], ['-V'], ['version']])('%s prints the version', async (flag) => {
    const run = await cli(flag);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`${meshloadVersion()}\n`);
  });

  it('with no command prints help on stderr and exits 2: a script that lost its arguments must not pass', async () => {
    const run = await cli();
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/Usage: meshload/);
  });

  it.each([['--help'], ['-help'], ['-h'], ['help']])('%p prints help listing the commands', async (...argv) => {
    const run = await cli(...argv);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Usage: meshload/);
    expect(run.stdout).toMatch(/server/);
  });

  it('prints a command help with Go-style -help', async () => {
    const run = await cli('server', '-help');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/--echo-server-default-params/);
  });

  it('rejects an unknown command with a suggestion, exit 2', async () => {
    const run = await cli('sever');
    expect(run.code).toBe(2);
    expectOneLineError(run, /unknown command 'sever' \(did you mean 'server'\? commands: /);
  });

  it('rejects an unknown flag with a suggestion, exit 2', async () => {
    const run = await cli('server', '-max-echo-dealy', '1s');
    expect(run.code).toBe(2);
    expectOneLineError(run, /unknown flag '-max-echo-dealy' for 'meshload server' \(did you mean -max-echo-delay\?/);
  });

  it('rejects a flag before the command, exit 2', async () => {
    const run = await cli('-qps', '5', 'load');
    expect(run.code).toBe(2);
    expectOneLineError(run, /unknown flag '-qps' for 'meshload' \(flags go after the command/);
  });

  it('rejects a stray argument, exit 2', async () => {
    const run = await cli('server', 'extra');
    expect(run.code).toBe(2);
    expectOneLineError(run, /too many arguments/);
  });

  it.each([
    [['-http-port', 'eighty'], /-http-port 'eighty' is not a port \(use a port like 8080/],
    [['-admin-port', '99999'], /-admin-port '99999' is not a port/],
    [['-max-echo-delay', '2'], /-max-echo-delay '2' is not a duration \(use a Go duration like 1.5s/],
    [['-maxpayloadsizekb', 'lots'], /-maxpayloadsizekb 'lots' is not a size in KiB/],
    [['-loglevel', 'chatty'], /-loglevel 'chatty' is not a log level \(use one of Debug, Verbose/],
    [['-version-tag', 'v 2'], /-version-tag 'v 2' is not a valid header value/],
    [['-echo-server-default-params', 'status=503:120'], /-echo-server-default-params: status: weight '120'/],
    [['-grpc-port', 'eighty'], /-grpc-port 'eighty' is not a port \(use a port like 8078, host:port, 0 for a free port, or disabled\)/],
    [['-udp-port', '8078'], /-udp-port 8078: meshload server has no such server \(drop the flag or pass -udp-port disabled\)/],
    [['-echo-debug-path', 'debug'], /-echo-debug-path 'debug' is not a path \(give a path starting with \/, like \/debug, or "" to turn \/debug off\)/],
    [['-echo-debug-path', '/de bug'], /-echo-debug-path '\/de bug' is not a path/],
  ])('server %p is a usage error, exit 2', async (args, pattern) => {
    const run = await cli('server', '-http-port', '127.0.0.1:0', '-admin-port', 'disabled', ...args);
    expect(run.code).toBe(2);
    expectOneLineError(run, pattern);
  });

  it('reports a busy port on one line, exit 1', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const run = await cli('server', '-http-port', `127.0.0.1:${port}`, '-admin-port', 'disabled');
      expect(run.code).toBe(1);
      expectOneLineError(run, new RegExp(`cannot listen for echo on 127.0.0.1:${port}: address already in use \\(choose another -http-port, or 0`));
    } finally {
      blocker.close();
    }
  });
});

describe('meshload server (in-process)', () => {
  // Each test's server runs until its controller aborts; a failed test must not leave it running.
  const running: Array<{ controller: AbortController; exit: Promise<number> }> = [];
  afterEach(async () => {
    for (const { controller } of running) controller.abort();
    await Promise.all(running.splice(0).map((r) => r.exit));
  });
  function serve(args: string[]): { controller: AbortController; exit: Promise<number>; stderr: ReturnType<typeof testIo>['stderr'] } {
    const controller = new AbortController();
    const { io, stderr } = testIo(controller.signal);
    const exit = runCli(['server', ...args], io);
    running.push({ controller, exit });
    return { controller, exit, stderr };
  }

  it('prints where it listens, serves, and stops cleanly when asked', async () => {
    const { controller, exit, stderr } = serve(
      ['-http-port', '127.0.0.1:0', '-admin-port=0', '-grpc-port', 'disabled', '-version-tag=v3', '-echo-server-default-params', 'status=503'],
    );
    const [, echoUrl, adminUrl] = await stderr.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+); admin \(chaos, metrics\) on (http:\/\/127\.0\.0\.1:\d+)\n/);
    expect(stderr.text).toMatch(/server-wide echo defaults: status=503\n/);
    const reply = await fetchReply(`${echoUrl as string}/`);
    expect(reply.status).toBe(503);
    expect(reply.headers['x-version']).toBe('v3');
    expect((await fetchReply(`${adminUrl as string}/healthz`)).status).toBe(200);
    controller.abort();
    expect(await exit).toBe(0);
    expect(stderr.text).toMatch(/meshload server: stopped\n$/);
  });

  it('binds the admin port to 127.0.0.1 when only a port is given', async () => {
    const { controller, exit, stderr } = serve(['-http-port', '127.0.0.1:0', '-admin-port', '0']);
    await stderr.waitFor(/admin \(chaos, metrics\) on http:\/\/127\.0\.0\.1:\d+/);
    controller.abort();
    expect(await exit).toBe(0);
  });

  it('logs each request at -loglevel Verbose and stays quiet at Warning', async () => {
    const verbose = serve(['-http-port', '127.0.0.1:0', '-admin-port', 'disabled', '-loglevel', 'verbose']);
    const [, url] = await verbose.stderr.waitFor(/listening on (http:\/\/[\d.:]+)/);
    await fetchReply(`${url as string}/echo?status=201`);
    await verbose.stderr.waitFor(/GET \/echo\?status=201 from 127\.0\.0\.1/);
    verbose.controller.abort();
    expect(await verbose.exit).toBe(0);

    const quiet = serve(['-http-port', '127.0.0.1:0', '-admin-port', 'disabled', '-loglevel', 'Warning']);
    const [, quietUrl] = await quiet.stderr.waitFor(/listening on (http:\/\/[\d.:]+)/);
    await fetchReply(`${quietUrl as string}/echo?status=201`);
    quiet.controller.abort();
    expect(await quiet.exit).toBe(0);
    expect(quiet.stderr.text).toMatch(/^meshload \S+ echo server listening on http:\/\/127\.0\.0\.1:\d+; admin disabled\n$/);
  });

  it.each(['Warning', 'Error', 'Critical', 'Fatal'])('prints its start line with the bound port at -loglevel %s: scripts read the port from it', async (level) => {
    const { controller, exit, stderr } = serve(['-http-port', '127.0.0.1:0', '-admin-port', '0', '-loglevel', level]);
    const [, echoPort] = await stderr.waitFor(/listening on http:\/\/127\.0\.0\.1:(\d+); admin \(chaos, metrics\) on http:\/\/127\.0\.0\.1:\d+\n/);
    expect(Number(echoPort)).toBeGreaterThan(0);
    controller.abort();
    expect(await exit).toBe(0);
  });

  it('picks a free admin port too when -http-port is 0 and -admin-port is not given', async () => {
    const { controller, exit, stderr } = serve(['-http-port', '127.0.0.1:0']);
    const [, adminUrl, adminPort] = await stderr.waitFor(/admin \(chaos, metrics\) on (http:\/\/127\.0\.0\.1:(\d+))\n/);
    expect(adminPort).not.toBe('8079');
    expect((await fetchReply(`${adminUrl as string}/healthz`)).status).toBe(200);
    controller.abort();
    expect(await exit).toBe(0);
  });
});
