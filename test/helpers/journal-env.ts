// Per-test environment for journal/rollback tests: a temp dir with a workspace, a state dir, a real journal
// database and blob store. Call `env.close()` (e.g. in `after`) to close the database and remove the dir.
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobStore } from '../../core/blobs/store.js';
import { Journal } from '../../core/journal/journal.js';

export interface JournalEnv {
  root: string;
  ws: string;
  stateDir: string;
  journal: Journal;
  blobs: BlobStore;
  close(): void;
}

/** Creates `<tmp>/warden-<prefix>-XXXX/{ws,state}` with state/journal.db and state/blobs. */
export function journalEnv(prefix = 'journal'): JournalEnv {
  const root = fs.mkdtempSync(join(tmpdir(), `warden-${prefix}-`));
  const ws = join(root, 'ws');
  const stateDir = join(root, 'state');
  fs.mkdirSync(ws);
  fs.mkdirSync(stateDir, { mode: 0o700 });
  const journal = new Journal(join(stateDir, 'journal.db'));
  const blobs = new BlobStore(join(stateDir, 'blobs'), journal);
  return {
    root,
    ws,
    stateDir,
    journal,
    blobs,
    close() {
      journal.close();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
