#!/usr/bin/env node
// Entry point of the `warden` command: the compiled CLI lives in dist/ (built by `npm ci` / `npm run build`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/core/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error('warden: not built yet — run `npm ci` (or `npm run build`) in the warden checkout first.');
  process.exit(2);
}
await import(main.href);
