'use strict';
/* gRPC client throughput (issue 16): meshload's gRPC server (`server -grpc-port`) pinned to CPU 0
 * as the target; on CPU 1, side by side in one run, alternating, median of ROUNDS:
 * `meshload load -grpc -ping -c 4 -s 16 -qps 0` and @grpc/grpc-js with 4 channels of 16 calls in
 * flight each, both calling fgrpc.PingServer/Ping. Goal: meshload >= 3x grpc-js calls/s.
 * A Node server on one core can be slower than both clients, which caps both rates alike; so the
 * client CPU time per call (user + system, from /usr/bin/time) is reported and compared too. */
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ROOT, canPin, pinned, median, writeReport, fmt } = require('./bench-util.js');

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = 4;
const STREAMS = 16;
const BIN = path.join(ROOT, 'bin', 'meshload.js');
const TIME = '/usr/bin/time';

async function startServer() {
  const [cmd, argv] = pinned(0, process.execPath, [BIN, 'server', '-http-port', '127.0.0.1:0', '-admin-port', 'disabled', '-grpc-port', '127.0.0.1:0', '-loglevel', 'Warning']);
  const child = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const address = await new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      stderr += d;
      const match = /gRPC on (\S+)/.exec(stderr);
      if (match) resolve(match[1]);
    });
    child.on('exit', (code) => reject(new Error(`meshload server exited (${code}): ${stderr}`)));
  });
  return { address, stop: () => child.kill('SIGTERM') };
}

/** Runs `command args` pinned to CPU 1 under /usr/bin/time; returns the run and its CPU seconds. */
function timed(command, args) {
  const [cmd, argv] = pinned(1, TIME, ['-f', 'CPU %U %S', command, ...args]);
  const run = spawnSync(cmd, argv, { encoding: 'utf8' });
  const match = /CPU ([\d.]+) ([\d.]+)\s*$/.exec(run.stderr);
  return { run, cpuSeconds: match ? Number(match[1]) + Number(match[2]) : NaN };
}

function meshloadRate(address) {
  const json = path.join(os.tmpdir(), `meshload-grpc-bench-${process.pid}.json`);
  const { run, cpuSeconds } = timed(process.execPath, [BIN, 'load', '-quiet', '-grpc', '-ping', '-c', String(CONNECTIONS), '-s', String(STREAMS), '-qps', '0', '-t', `${SECONDS}s`, '-json', json, address]);
  if (run.status !== 0) throw new Error(`meshload load -grpc failed (${run.status}): ${run.stderr}`);
  const result = JSON.parse(fs.readFileSync(json, 'utf8'));
  fs.rmSync(json, { force: true });
  const errors = Object.entries(result.RetCodes).filter(([k]) => k !== 'SERVING');
  if (errors.length > 0) throw new Error(`meshload load -grpc had failed calls: ${JSON.stringify(result.RetCodes)}`);
  return { qps: result.ActualQPS, cpuUsPerCall: (cpuSeconds * 1e6) / result.DurationHistogram.Count };
}

function grpcJsRate(address) {
  const { run, cpuSeconds } = timed(process.execPath, [path.join(__dirname, 'grpc-js-client.js'), address, String(CONNECTIONS), String(STREAMS), String(SECONDS)]);
  if (run.status !== 0) throw new Error(`grpc-js client failed (${run.status}): ${run.stderr}`);
  const result = JSON.parse(run.stdout);
  if (result.errors > 0) throw new Error(`grpc-js client had ${result.errors} failed calls`);
  return { qps: result.qps, cpuUsPerCall: (cpuSeconds * 1e6) / result.calls };
}

async function run() {
  const server = await startServer();
  try {
    console.log(
      `bench grpc: ${ROUNDS} alternating rounds of ${SECONDS}s against meshload server -grpc-port, ${CONNECTIONS} connections x ${STREAMS} streams, ` +
        (canPin() ? 'server on CPU 0, client on CPU 1' : 'not pinned (no taskset or one core)'),
    );
    const tools = { meshload: meshloadRate, 'grpc-js': grpcJsRate };
    const samples = Object.fromEntries(Object.keys(tools).map((name) => [name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, measure] of Object.entries(tools)) samples[name].push(measure(server.address));
    }
    const rates = Object.fromEntries(Object.entries(samples).map(([name, s]) => [name, median(s.map((x) => x.qps))]));
    const cpu = Object.fromEntries(Object.entries(samples).map(([name, s]) => [name, median(s.map((x) => x.cpuUsPerCall))]));
    for (const [name, rate] of Object.entries(rates)) {
      console.log(`  ${name.padEnd(9)} ${fmt(rate).padStart(9)} calls/s, ${cpu[name].toFixed(1)} us CPU per call  (rounds: ${samples[name].map((s) => Math.round(s.qps)).join(', ')})`);
    }
    const ratio = rates.meshload / rates['grpc-js'];
    const cpuRatio = cpu['grpc-js'] / cpu.meshload;
    console.log(`  ratio meshload / grpc-js calls/s: ${ratio.toFixed(2)} (goal >= 3)`);
    console.log(`  ratio grpc-js / meshload CPU per call: ${cpuRatio.toFixed(2)} (what meshload could reach against a server faster than both)`);
    const ok = ratio >= 3;
    writeReport('grpc', { rounds: ROUNDS, seconds: SECONDS, connections: CONNECTIONS, streams: STREAMS, samples, rates, cpuUsPerCall: cpu, ratio, cpuRatio, goal: 3, ok });
    return ok;
  } finally {
    server.stop();
  }
}

module.exports = { run };
