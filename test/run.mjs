#!/usr/bin/env node
// `npm test`: runs every compiled test file (dist/test/**/*.test.js) with node:test, prints the spec report,
// then the UI's tests (test/renderer/*.test.tsx) with Vitest on happy-dom, then one closing line
// `N passed, M failed, K skipped` over both (CI reads it; skipped tests are never counted as passed).
// Usage: node test/run.mjs [substring-filter…]   e.g. `npm test -- scenarios/rm`, `npm test -- renderer/inbox`
// (Vitest runs when there is no filter or a filter names `renderer`.)
import { run } from 'node:test';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
const uiFilters = filters.filter((f) => f.includes('renderer'));
const runUi = filters.length === 0 || uiFilters.length > 0;
if (files.length === 0 && !runUi) {
  console.error(`test: no test files match ${JSON.stringify(filters)}`);
  process.exit(2);
}

let passed = 0;
let failed = 0;
let skipped = 0;

/** Runs the UI tests with Vitest (its own report is printed) and adds its counts. */
function runVitest() {
  const dir = mkdtempSync(join(tmpdir(), 'warden-vitest-'));
  const out = join(dir, 'results.json');
  const names = uiFilters.map((f) => f.replace(/^.*renderer\/?/, '')).filter(Boolean);
  const r = spawnSync(
    process.execPath,
    [
      join(root, 'node_modules', 'vitest', 'vitest.mjs'),
      'run',
      '--config',
      join(root, 'renderer', 'vitest.config.ts'),
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${out}`,
      '--passWithNoTests',
      ...names,
    ],
    { cwd: root, stdio: 'inherit' },
  );
  let report = null;
  try {
    report = JSON.parse(readFileSync(out, 'utf8'));
  } catch {
    /* no report: counted as a failure below */
  }
  rmSync(dir, { recursive: true, force: true });
  if (!report) {
    console.error(`test: vitest produced no report (exit ${r.status ?? r.signal})`);
    failed++;
    return;
  }
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  // A suite that failed to load has no tests to count: count it once.
  if ((report.numFailedTestSuites ?? 0) > 0 && (report.numFailedTests ?? 0) === 0) failed++;
  if (r.status !== 0 && (report.numFailedTests ?? 0) === 0 && (report.numFailedTestSuites ?? 0) === 0)
    failed++;
}

function finish() {
  if (runUi) runVitest();
  setTimeout(() => {
    console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
    process.exitCode = failed > 0 || passed === 0 ? 1 : 0;
  }, 50);
}

if (files.length === 0) {
  finish();
} else {
  runNodeTests();
}

function runNodeTests() {
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
    // Let the spec reporter flush before Vitest writes to the same terminal.
    setTimeout(finish, 50);
  });
}
