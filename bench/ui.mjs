#!/usr/bin/env node
// `npm run bench:ui`: the desktop UI in Chromium (Debian's /usr/bin/chromium through playwright-core) against a
// real daemon with real runs. Prints:
//   - the renderer bundle size (dist/renderer JS and CSS, raw and gzip);
//   - time to first render of the Timeline: page load → run list, and click on a run → its first event rows,
//     for a run of 100,000 events against a bare run of 2 events (ratio);
//   - scroll frame times (median / p95 / worst requestAnimationFrame delta) while scrolling the 100,000-event
//     run with every event loaded, against idle frames of the same page (ratio);
//   - hold-to-card latency (median / p99): an agent's trapped create → its card in the Inbox, measured as in
//     test/e2e/ui.test.ts (the agent's own clock stamp, here in the file name, vs the page's clock when the card
//     enters the DOM; same machine, same CLOCK_REALTIME).
// The 100,000-event run is a real guarded command: python creates 50,000 files in the workspace and deletes
// them again under the default policy (50,000 create + 50,000 delete events, journaled by the real helper and
// ingested by the real daemon).
//
// Usage: node bench/ui.mjs [--files N] [--holds N] [--repeat N]
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { python } from './common.mjs';

const repo = fileURLToPath(new URL('..', import.meta.url));
const warden = join(repo, 'bin', 'warden.js');
const dist = join(repo, 'dist', 'renderer');
const CHROMIUM = '/usr/bin/chromium';
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) || dflt : dflt;
};
const FILES = opt('--files', 50_000);
const HOLDS = opt('--holds', 100);
const REPEAT = opt('--repeat', 5);

if (!existsSync(join(dist, 'index.html'))) {
  console.error('bench:ui: the UI is not built (npm run build:renderer)');
  process.exit(1);
}
if (!existsSync(CHROMIUM)) {
  console.error(`bench:ui: ${CHROMIUM} is missing (apt-get install chromium)`);
  process.exit(1);
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};
const median = (xs) => pct(xs, 50);
const f1 = (x) => x.toFixed(1);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- bundle size ----
let js = 0;
let css = 0;
let jsGz = 0;
let cssGz = 0;
for (const name of readdirSync(join(dist, 'assets'))) {
  const path = join(dist, 'assets', name);
  const gz = gzipSync(readFileSync(path), { level: 9 }).length;
  const size = statSync(path).size;
  if (name.endsWith('.js')) {
    js += size;
    jsGz += gz;
  } else if (name.endsWith('.css')) {
    css += size;
    cssGz += gz;
  }
}
console.log('renderer bundle (dist/renderer/assets, source maps excluded):');
console.log(
  `  JS  ${js} bytes (${(js / 1024).toFixed(1)} KiB), gzip -9 ${jsGz} bytes (${(jsGz / 1024).toFixed(1)} KiB)`,
);
console.log(
  `  CSS ${css} bytes (${(css / 1024).toFixed(1)} KiB), gzip -9 ${cssGz} bytes (${(cssGz / 1024).toFixed(1)} KiB)`,
);

// ---- a sandbox with a daemon and two real runs ----
const root = join(repo, '.scratch', `bench-ui-${process.pid}`);
const ws = join(root, 'ws');
const state = join(root, 'state');
mkdirSync(ws, { recursive: true });
const env = {
  ...process.env,
  WARDEN_STATE: state,
  WARDEN_NO_PROMPT: '1',
  HOME: realpathSync(process.env.HOME || '/root'),
};
const wardenSync = (argv, o = {}) =>
  spawnSync(process.execPath, [warden, ...argv], {
    env,
    cwd: ws,
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    ...o,
  });

function guardedRun(script, extra = []) {
  const t0 = performance.now();
  const r = wardenSync(['run', '--workspace', ws, ...extra, '--', python, '-c', script]);
  if (r.status !== 0) throw new Error(`warden run failed (${r.status}): ${r.stderr}`);
  const id = Number(/run (\d+) ended/.exec(r.stderr)?.[1]);
  return { id, ms: performance.now() - t0, summary: r.stderr.trim() };
}

const small = guardedRun("import os\nopen('one.txt','w').close()\nos.remove('one.txt')\n");
const url = wardenSync(['ui', '--print-url']).stdout.trim();
const api = JSON.parse(readFileSync(join(state, 'api.json'), 'utf8'));
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
});

