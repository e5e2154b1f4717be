/**
 * `warden ui` never puts the API token on a command line (every user can read argv in `ps`): the opener gets
 * `#code=<one-time code>`, and the page trades the code for the token once. Tested with the real daemon, a
 * stand-in `xdg-open` (a real script first in PATH that records its argv), and Chromium opening that URL.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { CODE_TTL_MS, UiCodes } from '../../core/api/http-ui-code.js';
import { destroySandbox, makeSandbox, warden, type Sandbox } from '../helpers/warden.js';
import { canRun, launchBrowser, openPage, realProblems, uiUrl } from './browser.js';

describe('e2e: warden ui opens the browser with a one-time code, not the token', () => {
  let sb: Sandbox;
  let browser: Browser | null = null;
  let bin = '';
  before(() => {
    sb = makeSandbox('e2e-ui-code');
    bin = join(sb.root, 'bin');
    mkdirSync(bin);
    // records its argv (one per line) like a `ps` reader would see it, and succeeds
    writeFileSync(join(bin, 'xdg-open'), '#!/bin/sh\nprintf "%s\\n" "$@" >> "$(dirname "$0")/opened"\n');
    chmodSync(join(bin, 'xdg-open'), 0o755);
  });
  after(async () => {
    await browser?.close();
    destroySandbox(sb);
  });

  /** `warden ui` with the stand-in opener; returns the URL it was given. */
  function openedUrl(): string {
    const r = warden(sb, ['ui'], { env: { PATH: `${bin}:${process.env.PATH}` } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /Opened the Warden UI/);
    const lines = readFileSync(join(bin, 'opened'), 'utf8').trim().split('\n');
    return lines[lines.length - 1]!;
  }

  test('the opener argv has a code and no token; the page trades it once and works', async (t) => {
    if (!canRun(t)) return;
    const tokenUrl = uiUrl(sb);
    const token = decodeURIComponent(tokenUrl.split('#token=')[1]!);
    const port = new URL(tokenUrl).port;
    const url = openedUrl();
    assert.match(url, new RegExp(`^http://127\\.0\\.0\\.1:${port}/#code=[A-Za-z0-9_-]{43}$`));
    assert.ok(!url.includes(token), 'the token is not on the command line');
    assert.ok(!readFileSync(join(bin, 'opened'), 'utf8').includes(token));

    browser = await launchBrowser();
    const first = await openPage(browser);
    await first.page.goto(url);
    await first.page.locator('.conn-connected').waitFor({ state: 'visible', timeout: 15_000 });
    await first.page.getByTestId('inbox-empty').waitFor({ state: 'visible', timeout: 15_000 });
    assert.equal(await first.page.getByTestId('token-missing').count(), 0);
    // the code is gone from the address bar; the token is in the fragment, so a reload keeps working
    const now = new URL(first.page.url());
    assert.equal(now.hash, `#token=${encodeURIComponent(token)}`);
    await first.page.reload();
    await first.page.locator('.conn-connected').waitFor({ state: 'visible', timeout: 15_000 });
    assert.deepEqual(realProblems(first.problems), []);
    await first.context.close();

    // the same code again (someone who read it from ps, after the person's page used it): refused, and said so
    const second = await openPage(browser);
    await second.page.goto(url);
    await second.page.getByTestId('token-missing').waitFor({ state: 'visible', timeout: 15_000 });
    assert.match(await second.page.getByTestId('code-error').innerText(), /already used/);
    assert.equal(new URL(second.page.url()).hash, '', 'the spent code is dropped from the address bar');
    await second.context.close();
  });

  test('ui.code is served on the private socket only; a wrong code is refused with 403', async (t) => {
    if (!canRun(t, { needUi: false })) return;
    const tokenUrl = uiUrl(sb);
    const base = new URL(tokenUrl).origin;
    const token = decodeURIComponent(tokenUrl.split('#token=')[1]!);
    const onTcp = await fetch(`${base}/api/ui.code`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(onTcp.status, 404, 'codes are not issued on 127.0.0.1, even with the token');
    const bogus = await fetch(`${base}/api/ui.exchange`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: 'A'.repeat(43) }),
    });
    assert.equal(bogus.status, 403);
    const body = (await bogus.json()) as { ok: boolean; error: { code: string } };
    assert.equal(body.error.code, 'bad-code');
    assert.ok(!JSON.stringify(body).includes(token));
    const malformed = await fetch(`${base}/api/ui.exchange`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: 'x', extra: 1 }),
    });
    assert.equal(malformed.status, 400);
    // a fresh code from `warden ui` works exactly once over plain HTTP too
    const code = decodeURIComponent(openedUrl().split('#code=')[1]!);
    const trade = () =>
      fetch(`${base}/api/ui.exchange`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code }),
      });
    const ok = (await (await trade()).json()) as { ok: boolean; result: { token: string } };
    assert.equal(ok.result.token, token);
    assert.equal((await trade()).status, 403);
    assert.ok(existsSync(join(sb.state, 'api.json')));
  });
});

test('UiCodes: a code works once, and not after CODE_TTL_MS (clock injected)', () => {
  let now = 1_000_000;
  const codes = new UiCodes(() => now);
  const a = codes.issue();
  const b = codes.issue();
  assert.equal(a.ttlMs, CODE_TTL_MS);
  assert.notEqual(a.code, b.code);
  assert.match(a.code, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(codes.redeem(a.code), true);
  assert.equal(codes.redeem(a.code), false, 'spent');
  assert.equal(codes.redeem(a.code.slice(0, -1) + (a.code.endsWith('A') ? 'B' : 'A')), false);
  now += CODE_TTL_MS;
  assert.equal(codes.redeem(b.code), false, 'expired');
});
