/** Runs the built CLI (bin/meshload.js) as a real child process, for what only a process shows:
 * signals, exit codes, the start line. Tests wait on output lines, never on sleeps. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const BIN = join(__dirname, '..', '..', 'bin', 'meshload.js');

export class MeshloadProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  private readonly exited: Promise<number | null>;
  private waiters: Array<() => void> = [];

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.on('data', (chunk: Buffer) => {
      this.stdout += chunk.toString();
      this.notify();
    });
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
      this.notify();
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
    void this.exited.then(() => this.notify());
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves with the first match of `pattern` in stderr; rejects if the process exits first
   * or `timeoutMs` passes. */
  async waitForStderr(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = pattern.exec(this.stderr);
      if (match !== null) return match;
      if (this.child.exitCode !== null) throw new Error(`meshload exited (${this.child.exitCode}) before ${pattern}: ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; stderr so far: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  exitCode(): Promise<number | null> {
    return this.exited;
  }

  /** Always called from afterEach: a test that failed midway must not leave a server behind. */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** Starts `meshload server` on free loopback ports and waits for its start line. */
export async function startServerProcess(extraArgs: string[] = []): Promise<{ proc: MeshloadProcess; echoUrl: string }> {
  const proc = new MeshloadProcess(['server', '-http-port', '127.0.0.1:0', '-admin-port', 'disabled', ...extraArgs]);
  const match = await proc.waitForStderr(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
  return { proc, echoUrl: match[1] as string };
}
