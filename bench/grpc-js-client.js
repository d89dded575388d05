'use strict';
/* The grpc-js side of `npm run bench grpc`: CONNECTIONS channels, STREAMS calls in flight on each,
 * fgrpc.PingServer/Ping for SECONDS; prints calls per second as JSON. Run as its own process so
 * it can be pinned to one CPU like meshload. Usage: node grpc-js-client.js HOST:PORT C S SECONDS */
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');

const [target, connections, streams, seconds] = process.argv.slice(2);
const definition = loader.loadSync(path.join(__dirname, '..', 'test', 'fixtures', 'grpc', 'ping.proto'), { longs: Number, defaults: true });
const pkg = grpc.loadPackageDefinition(definition);

async function main() {
  // A distinct channel option per client keeps grpc-js from sharing one subchannel (connection).
  const clients = Array.from({ length: Number(connections) }, (_, i) => new pkg.fgrpc.PingServer(target, grpc.credentials.createInsecure(), { 'meshload.bench.channel': i }));
  const ping = (client) => new Promise((resolve) => client.Ping({ payload: '' }, (error) => resolve(error === null)));
  await Promise.all(clients.map(ping));
  const endAt = performance.now() + Number(seconds) * 1000;
  let calls = 0;
  let errors = 0;
  const loop = async (client) => {
    while (performance.now() < endAt) {
      if (await ping(client)) calls++;
      else errors++;
    }
  };
  const started = performance.now();
  await Promise.all(clients.flatMap((client) => Array.from({ length: Number(streams) }, () => loop(client))));
  const elapsed = (performance.now() - started) / 1000;
  for (const client of clients) client.close();
  process.stdout.write(JSON.stringify({ qps: calls / elapsed, calls, errors }) + '\n');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
