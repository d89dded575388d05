'use strict';
/* Stats parser speed and memory, as the stats issue specifies: a 200,000-line Istio-shaped Envoy
 * /stats text dump and a Prometheus (/stats/prometheus) dump of similar size, generated in memory
 * and parsed from dist/ in 64 KiB chunks (median of ROUNDS after a warm-up). Goal: each < 300 ms.
 * Then a 50 MB text dump is generated and pushed chunk by chunk while the live heap is sampled
 * after a forced GC: the parser keeps only the unfinished line, so the heap must not grow with
 * the dump. Goal: live heap growth < 16 MiB, and back to the baseline (+/- 4 MiB) at the end.
 * Last, 50 MB of compact one-line Envoy /stats?format=json (the shape of the shared fixture
 * stats-histogram.json, many clusters) is read from a file through readStats, as `load --stats`
 * reads it, while a 5 ms timer measures the event loop. Goal: < 5 s, no timer late by 100 ms. */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const v8 = require('node:v8');
const vm = require('node:vm');
const { ROOT, median, writeReport, fmt } = require('./bench-util.js');

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const LINES = 200_000;
const CHUNK = 64 * 1024;
const BIG_BYTES = 50 * 1024 * 1024;
const GOAL_MS = 300;
const GOAL_GROWTH_MIB = 16;
const GOAL_END_MIB = 4;
const GOAL_JSON_MS = 5000;
const GOAL_LOOP_GAP_MS = 100;
const JSON_FIXTURE = path.join(ROOT, '..', 'shared', 'fixtures', 'envoy', 'stats-histogram.json');

/** Envoy cluster stats as an Istio sidecar prints them (a subset of cluster_stats.rst). */
const CLUSTER_STATS = [
  'assignment_stale', 'bind_errors', 'circuit_breakers.default.cx_open', 'circuit_breakers.default.cx_pool_open',
  'circuit_breakers.default.rq_open', 'circuit_breakers.default.rq_pending_open', 'circuit_breakers.default.rq_retry_open',
  'circuit_breakers.high.cx_open', 'circuit_breakers.high.rq_open', 'default.total_match_count', 'internal.upstream_rq_200',
  'internal.upstream_rq_2xx', 'internal.upstream_rq_completed', 'lb_healthy_panic', 'lb_subsets_active', 'max_host_weight',
  'membership_change', 'membership_degraded', 'membership_healthy', 'membership_total', 'outlier_detection.ejections_active',
  'outlier_detection.ejections_enforced_total', 'retry.upstream_rq_503', 'ssl.handshake', 'ssl.versions.TLSv1.3',
  'tlsMode-istio.total_match_count', 'update_attempt', 'update_success', 'upstream_cx_active', 'upstream_cx_connect_fail',
  'upstream_cx_destroy', 'upstream_cx_overflow', 'upstream_cx_rx_bytes_total', 'upstream_cx_total', 'upstream_cx_tx_bytes_total',
  'upstream_rq_200', 'upstream_rq_2xx', 'upstream_rq_503', 'upstream_rq_5xx', 'upstream_rq_active', 'upstream_rq_completed',
  'upstream_rq_pending_active', 'upstream_rq_pending_overflow', 'upstream_rq_pending_total', 'upstream_rq_per_try_timeout',
  'upstream_rq_retry', 'upstream_rq_retry_overflow', 'upstream_rq_retry_success', 'upstream_rq_timeout', 'upstream_rq_total',
];
const HISTOGRAMS = ['upstream_cx_connect_ms', 'upstream_cx_length_ms', 'upstream_rq_time'];
const QUANTILES = 'P0(nan,1) P25(nan,1.025) P50(nan,2.05) P75(nan,3.075) P90(nan,12.09) P95(nan,13.095) P99(nan,14.099) P99.5(nan,14.0995) P99.9(nan,14.0999) P100(nan,14.1)';

function clusterName(i) {
  const subset = i % 5 === 0 ? `v${(i % 3) + 1}` : '';
  return `outbound|${8000 + (i % 7)}|${subset}|svc${i}.ns${i % 13}.svc.cluster.local`;
}

/** Endless Istio >= 1.23 /stats text lines (`;` after the cluster name), cluster by cluster. */
function* envoyLines() {
  for (let i = 0; ; i++) {
    const cluster = clusterName(i);
    const semicolon = i % 2 === 0 ? ';' : ''; // both name forms, as mixed fleets have
    for (let s = 0; s < CLUSTER_STATS.length; s++) yield `cluster.${cluster}${semicolon}.${CLUSTER_STATS[s]}: ${(i * 31 + s * 7) % 100000}`;
    for (const h of HISTOGRAMS) yield `cluster.${cluster}${semicolon}.${h}: ${i % 4 === 0 ? 'No recorded values' : QUANTILES}`;
  }
}

