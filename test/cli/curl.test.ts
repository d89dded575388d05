/** `meshload curl` against hostile upstreams: -timeout bounds the whole exchange, --max-body
 * caps the body, the body reaches stdout byte for byte, and every failure is one line, exit 1. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { TLSSocket } from 'node:tls';
import https from 'node:https';
import type net from 'node:net';
import { join } from 'node:path';
import { runCli } from '../../src/cli/main';
import { parseMaxBody } from '../../src/cli/commands/curl-action';
import { startRawServer, writeForever, type RawScript, type RawServer } from '../helpers/raw-http-server';
import { haveOpenssl, makeMtlsFiles, makeSelfSignedCert, startOpensslServer, type MtlsFiles } from '../helpers/self-signed-cert';

const BIN = join(__dirname, '..', '..', 'bin', 'meshload.js');
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function raw(script: RawScript): Promise<RawServer> {
  const server = await startRawServer(script);
  cleanups.push(() => server.close());
  return server;
}

/** Collects what was written, as bytes: strings as UTF-8, Buffers as they are. */
class ByteSink {
  isTTY = false;
  private chunks: Buffer[] = [];
  write(chunk: string | Uint8Array): boolean {
    this.chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
    return true;
  }
  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

interface CurlRun {
  code: number;
  stdout: Buffer;
  stderr: string;
  ms: number;
}

async function curl(...args: string[]): Promise<CurlRun> {
  const stdout = new ByteSink();
  const stderr = new ByteSink();
  const started = performance.now();
  const code = await runCli(['curl', ...args], { stdout, stderr, env: {}, signal: new AbortController().signal });
  return { code, stdout: stdout.bytes, stderr: stderr.bytes.toString(), ms: performance.now() - started };
}

/** The last line of stderr is the failure, one line, no stack, no "internal error". */
function expectOneLineFailure(run: CurlRun, message: RegExp): void {
  expect(run.code).toBe(1);
  expect(run.stderr).not.toMatch(/internal error|^\s+at /m);
  const lines = run.stderr.trimEnd().split('\n');
  expect(lines[lines.length - 1]).toMatch(/^meshload: GET http:\/\/127\.0\.0\.1:\d+\/\S* failed: /);
  expect(lines[lines.length - 1]).toMatch(message);
}

describe('meshload curl: the body, byte for byte', () => {
  it.each([
    ['Content-Length', (body: Buffer) => Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`), body])],
    [
      'chunked',
      (body: Buffer) =>
        Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n80\r\n'), body.subarray(0, 128), Buffer.from('\r\n80\r\n'), body.subarray(128), Buffer.from('\r\n0\r\n\r\n')]),
    ],
  ])('writes bytes 0..255 to stdout unchanged (%s)', async (_name, frame) => {
    const server = await raw((socket) => socket.write(frame(ALL_BYTES)));
    const run = await curl(`${server.url}/bin`);
    expect(run.code).toBe(0);
    expect(run.stdout.equals(ALL_BYTES)).toBe(true);
    expect(run.stderr).toMatch(/^HTTP\/1\.1 200 OK\n/);
  });

  it('writes them unchanged through a real process pipe, and exits at once', async () => {
    const server = await raw((socket) => socket.write(Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 256\r\n\r\n'), ALL_BYTES])));
    const child = await runBin(['curl', `${server.url}/bin`]);
    expect(child.code).toBe(0);
    expect(child.stdout.equals(ALL_BYTES)).toBe(true);
  });
});

describe('meshload curl: bounded', () => {
  it('stops an endless body at --max-body, with exactly that many bytes written', async () => {
    const server = await raw((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n');
      void writeForever(socket, Buffer.alloc(64 * 1024, 7));
    });
    const run = await curl('--max-body', '1MiB', '-timeout', '30s', `${server.url}/`);
    expectOneLineFailure(run, /body exceeds -max-body 1MiB; stopped after 1048576 bytes$/);
    expect(run.stdout.length).toBe(1024 * 1024);
    expect(run.ms).toBeLessThan(10_000);
    await server.whenClosed(1);
  });

  it('refuses a declared Content-Length over --max-body before writing any of it', async () => {
    const server = await raw((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n');
      void writeForever(socket, Buffer.alloc(64 * 1024, 7));
    });
    const run = await curl('-max-body=1000', `${server.url}/`);
    expectOneLineFailure(run, /body of 1000000000000 bytes \(Content-Length\) exceeds -max-body 1000$/);
    expect(run.stdout.length).toBe(0);
    await server.whenClosed(1);
  });

  it('ends an endless body at -timeout, counted from the start of the exchange', async () => {
    const server = await raw((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
      void writeForever(socket, `100\r\n${'x'.repeat(256)}\r\n`);
    });
    const run = await curl('-timeout', '300ms', '--max-body', '100GiB', `${server.url}/`);
    expectOneLineFailure(run, /no complete response within 300ms \(-timeout\) after \d+ body bytes$/);
    expect(run.ms).toBeGreaterThanOrEqual(290);
    expect(run.ms).toBeLessThan(5000);
    await server.whenClosed(1);
  });

  it('fails a 900 ms response under -timeout 100ms within half a second', async () => {
    const server = await raw((socket) => {
      const timer = setTimeout(() => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'), 900);
      socket.on('close', () => clearTimeout(timer));
    });
    const run = await curl('-timeout', '100ms', `${server.url}/`);
    expectOneLineFailure(run, /no complete response within 100ms \(-timeout\)$/);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stdout.length).toBe(0);
    expect(run.ms).toBeLessThan(500);
  });

  it('a silent server ends at -timeout as a process too: nothing keeps it alive', async () => {
    const server = await raw(() => {
      // never answers
    });
    const started = performance.now();
    const child = await runBin(['curl', '-timeout', '200ms', `${server.url}/`]);
    expect(child.code).toBe(1);
    expect(child.stderr).toMatch(/^meshload: GET \S+ failed: no complete response within 200ms \(-timeout\)\n$/);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('endless headers are one line, exit 1', async () => {
    const server = await raw((socket) => {
      socket.write('HTTP/1.1 200 OK\r\n');
      void writeForever(socket, `X-Filler: ${'f'.repeat(100)}\r\n`);
    });
    const run = await curl('-timeout', '30s', `${server.url}/`);
    expectOneLineFailure(run, /eader/);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.ms).toBeLessThan(10_000);
  });
});

describe('meshload curl: every failure is one line and exit 1', () => {
  it('a reset mid-body: headers, the bytes that came, then one line', async () => {
    const server = await raw((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial');
      // A later read than the bytes: libuv reports data plus RST in one wake-up as a plain EOF.
      setTimeout(() => socket.resetAndDestroy(), 50);
    });
    const run = await curl(`${server.url}/`);
    expectOneLineFailure(run, /(ECONNRESET|UND_ERR_SOCKET).* after 7 body bytes$/);
    expect(run.stderr).toMatch(/^HTTP\/1\.1 200 OK\n/);
    expect(run.stdout.toString()).toBe('partial');
  });

  it('a close before any response byte', async () => {
    const server = await raw((socket) => socket.end());
    const run = await curl(`${server.url}/`);
    expectOneLineFailure(run, /other side closed \(UND_ERR_SOCKET\)$/);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('garbage instead of HTTP, with its control bytes escaped', async () => {
    const server = await raw((socket) => socket.write('\x1b]0;pwned\x07 not http\r\n\r\n'));
    const run = await curl(`${server.url}/`);
    expectOneLineFailure(run, /./);
    // eslint-disable-next-line no-control-regex
    expect(run.stderr).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f]/);
  });

  it('header values with control bytes are printed escaped', async () => {
    const server = await raw((socket) => socket.write(Buffer.from('HTTP/1.1 200 OK\r\nX-Evil: a\x85b\r\nContent-Length: 0\r\n\r\n', 'latin1')));
    const run = await curl(`${server.url}/`);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^X-Evil: a\\x85b$/m);
  });

  it('a reader that closes stdout early (| head): one line, exit 1, no crash', async () => {
    const server = await raw((socket) => {
      socket.write('HTTP/1.1 200 OK\r\n\r\n');
      void writeForever(socket, Buffer.alloc(64 * 1024, 7));
    });
    const child = await runBin(['curl', '-timeout', '20s', `${server.url}/`], true);
    expect(child.code).toBe(1);
    expect(child.stderr).not.toMatch(/node:events|^\s+at /m);
    expect(child.stderr).toMatch(/\nmeshload: GET \S+ failed: cannot write the body to stdout: write EPIPE\n$/);
  });

  it('Ctrl-C: one line, exit 130', async () => {
    const server = await raw(() => {
      // never answers
    });
    const controller = new AbortController();
    const stderr = new ByteSink();
    const exit = runCli(['curl', '-timeout', '0', `${server.url}/`], { stdout: new ByteSink(), stderr, env: {}, signal: controller.signal });
    await server.whenRequests(1);
    controller.abort();
    expect(await exit).toBe(130);
    expect(stderr.bytes.toString()).toMatch(/^meshload: GET \S+ failed: interrupted\n$/);
    await server.whenClosed(1);
  });

  it('a HEAD answer declaring a length over --max-body is fine', async () => {
    const server = await raw((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\n\r\n'));
    const run = await curl('-X', 'HEAD', '--max-body', '1KiB', `${server.url}/`);
    expect(run.code).toBe(0);
    expect(run.stdout.length).toBe(0);
  });

  it('a refused connection', async () => {
    const run = await curl('http://127.0.0.1:1/');
    expectOneLineFailure(run, /ECONNREFUSED/);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('a TLS certificate that does not verify, and the same with -k', async () => {
    if (!haveOpenssl) throw new Error('this test needs the openssl CLI on PATH (apt-get install openssl)');
    const { key, cert } = makeSelfSignedCert();
    const server = https.createServer({ key, cert }, (_req, res) => res.end('tls'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    server.on('connection', (socket: net.Socket) => cleanups.push(() => void socket.destroy()));
    const url = `https://127.0.0.1:${(server.address() as net.AddressInfo).port}/`;
    const strict = await curl(url);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/^meshload: GET https:\/\/127\.0\.0\.1:\d+\/ failed: .*self[- ]signed.*\n$/);
    const insecure = await curl('-k', url);
    expect(insecure.code).toBe(0);
    expect(insecure.stdout.toString()).toBe('tls');
  });

  it('keeps credentials in the URL out of the message', async () => {
    const run = await curl('http://user:hunter2@127.0.0.1:1/');
    expect(run.code).toBe(1);
    expect(run.stderr).not.toMatch(/hunter2/);
    expect(run.stderr).toMatch(/<redacted>@127\.0\.0\.1:1/);
  });

  it.each(['abc', '0', '-1', '10XB', '1.5MiB', '99999999999999999GiB'])('rejects --max-body %s with exit 2', async (size) => {
    const run = await curl('--max-body', size, 'http://127.0.0.1:1/');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^meshload: -max-body '.*' is not a size \(use bytes or a size like 512KiB, 10MiB, 1GiB\)\n$/);
  });
});