/** A fresh page at the Timeline; returns it with ms from navigation to the run list being rendered. */
async function openTimeline() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const t0 = performance.now();
  await page.goto(`${url}&view=timeline`);
  await page.locator('[data-testid="run-row"]').first().waitFor({ state: 'visible', timeout: 30_000 });
  return { context, page, loadMs: performance.now() - t0 };
}

/** Clicks run `id` and measures, in the page, click → first event rows painted (next animation frame). */
function firstRows(page, id) {
  return page.evaluate(`new Promise((resolve) => {
    const btn = document.querySelector('[data-testid="run-row"][data-run-id="${id}"] .run-select');
    const t0 = performance.now();
    btn.click();
    const check = () => {
      if (document.querySelector('[data-testid="event-row"]'))
        requestAnimationFrame(() => resolve(performance.now() - t0));
      else requestAnimationFrame(check);
    };
    check();
  })`);
}

// ---- bare baseline: the Timeline's run list with only the 2-event run in the journal ----
const bareLoad = [];
for (let i = 0; i < REPEAT; i++) {
  const { context, loadMs } = await openTimeline();
  bareLoad.push(loadMs);
  await context.close();
}

const big = guardedRun(
  `import os\nos.makedirs('big', exist_ok=True)\nn=${FILES}\n` +
    "for i in range(n):\n    open(f'big/f{i:06d}','w').close()\n" +
    'for i in range(n):\n    os.remove(f"big/f{i:06d}")\n',
);
// the run's event count from the summary line `warden run` printed ("…: N events, …")
const bigEvents = Number(/: (\d+) events/.exec(big.summary)?.[1]);
console.log(
  `runs: bare run ${small.id}; big run ${big.id} with ${bigEvents} events (guarded run took ${f1(big.ms / 1000)} s)`,
);

// ---- first render ----
const render = { small: [], big: [], load: [] };
for (let i = 0; i < REPEAT; i++) {
  for (const [key, id] of [
    ['small', small.id],
    ['big', big.id],
  ]) {
    const { context, page, loadMs } = await openTimeline();
    render.load.push(loadMs);
    render[key].push(await firstRows(page, id));
    await context.close();
  }
}
console.log(`Timeline first render (median of ${REPEAT}, fresh page each):`);
console.log(
  `  page load → run list: ${f1(median(render.load))} ms with the big run in the journal vs ` +
    `${f1(median(bareLoad))} ms with only the bare run → ratio ${(median(render.load) / median(bareLoad)).toFixed(2)}`,
);
console.log(
  `  click run → first event rows painted: ${bigEvents}-event run ${f1(median(render.big))} ms vs bare run (2 events) ` +
    `${f1(median(render.small))} ms → ratio ${(median(render.big) / median(render.small)).toFixed(2)}`,
);

// ---- scroll frames with every event loaded ----
{
  const { context, page } = await openTimeline();
  await firstRows(page, big.id);
  const tLoad = performance.now();
  // scroll to the end until the store has every page (1,000 events per run.log call)
  for (;;) {
    const n = await page.evaluate(`(() => {
      const el = document.querySelector('[data-testid="event-list"]');
      el.scrollTop = el.scrollHeight;
      return el.scrollHeight;
    })()`);
    await sleep(30);
    const more = await page.evaluate(`!!document.querySelector('.event-row.loader')`);
    const loaded = await page.evaluate(
      `Math.round(document.querySelector('[data-testid="event-list"]').scrollHeight / 28)`,
    );
    if (!more && loaded >= bigEvents) break;
    if (performance.now() - tLoad > 180_000) throw new Error(`only ${loaded} rows after 180 s (height ${n})`);
  }
  const loadAllMs = performance.now() - tLoad;
  // mode 0: idle; 1: steady scrolling, 15 rows (420 px) per frame; 2: a jump to a random place every frame.
  // Each delta is the frame that follows one scroll step (rAF to rAF, so it includes React's re-render).
  const frames = (mode) =>
    page.evaluate(`new Promise((resolve) => {
      const el = document.querySelector('[data-testid="event-list"]');
      el.scrollTop = 0;
      const deltas = [];
      let last = 0, n = 0;
      const max = el.scrollHeight - el.clientHeight;
      const step = (t) => {
        if (last) deltas.push(t - last);
        last = t;
        if (${mode} === 1) el.scrollTop = el.scrollTop >= max ? 0 : Math.min(max, el.scrollTop + 420);
        if (${mode} === 2) el.scrollTop = Math.floor(Math.random() * max);
        if (++n < 600) requestAnimationFrame(step);
        else resolve(deltas);
      };
      requestAnimationFrame(step);
    })`);
  const idle = await frames(0);
  const steady = await frames(1);
  const jumps = await frames(2);
  const rows = await page.evaluate(`document.querySelectorAll('[data-testid="event-row"]').length`);
  const stats = (xs) =>
    `median ${f1(median(xs))} ms, p95 ${f1(pct(xs, 95))} ms, worst ${f1(Math.max(...xs))} ms ` +
    `(ratio to idle: median ${(median(xs) / median(idle)).toFixed(2)}, p95 ${(pct(xs, 95) / pct(idle, 95)).toFixed(2)})`;
  console.log(
    `scrolling the ${bigEvents}-event run (all loaded in ${f1(loadAllMs / 1000)} s; ${rows} rows in the DOM), 600 frames each:`,
  );
  console.log(`  idle frames (bare):        median ${f1(median(idle))} ms, p95 ${f1(pct(idle, 95))} ms`);
  console.log(`  steady scroll, 15 rows/frame: ${stats(steady)}`);
  console.log(`  random jump every frame:   ${stats(jumps)}`);
  await context.close();
}

