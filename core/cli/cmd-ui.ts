/**
 * `warden ui [--no-open] [--print-url]`: makes sure the daemon runs (starting it on demand), reads the port and
 * token of its HTTP API from `state/api.json`, and opens `http://127.0.0.1:<port>/#token=<token>` in the
 * browser (the token travels in the URL fragment, which a browser never sends to a server). The browser is
 * handed a one-time code instead of the token (`#code=…`, http-ui-code.ts): a command line is visible to
 * every user in `ps`, and the code is worthless once the page has traded it for the token.
 */
import type { Command, Option } from 'commander';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { WardenError } from '../util/errors.js';
import { withDaemon, type GlobalOpts } from './common.js';

const apiJsonSchema = z.object({
  port: z.number().int().positive(),
  token: z.string(),
  pid: z.number().int(),
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The UI's URL for the API described by `api.json`. */
export function uiUrl(port: number, token: string): string {
  return `http://127.0.0.1:${port}/#token=${encodeURIComponent(token)}`;
}

/** The URL `warden ui` opens: a one-time code in the fragment, traded by the page for the token. */
export function uiCodeUrl(port: number, code: string): string {
  return `http://127.0.0.1:${port}/#code=${encodeURIComponent(code)}`;
}

const codeAnswer = z.object({
  ok: z.literal(true),
  result: z.object({ code: z.string().regex(/^[A-Za-z0-9_-]{32,64}$/), ttlMs: z.number() }),
});

/**
 * Asks the daemon for a one-time UI code on its private HTTP socket (`POST /api/ui.code`).
 * @throws WardenError('no-ui-code') when the socket does not answer with a code.
 */
export function requestUiCode(apiSocket: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const fail = (why: string) =>
      reject(new WardenError('no-ui-code', `could not get a one-time UI code from ${apiSocket}: ${why}`));
    const req = request(
      { socketPath: apiSocket, path: '/api/ui.code', method: 'POST', timeout: 5000 },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          try {
            resolve(codeAnswer.parse(JSON.parse(text)).result.code);
          } catch {
            fail(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => fail(err.message));
    req.end();
  });
}

/**
 * Reads `api.json` of the daemon with pid `pid`, waiting up to `ms` for it to be written (the daemon writes it
 * once its HTTP API listens, just after its socket does) and skipping a stale one left by a killed daemon.
 */
async function readApiJson(path: string, pid: number, ms = 5000): Promise<{ port: number; token: string }> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const got = apiJsonSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
      if (got.pid === pid) return got;
    } catch {
      // not written yet, or being replaced
    }
    if (Date.now() >= end) {
      throw new WardenError(
        'no-http-api',
        `the daemon (pid ${pid}) has not published its HTTP API in ${path}; is it running with --http-port?`,
      );
    }
    await sleep(50);
  }
}

/**
 * Opens `url` with the platform's opener (argv, no shell), detached.
 * @returns null when it was handed over, else why not.
 */
function openInBrowser(url: string): Promise<string | null> {
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? null : 'xdg-open';
  if (opener === null) return Promise.resolve(`no opener on ${process.platform}`);
  return new Promise((resolve) => {
    let settled = false;
    const done = (why: string | null) => {
      if (settled) return;
      settled = true;
      resolve(why);
    };
    let child;
    try {
      child = spawn(opener, [url], { detached: true, stdio: 'ignore' });
    } catch (err) {
      return done(`${opener} could not be started: ${(err as Error).message}`);
    }
    child.once('error', (err) => done(`${opener} could not be started: ${err.message}`));
    child.once('exit', (code, signal) =>
      done(code === 0 ? null : `${opener} failed (${signal ?? `exit ${code}`})`),
    );
    // xdg-open normally returns at once; if it lingers (it waits for some browsers), assume it worked.
    const timer = setTimeout(() => {
      child.unref();
      done(null);
    }, 3000);
    timer.unref();
  });
}

/** Registers `warden ui` on `program`. */
export function registerUiCommand(program: Command, stateOption: () => Option): void {
  program
    .command('ui')
    .description(
      'open the Warden UI in the browser (starts the daemon if needed; the page gets the API token from the URL fragment)',
    )
    .option('--no-open', 'do not open a browser; print the URL instead')
    .option('--print-url', 'only print the URL on stdout (for scripts); implies --no-open')
    .addOption(stateOption())
    .addHelpText(
      'after',
      '\nThe URL is http://127.0.0.1:<port>/#token=<token>; a restarted daemon keeps the port and token when it\n' +
        'can. The browser is opened with a one-time code (#code=…) instead, so the token never appears on a\n' +
        'command line. Anyone holding the token URL can answer holds and roll back runs;\n' +
        'do not share it. The UI files come from dist/renderer (build them with `npm run build:renderer`).\n',
    )
    .action(async (opts: GlobalOpts & { open: boolean; printUrl?: boolean }) =>
      withDaemon(opts, async (c, layout) => {
        const { pid } = (await c.call('status', {})) as { pid: number };
        const api = await readApiJson(layout.apiJson, pid);
        const url = uiUrl(api.port, api.token);
        if (opts.printUrl) return void process.stdout.write(`${url}\n`);
        if (!opts.open) {
          process.stdout.write(`Open this URL in a browser:\n${url}\n`);
          return;
        }
        // The opener's argv is public (ps): it gets a one-time code, never the token.
        const why = await openInBrowser(uiCodeUrl(api.port, await requestUiCode(layout.apiSocket)));
        if (why === null) process.stderr.write(`Opened the Warden UI (http://127.0.0.1:${api.port}/).\n`);
        else process.stdout.write(`Could not open a browser (${why}). Open this URL:\n${url}\n`);
      }),
    );
}
