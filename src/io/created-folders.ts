// Folders a command creates for its output, and removing them again when the command fails: a
// failed command leaves nothing behind that it made.
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { fileSystemError } from './user-files.js';

/**
 * Creates `dir` and any missing parents, one at a time, so that a failure names the folder that
 * could not be made and why (a read-only file system, a file in the way); a recursive mkdir reports
 * some of those as a missing path. Returns the topmost folder it created, or undefined when `dir`
 * already existed. A file-system problem is a UserError naming the path.
 */
export function createFolders(dir: string): string | undefined {
  const missing: string[] = [];
  let existing = resolve(dir);
  while (!existsAsAnything(existing) && dirname(existing) !== existing) {
    missing.unshift(existing);
    existing = dirname(existing);
  }
  if (!statSync(existing).isDirectory()) {
    throw new UserError(
      missing.length === 0 ? `${existing} is a file, not a folder` : `${existing} is a file, not a folder; ${dir} cannot be made there`,
    );
  }
  for (const folder of missing) {
    try {
      mkdirSync(folder);
    } catch (error) {
      if (missing[0] !== folder) rmSync(missing[0]!, { recursive: true, force: true });
      throw fileSystemError(error, folder) ?? error;
    }
  }
  return missing[0];
}

/** Whether anything (a file, a folder, a link even if broken) is at `path`. */
function existsAsAnything(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return false;
    if (code === 'ENOTDIR') return false;
    throw fileSystemError(error, path) ?? error;
  }
}

/** Removes what createFolders created (`created` undefined: nothing), with everything written into it since. */
export function removeCreatedFolders(created: string | undefined): void {
  if (created !== undefined) rmSync(created, { recursive: true, force: true });
}

/** Runs `write` into `dir`, created as needed; if `write` throws, the folders created for it are removed. */
export function writeIntoFolder<T>(dir: string, write: () => T): T {
  const created = createFolders(dir);
  try {
    return write();
  } catch (error) {
    removeCreatedFolders(created);
    throw error;
  }
}
