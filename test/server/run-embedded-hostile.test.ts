/** `meshload run` with an embedded echo server keeps going, writes its report and runs
 * `always:` while a peer resets connections to that server at every stage. A spawned run:
 * a crash of the embedded server is the run process dying. Needs `npm run build`. */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProcess } from '../helpers/run-process';

const BIN = join(__dirname, '..', '..', 'bin', 'meshload.js');

/** Resets connections to $MESHLOAD_SERVER_ADDR: before any byte, mid-headers, mid-body, during
 * the h2c preface, while a delayed response is pending; `once` does each a few times, `loop`
 * keeps at it until killed. */
const ATTACKER = `
const net = require('node:net');
const [host, port] = process.env.MESHLOAD_SERVER_ADDR.split(':');
const attacks = ['', 'GET / HTTP/1.1\\r\\nHost: x\\r\\nX-A: a', 'POST / HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 100\\r\\n\\r\\nabc',
  'PRI * HTTP/2.0\\r\\n', 'GET /?delay=300ms HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n', 'GET /?header=X:a%01b HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'];
function attack(bytes) {
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), host, () => {
      if (bytes === '') { socket.resetAndDestroy(); return; }
      socket.write(bytes, () => setTimeout(() => socket.resetAndDestroy(), 30));
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
  });
}
(async () => {
  do {
    for (const bytes of attacks) await attack(bytes);
  } while (process.argv[2] === 'loop');
})();
`;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'meshload-run-hostile-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it('meshload run survives a peer resetting connections to its embedded server', async () => {
  writeFileSync(join(dir, 'attacker.js'), ATTACKER);
  const node = JSON.stringify(process.execPath);
  const marker = join(dir, 'cleaned');
  const scenario = [
    'name: hostile peer',
    'server: { maxDelay: 1s }',
    'phases:',
    '  - name: under attack',
    '    steps:',
    `      - run: '${node} attacker.js once'`,
    `      - start: { command: '${node} attacker.js loop' }`,
    '    load: { connections: 2, qps: 0, requests: 200 }',
    '    expect: [ "calls == 200", "status(200) == 100%" ]',
    'always:',
    `  - run: "touch '${marker}'"`,
    '',
  ].join('\n');
  writeFileSync(join(dir, 'scenario.yaml'), scenario);
  const run = await runProcess(process.execPath, [BIN, 'run', join(dir, 'scenario.yaml'), '--report-dir', join(dir, 'reports')]);
  expect(run.stderr).toMatch(/== hostile peer: PASS/);
  expect(run.code).toBe(0);
  expect(existsSync(marker)).toBe(true);
  const runs = readdirSync(join(dir, 'reports'));
  expect(runs).toHaveLength(1);
  expect(existsSync(join(dir, 'reports', runs[0] as string, 'result.json'))).toBe(true);
}, 60_000);