describe("meshload curl: Fortio's log lines (bincommon.FetchURL, http_client.go)", () => {
  const answer503 = (socket: net.Socket): void => void socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy');

  it('a non-OK code: the Warning as the status line is read, then the head and body, then "Error status", exit 1', async () => {
    const server = await raw(answer503);
    const run = await curl(`${server.url}/`);
    expect(run.code).toBe(1);
    expect(run.stdout.toString()).toBe('busy');
    const lines = run.stderr.trimEnd().split('\n');
    expect(JSON.parse(lines[0] as string)).toEqual({ ts: expect.any(Number), level: 'warn', msg: 'Non ok http code', code: 503, status: 'HTTP/1.1 503', thread: 0, run: 0 });
    expect(lines[1]).toBe('HTTP/1.1 503 Service Unavailable');
    expect(JSON.parse(lines[lines.length - 1] as string)).toEqual({ ts: expect.any(Number), level: 'err', msg: 'Error status 503' });
  });

  it('-quiet keeps only the Error line (Fortio: quiet is -loglevel Error); -L logs the Warning after the body (Go client)', async () => {
    const server = await raw(answer503);
    const quiet = await curl('-quiet', `${server.url}/`);
    expect(quiet.code).toBe(1);
    expect(quiet.stderr).not.toContain('Non ok http code');
    expect(quiet.stderr).toMatch(/^HTTP\/1\.1 503 Service Unavailable\n/);
    expect(quiet.stderr).toMatch(/\{"ts":[\d.]+,"level":"err","msg":"Error status 503"\}\n$/);
    const silenced = await curl('-log-errors=false', `${server.url}/`);
    expect(silenced.code).toBe(1);
    expect(silenced.stderr).not.toContain('Non ok http code');
    expect(silenced.stderr).not.toContain('has no effect');
    expect(silenced.stderr).toContain('"msg":"Error status 503"');
    const followed = await curl('-L', `${server.url}/`);
    const warn = followed.stderr.indexOf('"msg":"Non ok http code"');
    expect(warn).toBeGreaterThan(followed.stderr.indexOf('HTTP/1.1 503'));
    expect(followed.stderr).toMatch(/\{"ts":[\d.]+,"level":"warn","msg":"Non ok http code","code":503,"thread":0,"run":0\}/);
  });

  it("Fortio's logger flags: -logger-timestamp=false, -logger-json=false (scli's std-logger JSON), -logger-force-color", async () => {
    const server = await raw(answer503);
    const noTs = await curl('-logger-timestamp=false', `${server.url}/`);
    expect(noTs.stderr.split('\n')[0]).toBe('{"level":"warn","msg":"Non ok http code","code":503,"status":"HTTP/1.1 503","thread":0,"run":0}');
    expect(noTs.stderr).not.toContain('has no effect');
    const text = await curl('-logger-json=false', '-logger-timestamp=false', `${server.url}/`);
    expect(text.code).toBe(1);
    const lines = text.stderr.trimEnd().split('\n');
    // Off a terminal curl keeps LogPrefix "> " (SetDefaultsForClientTools only runs on a console).
    expect(lines[0]).toBe('{"level":"warn","msg":"[W]> Non ok http code, code=503, status=\\"HTTP/1.1 503\\", thread=0, run=0","src":"std"}');
    expect(lines[lines.length - 1]).toBe('{"level":"warn","msg":"[E]> Error status 503","src":"std"}');
    const colour = await curl('-logger-force-color', `${server.url}/`);
    expect(colour.stderr).toContain('\x1b[33m');
    // eslint-disable-next-line no-control-regex
    expect(colour.stderr.replace(/\x1b\[\d+m/g, '').split('\n')[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} \[WRN\]> Non ok http code, code=503, status="HTTP\/1\.1 503", thread=0, run=0$/);
    for (const flag of ['-logger-file-line=false', '-logger-goroutine=false']) {
      const run = await curl(flag, `${server.url}/`);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`meshload: ${flag.replace('=false', '')} has no effect here: meshload's log lines never carry`);
    }
  });

  it('a 200 logs nothing; a 204 is OK for the Warning but still "Error status 204" (FetchURL wants 200)', async () => {
    const ok = await raw((socket) => void socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    const run = await curl(`${ok.url}/`);
    expect(run.code).toBe(0);
    expect(run.stderr).not.toMatch(/"level"/);
    const empty = await raw((socket) => void socket.end('HTTP/1.1 204 No Content\r\n\r\n'));
    const noContent = await curl(`${empty.url}/`);
    expect(noContent.code).toBe(1);
    expect(noContent.stderr).not.toContain('Non ok http code');
    expect(noContent.stderr).toContain('"msg":"Error status 204"');
  });

  it("prints the client tools' console form on a terminal: LogPrefix ' '", async () => {
    const server = await raw(answer503);
    const stdout = new ByteSink();
    const stderr = new ByteSink();
    stderr.isTTY = true;
    expect(await runCli(['curl', `${server.url}/`], { stdout, stderr, env: { NO_COLOR: '' }, signal: new AbortController().signal })).toBe(1);
    // eslint-disable-next-line no-control-regex
    const text = stderr.bytes.toString().replace(/\x1b\[\d+m/g, '');
    expect(text).toMatch(/^\d\d:\d\d:\d\d\.\d{3} \[WRN\] Non ok http code, code=503, status="HTTP\/1\.1 503", thread=0, run=0\n/);
    expect(text).toMatch(/\[ERR\] Error status 503\n$/);
  });
});

describe('parseMaxBody', () => {
  it.each([
    ['1048576', 1048576],
    ['64MiB', 64 * 1024 * 1024],
    ['512kib', 512 * 1024],
    ['1GiB', 1024 ** 3],
    ['10MB', 10_000_000],
    ['2KB', 2000],
    ['7B', 7],
  ])('%s is %d bytes', (text, bytes) => {
    expect(parseMaxBody(text, '-max-body')).toBe(bytes);
  });
});

/** Runs the built CLI, collecting stdout as bytes; `closeStdout`: closes the pipe at the first
 * bytes, as `| head -c 1` does. */
function runBin(args: string[], closeStdout = false): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out.push(chunk);
      if (closeStdout) child.stdout.destroy();
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr }));
  });
}

