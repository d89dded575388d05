/** `meshload report --serve` sends raw files from disk in bounded memory: a spawned server, a
 * 200 MB sparse file, the server's resident memory and descriptors read from /proc. */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { fdCount, settlesTo } from '../helpers/hostile-client';
import { MeshloadProcess } from '../helpers/spawn-meshload';

const BIG = 200 * 1024 * 1024;
let dir: string;
let proc: MeshloadProcess | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'meshload-serve-'));
  mkdirSync(join(dir, 'run-1'));
  writeFileSync(join(dir, 'run-1', 'small.txt'), 'hello\n');
  writeFileSync(join(dir, 'run-1', 'big.bin'), '');
  truncateSync(join(dir, 'run-1', 'big.bin'), BIG); // sparse: no disk used
});
afterEach(() => {
  proc?.kill();
  rmSync(dir, { recursive: true, force: true });
});

async function serve(): Promise<{ url: string; pid: number }> {
  proc = new MeshloadProcess(['report', dir, '--serve', '0']);
  const match = await proc.waitForStderr(/on (http:\/\/127\.0\.0\.1:\d+\/)/);
  return { url: match[1] as string, pid: proc.child.pid as number };
}

/** Resident memory of `pid` in MiB. */
function rssMiB(pid: number): number {
  const line = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(line?.[1]) / 1024;
}

describe('meshload report --serve raw files', () => {
  it('streams a 200 MB file whole, with its length, in bounded memory', async () => {
    const { url, pid } = await serve();
    const small = await request(`${url}files/run-1/small.txt`);
    expect(await small.body.text()).toBe('hello\n');
    const before = rssMiB(pid);
    const response = await request(`${url}run/run-1/big.bin`);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-length']).toBe(String(BIG));
    let received = 0;
    let peak = before;
    for await (const chunk of response.body) {
      received += (chunk as Buffer).length;
      if (received % (16 * 1024 * 1024) < (chunk as Buffer).length) peak = Math.max(peak, rssMiB(pid));
    }
    peak = Math.max(peak, rssMiB(pid));
    expect(received).toBe(BIG);
    // Reading the file into memory would add 200 MB or more; streaming adds buffers only.
    expect(peak - before).toBeLessThan(64);
  }, 60_000);

  it('releases the file when a download is aborted midway, and keeps serving', async () => {
    const { url, pid } = await serve();
    await (await request(`${url}files/run-1/small.txt`)).body.text();
    const before = fdCount(pid);
    for (let i = 0; i < 5; i++) {
      const controller = new AbortController();
      const response = await request(`${url}run/run-1/big.bin`, { signal: controller.signal });
      for await (const chunk of response.body) {
        expect((chunk as Buffer).length).toBeGreaterThan(0);
        break; // one chunk, then walk away
      }
      controller.abort();
    }
    expect(await settlesTo(() => fdCount(pid), before, 5000)).toBeLessThanOrEqual(before);
    expect(rssMiB(pid)).toBeLessThan(200);
    const head = await request(`${url}run/run-1/big.bin`, { method: 'HEAD' });
    expect([head.statusCode, head.headers['content-length']]).toEqual([200, String(BIG)]);
    await head.body.dump();
    expect(proc?.child.exitCode).toBeNull();
  }, 60_000);
});
