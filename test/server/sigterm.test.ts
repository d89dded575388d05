import { fetchReply } from '../helpers/http';
import { MeshloadProcess, startServerProcess } from '../helpers/spawn-meshload';

let proc: MeshloadProcess | undefined;
afterEach(() => proc?.kill());

describe('meshload server as a process', () => {
  it('drains in-flight requests on SIGTERM, refuses new ones, and exits 0', async () => {
    const started = await startServerProcess(['-loglevel', 'Verbose', '-max-echo-delay', '3s']);
    proc = started.proc;
    const inFlight = fetchReply(`${started.echoUrl}/echo?delay=700ms`);
    await proc.waitForStderr(/GET \/echo\?delay=700ms/); // the server has the request
    proc.child.kill('SIGTERM');
    await proc.waitForStderr(/meshload server: stopping/);
    await expect(fetchReply(`${started.echoUrl}/echo`)).rejects.toThrow(/ECONNREFUSED|connect/);
    const reply = await inFlight;
    expect(reply.status).toBe(200);
    expect(reply.headers.connection).toBe('close');
    expect(await proc.exitCode()).toBe(0);
    expect(proc.stderr).toMatch(/meshload server: stopped\n$/);
  });

  it('exits at once on a second signal', async () => {
    const started = await startServerProcess(['-loglevel', 'Verbose', '-max-echo-delay', '10s']);
    proc = started.proc;
    void fetchReply(`${started.echoUrl}/echo?delay=10s`).catch(() => undefined);
    await proc.waitForStderr(/GET \/echo\?delay=10s/); // in flight, so the drain has to wait for it
    proc.child.kill('SIGINT');
    await proc.waitForStderr(/stopping/);
    proc.child.kill('SIGINT');
    expect(await proc.exitCode()).toBe(130);
  });
});
