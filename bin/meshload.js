#!/usr/bin/env node
'use strict';
let main;
try {
  main = require('../dist/cli/main.js');
} catch (error) {
  if (error && error.code === 'MODULE_NOT_FOUND' && String(error.message).includes('dist/cli/main')) {
    process.stderr.write('meshload: not built yet (run npm ci, or npm run build, in the meshload checkout)\n');
    process.exit(1);
  }
  throw error;
}
main.runFromProcess();
