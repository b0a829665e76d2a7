import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, join, resolve, win32 } from 'node:path';
import { ReadEntry, extract } from 'tar';
import { UserError } from '../errors.js';
import { createFolders, removeCreatedFolders } from '../io/created-folders.js';
import { processAlive } from '../io/processes.js';
import { RECORD_BYTES } from './cifar10.js';
import { CIFAR10_FOLDER, defaultDataDir } from './location.js';

/** The official binary version of CIFAR-10 and its published checksums. */
export const CIFAR10_ARCHIVE = Object.freeze({
  url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
  bytes: 170052171,
  md5: 'c32a1d4ab5d03f1284b67883e8d87530',
  sha256: 'c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd',
});

export interface DownloadOptions {
  /** The folder to hold the .bin files; default defaultDataDir(). */
  dir?: string;
  /** Where to fetch the archive; default the official URL. A mirror must serve the same file. */
  url?: string;
  /** The archive's size and SHA-256; default the official archive's. */
  expected?: { bytes: number; sha256: string };
  onProgress?: (received: number, total: number) => void;
  /** Give up when no data arrives for this long; default 30 s. */
  timeoutMs?: number;
}

const DATA_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'];
/** The archive members we extract; anything else in the archive is skipped. */
const MEMBERS = new Set([...DATA_FILES, 'batches.meta.txt', 'readme.html'].map((name) => `${CIFAR10_FOLDER}/${name}`));
const PLAIN_FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);
/** No member of the archive is bigger than one batch of 10,000 records: a bigger one is refused unread. */
export const MAX_MEMBER_BYTES = 10_000 * RECORD_BYTES;

const NO_NETWORK_HELP =
  'There seems to be no network access. Copy cifar-10-batches-bin from a machine that has it and ' +
  'pass --data DIR to point at it, or use --sample to train on the small sample bundled with vit-ts.';

/**
 * The backend of `vit data cifar10`: downloads the official archive, checks its size and SHA-256,
 * and extracts the data files into `dir`. Returns the folder holding the .bin files. Does nothing
 * when the folder already holds all six data files. Every partial result lives in temporary
 * names beside `dir`, so an interrupted run never leaves a half-filled folder.
 */
export async function downloadCifar10(options: DownloadOptions = {}): Promise<string> {
  const dir = resolve(options.dir ?? defaultDataDir());
  if (holdsCifar10(dir)) return dir;
  checkReplaceable(dir);

  const url = options.url ?? CIFAR10_ARCHIVE.url;
  const expected = options.expected ?? { bytes: CIFAR10_ARCHIVE.bytes, sha256: CIFAR10_ARCHIVE.sha256 };
  const parent = dirname(dir);
  const createdParent = createFolders(parent);
  removeStaleTemporaries(parent, basename(dir));

  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const archive = join(parent, `.${basename(dir)}.download-${tag}.tar.gz`);
  const staging = join(parent, `.${basename(dir)}.extract-${tag}`);
  try {
    await fetchArchive(url, archive, expected, options.onProgress, options.timeoutMs ?? 30_000);
    await extractMembers(archive, staging, url);
    const extracted = join(staging, CIFAR10_FOLDER);
    const missing = DATA_FILES.filter((name) => !isRecordFile(join(extracted, name)));
    if (missing.length > 0) {
      throw new UserError(`The archive from ${url} lacks ${missing.map((m) => `${CIFAR10_FOLDER}/${m}`).join(', ')}`);
    }
    moveIntoPlace(extracted, dir, tag);
  } catch (error) {
    // Offline, say: leave no empty cache folder behind (the finally below removes the download).
    removeCreatedFolders(createdParent);
    throw error;
  } finally {
    rmSync(archive, { force: true });
    rmSync(staging, { recursive: true, force: true });
  }
  return dir;
}

/** Whether `dir` holds all six data files, each a whole number of records. */
export function holdsCifar10(dir: string): boolean {
  return DATA_FILES.every((name) => isRecordFile(join(dir, name)));
}

function isRecordFile(file: string): boolean {
  try {
    const stats = statSync(file);
    return stats.isFile() && stats.size > 0 && stats.size % RECORD_BYTES === 0;
  } catch {
    return false;
  }
}

/**
 * An existing, incomplete folder is replaced only when it holds nothing but CIFAR-10 files (a
 * damaged earlier copy), never a folder with other things in it. Checked before downloading.
 */
function checkReplaceable(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') throw new UserError(`${dir} is a file; the CIFAR-10 data needs a folder there`);
    throw error;
  }
  const foreign = names.filter((name) => !MEMBERS.has(`${CIFAR10_FOLDER}/${name}`));
  if (foreign.length > 0) {
    throw new UserError(
      `${dir} exists but does not hold a complete copy of CIFAR-10, and it holds other files ` +
        `(${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''}); move it away or choose another folder`,
    );
  }
}

/** Removes temporaries left by runs that were killed (their process no longer exists). */
function removeStaleTemporaries(parent: string, base: string): void {
  const pattern = /^\.(.+)\.(?:download|extract|old)-(\d+)-[0-9a-f]+(?:\.tar\.gz)?$/;
  for (const name of readdirSync(parent)) {
    const match = pattern.exec(name);
    if (!match || match[1] !== base) continue;
    const pid = Number(match[2]);
    if (!processAlive(pid)) rmSync(join(parent, name), { recursive: true, force: true });
  }
}

