'use strict';
/* HTTP/2 load generator throughput (issue 16): nginx h2c (prior knowledge, one worker, a small
 * static body) pinned to CPU 0, each client pinned to CPU 1, side by side in one run,
 * alternating, median of ROUNDS: `meshload load -h2 -c 64 -qps 0 -workers 1` (one stream at a
 * time on each of 64 connections, Fortio's -h2) and `h2load -t1 -c64 -m1` (the same model).
 * Goal: meshload >= 0.7x h2load. BENCH_BASELINE_BIN adds another build to the same rounds. */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ROOT, have, canPin, pinned, startNginx, median, writeReport, fmt } = require('./bench-util.js');

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = 64;
const BIN = path.join(ROOT, 'bin', 'meshload.js');
const BASELINE_BIN = process.env.BENCH_BASELINE_BIN;
/** Extra meshload flags, e.g. BENCH_H2_FLAGS=--h2-multiplex. */
const EXTRA = (process.env.BENCH_H2_FLAGS ?? '').split(' ').filter((s) => s !== '');
const GOAL = 0.7;

function meshloadRate(url, bin = BIN) {
  const json = path.join(os.tmpdir(), `meshload-bench-h2-${process.pid}.json`);
  const args = [bin, 'load', '-quiet', '-h2', '-workers', '1', ...EXTRA, '-c', String(CONNECTIONS), '-qps', '0', '-t', `${SECONDS}s`, '-json', json, url];
  const [cmd, argv] = pinned(1, process.execPath, args);
  const run = spawnSync(cmd, argv, { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`meshload load -h2 failed (${run.status}): ${run.stderr}`);
  const result = JSON.parse(fs.readFileSync(json, 'utf8'));
  fs.rmSync(json, { force: true });
  const ok = result.RetCodes?.['200'] ?? 0;
  if (ok === 0) throw new Error(`meshload load -h2 got no 200s: ${JSON.stringify(result.RetCodes)}`);
  return result.ActualQPS;
}

function h2loadRate(url) {
  const [cmd, argv] = pinned(1, 'h2load', ['-t1', `-c${CONNECTIONS}`, '-m1', `-D${SECONDS}`, url]);
  const run = spawnSync(cmd, argv, { encoding: 'utf8' });
  const match = /finished in [\d.]+\w*, ([\d.]+) req\/s/.exec(run.stdout);
  if (!match) throw new Error(`h2load gave no rate: ${run.stdout}${run.stderr}`);
  return Number(match[1]);
}

async function run() {
  for (const [tool, pkg] of [['nginx', 'nginx-light'], ['h2load', 'nghttp2-client']]) {
    if (!have(tool)) {
      console.error(`bench h2: ${tool} is not installed (apt-get install -y ${pkg})`);
      return false;
    }
  }
  const nginx = await startNginx(0, { h2c: true });
  try {
    const url = nginx.url;
    console.log(
      `bench h2: ${ROUNDS} alternating rounds of ${SECONDS}s against nginx h2c (1 worker), -c ${CONNECTIONS}, ` +
        `${EXTRA.length > 0 ? `meshload ${EXTRA.join(' ')}` : 'one stream per connection'}, ` +
        (canPin() ? 'nginx on CPU 0, client on CPU 1' : 'not pinned (no taskset or one core)'),
    );
    const tools = { meshload: meshloadRate, h2load: h2loadRate };
    if (BASELINE_BIN !== undefined) tools.baseline = (u) => meshloadRate(u, BASELINE_BIN);
    const samples = Object.fromEntries(Object.keys(tools).map((name) => [name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, measure] of Object.entries(tools)) samples[name].push(measure(url));
    }
    const rates = Object.fromEntries(Object.entries(samples).map(([name, s]) => [name, median(s)]));
    for (const [name, rate] of Object.entries(rates)) {
      console.log(`  ${name.padEnd(11)} ${fmt(rate).padStart(9)} req/s  (rounds: ${samples[name].map((s) => Math.round(s)).join(', ')})`);
    }
    const vsH2load = rates.meshload / rates.h2load;
    console.log(`  ratio meshload / h2load: ${vsH2load.toFixed(2)} (goal >= ${GOAL})`);
    const ratios = { vsH2load };
    if (BASELINE_BIN !== undefined) {
      ratios.vsBaseline = rates.meshload / rates.baseline;
      console.log(`  ratio meshload / baseline: ${ratios.vsBaseline.toFixed(2)} (${BASELINE_BIN})`);
    }
    const goals = { vsH2load: vsH2load >= GOAL };
    const ok = Object.values(goals).every(Boolean);
    console.log(`  goals: ${Object.entries(goals).map(([k, v]) => `${k} ${v ? 'met' : 'MISSED'}`).join(', ')}`);
    writeReport('h2', { rounds: ROUNDS, seconds: SECONDS, connections: CONNECTIONS, flags: EXTRA, samples, rates, ratios, goals, ok });
    return ok;
  } finally {
    nginx.stop();
  }
}

module.exports = { run };