describe('meshload curl: Fortio command lines', () => {
  async function echoUrl(): Promise<string> {
    const { startEchoServer } = await import('../../src/server/echo-server');
    const server = await startEchoServer({ echo: { host: '127.0.0.1', port: 0 }, admin: null, maxDelayMs: 1500, maxPayloadBytes: 256 * 1024 });
    cleanups.push(() => server.close());
    return server.echoUrl;
  }

  it("runs Istio's `fortio curl -quiet URL`: exit 0, `HTTP/1.1 200 OK`, headers and nothing else", async () => {
    const url = await echoUrl();
    const run = await curl('-quiet', `${url}/get`);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^HTTP\/1\.1 200 OK\n/);
    expect(run.stderr).toMatch(/\n\n$/); // the blank line after the headers ends stderr
    expect(run.stderr).not.toMatch(/^meshload:/m);
  });

  it('without -quiet, says once at Info which Fortio flags have no effect; -loglevel Warning silences it', async () => {
    const url = await echoUrl();
    const loud = await curl('-c', '2', '-qps=0', '-stdclient', '-stdclient', '-httpbufferkb=128', url);
    expect(loud.code).toBe(0);
    expect(loud.stderr.match(/^meshload: -stdclient has no effect here: /gm)).toHaveLength(1);
    expect(loud.stderr).toMatch(/^meshload: -c has no effect here: only meshload load uses it$/m);
    expect(loud.stderr).toMatch(/^meshload: -httpbufferkb has no effect here: /m);
    const quiet = await curl('-loglevel', 'Warning', '-stdclient', url);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).not.toMatch(/^meshload:/m);
  });

  it('keeps header names as the server wrote them', async () => {
    const server = await raw((socket) => socket.write('HTTP/1.1 200 OK\r\nX-MiXeD-Case: v\r\nContent-Length: 0\r\n\r\n'));
    const run = await curl('-quiet', `${server.url}/`);
    expect(run.stderr).toBe('HTTP/1.1 200 OK\nX-MiXeD-Case: v\nContent-Length: 0\n\n');
  });

  it('prints the reason phrase as received, not a standard one', async () => {
    const teapot = await raw((socket) => socket.write('HTTP/1.1 418 I Am A Teapot\r\nContent-Length: 0\r\n\r\n'));
    const run = await curl('-quiet', `${teapot.url}/`);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^HTTP\/1\.1 418 I Am A Teapot\n/);
  });

  it('takes a URL without a scheme as http://, as Fortio does, with its Warning first', async () => {
    const url = await echoUrl();
    const typed = url.replace(/^http:\/\//, '');
    const run = await curl('-quiet', typed);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^HTTP\/1\.1 200 OK\n/);
    const loud = await curl(typed);
    expect(loud.code).toBe(0);
    expect(JSON.parse(loud.stderr.split('\n')[0] as string)).toEqual({ ts: expect.any(Number), level: 'warn', msg: `Assuming http:// on missing scheme for '${typed}'` });
  });

  it('replaces each {uuid} in the URL with a fresh UUID', async () => {
    const http = await import('node:http');
    const seen: string[] = [];
    const server = http.createServer((req, res) => {
      seen.push(req.url ?? '');
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.address() as net.AddressInfo).port;
    const run = await curl('-quiet', `http://127.0.0.1:${port}/a/{uuid}?id={uuid}`);
    expect(run.code).toBe(0);
    const uuid = '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}';
    const match = new RegExp(`^/a/(${uuid})\\?id=(${uuid})$`).exec(seen[0] ?? '');
    expect(match).not.toBeNull();
    expect(match?.[1]).not.toBe(match?.[2]);
  });
});

