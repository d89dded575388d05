/** Reading stats from a URL: the dump arrives in whatever chunks the network makes, including a
 * UTF-8 character split between two of them, and every sample is still read. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readStats } from '../../src/stats/stats-source';
import type { StatSample } from '../../src/stats/stat-sample';

describe('readStats from a URL', () => {
  let server: http.Server;
  let url: string;
  // Envoy text with a non-ASCII readout, sent in pieces that split the 'ü' (0xC3 0xBC).
  const dump = 'cluster.outbound|8000||httpbin.default.svc.cluster.local.upstream_rq_total: 42\n' + 'cluster_manager.active_clusters: 7\n' + 'server.version_label: "1.24-ü"\n';

  beforeAll(async () => {
    server = http.createServer((_req, res) => {
      const bytes = Buffer.from(dump, 'utf8');
      const split = bytes.indexOf(0xc3) + 1;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write(bytes.subarray(0, 20));
      setTimeout(() => {
        res.write(bytes.subarray(20, split));
        setTimeout(() => res.end(bytes.subarray(split)), 5);
      }, 5);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/stats`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('reads every sample of a dump that arrives in pieces, whole characters included', async () => {
    const samples: StatSample[] = [];
    const read = await readStats({ kind: 'url', url }, { timeoutMs: 5000 }, (sample) => samples.push(sample));
    expect(read.format).toBe('envoy-text');
    expect(read.lines).toBe(3);
    expect(samples.map((s) => s.name)).toEqual(expect.arrayContaining(['cluster_manager.active_clusters']));
    expect(samples.find((s) => s.name === 'cluster_manager.active_clusters')?.value).toBe(7);
    expect(JSON.stringify(samples)).not.toContain('\ufffd');
  });
});
