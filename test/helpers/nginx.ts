/** Runs Debian's nginx as a real HTTP/1.1 server for tests: a temp prefix dir holding the
 * config, pid, logs and temp paths, one worker, a free 127.0.0.1 port. Readiness is the
 * master's "start worker process" notice on stderr (logged after the listen socket is bound),
 * so tests wait on an event rather than polling the port. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary, freePort, stopChild } from './server-process';

const CANDIDATES = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx'];
const START_TIMEOUT_MS = 10_000;

/** The nginx binary, or undefined when it is not installed (.ci/run installs it). */
export function nginxBinary(): string | undefined {
  return findBinary(CANDIDATES);
}

export interface RunningNginx {
  url: string;
  port: number;
  dir: string;
  /** Stops nginx (SIGTERM, SIGKILL if it lingers) and removes the temp dir; safe to call twice. */
  stop(): Promise<void>;
}

export interface NginxOptions {
  /** Inside `http { }`, before the server block (keepalive_requests, gzip, ...). */
  http?: string;
  /** Inside `server { }`: the locations. */
  server: string;
}

/** A port that was free a moment ago (bound on port 0, then released). */

export async function startNginx(options: NginxOptions): Promise<RunningNginx> {
  const binary = nginxBinary();
  if (binary === undefined) throw new Error('nginx is not installed (apt-get install -y nginx-light)');
  const dir = mkdtempSync(join(tmpdir(), 'meshload-nginx-'));
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    [
      'worker_processes 1;',
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log notice;`,
      // A second log on stderr carries the readiness notice to this process.
      'error_log stderr notice;',
      'events { worker_connections 1024; }',
      'http {',
      '  access_log off;',
      `  client_body_temp_path ${dir}/client_body;`,
      `  proxy_temp_path ${dir}/proxy;`,
      `  fastcgi_temp_path ${dir}/fastcgi;`,
      `  uwsgi_temp_path ${dir}/uwsgi;`,
      `  scgi_temp_path ${dir}/scgi;`,
      `  ${options.http ?? ''}`,
      `  server {`,
      `    listen 127.0.0.1:${port};`,
      `    ${options.server}`,
      '  }',
      '}',
      '',
    ].join('\n'),
  );
  const child = spawn(binary, ['-p', dir, '-c', conf, '-e', 'stderr', '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    await stopChild(child, exited);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForReady(child);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `http://127.0.0.1:${port}`, port, dir, stop };
}

function waitForReady(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const finish = (error?: Error): void => {
      clearTimeout(timer);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      // Keep draining stderr so nginx never blocks on a full pipe.
      child.stderr?.resume();
      if (error === undefined) resolve();
      else reject(error);
    };
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (/start worker process/.test(output)) finish();
      else if (/\[emerg\]/.test(output)) finish(new Error(`nginx failed to start: ${output}`));
    };
    const onExit = (code: number | null): void => finish(new Error(`nginx exited (${code}) before it was ready: ${output}`));
    const timer = setTimeout(() => finish(new Error(`nginx not ready within ${START_TIMEOUT_MS}ms: ${output}`)), START_TIMEOUT_MS);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}


export { freePort };
