/** A reader that goes away (`meshload ... | head`) costs the rest of stdout, never a stack trace. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const BIN = join(__dirname, '..', '..', 'bin', 'meshload.js');

function runWithStdoutClosed(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Closed before the command writes: its first write fails with EPIPE.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

describe('stdout closed by its reader', () => {
  it('a command that succeeds says so in one line and keeps its exit code', async () => {
    const { code, stderr } = await runWithStdoutClosed(['help', 'load']);
    expect(code).toBe(0);
    expect(stderr).toBe('meshload: stdout closed (EPIPE); the rest of the output was dropped\n');
  }, 15_000);
});
