#!/usr/bin/env node
// `npm run bench:watch-egress [connections] [MiB]` (root): watch mode's egress steering (cgroup/connect4 →
// warden-watch relay → the daemon's egress proxy) against direct connections to the same test host, in one
// invocation. Written in TypeScript next to the test whose fixtures it uses (test/watch/bench-egress.ts).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = fileURLToPath(new URL('../dist/test/watch/bench-egress.js', import.meta.url));
if (!existsSync(compiled)) {
  console.error('bench:watch-egress: dist/test is missing — run `npm run build` first.');
  process.exit(2);
}
await import(compiled);
