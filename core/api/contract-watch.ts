/**
 * API methods of system-wide watch mode (issue 7): `{ method: { params: zod schema } }`, merged into `methods` in contract.ts.
 */
import { z } from 'zod';

void z;
export const watchMethods = {} as const;
