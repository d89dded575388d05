#!/usr/bin/env node
'use strict';
/* `npm run bench [suite...]`: runs the benchmark suites (all by default) and exits non-zero if a
 * goal is missed. Results print as ratios measured side by side in one run, because absolute
 * numbers on shared machines drift between runs; JSON goes to reports/bench-<suite>.json. */
const suites = {
  server: () => require('./server-bench.js').run(),
  load: () => require('./load-bench.js').run(),
  stats: () => require('./stats-bench.js').run(),
  grpc: () => require('./grpc-bench.js').run(),
  h2: () => require('./h2-bench.js').run(),
};

async function main() {
  const wanted = process.argv.slice(2);
  const names = wanted.length > 0 ? wanted : Object.keys(suites);
  let failed = false;
  for (const name of names) {
    const suite = suites[name];
    if (suite === undefined) {
      console.error(`bench: unknown suite '${name}' (suites: ${Object.keys(suites).join(', ')})`);
      process.exit(2);
    }
    const ok = await suite();
    if (!ok) failed = true;
  }
  process.exit(failed ? 1 : 0);
}

main().catch((error) => {
  console.error(`bench: ${error && error.stack ? error.stack : error}`);
  process.exit(1);
});
