'use strict';
/* Load generator throughput, as the engine issue specifies: nginx (`return 200`, one worker)
 * pinned to CPU 0, each client pinned to CPU 1, side by side in one run, alternating, median of
 * ROUNDS: `meshload load -c 64 -qps 0`, `autocannon -c 64`, `wrk -t1 -c64`.
 * Goals: meshload >= 1.3x autocannon and >= 0.6x wrk. Also: RSS of meshload after 10 million
 * requests (goal < 150 MiB) and `meshload --version` start time (goal < 250 ms). */
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ROOT, have, canPin, pinned, startNginx, median, rssMiB, writeReport, fmt } = require('./bench-util.js');

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = 64;
const LONG_RUN_REQUESTS = Number(process.env.BENCH_LONG_REQUESTS ?? 10_000_000);
const BIN = path.join(ROOT, 'bin', 'meshload.js');
const AUTOCANNON = path.join(ROOT, 'node_modules', '.bin', 'autocannon');

/** BENCH_BASELINE_BIN=/other/checkout/bin/meshload.js adds that build to the same rounds:
 * a before/after ratio measured side by side, which noisy machines need. */
const BASELINE_BIN = process.env.BENCH_BASELINE_BIN;

function meshloadRate(url, bin = BIN) {
  const json = path.join(os.tmpdir(), `meshload-bench-${process.pid}.json`);
  const [cmd, argv] = pinned(1, process.execPath, [bin, 'load', '-quiet', '-c', String(CONNECTIONS), '-qps', '0', '-t', `${SECONDS}s`, '-json', json, url]);
  const run = spawnSync(cmd, argv, { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`meshload load failed (${run.status}): ${run.stderr}`);
  const result = JSON.parse(fs.readFileSync(json, 'utf8'));
  fs.rmSync(json, { force: true });
  return result.ActualQPS;
}

function autocannonRate(url) {
  const [cmd, argv] = pinned(1, process.execPath, [AUTOCANNON, '-c', String(CONNECTIONS), '-d', String(SECONDS), '--json', url]);
  const run = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`autocannon failed (${run.status}): ${run.stderr}`);
  const result = JSON.parse(run.stdout);
  return result.requests.total / (result.duration || SECONDS);
}

function wrkRate(url) {
  const [cmd, argv] = pinned(1, 'wrk', ['-t1', `-c${CONNECTIONS}`, `-d${SECONDS}s`, url]);
  const run = spawnSync(cmd, argv, { encoding: 'utf8' });
  const match = /Requests\/sec:\s+([\d.]+)/.exec(run.stdout);
  if (!match) throw new Error(`wrk gave no rate: ${run.stdout}${run.stderr}`);
  return Number(match[1]);
}

/** Peak RSS (VmHWM) of a long meshload run, sampled until it exits. */
async function longRunPeakRss(url) {
  const [cmd, argv] = pinned(1, process.execPath, [BIN, 'load', '-quiet', '-c', String(CONNECTIONS), '-qps', '0', '-n', String(LONG_RUN_REQUESTS), url]);
  const child = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  let peak = 0;
  let rssAtEnd = 0;
  const timer = setInterval(() => {
    const hwm = rssMiB(child.pid, 'VmHWM');
    const rss = rssMiB(child.pid, 'VmRSS');
    if (hwm !== undefined) peak = Math.max(peak, hwm);
    if (rss !== undefined) rssAtEnd = rss;
  }, 250);
  const started = Date.now();
  const code = await new Promise((resolve) => child.on('exit', resolve));
  clearInterval(timer);
  if (code !== 0) throw new Error(`long run failed (${code}): ${stderr}`);
  const calls = /All done (\d+) calls/.exec(stderr);
  return { peakMiB: peak, lastRssMiB: rssAtEnd, seconds: (Date.now() - started) / 1000, calls: calls ? Number(calls[1]) : undefined };
}

function startTimes() {
  const time = (args) => {
    const samples = [];
    for (let i = 0; i < 7; i++) {
      const t = process.hrtime.bigint();
      spawnSync(process.execPath, args);
      samples.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    return median(samples);
  };
  return { meshloadMs: time([BIN, '--version']), bareNodeMs: time(['-e', '0']) };
}

async function run() {
  for (const tool of ['wrk', 'nginx']) {
    if (!have(tool)) {
      console.error(`bench load: ${tool} is not installed (apt-get install -y wrk nginx-light)`);
      return false;
    }
  }
  const nginx = await startNginx(0);
  try {
    const url = `${nginx.url}/`;
    console.log(
      `bench load: ${ROUNDS} alternating rounds of ${SECONDS}s against nginx (1 worker), -c ${CONNECTIONS}, ` +
        (canPin() ? 'nginx on CPU 0, client on CPU 1' : 'not pinned (no taskset or one core)'),
    );
    const tools = { meshload: meshloadRate, autocannon: autocannonRate, wrk: wrkRate };
    if (BASELINE_BIN !== undefined) tools.baseline = (u) => meshloadRate(u, BASELINE_BIN);
    const samples = Object.fromEntries(Object.keys(tools).map((name) => [name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, measure] of Object.entries(tools)) samples[name].push(measure(url));
    }
    const rates = Object.fromEntries(Object.entries(samples).map(([name, s]) => [name, median(s)]));
    for (const [name, rate] of Object.entries(rates)) {
      console.log(`  ${name.padEnd(11)} ${fmt(rate).padStart(9)} req/s  (rounds: ${samples[name].map((s) => Math.round(s)).join(', ')})`);
    }
    const vsAutocannon = rates.meshload / rates.autocannon;
    const vsWrk = rates.meshload / rates.wrk;
    console.log(`  ratio meshload / autocannon: ${vsAutocannon.toFixed(2)} (goal >= 1.3)`);
    console.log(`  ratio meshload / wrk:        ${vsWrk.toFixed(2)} (goal >= 0.6)`);
    if (BASELINE_BIN !== undefined) console.log(`  ratio meshload / baseline:   ${(rates.meshload / rates.baseline).toFixed(2)} (${BASELINE_BIN})`);
    const long = await longRunPeakRss(url);
    console.log(`  ${fmt(long.calls ?? LONG_RUN_REQUESTS)} requests in ${long.seconds.toFixed(1)}s: peak RSS ${long.peakMiB} MiB (goal < 150)`);
    const start = startTimes();
    console.log(`  meshload --version: ${start.meshloadMs.toFixed(0)} ms (node -e 0: ${start.bareNodeMs.toFixed(0)} ms; goal < 250)`);
    const goals = {
      vsAutocannon: vsAutocannon >= 1.3,
      vsWrk: vsWrk >= 0.6,
      rss: long.peakMiB < 150,
      startTime: start.meshloadMs < 250,
    };
    const ok = Object.values(goals).every(Boolean);
    console.log(`  goals: ${Object.entries(goals).map(([k, v]) => `${k} ${v ? 'met' : 'MISSED'}`).join(', ')}`);
    writeReport('load', { rounds: ROUNDS, seconds: SECONDS, connections: CONNECTIONS, samples, rates, ratios: { vsAutocannon, vsWrk }, longRun: long, startTime: start, goals, ok });
    return ok;
  } finally {
    nginx.stop();
  }
}

module.exports = { run };
