/**
 * Electron main-process entry (`dist/electron/main.js`, ESM). Wires the real shell into `startApp`.
 *
 * Environment: `WARDEN_STATE` picks the state dir as for the CLI; `WARDEN_NODE` names the Node binary used to
 * start the daemon (default: `node` on PATH in a checkout, the app's own binary with `ELECTRON_RUN_AS_NODE=1`
 * when packaged).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chooseStateDir, ensureStateDir } from '../core/util/paths.js';
import { startApp } from './app.js';
import { electronShell } from './shell-electron.js';

const here = fileURLToPath(new URL('.', import.meta.url)); // dist/electron/
const shell = electronShell();
const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);

const node = process.env.WARDEN_NODE
  ? { execPath: process.env.WARDEN_NODE }
  : shell.app.isPackaged
    ? { execPath: process.execPath, env: { ELECTRON_RUN_AS_NODE: '1' } }
    : { execPath: 'node' };

Promise.resolve()
  .then(() =>
    startApp({
      shell,
      paths: { rendererHtml: join(here, '..', 'renderer', 'index.html'), preload: join(here, 'preload.cjs') },
      layout: ensureStateDir(chooseStateDir()),
      autostart: true,
      node,
      log,
    }),
  )
  .catch((err: unknown) => {
    log(`warden: the desktop app failed to start: ${err instanceof Error ? err.stack : String(err)}`);
    shell.app.quit();
  });
