// Reading a file the user named, and explaining what the file system said about it. Every command
// reads user files through readUserFile, so each problem a user can fix is caught the same way.
import { type Stats, readFileSync, statSync } from 'node:fs';
import { UserError } from '../errors.js';

/** Node reads at most 2 GiB into one buffer; nothing vit-ts reads is near that. */
export const MAX_FILE_BYTES = 2 ** 31 - 1;

/**
 * The bytes of `path`, a regular file of at most `maxBytes`. A folder, a FIFO (which would block
 * for ever), a device or a file too large is a UserError naming the path, before anything is read.
 */
export function readUserFile(path: string, maxBytes = MAX_FILE_BYTES): Buffer {
  const stats = statUserFile(path);
  if (stats.size > maxBytes) {
    throw new UserError(`${path} is ${formatBytes(stats.size)}; files over ${formatBytes(maxBytes)} cannot be read here`);
  }
  try {
    return readFileSync(path);
  } catch (error) {
    throw fileSystemError(error) ?? error;
  }
}

/** The stats of `path`, which must be a regular file (links followed). */
export function statUserFile(path: string): Stats {
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch (error) {
    throw fileSystemError(error) ?? error;
  }
  if (stats.isDirectory()) throw new UserError(`${path} is a folder; expected a file`);
  if (!stats.isFile()) throw new UserError(`${path} is not a regular file (a pipe, socket or device); expected a file`);
  return stats;
}

/**
 * A UserError for the file-system errors a user can fix (no space, no permission, a missing or
 * mistyped path, a name too long, …), naming `path` (default: the path Node reports); null for
 * any other error.
 */
export function fileSystemError(error: unknown, path?: string): UserError | null {
  if (!(error instanceof Error)) return null;
  const { code, path: reported, dest } = error as NodeJS.ErrnoException & { dest?: string };
  const where = path ?? reported ?? dest ?? 'a file';
  switch (code) {
    case 'ENOENT':
      return new UserError(`${where}: no such file or folder`);
    case 'ENOTDIR':
      return new UserError(`${where}: a part of the path is a file, not a folder`);
    case 'EISDIR':
      return new UserError(`${where} is a folder; expected a file`);
    case 'EACCES':
    case 'EPERM':
      return new UserError(`${where}: permission denied`);
    case 'EROFS':
      return new UserError(`${where}: the file system is read-only`);
    case 'ENOSPC':
      return new UserError(`${where}: no space left on the device; free some space and run the command again`);
    case 'EDQUOT':
      return new UserError(`${where}: disk quota exceeded; free some space and run the command again`);
    case 'ENAMETOOLONG':
      return new UserError(`${where}: the name is too long for the file system`);
    case 'ELOOP':
      return new UserError(`${where}: too many symbolic links (a link loop?)`);
    case 'EMFILE':
    case 'ENFILE':
      return new UserError(`${where}: too many open files`);
    case 'ERR_FS_FILE_TOO_LARGE':
      return new UserError(`${where}: the file is over 2 GiB; files that large cannot be read here`);
    default:
      return null;
  }
}

function formatBytes(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : `${Math.round(bytes / 2 ** 20)} MiB`;
}
