/**
 * API methods of the egress proxy and network allowlist (issue 6): `{ method: { params: zod schema } }`, merged into `methods` in contract.ts.
 */
import { z } from 'zod';

void z;
export const netMethods = {} as const;
