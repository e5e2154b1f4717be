#!/usr/bin/env node
// `npm run bench:watch-egress [connections] [MiB]` (root): watch mode's egress steering (cgroup/connect4 →
// warden-watch relay → the daemon's egress proxy) against direct connections to the same test host, in one
// invocation. Written in TypeScript next to the test whose fixtures it uses (test/watch/bench-egress.ts).
import { runCompiled } from './common.mjs';

await runCompiled('test/watch/bench-egress.js', 'bench:watch-egress');
