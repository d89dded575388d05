/** `meshload run` stopped by SIGTERM (what Kubernetes sends a Job pod it deletes): the built CLI
 * as a real process, mid-load, must still write its partial result marked interrupted, exit 130,
 * and stop the background process its `start:` step began. */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ScenarioResult } from '../../src/scenario/scenario-result';
import { startEchoServer, type RunningEchoServer } from '../../src/server/echo-server';
import { MeshloadProcess } from '../helpers/spawn-meshload';

let dir: string;
let server: RunningEchoServer | undefined;
let proc: MeshloadProcess | undefined;
let startedPid: number | undefined;
let served = 0;
const onServed: Array<() => void> = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshload-sigterm-'));
  served = 0;
  server = await startEchoServer({
    echo: { host: '127.0.0.1', port: 0 },
    admin: null,
    maxDelayMs: 1000,
    maxPayloadBytes: 1024,
    // One call per request: how the test knows the load is under way without sleeping.
    accessLog: () => {
      served++;
      for (const wake of onServed.splice(0)) wake();
    },
  });
});
afterEach(async () => {
  proc?.kill();
  proc = undefined;
  if (startedPid !== undefined && alive(startedPid)) process.kill(startedPid, 'SIGKILL');
  startedPid = undefined;
  await server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** A zombie (killed, waiting for a parent to reap it: here init, once meshload is gone) is dead. */
/** A SIGKILLed process may linger a moment before the kernel and its reaper are done with it. */
async function goneSoon(pid: number): Promise<boolean> {
  for (let i = 0; i < 60 && alive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  return !alive(pid);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return true;
  }
}

async function servedAtLeast(n: number): Promise<void> {
  while (served < n) await new Promise<void>((resolve) => onServed.push(resolve));
}

function scenarioWithBackground(pidFile: string, always: string[] = []): string {
  const file = join(dir, 'long.yaml');
  writeFileSync(
    file,
    [
      'name: stopped midway',
      `target: ${server?.echoUrl ?? ''}`,
      'phases:',
      '  - name: background',
      '    steps:',
      // exec keeps the shell's pid, so the file names the process that must be stopped.
      `      - start: { command: "echo $$ > ${pidFile}; exec sleep 300" }`,
      '  - name: long',
      '    load: { connections: 2, qps: 50, duration: 60s }',
      '    expect: [ "calls > 0" ]',
      ...always,
      '',
    ].join('\n'),
  );
  return file;
}

describe('meshload run stopped by SIGTERM', () => {
  it('writes the partial result marked interrupted, exits 130, and leaves no start: process behind', async () => {
    const pidFile = join(dir, 'started.pid');
    const scenario = scenarioWithBackground(pidFile);
    const reports = join(dir, 'reports');
    proc = new MeshloadProcess(['run', scenario, '--report-dir', reports]);
    await proc.waitForStderr(/^== phase 2\/2: long/m);
    await servedAtLeast(10);
    startedPid = Number(readFileSync(pidFile, 'utf8').trim());
    expect(alive(startedPid)).toBe(true);
    proc.child.kill('SIGTERM');
    expect(await proc.exitCode()).toBe(130);
    expect(proc.stderr).toMatch(/^== stopped midway: INTERRUPTED/m);
    const runs = readdirSync(reports);
    expect(runs).toHaveLength(1);
    const file = join(reports, runs[0] as string, 'result.json');
    expect(existsSync(file)).toBe(true);
    const result = JSON.parse(readFileSync(file, 'utf8')) as ScenarioResult;
    expect(result.interrupted).toBe(true);
    const load = result.phases[1]?.load;
    expect(load?.stopReason).toBe('interrupted');
    const measured = load?.latency.count ?? 0;
    expect(measured).toBeGreaterThan(0);
    // Every measured call (and warm-up) reached the server; far fewer than the 3000 planned.
    expect(measured + (load?.warmupRequests ?? 0)).toBeLessThanOrEqual(served);
    expect(measured).toBeLessThan(3000);
    expect(await goneSoon(startedPid)).toBe(true);
  });

  it('a second SIGTERM during cleanup exits at once, and still leaves no start: process behind', async () => {
    const pidFile = join(dir, 'started.pid');
    // A long always: step keeps the run in its cleanup when the second signal comes.
    const scenario = scenarioWithBackground(pidFile, ['always:', '  - sleep: 30s']);
    proc = new MeshloadProcess(['run', scenario, '--no-report']);
    await proc.waitForStderr(/^== phase 2\/2: long/m);
    await servedAtLeast(5);
    startedPid = Number(readFileSync(pidFile, 'utf8').trim());
    proc.child.kill('SIGTERM');
    await proc.waitForStderr(/^ {2}phase long: /m);
    expect(alive(startedPid)).toBe(true);
    proc.child.kill('SIGTERM');
    expect(await proc.exitCode()).toBe(130);
    // Cut short, and said so: the cleanup did not run to its end.
    expect(proc.stderr).toMatch(/^ {2}step sleep: 30000 ms interrupted/m);
    expect(await goneSoon(startedPid)).toBe(true);
  });

  it('a second SIGTERM kills an always: run: step and what it started in the background, and still writes the report', async () => {
    const pids = join(dir, 'always.pids');
    const file = join(dir, 'cleanup.yaml');
    writeFileSync(
      file,
      [
        'name: cleanup cut short',
        `target: ${server?.echoUrl ?? ''}`,
        'phases:',
        '  - name: waits',
        '    steps: [ { run: "sleep 300" } ]',
        'always:',
        // The shell's pid is its process group's id (run: steps get a group of their own).
        `  - run: "sleep 300 & echo $$ $! > ${pids}.tmp && mv ${pids}.tmp ${pids}; wait"`,
        '',
      ].join('\n'),
    );
    const reports = join(dir, 'reports');
    proc = new MeshloadProcess(['run', file, '--report-dir', reports]);
    await proc.waitForStderr(/^== phase 1\/1: waits/m);
    proc.child.kill('SIGTERM');
    await proc.waitForStderr(/^ {2}step run: sleep 300 interrupted/m);
    await waitForFile(pids);
    const [group, sleeper] = readFileSync(pids, 'utf8').trim().split(' ').map(Number) as [number, number];
    startedPid = sleeper;
    expect(alive(sleeper)).toBe(true);
    proc.child.kill('SIGTERM');
    expect(await proc.exitCode()).toBe(130);
    expect(proc.stderr).toMatch(/^ {2}step run: sleep 300 & .* interrupted/m);
    const runs = readdirSync(reports);
    expect(runs).toHaveLength(1);
    const result = JSON.parse(readFileSync(join(reports, runs[0] as string, 'result.json'), 'utf8')) as ScenarioResult;
    expect(result.interrupted).toBe(true);
    expect(result.phases[0]?.steps[0]).toMatchObject({ ok: false, interrupted: true, error: 'interrupted' });
    expect(result.always[0]).toMatchObject({ ok: false, interrupted: true, error: 'interrupted' });
    expect(await goneSoon(sleeper)).toBe(true);
    expect(groupAlive(group)).toBe(false);
  });
});

/** Whether any process of the group still runs (zombies aside: init reaps them). */
function groupAlive(group: number): boolean {
  try {
    process.kill(-group, 0);
  } catch {
    return false;
  }
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .some((pid) => {
      try {
        const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
        return fields[0] !== 'Z' && Number(fields[3]) === group;
      } catch {
        return false;
      }
    });
}

/** Resolves when the file exists (written whole, by a rename), waiting on the folder's events. */
async function waitForFile(path: string, timeoutMs = 10_000): Promise<void> {
  const folder = join(path, '..');
  await new Promise<void>((resolve, reject) => {
    const watcher = watch(folder, () => check());
    const timer = setTimeout(() => {
      watcher.close();
      reject(new Error(`${path} did not appear within ${timeoutMs} ms`));
    }, timeoutMs);
    const check = (): void => {
      if (!existsSync(path)) return;
      clearTimeout(timer);
      watcher.close();
      resolve();
    };
    check();
  });
}
