/** Fortio's per-connection ("thread") socket accounting, measured from the transports' socket
 * reports: sockets opened, the peer address of each (IPCountMap) and how long each took to
 * connect (ConnectionStats), plus the pacing loop's sleep times. Recorded per socket or per
 * sleep, never per request; merged across worker threads by concatenation and addition. */
import { checkedCounter, FORTIO_SLEEP_SCALE, FortioCounts, goSeconds } from './fortio-histogram';
import type { ConnectionsReport, ThreadSockets } from '../model/connections-report';
import type { EncodedFortioHistogram, FortioScale } from '../model/encoded-histograms';
import type { SocketWatcher } from '../transport/transport';

/** periodic/periodic.go Run: `if percentNegative > 5` prints the sleep histogram and a WARNING. */
export const FALLING_BEHIND_PERCENT = 5;

/** Whether the report knows each connection's peers and dial times (not an import). */
export function hasThreadDetail(report: ConnectionsReport): boolean {
  return report.addresses === undefined;
}

/** The SocketWatcher of one connection; all of a run's share one connect-time histogram. */
export class ConnectionStats implements SocketWatcher {
  sockets = 0;
  /** http_client.go NewClient: connectStats = NewHistogram(o.Offset, o.Resolution) per client. */
  private readonly connect: FortioCounts;
  private readonly addresses = new Map<string, number>();

  constructor(private readonly runConnectTime: FortioCounts) {
    this.connect = new FortioCounts(runConnectTime);
  }

  socketOpened(): void {
    this.sockets++;
  }

  socketDialled(ms: number, address: string | undefined): void {
    const s = goSeconds(Math.max(0, ms));
    this.connect.record(s);
    this.runConnectTime.record(s);
    if (address !== undefined) this.addresses.set(address, (this.addresses.get(address) ?? 0) + 1);
  }

  report(): ThreadSockets {
    return { sockets: this.sockets, addresses: Object.fromEntries(this.addresses), connect: this.connect.counter() };
  }
}

/** httprunner.go RunHTTPTest: connectionStats = NewHistogram(HTTPOptions.Offset, .Resolution),
 * which it sets to the runner's -offset and -r when unset (always, from the command line). */
export function newConnectTime(scale: FortioScale): FortioCounts {
  return new FortioCounts(scale);
}

export function newSleepTimes(): FortioCounts {
  return new FortioCounts(FORTIO_SLEEP_SCALE);
}

/** Seconds of a sleep measured in ms, as Go's Duration would hold it. */
export function sleepSeconds(ms: number): number {
  return goSeconds(ms);
}

/** A `connections` value read from anywhere (results are files a user may have edited): itself
 * when well formed, else undefined, so renderers fall back as for an older result. */
export function checkedConnections(value: unknown): ConnectionsReport | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const threads = v['threads'];
  const connectTime = FortioCounts.decode(v['connectTime']);
  if (connectTime === undefined || !Array.isArray(threads) || !threads.every(isThread)) return undefined;
  const addresses = v['addresses'];
  if (addresses === undefined) return { threads, connectTime: connectTime.encode() };
  return isAddressCounts(addresses) ? { threads, connectTime: connectTime.encode(), addresses } : undefined;
}

function isThread(value: unknown): value is ThreadSockets {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const addresses = v['addresses'];
  return (
    Number.isSafeInteger(v['sockets']) &&
    (v['sockets'] as number) >= 0 &&
    checkedCounter(v['connect']) !== undefined &&
    isAddressCounts(addresses)
  );
}

/** A map of peer address -> count, as results and Fortio's IPCountMap hold it. */
export function isAddressCounts(value: unknown): value is Record<string, number> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.entries(value).every(([address, n]) => isAddress(address) && Number.isSafeInteger(n) && n >= 0);
}

/** What a peer address looks like ("10.0.0.1:80", "[fe80::1%eth0]:443", or a -unix-socket path):
 * a key of an edited file with control characters or escapes makes the whole field unusable. */
function isAddress(address: string): boolean {
  if (address.length === 0 || address.length > 256) return false;
  for (let i = 0; i < address.length; i++) {
    const c = address.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return false;
  }
  return true;
}

/** The peers of all threads, counted (Fortio's IPCountMap), most used first then by name. */
export function ipCounts(report: ConnectionsReport): Array<[string, number]> {
  if (report.addresses !== undefined) return sortedCounts(report.addresses);
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
  const threads = reports.flatMap((r) => r.threads);
  if (reports.every(hasThreadDetail)) return { threads, connectTime: connectTime.encode() };
  // A part knows only its run's peers (an import): the merge knows no more than that.
  const addresses: Record<string, number> = {};
  for (const [address, n] of reports.flatMap(ipCounts)) addresses[address] = (addresses[address] ?? 0) + n;
  return { threads, connectTime: connectTime.encode(), addresses };
}

/** The parts' sleep times added (Fortio transfers each thread's into one); undefined when none. */
export function mergeSleepTimes(parts: ReadonlyArray<{ sleepTimes?: unknown }>): EncodedFortioHistogram | undefined {
  return mergeCounts(parts.map((p) => p.sleepTimes))?.encode();
}

/** Every well-formed part added, as periodic.go's Transfer of each thread's (parts of one run
 * share a scale, so this is exact); undefined when no part is one. */
function mergeCounts(parts: readonly unknown[]): FortioCounts | undefined {
  let total: FortioCounts | undefined;
  for (const part of parts) {
    const h = FortioCounts.decode(part);
    if (h === undefined) continue;
    if (total === undefined) total = new FortioCounts(h);
    total.add(h);
  }
  return total;
}

/** Fortio's falling-behind share: sleeps of -1 ms or less (bucket 0), in percent of all sleeps;
 * NaN without sleeps, as Go's 0/0, which is never over the threshold. */
export function fallingBehindPercent(sleepTimes: Pick<FortioCounts, 'buckets' | 'count'>): number {
  return (100 * (sleepTimes.buckets[0] ?? 0)) / sleepTimes.count;
}

/** mergeResults' share: the fields above, merged, each only when some part has it. */
export function mergeSocketFields(parts: ReadonlyArray<{ connections?: unknown; sleepTimes?: unknown }>): { connections?: ConnectionsReport; sleepTimes?: EncodedFortioHistogram } {
  const connections = mergeConnections(parts);
  const sleepTimes = mergeSleepTimes(parts);
  return { ...(connections !== undefined ? { connections } : {}), ...(sleepTimes !== undefined ? { sleepTimes } : {}) };
}
