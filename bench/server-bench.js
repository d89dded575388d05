'use strict';
/* Echo server throughput: requests/s on keep-alive GETs, measured by wrk (a separate C load
 * tool), with the server pinned to one core and wrk to the other. Compared in the same run with
 * a bare node:http server (what Node itself allows) and nginx (a native reference). Goal from
 * the server issue: at least 40k req/s for a plain GET on one core. */
const { spawn, spawnSync } = require('node:child_process');
const path = require('node:path');
const { ROOT, have, canPin, pinned, startNginx, median, rssMiB, writeReport, fmt } = require('./bench-util.js');

const GOAL_RPS = 40_000;
const ROUNDS = 3;
const SECONDS = 4;
const CONNECTIONS = 64;

function startProcess(name, command, args, readyPattern) {
  const [cmd, argv] = pinned(0, command, args);
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${output}`)), 10_000);
    const onData = (chunk) => {
      output += chunk.toString();
      const match = readyPattern.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ name, child, url: match[1] });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${name} exited (${code}) before it was ready: ${output}`)));
  });
}

function wrk(url) {
  const [cmd, argv] = pinned(1, 'wrk', ['-t1', `-c${CONNECTIONS}`, `-d${SECONDS}s`, url]);
  const result = spawnSync(cmd, argv, { encoding: 'utf8' });
  const match = /Requests\/sec:\s+([\d.]+)/.exec(result.stdout);
  if (!match) throw new Error(`wrk gave no rate for ${url}: ${result.stdout}${result.stderr}`);
  const errors = /Socket errors: (.*)/.exec(result.stdout);
  return { rps: Number(match[1]), socketErrors: errors ? errors[1] : undefined };
}

async function run() {
  if (!have('wrk')) {
    console.error('bench server: wrk is not installed (apt-get install -y wrk)');
    return false;
  }
  const servers = [];
  try {
    const bin = path.join(ROOT, 'bin', 'meshload.js');
    const meshload = await startProcess(
      'meshload',
      process.execPath,
      [bin, 'server', '-http-port', '127.0.0.1:0', '-admin-port', 'disabled'],
      /listening on (http:\/\/[\d.:]+)/,
    );
    servers.push(meshload);
    const bare = await startProcess('node:http', process.execPath, [path.join(__dirname, 'bare-node-server.js')], /listening on (http:\/\/[\d.:]+)/);
    servers.push(bare);
    const targets = [
      { label: 'meshload GET /', url: `${meshload.url}/` },
      { label: 'meshload GET /echo?status=503:20&size=1024', url: `${meshload.url}/echo?status=503:20&size=1024` },
      { label: 'bare node:http GET /', url: `${bare.url}/` },
    ];
    if (have('nginx')) {
      const nginx = await startNginx(0);
      servers.push(nginx);
      targets.push({ label: 'nginx GET / (1 worker)', url: `${nginx.url}/` });
    }
    const pinnedNote = canPin() ? 'servers on CPU 0, wrk on CPU 1' : 'not pinned (no taskset or one core)';
    console.log(`bench server: ${ROUNDS} interleaved rounds of ${SECONDS}s, wrk -t1 -c${CONNECTIONS}, ${pinnedNote}`);
    for (const target of targets) wrk(target.url); // warm-up: JIT and connection setup
    const samples = new Map(targets.map((t) => [t.label, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const target of targets) samples.get(target.label).push(wrk(target.url).rps);
    }
    const rows = targets.map((t) => ({ label: t.label, rps: median(samples.get(t.label)), samples: samples.get(t.label) }));
    const rate = (label) => rows.find((r) => r.label.startsWith(label)).rps;
    const plain = rate('meshload GET /');
    for (const row of rows) {
      console.log(`  ${row.label.padEnd(46)} ${fmt(row.rps).padStart(9)} req/s  (rounds: ${row.samples.map((s) => Math.round(s)).join(', ')})`);
    }
    const ratios = {
      meshloadVsBareNode: plain / rate('bare node:http'),
      chaosPathVsPlain: rate('meshload GET /echo') / plain,
      ...(rows.some((r) => r.label.startsWith('nginx')) ? { meshloadVsNginx: plain / rate('nginx') } : {}),
    };
    console.log(`  ratio meshload / bare node:http: ${ratios.meshloadVsBareNode.toFixed(2)}`);
    console.log(`  ratio chaos path / plain GET:    ${ratios.chaosPathVsPlain.toFixed(2)}`);
    if (ratios.meshloadVsNginx !== undefined) console.log(`  ratio meshload / nginx:          ${ratios.meshloadVsNginx.toFixed(2)}`);
    const rss = rssMiB(meshload.child.pid);
    if (rss !== undefined) console.log(`  meshload server RSS after the run: ${rss} MiB`);
    const ok = plain >= GOAL_RPS;
    console.log(`  goal: meshload GET / >= ${GOAL_RPS.toLocaleString('en-US')} req/s on one core: ${ok ? 'met' : 'MISSED'}`);
    writeReport('server', { rounds: ROUNDS, seconds: SECONDS, connections: CONNECTIONS, rows, ratios, rssMiB: rss, goalRps: GOAL_RPS, ok });
    return ok;
  } finally {
    for (const server of servers) (server.stop ?? (() => server.child.kill('SIGTERM')))();
  }
}

module.exports = { run };
