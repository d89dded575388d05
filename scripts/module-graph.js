#!/usr/bin/env node
'use strict';
/* The shape of src/ as its imports draw it (issue 17): circles between files and arrows from a
 * lower room to a higher one. Type-only imports count too: they tie the modules together for a
 * reader even though they vanish at run time. `node scripts/module-graph.js` prints the findings;
 * test/shape/module-graph.test.ts holds them to test/shape/known-violations.json, a list that may
 * only shrink (`node scripts/module-graph.js --update` rewrites it after a fix). */
const fs = require('node:fs');
const path = require('node:path');

/** Rooms by floor: a room may import its own floor and below, never above. */
const FLOORS = {
  'index.ts': 10,
  cli: 9,
  doctor: 8,
  report: 8,
  verify: 8,
  k8s: 8,
  scenario: 7,
  checks: 6.5,
  stats: 6,
  engine: 5,
  grpc: 4,
  server: 4,
  metrics: 3,
  transport: 3,
  // The ground floor issue 17 asks for: the result types every layer speaks (LoadResult, Outcome...).
  model: 2,
  util: 1,
};

const MAX_LINES = 600;

function sourceFiles(root) {
  const files = [];
  (function walk(dir) {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (p.endsWith('.ts')) files.push(p);
    }
  })(root);
  return files.sort();
}

function resolveImport(from, spec) {
  const base = path.resolve(path.dirname(from), spec);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) if (fs.existsSync(candidate)) return candidate;
  return undefined;
}

function importsOf(file) {
  const text = fs.readFileSync(file, 'utf8');
  const targets = new Set();
  for (const m of text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gm)) {
    const target = resolveImport(file, m[1]);
    if (target !== undefined) targets.add(target);
  }
  for (const m of text.matchAll(/import\(\s*'(\.[^']+)'\s*\)/g)) {
    const target = resolveImport(file, m[1]);
    if (target !== undefined) targets.add(target);
  }
  return targets;
}

/** Strongly connected components with more than one file (Tarjan). */
function circles(edges) {
  let next = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const found = [];
  function visit(v) {
    index.set(v, next);
    low.set(v, next);
    next += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) === index.get(v)) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  }
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return found;
}

/** The findings, as sorted strings so a list of them can be kept and compared. */
function moduleGraph(repo) {
  const root = path.join(repo, 'src');
  const rel = (f) => path.relative(root, f).split(path.sep).join('/');
  const room = (f) => rel(f).split('/')[0];
  const files = sourceFiles(root);
  const edges = new Map(files.map((f) => [f, importsOf(f)]));
  const findings = [];
  for (const component of circles(edges)) findings.push(`circle: ${component.map(rel).join(' ')}`);
  for (const [from, targets] of edges) {
    for (const to of targets) {
      const a = FLOORS[room(from)];
      const b = FLOORS[room(to)];
      if (a === undefined || b === undefined) findings.push(`unknown room: ${rel(a === undefined ? from : to)}`);
      else if (b > a) findings.push(`upward: ${rel(from)} -> ${rel(to)}`);
    }
  }
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8');
    const lines = text.split('\n').length;
    // A file may be longer when its first lines say why ("Over 600 lines as one concept: ...").
    const head = text.split('\n').slice(0, 4).join('\n');
    if (lines > MAX_LINES && !/(?:Over|Longer than) 600 lines\b[^\n]*:/.test(head)) findings.push(`long: ${rel(file)}`);
  }
  return [...new Set(findings)].sort();
}

module.exports = { moduleGraph, FLOORS, MAX_LINES };

if (require.main === module) {
  const repo = path.join(__dirname, '..');
  const findings = moduleGraph(repo);
  const known = path.join(repo, 'test', 'shape', 'known-violations.json');
  if (process.argv.includes('--update')) {
    fs.writeFileSync(known, `${JSON.stringify(findings, null, 2)}\n`);
    console.log(`module-graph: ${findings.length} findings written to ${path.relative(repo, known)}`);
  } else {
    for (const finding of findings) console.log(finding);
    console.log(`module-graph: ${findings.length} findings`);
  }
}
