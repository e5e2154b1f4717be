/**
 * Needs the real Electron binary. PLATFORM.md: it cannot be downloaded here (the `electron` package's
 * postinstall is denied), so this test finds it absent and reports itself skipped — never passed.
 * Where the binary exists it checks it is the Electron major we type-check against (41).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

test('the Electron binary runs and is Electron 41', (t) => {
  let binary: string;
  try {
    // The electron package's main exports the binary path, and throws when the download never happened.
    binary = createRequire(import.meta.url)('electron') as string;
  } catch (err) {
    t.skip(`Electron binary not installed here (PLATFORM.md): ${(err as Error).message.split('\n')[0]}`);
    return;
  }
  if (typeof binary !== 'string' || !existsSync(binary)) {
    t.skip(`Electron binary not installed here (PLATFORM.md): ${String(binary)} does not exist`);
    return;
  }
  const v = execFileSync(binary, ['-e', 'process.stdout.write(process.versions.electron)'], {
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    encoding: 'utf8',
  });
  assert.match(v, /^41\./);
});
