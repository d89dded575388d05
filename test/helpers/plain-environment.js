'use strict';
// Jest's node environment, minus FORCE_COLOR: jest-worker sets FORCE_COLOR=1 in its workers when
// its own output supports colour (a terminal, or CI such as GitHub Actions), and every meshload a
// test spawns would inherit it and colour text the test reads as plain. Tests that want colour
// say so in the child's env. This runs in the worker's real process, before any test.
delete process.env.FORCE_COLOR;
module.exports = require('jest-environment-node');
