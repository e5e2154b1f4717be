/**
 * API methods of the outbound-message queue and MCP gateway (issue 6): `{ method: { params: zod schema } }`, merged into `methods` in contract.ts.
 */
import { z } from 'zod';

void z;
export const messageMethods = {} as const;
