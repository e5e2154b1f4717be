/**
 * The Content-Security-Policy of the desktop UI, checked in Chromium against the real daemon: the served page
 * carries the header (`uiCsp`) and the built `index.html` carries the meta tag, equal to Electron's policy
 * (`electron/csp.ts`); the app loads and connects (HTTP API and WebSocket) under both together and under the
 * meta tag alone (as in an Electron window, where the page comes from a file); inline scripts and connections
 * to any other origin are refused.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { uiCsp } from '../../core/api/http-static.js';
import { CSP, cspWeaknesses, metaCsp } from '../../electron/csp.js';
import { destroySandbox, makeSandbox, repoRoot, type Sandbox } from '../helpers/warden.js';
import { canRun, launchBrowser, openPage, uiUrl, type WatchedPage } from './browser.js';

/** What the page tries that the policy must refuse; returns what got through and the violations seen. */
async function tryForbidden(page: Page): Promise<{ through: string[]; violations: string[] }> {
  // A string, not a function: the test build has no DOM types. DevTools-evaluated code is exempt from the
  // page's eval rule, so eval is not probed here (script-src without 'unsafe-eval' is checked on the policy).
  return page.evaluate(`(async () => {
    const violations = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      violations.push(e.effectiveDirective + ' ' + e.blockedURI));
    const through = [];
    const s = document.createElement('script');
    s.textContent = 'window.__inlineRan = true';
    document.head.appendChild(s);
    if (window.__inlineRan) through.push('inline script');
    const ws = new WebSocket('ws://127.0.0.1:9/elsewhere');
    ws.onopen = () => through.push('websocket to another port');
    await fetch('http://127.0.0.1:9/elsewhere').then(
      () => through.push('fetch to another port'),
      () => {},
    );
    await new Promise((r) => setTimeout(r, 300));
    return { through, violations };
  })()`);
}

describe('e2e: the UI under its Content-Security-Policy', () => {
  let sb: Sandbox;
  let browser: Browser | null = null;
  let metaOnly: Browser | null = null;
  let url = '';
  before(() => (sb = makeSandbox('e2e-csp')));
  after(async () => {
    await browser?.close();
    await metaOnly?.close();
    destroySandbox(sb);
  });

  async function load(stripHeader: boolean): Promise<WatchedPage & { header: string | undefined }> {
    url ||= uiUrl(sb);
    let w: WatchedPage;
    if (stripHeader) {
      metaOnly ??= await launchBrowser(['--disable-features=LocalNetworkAccessChecks']);
      w = await openPage(metaOnly);
    } else {
      browser ??= await launchBrowser();
      w = await openPage(browser);
    }
    if (stripHeader) {
      // Electron loads the page from a file: only the meta tag applies there (plus its own header hook). The
      // response is replayed without its CSP header (route.fulfill); such a synthetic response loses Chromium's
      // knowledge that it came from loopback, so this page runs in a browser started with its local-network
      // checks off (they are not CSP and do not exist in an Electron file:// window).
      await w.page.route('**/*', async (route) => {
        const res = await route.fetch();
        const headers = { ...res.headers() };
        delete headers['content-security-policy'];
        await route.fulfill({ response: res, headers });
      });
    }
    const res = await w.page.goto(url, { waitUntil: 'load' });
    await w.page.getByTestId('nav-inbox').waitFor({ state: 'visible', timeout: 15_000 });
    // connected = the WebSocket to the daemon opened; inbox-empty = holds.list over HTTP answered
    await w.page
      .locator('.conn-connected')
      .waitFor({ state: 'visible', timeout: 15_000 })
      .catch((err: Error) => {
        throw new Error(`${err.message}\npage problems: ${w.problems.join('\n')}`);
      });
    await w.page.getByTestId('inbox-empty').waitFor({ state: 'visible', timeout: 15_000 });
    return { ...w, header: res?.headers()['content-security-policy'] };
  }

  test('index.html carries the meta CSP, equal to the Electron policy, with nothing unsafe or remote', (t) => {
    if (!canRun(t)) return;
    const html = readFileSync(join(repoRoot, 'dist', 'renderer', 'index.html'), 'utf8');
    const meta = metaCsp(html);
    assert.equal(meta, CSP);
    assert.deepEqual(cspWeaknesses(meta!), []);
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, 'no inline <script> in the built page');
    assert.doesNotMatch(html, /\sstyle=|\son[a-z]+=/i, 'no inline style or event handler attributes');
  });

  test('served page: header + meta; the app loads and connects; inline script and other origins refused', async (t) => {
    if (!canRun(t)) return;
    const { page, context, problems, header } = await load(false);
    const port = Number(new URL(url).port);
    assert.equal(header, uiCsp(port));
    // the header differs from the meta only by naming the daemon's WebSocket origin and frame-ancestors
    assert.deepEqual(
      cspWeaknesses(header!).filter(
        (p) => !p.includes(`ws://127.0.0.1:${port}`) && !p.includes(`ws://localhost:${port}`),
      ),
      [],
    );
    assert.deepEqual(problems, [], 'no CSP violation while the app loads');
    const { through, violations } = await tryForbidden(page);
    assert.deepEqual(through, []);
    for (const d of ['script-src-elem', 'connect-src'])
      assert.ok(
        violations.some((v) => v.startsWith(d)),
        `a ${d} violation was reported: ${violations.join(', ')}`,
      );
    await context.close();
  });

  test('meta tag alone (as in Electron): the app still loads, its WebSocket connects, the rest is refused', async (t) => {
    if (!canRun(t)) return;
    const { page, context, problems, header } = await load(true);
    assert.equal(header, undefined, 'the header was stripped');
    assert.deepEqual(problems, [], 'no CSP violation while the app loads');
    const { through, violations } = await tryForbidden(page);
    assert.deepEqual(through, []);
    assert.ok(
      violations.some((v) => v.startsWith('connect-src')),
      violations.join(', '),
    );
    await context.close();
  });
});