/** Istio /stats/prometheus: each family's TYPE line, then one series per cluster, as Envoy groups them. */
function prometheusDump(lines) {
  const clusters = Math.ceil(lines / 60);
  const out = [];
  const families = CLUSTER_STATS.map((s) => `envoy_cluster_${s.replace(/[.-]/g, '_')}`);
  for (const family of families) {
    if (out.length >= lines) break;
    out.push(`# TYPE ${family} counter`);
    for (let i = 0; i < clusters && out.length < lines; i++) out.push(`${family}{cluster_name="${clusterName(i)}"} ${(i * 17) % 100000}`);
  }
  for (let i = 0; out.length < lines; i++) {
    const labels = `cluster_name="${clusterName(i)}"`;
    out.push(`envoy_cluster_upstream_rq{response_code="503",${labels}} ${i}`);
    out.push(`envoy_cluster_upstream_rq{response_code_class="5xx",${labels}} ${i}`);
    for (const le of ['0.5', '1', '5', '10', '25', '50', '100', '250', '+Inf']) out.push(`envoy_cluster_upstream_rq_time_bucket{${labels},le="${le}"} ${i}`);
    out.push(`envoy_cluster_upstream_rq_time_sum{${labels}} 1.5e3`);
  }
  return out.slice(0, lines).join('\n') + '\n';
}

function take(generator, count) {
  const out = [];
  for (const line of generator) {
    out.push(line);
    if (out.length === count) break;
  }
  return out.join('\n') + '\n';
}

function parseInChunks(StatsParser, format, text) {
  let samples = 0;
  const parser = new StatsParser(format, () => samples++);
  for (let at = 0; at < text.length; at += CHUNK) parser.push(text.slice(at, at + CHUNK));
  parser.end();
  return { samples, lines: parser.lines };
}

function timeDump(StatsParser, format, text) {
  parseInChunks(StatsParser, format, text); // warm-up
  const runs = [];
  let result;
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.hrtime.bigint();
    result = parseInChunks(StatsParser, format, text);
    runs.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  const ms = median(runs);
  return { format, bytes: text.length, lines: result.lines, samples: result.samples, ms, runs, linesPerSecond: (result.lines / ms) * 1000 };
}

/** Pushes BIG_BYTES of generated text in CHUNK pieces (cut mid-line, as sockets do), keeping
 * what a snapshot keeps: the last sample of one cluster's stats. */
function bigDump(StatsParser, gc) {
  const mib = () => process.memoryUsage().heapUsed / 1024 / 1024;
  gc();
  const baseline = mib();
  const kept = new Map();
  const target = `${clusterName(3)}.`;
  const parser = new StatsParser('envoy-text', (sample) => {
    if (sample.name.includes(target)) kept.set(sample.name, sample);
  });
  const lines = envoyLines();
  let pending = '';
  let pushed = 0;
  let chunks = 0;
  let peakLive = baseline;
  let peakUsed = baseline;
  const start = process.hrtime.bigint();
  while (pushed < BIG_BYTES) {
    while (pending.length < CHUNK) pending += lines.next().value + '\n';
    const chunk = pending.slice(0, CHUNK);
    pending = pending.slice(CHUNK);
    parser.push(chunk);
    pushed += chunk.length;
    chunks++;
    peakUsed = Math.max(peakUsed, mib());
    if (chunks % 64 === 0) {
      gc();
      peakLive = Math.max(peakLive, mib());
    }
  }
  parser.push(pending);
  parser.end();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  gc();
  const end = mib();
  return {
    bytes: pushed + pending.length,
    chunks,
    lines: parser.lines,
    kept: kept.size,
    seconds,
    baselineMiB: baseline,
    peakLiveGrowthMiB: peakLive - baseline,
    peakHeapUsedGrowthMiB: peakUsed - baseline,
    endGrowthMiB: end - baseline,
  };
}

/** One line of Envoy JSON of about `bytes`: every cluster's stats, then the one histograms entry
 * with each cluster's upstream_rq_time, quantiles as the fixture has them. */
