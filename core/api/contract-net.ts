/**
 * API methods of the egress proxy and network allowlist (issue 6): `{ method: { params: zod schema } }`, merged
 * into `methods` in contract.ts. Served by core/net/daemon.ts.
 */
import { z } from 'zod';

const policies = z.array(z.string().startsWith('/')).default([]);

export const netMethods = {
  /** The `network:` rules in effect (shipped bands, the user's, then `policies`), in evaluation order. */
  'net.rules': { params: z.object({ policies }).strict() },
  /** What the egress proxy would decide for `host`:`port` (no hold is made): `{decision, ruleId, band, why}`. */
  'net.check': {
    params: z
      .object({
        host: z.string().min(1).max(300),
        port: z.number().int().min(1).max(65535).default(443),
        policies,
      })
      .strict(),
  },
} as const;
