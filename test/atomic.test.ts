import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { UserError } from '../src/errors.js';
import { writeFileAtomic, writeFileAtomicAsync } from '../src/io/atomic.js';

const root = mkdtempSync(join(tmpdir(), 'vit-atomic-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('writeFileAtomic writes bytes and text, replaces an old file, and leaves no temp files', () => {
  const dir = join(root, 'sync');
  mkdirSync(dir);
  const file = join(dir, 'out.bin');
  writeFileSync(file, 'old contents that are longer than the new ones');
  const bytes = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 7) & 255);
  writeFileAtomic(file, bytes);
  assert.deepEqual(new Uint8Array(readFileSync(file)), bytes);
  writeFileAtomic(join(dir, 'note.txt'), 'héllo\n');
  assert.equal(readFileSync(join(dir, 'note.txt'), 'utf8'), 'héllo\n');
  writeFileAtomic(join(dir, 'empty'), new Uint8Array(0));
  assert.equal(readFileSync(join(dir, 'empty')).length, 0);
  assert.deepEqual(readdirSync(dir).sort(), ['empty', 'note.txt', 'out.bin']);
});

test('writeFileAtomicAsync writes and leaves no temp files', async () => {
  const dir = join(root, 'async');
  mkdirSync(dir);
  const file = join(dir, 'out.json');
  await writeFileAtomicAsync(file, '{"a":1}');
  await writeFileAtomicAsync(file, Uint8Array.from([123, 125]));
  assert.equal(readFileSync(file, 'utf8'), '{}');
  assert.deepEqual(readdirSync(dir), ['out.json']);
});

test('a missing parent folder is a UserError naming it', async () => {
  const missing = join(root, 'no-such-folder');
  const target = join(missing, 'out.bin');
  const namesFolder = (error: unknown): boolean =>
    error instanceof UserError && error.message.includes(missing) && error.message.includes('does not exist');
  assert.throws(() => writeFileAtomic(target, 'x'), namesFolder);
  await assert.rejects(writeFileAtomicAsync(target, 'x'), namesFolder);
});

test('a target that is a folder fails without leaving temp files', async () => {
  const dir = join(root, 'clash');
  mkdirSync(join(dir, 'taken'), { recursive: true });
  assert.throws(() => writeFileAtomic(join(dir, 'taken'), 'x'), UserError);
  await assert.rejects(writeFileAtomicAsync(join(dir, 'taken'), 'x'), UserError);
  assert.deepEqual(readdirSync(dir), ['taken']);
});
