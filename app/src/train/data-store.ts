// The user's files a page run trains on, kept in IndexedDB (a database of their own, beside the
// run's) so that Continue after a reload or a crash needs nothing picked again. Each file is
// written once, under its SHA-256, from bytes checked against it; read back, it is checked again
// (data-loading.ts hashes what it loads, and the run's record holds the checksums). Only the kept
// run's files stay: a new run replaces them, and the user may forget them.
import { type DBSchema, type IDBPDatabase, openDB } from 'idb';
import { UserError } from '../../../src/errors.js';
import { sha256 } from './data-loading.js';
import type { FileChecksum } from './protocol.js';

interface KeptFile extends FileChecksum {
  blob: Blob;
}

interface DataDb extends DBSchema {
  files: { key: string; value: KeptFile };
}

let opened: Promise<IDBPDatabase<DataDb>> | undefined;

function db(): Promise<IDBPDatabase<DataDb>> {
  opened ??= openDB<DataDb>('vit-ts-data', 1, {
    upgrade(database) {
      database.createObjectStore('files');
    },
  });
  return opened;
}

/**
 * Keeps `files` (the run's, as loaded: `checksums` in the same order) and forgets any other; a
 * file kept already is not written again. A file that changed since it was loaded is refused.
 */
export async function keepFiles(files: readonly File[], checksums: readonly FileChecksum[]): Promise<FileChecksum[]> {
  const database = await db();
  const wanted = new Set(checksums.map((c) => c.sha256));
  for (const key of await database.getAllKeys('files')) if (!wanted.has(key)) await database.delete('files', key);
  for (const [i, checksum] of checksums.entries()) {
    if ((await database.getKey('files', checksum.sha256)) !== undefined) continue;
    const bytes = new Uint8Array(await files[i]!.arrayBuffer());
    if ((await sha256(bytes)) !== checksum.sha256) {
      throw new UserError(`${checksum.name} changed since it was loaded (its SHA-256 differs): load it again`);
    }
    await database.put('files', { ...checksum, blob: new Blob([bytes]) }, checksum.sha256);
  }
  return keptFiles();
}

/** The files kept, without their bytes. */
export async function keptFiles(): Promise<FileChecksum[]> {
  const all = await (await db()).getAll('files');
  return all.map(({ name, bytes, sha256 }) => ({ name, bytes, sha256 }));
}

/**
 * The kept copies of `checksums`' files, each checked against its SHA-256, as files to load; null
 * when one of them is not kept. A copy that fails its check is forgotten, in one line naming it.
 */
export async function keptCopies(checksums: readonly FileChecksum[]): Promise<File[] | null> {
  const database = await db();
  const copies: File[] = [];
  for (const checksum of checksums) {
    const kept = await database.get('files', checksum.sha256);
    if (!kept) return null;
    const bytes = new Uint8Array(await kept.blob.arrayBuffer());
    if ((await sha256(bytes)) !== checksum.sha256) {
      await database.delete('files', checksum.sha256);
      throw new UserError(
        `the copy of ${checksum.name} kept in this browser's storage does not match its SHA-256 (${checksum.sha256.slice(0, 12)}…): ` +
          'it is forgotten; pick the file again to continue',
      );
    }
    copies.push(new File([bytes], kept.name));
  }
  return copies;
}

export async function forgetFiles(): Promise<void> {
  await (await db()).clear('files');
}
