import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { hashFile } from '../../core/blobs/store.js';
import { journalEnv } from '../helpers/journal-env.js';

const env = journalEnv('blobs');
after(() => env.close());
const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
const refs = (h: string) =>
  (env.journal.db.prepare('SELECT refs FROM blobs WHERE sha = ?').get(h) as { refs: number } | undefined)
    ?.refs;

function staged(name: string, content: string | Buffer): string {
  const p = join(env.root, name);
  fs.writeFileSync(p, content);
  return p;
}

test('putStaged stores new content read-only under <aa>/<sha>, hardlinked when nlink is 1', () => {
  const p = staged('s1', 'hello');
  const r = env.blobs.putStaged(p);
  assert.deepEqual(r, { sha: sha('hello'), size: 5, created: true });
  const bp = env.blobs.pathOf(r.sha);
  assert.equal(bp, join(env.stateDir, 'blobs', r.sha.slice(0, 2), r.sha));
  assert.equal(fs.statSync(bp).mode & 0o777, 0o400);
  assert.equal(fs.statSync(join(env.stateDir, 'blobs', r.sha.slice(0, 2))).mode & 0o777, 0o700);
  assert.equal(fs.statSync(bp).ino, fs.statSync(p).ino, 'linked, not copied');
  assert.equal(refs(r.sha), 1);
  assert.ok(env.blobs.verify(r.sha));
});

test('duplicate content is deduplicated: refs 2, one file', () => {
  const r = env.blobs.putStaged(staged('s2', 'hello'));
  assert.equal(r.created, false);
  assert.equal(refs(r.sha), 2);
  env.blobs.addRef(r.sha);
  assert.equal(refs(r.sha), 3);
});

test('a staged file with other links is copied, not linked', () => {
  const p = staged('s3', 'shared inode');
  fs.linkSync(p, join(env.root, 's3-other'));
  const r = env.blobs.putStaged(p);
  assert.notEqual(fs.statSync(env.blobs.pathOf(r.sha)).ino, fs.statSync(p).ino);
  assert.equal(env.blobs.read(r.sha).toString(), 'shared inode');
});

test('an orphan blob file (crash before commit) is reused', () => {
  const content = 'orphan';
  const h = sha(content);
  fs.mkdirSync(join(env.stateDir, 'blobs', h.slice(0, 2)), { recursive: true });
  fs.writeFileSync(env.blobs.pathOf(h), content, { mode: 0o400 });
  const r = env.blobs.putStaged(staged('s4', content));
  assert.deepEqual(r, { sha: h, size: 6, created: true });
  assert.equal(refs(h), 1);
});

test('read, open, copyTo, verify, release and gc', () => {
  const r = env.blobs.putStaged(staged('s5', Buffer.from([0, 1, 2, 255])));
  assert.deepEqual([...env.blobs.read(r.sha)], [0, 1, 2, 255]);
  const fd = env.blobs.open(r.sha);
  assert.equal(fs.fstatSync(fd).size, 4);
  fs.closeSync(fd);
  const dest = join(env.root, 'copy');
  env.blobs.copyTo(r.sha, dest);
  assert.equal(sha(fs.readFileSync(dest)), r.sha);
  assert.equal(fs.statSync(dest).mode & 0o777, 0o600);
  assert.equal(env.blobs.verify('0'.repeat(64)), false);
  env.blobs.release(r.sha);
  assert.equal(env.blobs.gc(), 1);
  assert.equal(fs.existsSync(env.blobs.pathOf(r.sha)), false);
  assert.equal(env.blobs.has(r.sha), false);
});

test('hashFile streams large files', () => {
  const big = Buffer.alloc(3 * 1024 * 1024 + 7, 0x61);
  const p = staged('big', big);
  assert.deepEqual(hashFile(p), { sha: sha(big), size: big.length });
});

test('putStaged rejects non-files', () => {
  assert.throws(() => env.blobs.putStaged(env.root), /not a regular file/);
});
