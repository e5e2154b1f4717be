// Pieces the bench scripts share: the median, the real python3 interpreter, a file-tree maker and the launcher
// of benchmarks built from TypeScript.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The middle value of `xs` (numbers; the upper middle for an even count). */
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The python3 interpreter itself, not a version-manager shim (pyenv's bash shims would dominate timings). */
export const python = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], {
  encoding: 'utf8',
}).stdout.trim();

/** Creates `n` files of `size` bytes under `dir`, spread over 50 subdirectories d0…d49. */
export function makeFiles(dir, n, size = 512) {
  mkdirSync(dir, { recursive: true });
  const buf = Buffer.alloc(size, 97);
  for (let i = 0; i < n; i++) {
    const sub = join(dir, `d${i % 50}`);
    if (i < 50) mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `f${i}.txt`), buf);
  }
}

/**
 * Runs a benchmark written in TypeScript next to the test fixtures it uses, from its build (`rel`: its path under
 * dist/, e.g. `test/watch/bench-egress.js`). Exits 2 naming `script` when dist/ was not built.
 */
export async function runCompiled(rel, script) {
  const compiled = fileURLToPath(new URL(`../dist/${rel}`, import.meta.url));
  if (!existsSync(compiled)) {
    console.error(`${script}: ${compiled} is missing — run \`npm run build\` first.`);
    process.exit(2);
  }
  await import(compiled);
}
