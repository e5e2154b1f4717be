/**
 * The page the daemon serves, loaded in chromium from the URL `warden ui --print-url` prints: the UI (or,
 * when it is not built, the page saying how to build it) loads under the strict CSP with no console or page
 * errors, and the token in the URL fragment never reaches the server's request log or a Referer.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { destroySandbox, makeSandbox, type Sandbox } from '../helpers/warden.js';
import { canRun, launchBrowser, openPage, rendererBuilt, uiUrl } from './browser.js';

describe('e2e: the served page', () => {
  let sb: Sandbox;
  let browser: Browser | null = null;
  before(() => (sb = makeSandbox('e2e-smoke')));
  after(async () => {
    await browser?.close();
    destroySandbox(sb);
  });

  test('loads from the warden ui URL under the CSP without errors; the token stays in the fragment', async (t) => {
    if (!canRun(t, { needUi: false })) return;
    browser = await launchBrowser();
    const url = uiUrl(sb);
    const token = decodeURIComponent(url.split('#token=')[1] ?? '');
    const { page, problems, context } = await openPage(browser);
    const requests: { url: string; referer?: string }[] = [];
    page.on('request', (r) => requests.push({ url: r.url(), referer: r.headers().referer }));
    const res = await page.goto(url, { waitUntil: 'load' });
    assert.equal(res?.status(), 200);
    const csp = res?.headers()['content-security-policy'] ?? '';
    assert.match(csp, /script-src 'self'/);
    if (rendererBuilt()) {
      assert.match(await page.title(), /Warden/);
      await page.getByTestId('nav-inbox').waitFor({ state: 'visible', timeout: 15_000 });
      t.diagnostic(`UI loaded: ${await page.title()}`);
    } else {
      assert.match(await page.locator('body').innerText(), /npm run build:renderer/);
      t.diagnostic('UI not built: the fallback page was served');
    }
    await page.waitForTimeout(500); // let late CSP reports arrive
    assert.deepEqual(problems, [], 'no console errors (CSP violations), no page errors');
    for (const r of requests) {
      assert.ok(!r.url.split('#')[0]!.includes(token), `the token left the fragment: ${r.url}`);
      assert.ok(!r.referer?.includes(token), `the token leaked in a Referer: ${r.referer}`);
    }
    await context.close();
  });
});
