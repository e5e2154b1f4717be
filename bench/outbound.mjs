#!/usr/bin/env node
// `npm run bench:outbound [calls] [messages]`: MCP tools/call latency through `warden mcp` vs the server direct,
// and queue release throughput vs bare nodemailer sends (ratios in one invocation). The benchmark is written in
// TypeScript next to the tests whose fixtures it uses (test/messages/bench-outbound.ts); this runs its build.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = fileURLToPath(new URL('../dist/test/messages/bench-outbound.js', import.meta.url));
if (!existsSync(compiled)) {
  console.error('bench:outbound: dist/test is missing — run `npm run build` first.');
  process.exit(2);
}
await import(compiled);
