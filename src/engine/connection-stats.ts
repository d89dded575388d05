/** Fortio's per-connection ("thread") socket accounting, measured from the transports' socket
 * reports: sockets opened, the peer address of each (IPCountMap) and how long each took to
 * connect (ConnectionStats), plus the pacing loop's sleep times. Recorded per socket or per
 * sleep, never per request; merged across worker threads by concatenation and addition. */
import { checkedCounts, emptyCounter, type EncodedFortioCounts, FortioCounts, type FortioCounterData, isCounter, mergeCounts, recordInCounter } from '../metrics/fortio-counts';
import type { SocketWatcher } from '../transport/transport';

/** fhttp/httprunner.go: connectionStats = NewHistogram(Offset, Resolution), -r's default 1 ms. */
export const CONNECT_TIME_SCALE = { offset: 0, divider: 0.001 } as const;
/** periodic/periodic.go Run: sleepTime = NewHistogram(-0.001, 0.001), so its bucket 0 holds the
 * sleeps of -1 ms or less: the "falling behind" ones. */
export const SLEEP_TIME_SCALE = { offset: -0.001, divider: 0.001 } as const;
/** periodic/periodic.go Run: `if percentNegative > 5` prints the sleep histogram and a WARNING. */
export const FALLING_BEHIND_PERCENT = 5;

/** One connection's sockets, as Fortio prints "[i] N socket used, resolved to ...". */
export interface ThreadSockets {
  /** Sockets (HTTP/2: sessions) opened, warm-up included. */
  sockets: number;
  /** Peer "ip:port" -> sockets that went to it (HTTP/1.1: a failed dial counts the address it
   * tried, as Fortio's fast client counts each resolution; HTTP/2: connected dials only). */
  addresses: Record<string, number>;
  /** Dial times of those sockets, in seconds (Fortio's per-thread Counter). */
  connect: FortioCounterData;
}

/** What a LoadResult carries of it (`connections`), absent in results of older versions. */
export interface ConnectionsReport {
  threads: ThreadSockets[];
  /** Every dial of the run, seconds, bucketed as Fortio's ConnectionStats. */
  connectTime: EncodedFortioCounts;
}

/** Go's time.Duration.Seconds() of a dial measured in ms: whole nanoseconds, then seconds, so the
 * printed digits are those of a duration Go could hold. */
function seconds(ms: number): number {
  return Math.round(ms * 1e6) / 1e9;
}

/** The SocketWatcher of one connection; all of a run's share one connect-time histogram. */
export class ConnectionStats implements SocketWatcher {
  sockets = 0;
  readonly connect = emptyCounter();
  private readonly addresses = new Map<string, number>();

  constructor(private readonly runConnectTime: FortioCounts) {}

  socketOpened(): void {
    this.sockets++;
  }

  socketDialled(ms: number, address: string | undefined): void {
    const s = seconds(Math.max(0, ms));
    recordInCounter(this.connect, s);
    this.runConnectTime.record(s);
    if (address !== undefined) this.addresses.set(address, (this.addresses.get(address) ?? 0) + 1);
  }

  report(): ThreadSockets {
    return { sockets: this.sockets, addresses: Object.fromEntries(this.addresses), connect: { ...this.connect } };
  }
}

export function newConnectTime(): FortioCounts {
  return new FortioCounts(CONNECT_TIME_SCALE.offset, CONNECT_TIME_SCALE.divider);
}

export function newSleepTimes(): FortioCounts {
  return new FortioCounts(SLEEP_TIME_SCALE.offset, SLEEP_TIME_SCALE.divider);
}

/** Seconds of a sleep measured in ms, as Go's Duration would hold it. */
export function sleepSeconds(ms: number): number {
  return seconds(ms);
}

/** A `connections` value read from anywhere (results are files a user may have edited): itself
 * when well formed, else undefined, so renderers fall back as for an older result. */
export function checkedConnections(value: unknown): ConnectionsReport | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const threads = v['threads'];
  const connectTime = checkedCounts(v['connectTime']);
  if (connectTime === undefined || !Array.isArray(threads) || !threads.every(isThread)) return undefined;
  return { threads, connectTime };
}

function isThread(value: unknown): value is ThreadSockets {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const addresses = v['addresses'];
  return (
    Number.isSafeInteger(v['sockets']) &&
    (v['sockets'] as number) >= 0 &&
    isCounter(v['connect']) &&
    typeof addresses === 'object' &&
    addresses !== null &&
    !Array.isArray(addresses) &&
    Object.entries(addresses).every(([address, n]) => ADDRESS.test(address) && Number.isSafeInteger(n) && n >= 0)
  );
}

/** What a peer address looks like ("10.0.0.1:80", "[fe80::1%eth0]:443", or a -unix-socket path):
 * a key of an edited file with control characters or escapes makes the whole field unusable. */
const ADDRESS = /^\P{Cc}{1,256}$/u;

/** The peers of all threads, counted (Fortio's IPCountMap), most used first then by name. */
export function ipCounts(report: ConnectionsReport): Array<[string, number]> {
  const totals = new Map<string, number>();
  for (const thread of report.threads) for (const [address, n] of Object.entries(thread.addresses)) totals.set(address, (totals.get(address) ?? 0) + n);
  return sortedCounts(totals);
}

/** Address counts, most used first (Fortio sorts by count), then by name so output is stable. */
export function sortedCounts(counts: Map<string, number> | Record<string, number>): Array<[string, number]> {
  const entries = counts instanceof Map ? [...counts] : Object.entries(counts);
  return entries.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** The parts' connections side by side (each worker thread's own connections) with one
 * connect-time histogram; undefined when no part has any (older results). */
export function mergeConnections(parts: ReadonlyArray<{ connections?: unknown }>): ConnectionsReport | undefined {
  const reports = parts.map((p) => checkedConnections(p.connections)).filter((r): r is ConnectionsReport => r !== undefined);
  const connectTime = mergeCounts(reports.map((r) => r.connectTime));
  if (connectTime === undefined) return undefined;
  return { threads: reports.flatMap((r) => r.threads), connectTime };
}

/** The parts' sleep times added (Fortio transfers each thread's into one); undefined when none. */
export function mergeSleepTimes(parts: ReadonlyArray<{ sleepTimes?: unknown }>): EncodedFortioCounts | undefined {
  return mergeCounts(parts.map((p) => checkedCounts(p.sleepTimes)).filter((c): c is EncodedFortioCounts => c !== undefined));
}

/** Fortio's falling-behind share: sleeps of -1 ms or less (bucket 0), in percent of all sleeps;
 * NaN without sleeps, as Go's 0/0, which is never over the threshold. */
export function fallingBehindPercent(sleepTimes: EncodedFortioCounts): number {
  return (100 * (sleepTimes.buckets[0] ?? 0)) / sleepTimes.count;
}

/** mergeResults' share: the fields above, merged, each only when some part has it. */
export function mergeSocketFields(parts: ReadonlyArray<{ connections?: unknown; sleepTimes?: unknown }>): { connections?: ConnectionsReport; sleepTimes?: EncodedFortioCounts } {
  const connections = mergeConnections(parts);
  const sleepTimes = mergeSleepTimes(parts);
  return { ...(connections !== undefined ? { connections } : {}), ...(sleepTimes !== undefined ? { sleepTimes } : {}) };
}
