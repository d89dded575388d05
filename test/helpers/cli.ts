/** Runs meshload's CLI in-process with captured streams. */
import { runCli } from '../../src/cli/main';
import type { CliIo } from '../../src/cli/io';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export class Capture {
  text = '';
  isTTY = false;
  private listeners: Array<() => void> = [];
  write(chunk: string): boolean {
    this.text += chunk;
    for (const listener of this.listeners.splice(0)) listener();
    return true;
  }
  /** Resolves once the captured text matches. */
  async waitFor(pattern: RegExp): Promise<RegExpMatchArray> {
    for (;;) {
      const match = pattern.exec(this.text);
      if (match !== null) return match;
      await new Promise<void>((resolve) => this.listeners.push(resolve));
    }
  }
}

export function testIo(signal: AbortSignal = new AbortController().signal): { io: CliIo; stdout: Capture; stderr: Capture } {
  const stdout = new Capture();
  const stderr = new Capture();
  return { io: { stdout, stderr, env: {}, signal }, stdout, stderr };
}

export async function cli(...argv: string[]): Promise<CliRun> {
  const { io, stdout, stderr } = testIo();
  const code = await runCli(argv, io);
  return { code, stdout: stdout.text, stderr: stderr.text };
}
