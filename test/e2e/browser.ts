/**
 * Harness of the browser end-to-end tests: Debian's chromium driven by playwright-core against the real
 * daemon of a test sandbox, which serves the UI (`dist/renderer`) and its API on 127.0.0.1. The page is opened
 * at the URL `warden ui --print-url` prints, exactly as a person would get it.
 *
 * Without `/usr/bin/chromium` every test is skipped (never counted as passed) with the install hint.
 */
import type { TestContext } from 'node:test';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { repoRoot, scratchBase, warden, type Sandbox } from '../helpers/warden.js';

/** Debian's chromium (apt-get install chromium). */
export const CHROMIUM = '/usr/bin/chromium';
/** The built UI the daemon serves. */
export const RENDERER_INDEX = join(repoRoot, 'dist', 'renderer', 'index.html');
/**
 * Where the screenshots of the real runs go: the scratch dir, so `npm test` leaves the committed ones alone;
 * refresh docs/screenshots/ (linked from the README) with
 * `WARDEN_SCREENSHOTS_DIR=docs/screenshots npm test -- e2e/ui`.
 */
export const SCREENSHOT_DIR = resolve(
  repoRoot,
  process.env.WARDEN_SCREENSHOTS_DIR ?? join(scratchBase(), 'screenshots'),
);

/** True when the UI has been built (`npm run build:renderer`). */
export function rendererBuilt(): boolean {
  return existsSync(RENDERER_INDEX);
}

/**
 * Skips the test (and returns false) when chromium or the built UI is missing; `needUi: false` for tests of
 * the page served without the UI.
 */
export function canRun(t: TestContext, o: { needUi?: boolean } = {}): boolean {
  if (!existsSync(CHROMIUM)) {
    t.skip('chromium not installed: apt-get install chromium');
    return false;
  }
  if (o.needUi !== false && !rendererBuilt()) {
    t.skip('the UI is not built: npm run build:renderer');
    return false;
  }
  return true;
}

/** Launches chromium headless (no sandbox: tests may run as root in CI containers), plus `extraArgs`. */
export function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      ...extraArgs,
    ],
  });
}

/** `warden ui --print-url` in the sandbox (starts its daemon on demand): `http://127.0.0.1:PORT/#token=…`. */
export function uiUrl(sb: Sandbox): string {
  const r = warden(sb, ['ui', '--print-url'], { timeoutMs: 30_000 });
  if (r.status !== 0) throw new Error(`warden ui --print-url failed (${r.status}): ${r.stderr}`);
  const url = r.stdout.trim();
  if (!/^http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_%-]+$/.test(url)) throw new Error(`odd URL: ${url}`);
  return url;
}

/**
 * A page plus everything it complained about: console errors (CSP violations among them), page errors and
 * answers >= 400 (by URL; a missing /favicon.ico is not counted).
 */
export interface WatchedPage {
  context: BrowserContext;
  page: Page;
  problems: string[];
}

/** Opens a fresh context (own storage) with a 1280×800 viewport and records the page's errors. */
export async function openPage(browser: Browser): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    // failed loads are reported with their URL below
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource'))
      problems.push(`console: ${m.text()}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && new URL(r.url()).pathname !== '/favicon.ico')
      problems.push(`http ${r.status()}: ${r.request().method()} ${r.url()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  return { context, page, problems };
}

/** Problems that are not expected noise (a refused WebSocket while the daemon is down is expected there). */
export function realProblems(problems: string[], allow: RegExp[] = []): string[] {
  return problems.filter((p) => !allow.some((re) => re.test(p)));
}

/** Saves a screenshot of the page to SCREENSHOT_DIR/NAME.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
