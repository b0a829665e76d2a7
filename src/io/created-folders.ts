// Folders a command creates for its output, and removing them again when the command fails: a
// failed command leaves nothing behind that it made.
import { mkdirSync, rmSync } from 'node:fs';
import { fileSystemError } from './user-files.js';

/**
 * Creates `dir` and any missing parents; returns the topmost folder it created, or undefined when
 * `dir` already existed. A file-system problem is a UserError naming the path.
 */
export function createFolders(dir: string): string | undefined {
  try {
    return mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw fileSystemError(error) ?? error;
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
