/**
 * Which policy files are in effect and the pre-image size bound: small and dependency-free, so CLI commands
 * can use them without loading the daemon (the journal, SQLite, the blob store).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { defaultPolicyDir, type StateLayout } from '../util/paths.js';

/** Default upper bound for one pre-image (bytes); larger files are listed as irreversible. */
export const PREIMAGE_MAX_BYTES = 64 * 1024 * 1024;

/** Policy files in effect for a run: the shipped bands, the user's bands in the state dir, then `extra`. */
export function policyFiles(layout: StateLayout, extra: string[]): string[] {
  const yamlIn = (dir: string) =>
    existsSync(dir)
      ? readdirSync(dir)
          .filter((n) => n.endsWith('.yaml') || n.endsWith('.yml'))
          .sort()
          .map((n) => join(dir, n))
      : [];
  return [...yamlIn(defaultPolicyDir), ...yamlIn(layout.policies), ...extra];
}
