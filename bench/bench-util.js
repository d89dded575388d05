'use strict';
/* Shared by the benchmark suites: CPU pinning, nginx as a native target, process helpers. */
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');

function have(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
}

const canPin = () => have('taskset') && os.cpus().length >= 2;

/** [command, args] pinned to one CPU when taskset exists and there are at least two cores. */
function pinned(cpu, command, args) {
  return canPin() ? ['taskset', ['-c', String(cpu), command, ...args]] : [command, args];
}

async function waitForPort(port) {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing listening on ${port}`);
}

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** nginx with one worker on CPU `cpu`, answering `return 200`; with `h2c`, HTTP/2 with prior
 * knowledge (`listen ... http2` without ssl, nginx 1.22 syntax) serving a small index.html, as
 * h2load needs a real response. `stop()` ends it. */
async function startNginx(cpu, { h2c = false } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshload-bench-nginx-'));
  const port = await freePort();
  if (h2c) fs.writeFileSync(path.join(dir, 'index.html'), 'hello\n');
  const server = h2c ? `listen 127.0.0.1:${port} http2; root ${dir}; location / { }` : `listen 127.0.0.1:${port}; location / { return 200 ''; }`;
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(
    conf,
    `worker_processes 1;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents { worker_connections 4096; }\n` +
      `http { access_log off; keepalive_requests 100000000; keepalive_timeout 3600s;\n` +
      `  client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};\n` +
      `  server { ${server} } }\n`,
  );
  const [cmd, argv] = pinned(cpu, 'nginx', ['-c', conf, '-p', dir, '-g', 'daemon off;']);
  const child = spawn(cmd, argv, { stdio: 'ignore' });
  await waitForPort(port);
  return {
    name: 'nginx',
    child,
    url: h2c ? `http://127.0.0.1:${port}/index.html` : `http://127.0.0.1:${port}`,
    stop() {
      child.kill('SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function rssMiB(pid, field = 'VmRSS') {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status);
    return kb ? Math.round(Number(kb[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

function writeReport(name, data) {
  fs.mkdirSync(path.join(ROOT, 'reports'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'reports', `bench-${name}.json`), JSON.stringify({ date: new Date().toISOString(), ...data }, null, 2) + '\n');
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');

module.exports = { ROOT, have, canPin, pinned, waitForPort, freePort, startNginx, median, rssMiB, writeReport, fmt };
