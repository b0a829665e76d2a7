import { randomBytes } from 'node:crypto';
import { type Stats, closeSync, fsyncSync, openSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../errors.js';
import { processAlive } from './processes.js';
import { fileSystemError } from './user-files.js';

// Temp names use crypto rather than the seeded generator: they are not results, and drawing
// from the run's generator would shift every later random number.
function tempPath(path: string): string {
  return join(dirname(path), `${basename(path)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
}

/**
 * A process killed while writing leaves its temp file (the target itself is whole): removes those
 * among `names` in `dir` whose process no longer runs.
 */
export function removeStaleTemporaries(dir: string, names: readonly string[]): void {
  for (const name of names) {
    const match = /\.tmp-(\d+)-[0-9a-f]+$/.exec(name);
    if (match && !processAlive(Number(match[1]))) rmSync(join(dir, name), { force: true });
  }
}

function missingFolder(path: string): UserError {
  return new UserError(`Cannot write ${path}: the folder ${dirname(path)} does not exist`);
}

function notAFolder(path: string): UserError {
  return new UserError(`Cannot write ${path}: ${dirname(path)} is not a folder`);
}

/**
 * Refuses an output path that exists and is not a regular file (a device, a FIFO, a socket, a
 * folder; links followed): writing renames a new file over the path, which would replace it.
 * Commands call it for their output paths before any work; `name` is the flag, for the message.
 */
export function checkOutputFile(path: string, name?: string): void {
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch {
    // Not there yet (or not reachable): the write itself says what is wrong.
    return;
  }
  if (stats.isFile()) return;
  const kind = stats.isDirectory()
    ? 'a folder'
    : stats.isFIFO()
      ? 'a named pipe (FIFO)'
      : stats.isSocket()
        ? 'a socket'
        : stats.isCharacterDevice() || stats.isBlockDevice()
          ? 'a device'
          : 'not a regular file';
  throw new UserError(
    `${name === undefined ? 'Cannot write ' : `${name} `}${path}: it is ${kind}, not a regular file; nothing was written (give a file path)`,
  );
}

function checkFolder(path: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(dirname(path)).isDirectory();
  } catch {
    throw missingFolder(path);
  }
  if (!isDir) throw notAFolder(path);
}

/**
 * Writes `data` to `path` so that a reader (or a crash) sees either the old file or the whole
 * new one, never half: write a temp file beside it, flush it to disk, rename it over the target.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  checkFolder(path);
  checkOutputFile(path);
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const temp = tempPath(path);
  let fd: number | undefined;
  try {
    fd = openSync(temp, 'wx');
    for (let written = 0; written < bytes.length;) {
      written += writeSync(fd, bytes, written, bytes.length - written);
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temp, path);
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(temp);
    } catch {
      // the temp file was never created, or is already gone
    }
    throw describe(error, path);
  }
}

/** The same as writeFileAtomic, without blocking the event loop. */
export async function writeFileAtomicAsync(path: string, data: Uint8Array | string): Promise<void> {
  try {
    if (!(await stat(dirname(path))).isDirectory()) throw notAFolder(path);
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw missingFolder(path);
  }
  checkOutputFile(path);
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const temp = tempPath(path);
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(temp, 'wx');
    for (let written = 0; written < bytes.length;) {
      written += (await handle.write(bytes, written, bytes.length - written)).bytesWritten;
    }
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temp, path);
  } catch (error) {
    if (handle !== undefined) await handle.close();
    await unlink(temp).catch(() => undefined);
    throw describe(error, path);
  }
}

/** Turns the errors a user can fix (permissions, a folder in the way) into UserErrors naming the file. */
function describe(error: unknown, path: string): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return missingFolder(path);
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new UserError(`Cannot write ${path}: permission denied (${code})`);
  }
  if (code === 'EISDIR') return new UserError(`Cannot write ${path}: it is a folder`);
  return fileSystemError(error, path) ?? error;
}
