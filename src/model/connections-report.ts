/** Fortio's per-connection socket view as a result carries it (`connections`): sockets, peers
 * and dial times per connection. metrics/connection-stats.ts records and merges it. */
import type { EncodedFortioHistogram, FortioCounterData } from './encoded-histograms';

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

/** What a LoadResult carries of the connections (`connections`), absent in results of older versions. */
export interface ConnectionsReport {
  threads: ThreadSockets[];
  /** Every dial of the run, seconds, bucketed as Fortio's ConnectionStats. */
  connectTime: EncodedFortioHistogram;
  /** Peer "ip:port" -> sockets, for the whole run, when only that is known (a Fortio JSON's
   * IPCountMap): then the threads carry their socket counts alone, with no peers or dial times. */
  addresses?: Record<string, number>;
}