describe('meshload curl: client certificates (-cert, -key, -cacert)', () => {
  let files: MtlsFiles;
  beforeAll(() => {
    files = makeMtlsFiles();
  });
  afterAll(() => files.remove());

  async function opensslUrl(): Promise<string> {
    const server = await startOpensslServer(files);
    cleanups.push(() => server.stop());
    return `https://127.0.0.1:${server.port}/`;
  }

  it('talks to openssl s_server -Verify 1 with the client certificate; without it, one line, exit 1', async () => {
    const url = await opensslUrl();
    const ok = await curl('-quiet', '-cert', files.clientCert, '-key', files.clientKey, '-cacert', files.ca, url);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toMatch(/^HTTP\/1\.1 200 ok\n/i);
    const without = await curl('-quiet', '-cacert', files.ca, url);
    expect(without.code).toBe(1);
    expect(without.stderr).toMatch(/^meshload: GET https:\/\/127\.0\.0\.1:\d+\/ failed: [^\n]+\n$/);
  });

  it('a -cacert that did not sign the server fails verification; -https-insecure skips it', async () => {
    const url = await opensslUrl();
    const wrong = await curl('-quiet', '-cert', files.clientCert, '-key', files.clientKey, '-cacert', files.otherCa, url);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^meshload: GET https:\/\/127\.0\.0\.1:\d+\/ failed: [^\n]*(certificate|verify)[^\n]*\n$/i);
    const insecure = await curl('-quiet', '-https-insecure', '-cert', files.clientCert, '-key', files.clientKey, '-cacert', files.otherCa, url);
    expect(insecure.code).toBe(0);
  });

  it("sends -H 'Host: name' as SNI and verifies the certificate against it", async () => {
    const names: Array<string | false | null> = [];
    const server = https.createServer({ key: readFileSync(files.serverKey), cert: readFileSync(files.serverCert) }, (req, res) => {
      names.push((req.socket as TLSSocket).servername);
      res.end('sni');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    server.on('connection', (socket: net.Socket) => cleanups.push(() => void socket.destroy()));
    const url = `https://127.0.0.1:${(server.address() as net.AddressInfo).port}/`;
    const run = await curl('-quiet', '-cacert', files.ca, '-H', 'Host: server.test:8443', url);
    expect(run.code).toBe(0);
    expect(names).toEqual(['server.test']);
  });

  it('a missing, non-PEM or mismatched file is exit 2 with one line, before any connection', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshload-pem-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const notPem = join(dir, 'not.pem');
    writeFileSync(notPem, 'hello');
    const badPem = join(dir, 'bad.pem');
    writeFileSync(badPem, '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n');
    const url = 'https://127.0.0.1:1/';
    const cases: Array<[string[], RegExp]> = [
      [['-cert', join(dir, 'missing.pem'), '-key', files.clientKey], /cannot read -cert .*missing\.pem/],
      [['-cacert', notPem], /-cacert .*not\.pem holds no PEM block/],
      [['-cacert', badPem], /-cacert not usable/],
      [['-cert', files.clientCert, '-key', files.serverKey], /-cert\/-key\/-cacert not usable/],
      [['-cert', files.clientCert], /-cert needs -key/],
      [['-cacert', dir], /is a directory/],
    ];
    for (const [flags, message] of cases) {
      const run = await curl('-quiet', ...flags, url);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).not.toMatch(/^\s+at |internal error|PRIVATE KEY/m);
      expect(run.stderr.trimEnd().split('\n').filter((l) => l.startsWith('meshload:'))).toHaveLength(1);
    }
  });
});
