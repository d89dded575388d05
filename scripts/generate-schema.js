// Writes scenarios/schema.json from the zod schema in dist/ (run `npm run schema`, which builds
// first). A test compares the committed file with the code, so the two cannot drift.
const fs = require('node:fs');
const path = require('node:path');
const { scenarioJsonSchema } = require('../dist/scenario/scenario-schema.js');

const out = path.join(__dirname, '..', 'scenarios', 'schema.json');
fs.writeFileSync(out, JSON.stringify(scenarioJsonSchema(), null, 2) + '\n');
console.log(`wrote ${path.relative(process.cwd(), out)}`);