// ---- hold → card latency ----
{
  const policy = join(root, '20-ask-create.yaml');
  writeFileSync(
    policy,
    'rules:\n  - id: bench-ui-ask\n    why: every create under h/ asks (bench)\n    match: { op: [create], path: ["${workspace}/h/*"] }\n    decision: ask\n    timeout: 60s\n    fallback: deny\n',
  );
  mkdirSync(join(ws, 'h'), { recursive: true });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(url);
  await page.locator('.conn-connected').waitFor({ state: 'visible', timeout: 30_000 });
  // in the page: when a card enters the DOM, note (page clock, sub-ms) when, by the stamp in its path
  await page.evaluate(`(() => {
    window.__seen = [];
    const done = new Set();
    new MutationObserver(() => {
      const now = performance.timeOrigin + performance.now();
      for (const el of document.querySelectorAll('[data-testid="hold-card"]')) {
        const id = el.getAttribute('data-hold-id');
        if (done.has(id)) continue;
        const m = /h\\/(\\d{19})/.exec(el.textContent || '');
        if (!m) continue;
        done.add(id);
        window.__seen.push({ id, ms: now - Number(BigInt(m[1]) / 1000n) / 1000 });
      }
    }).observe(document.body, { childList: true, subtree: true, characterData: true });
  })()`);
  const agent = wardenAsync([
    'run',
    '--workspace',
    ws,
    '--policy',
    policy,
    '--',
    python,
    '-c',
    `import time\nfor i in range(${HOLDS}):\n    open('h/%d' % time.time_ns(), 'w').close()\n`,
  ]);
  const latencies = [];
  const answered = new Set();
  const end = Date.now() + 120_000;
  while (latencies.length < HOLDS && Date.now() < end) {
    const seen = await page.evaluate('window.__seen');
    for (const s of seen) {
      if (answered.has(s.id)) continue;
      answered.add(s.id);
      latencies.push(s.ms);
      await fetch(`http://127.0.0.1:${api.port}/api/holds.decide`, {
        method: 'POST',
        headers: { authorization: `Bearer ${api.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ id: s.id, decision: 'allow', scope: 'once' }),
      });
    }
    await sleep(5);
  }
  const agentCode = await agent;
  if (latencies.length < HOLDS)
    console.error(
      `bench:ui: only ${latencies.length} of ${HOLDS} holds reached the page (agent exit ${agentCode})`,
    );
  console.log(
    `hold → card (agent's stamp before its trapped create → card in the page's DOM), ${latencies.length} holds: ` +
      `median ${f1(median(latencies))} ms, p99 ${f1(pct(latencies, 99))} ms, worst ${f1(Math.max(...latencies))} ms`,
  );
  await context.close();
}

/** `warden ARGV…` in the background; resolves with its exit code. */
function wardenAsync(argv) {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [warden, ...argv], { env, cwd: ws, stdio: 'ignore' });
    c.on('exit', resolve);
  });
}

await browser.close();
wardenSync(['daemon', '--stop']);
if (!process.env.WARDEN_KEEP_SCRATCH) rmSync(root, { recursive: true, force: true });