function compactEnvoyJson(bytes) {
  const fixture = JSON.parse(fs.readFileSync(fs.existsSync(JSON_FIXTURE) ? JSON_FIXTURE : path.join(ROOT, 'test', 'fixtures', 'stats', 'envoy-stats-histogram.json'), 'utf8'));
  const { supported_quantiles: supported, computed_quantiles: computed } = fixture.stats[0].histograms;
  const values = JSON.stringify(computed[0].values);
  const entries = [];
  const histograms = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const cluster = `cluster.${clusterName(i)}${i % 2 === 0 ? ';' : ''}`;
    for (let s = 0; s < CLUSTER_STATS.length; s++) {
      const entry = `{"name":${JSON.stringify(`${cluster}.${CLUSTER_STATS[s]}`)},"value":${(i * 31 + s * 7) % 100000}}`;
      entries.push(entry);
      size += entry.length + 1;
    }
    const histogram = `{"name":${JSON.stringify(`${cluster}.upstream_rq_time`)},"values":${values}}`;
    histograms.push(histogram);
    size += histogram.length + 1;
  }
  entries.push(`{"histograms":{"supported_quantiles":${JSON.stringify(supported)},"computed_quantiles":[${histograms.join(',')}]}}`);
  return `{"stats":[${entries.join(',')}]}`;
}

/** Reads the compact JSON dump from a file through readStats, timing it and the event loop. */
async function compactJsonRead(readStats) {
  const text = compactEnvoyJson(BIG_BYTES);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshload-bench-stats-'));
  const file = path.join(dir, 'stats.json');
  fs.writeFileSync(file, text);
  let last = performance.now();
  let worstGap = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    worstGap = Math.max(worstGap, now - last);
    last = now;
  }, 5);
  let samples = 0;
  const start = performance.now();
  try {
    await readStats({ kind: 'file', path: file }, { timeoutMs: 600_000 }, () => samples++);
  } finally {
    clearInterval(ticker);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { bytes: text.length, newlines: text.split('\n').length - 1, samples, ms: performance.now() - start, worstLoopGapMs: worstGap };
}

async function run() {
  const { StatsParser } = require(path.join(ROOT, 'dist', 'stats', 'stats-parser.js'));
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc');
  console.log(`bench stats: ${fmt(LINES)}-line dumps parsed in ${CHUNK / 1024} KiB chunks, median of ${ROUNDS} rounds`);
  const text = timeDump(StatsParser, 'envoy-text', take(envoyLines(), LINES));
  const prom = timeDump(StatsParser, 'prometheus', prometheusDump(LINES));
  for (const r of [text, prom]) {
    console.log(
      `  ${r.format.padEnd(11)} ${(r.bytes / 1024 / 1024).toFixed(1).padStart(5)} MB  ${r.ms.toFixed(1).padStart(6)} ms  ` +
        `${fmt(r.linesPerSecond).padStart(10)} lines/s  (rounds: ${r.runs.map((ms) => ms.toFixed(0)).join(', ')}; goal < ${GOAL_MS} ms)`,
    );
  }
  const big = bigDump(StatsParser, gc);
  console.log(
    `  50 MB text dump: ${fmt(big.lines)} lines in ${big.chunks} chunks, ${big.seconds.toFixed(2)} s; live heap growth ` +
      `peak ${big.peakLiveGrowthMiB.toFixed(1)} MiB (goal < ${GOAL_GROWTH_MIB}), at end ${big.endGrowthMiB.toFixed(1)} MiB ` +
      `(goal within ${GOAL_END_MIB}); heapUsed without GC peaked ${big.peakHeapUsedGrowthMiB.toFixed(1)} MiB above baseline`,
  );
  const { readStats } = require(path.join(ROOT, 'dist', 'stats', 'stats-source.js'));
  const json = await compactJsonRead(readStats);
  console.log(
    `  ${(json.bytes / 1024 / 1024).toFixed(1)} MB one-line Envoy JSON (${json.newlines} newlines), read from a file: ${fmt(json.samples)} samples in ` +
      `${(json.ms / 1000).toFixed(2)} s (goal < ${GOAL_JSON_MS / 1000} s); event loop late by ${json.worstLoopGapMs.toFixed(0)} ms at worst (goal < ${GOAL_LOOP_GAP_MS})`,
  );
  const goals = {
    envoyText: text.ms < GOAL_MS,
    compactJson: json.ms < GOAL_JSON_MS,
    eventLoop: json.worstLoopGapMs < GOAL_LOOP_GAP_MS,
    prometheus: prom.ms < GOAL_MS,
    boundedMemory: big.peakLiveGrowthMiB < GOAL_GROWTH_MIB && Math.abs(big.endGrowthMiB) < GOAL_END_MIB,
  };
  const ok = Object.values(goals).every(Boolean);
  console.log(`  goals: ${Object.entries(goals).map(([k, v]) => `${k} ${v ? 'met' : 'MISSED'}`).join(', ')}`);
  writeReport('stats', { rounds: ROUNDS, chunkBytes: CHUNK, envoyText: text, prometheus: prom, bigDump: big, compactJson: json, goals, ok });
  return ok;
}

module.exports = { run };
