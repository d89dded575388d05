'use strict';
/* The floor meshload's echo server is compared with: node:http doing nothing but answering. */
const http = require('node:http');
const server = http.createServer((req, res) => {
  res.writeHead(200, ['content-length', '0']);
  res.end();
});
server.keepAliveTimeout = 3_600_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
