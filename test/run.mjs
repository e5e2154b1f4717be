#!/usr/bin/env node
// `npm test`: runs every compiled test file (dist/test/**/*.test.js) with node:test, prints the spec report,
// then one closing line `N passed, M failed, K skipped` (CI reads it; skipped tests are never counted as passed).
// Usage: node test/run.mjs [substring-filter…]   e.g. `npm test -- scenarios/rm`
import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const distTest = join(root, 'dist', 'test');
if (!existsSync(distTest)) {
  console.error('test: dist/test is missing — run `npm run build` first.');
  process.exit(2);
}

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = walk(distTest).filter(
  (f) => filters.length === 0 || filters.some((s) => relative(distTest, f).includes(s)),
);
if (files.length === 0) {
  console.error(`test: no test files match ${JSON.stringify(filters)}`);
  process.exit(2);
}

let passed = 0;
let failed = 0;
let skipped = 0;
const stream = run({ files, concurrency: 1, timeout: 10 * 60 * 1000 });
stream.on('test:pass', (t) => {
  if (t.details?.type === 'suite') return;
  if (t.skip || t.todo) skipped++;
  else passed++;
});
stream.on('test:fail', (t) => {
  if (t.details?.type === 'suite' && !(t.details?.error?.failureType === 'hookFailed')) return;
  failed++;
});
stream.compose(spec).pipe(process.stdout);
stream.on('end', () => {
  setTimeout(() => {
    console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
    process.exitCode = failed > 0 || passed === 0 ? 1 : 0;
  }, 50);
});
