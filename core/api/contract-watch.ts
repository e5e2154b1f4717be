/**
 * API methods of system-wide watch mode (issue 7): `{ method: { params: zod schema } }`, merged into `methods` in contract.ts.
 * Served by core/watch/daemon.ts.
 */
import { z } from 'zod';

export const watchMethods = {
  /**
   * Watch mode's health: `{socket, connected, helperPid, roots, mechanisms: {fanotify_perm, fanotify_name,
   * ebpf_tracepoints, bpf_lsm, connect4, freezer, shadow}, lastHeartbeat (epoch ms), counters, canary:
   * {path, lastOk}, ok, fault: {ts, what} | null, recentFaults, runsInProgress}`.
   */
  'watch.status': { params: z.object({}).strict() },
} as const;