/** Streams `url` into `file`, hashing as it goes, and checks size and SHA-256. */
async function fetchArchive(
  url: string,
  file: string,
  expected: { bytes: number; sha256: string },
  onProgress: ((received: number, total: number) => void) | undefined,
  timeoutMs: number,
): Promise<void> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UserError(`${url} is not a valid URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UserError(`${url}: only http and https URLs can be downloaded`);

  // One timer, restarted on every chunk: it catches a dead connection at any stage
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const restartTimer = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(), timeoutMs);
  };
  const failed = (error: unknown): UserError =>
    networkError(url, error, controller.signal.aborted ? `no data for ${timeoutMs / 1000} s` : undefined);

  restartTimer();
  const hash = createHash('sha256');
  let received = 0;
  try {
    let response: Response;
    try {
      response = await fetch(url, { redirect: 'follow', signal: controller.signal });
    } catch (error) {
      throw failed(error);
    }
    if (!response.ok || !response.body) {
      throw new UserError(`Downloading ${url} failed: HTTP ${response.status} ${response.statusText}`.trimEnd());
    }
    const announced = Number(response.headers.get('content-length'));
    const total = announced > 0 ? announced : expected.bytes;
    const output = await open(file, 'wx');
    const reader = response.body.getReader();
    try {
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (error) {
          throw failed(error);
        }
        if (chunk.done) break;
        restartTimer();
        hash.update(chunk.value);
        try {
          await output.write(chunk.value);
        } catch (error) {
          throw new UserError(`Cannot write ${file}: ${(error as Error).message}`);
        }
        received += chunk.value.length;
        if (received > expected.bytes) {
          throw new UserError(`${url} sends more than the expected ${expected.bytes} bytes; it is not the CIFAR-10 archive`);
        }
        onProgress?.(received, total);
      }
    } finally {
      // stops the transfer when we give up early; harmless after the end
      await reader.cancel().catch(() => undefined);
      await output.close();
    }
  } finally {
    clearTimeout(timer);
  }

  if (received !== expected.bytes) {
    throw new UserError(`Downloaded ${received} bytes from ${url}, expected ${expected.bytes}: the download was cut short; try again`);
  }
  const digest = hash.digest('hex');
  if (digest !== expected.sha256.toLowerCase()) {
    throw new UserError(
      `The file downloaded from ${url} is damaged or not the CIFAR-10 archive: its SHA-256 is ${digest}, expected ${expected.sha256}`,
    );
  }
}

/** A UserError for a failed connection, naming the cause found in fetch's error chain. */
function networkError(url: string, error: unknown, override?: string): UserError {
  const code = override ?? findErrorCode(error) ?? innermostMessage(error);
  return new UserError(`Cannot download ${url} (${code}). ${NO_NETWORK_HELP}`);
}

function findErrorCode(error: unknown, depth = 0): string | undefined {
  if (depth > 5 || typeof error !== 'object' || error === null) return undefined;
  if ('code' in error && typeof error.code === 'string' && error.code !== 'ERR_ASSERTION') return error.code;
  if ('errors' in error && Array.isArray(error.errors)) {
    for (const inner of error.errors) {
      const found = findErrorCode(inner, depth + 1);
      if (found) return found;
    }
  }
  return 'cause' in error ? findErrorCode(error.cause, depth + 1) : undefined;
}

/** fetch wraps the useful message ("bad port", …) in causes below its own "fetch failed". */
function innermostMessage(error: unknown): string {
  let message = String(error);
  for (let depth = 0; depth < 5 && error instanceof Error; depth++, error = error.cause) message = error.message;
  return message;
}

/**
 * Extracts only the expected members into `staging` (a folder this makes). An entry whose path
 * would leave the folder, a link, or an entry over MAX_MEMBER_BYTES makes the whole archive
 * unacceptable: nothing from it is kept. `url` names the archive in errors.
 */
export async function extractMembers(archive: string, staging: string, url: string): Promise<void> {
  mkdirSync(staging);
  const unsafe: string[] = [];
  try {
    await extract({
      file: archive,
      cwd: staging,
      strict: true,
      preservePaths: false,
      preserveOwner: false,
      filter: (path, entry) => {
        const type = entry instanceof ReadEntry ? entry.type : 'File';
        const parts = path.split(/[\\/]/);
        if (path.startsWith('/') || win32.isAbsolute(path) || /^[a-zA-Z]:/.test(path) || parts.includes('..')) {
          unsafe.push(`${path} (outside the folder)`);
          return false;
        }
        if (type === 'Link' || type === 'SymbolicLink') {
          unsafe.push(`${path} (a link)`);
          return false;
        }
        const size = entry instanceof ReadEntry ? entry.size : 0;
        if (size > MAX_MEMBER_BYTES) {
          unsafe.push(`${path} (${size} bytes, more than a CIFAR-10 batch's ${MAX_MEMBER_BYTES})`);
          return false;
        }
        const name = parts.filter((part) => part !== '' && part !== '.').join('/');
        return MEMBERS.has(name) && PLAIN_FILE_TYPES.has(type);
      },
    });
  } catch (error) {
    throw new UserError(`Cannot extract the archive from ${url}: ${(error as Error).message}`);
  }
  if (unsafe.length > 0) {
    throw new UserError(
      `The archive from ${url} holds unsafe entries, so nothing from it was kept: ${unsafe.slice(0, 5).join(', ')}`,
    );
  }
}

/** Renames the finished folder into place, moving a damaged earlier copy out of the way first. */
function moveIntoPlace(extracted: string, dir: string, tag: string): void {
  let old: string | undefined;
  try {
    statSync(dir);
    old = join(dirname(dir), `.${basename(dir)}.old-${tag}`);
    renameSync(dir, old);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  renameSync(extracted, dir);
  if (old) rmSync(old, { recursive: true, force: true });
}
