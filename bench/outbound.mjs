#!/usr/bin/env node
// `npm run bench:outbound [calls] [messages]`: MCP tools/call latency through `warden mcp` vs the server direct,
// and queue release throughput vs bare nodemailer sends (ratios in one invocation). The benchmark is written in
// TypeScript next to the tests whose fixtures it uses (test/messages/bench-outbound.ts); this runs its build.
import { runCompiled } from './common.mjs';

await runCompiled('test/messages/bench-outbound.js', 'bench:outbound');
