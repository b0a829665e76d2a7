// Preloaded into a `vit` child process (node --import) to make the file system fail as a full or
// read-only disk would: VIT_FAULT=CODE:TEXT makes every write to a file whose path contains TEXT
// fail with CODE — ENOSPC once the file is open (as a disk filling up), EACCES when it is opened.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const [code, text] = (process.env['VIT_FAULT'] ?? '').split(':') as [string, string | undefined];

function fault(syscall: string, path: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`${code}: injected by the test, ${syscall} '${path}'`);
  error.code = code;
  error.syscall = syscall;
  if (code === 'EACCES') error.path = path;
  return error;
}

if (text !== undefined && (code === 'ENOSPC' || code === 'EACCES')) {
  const faulty = new Set<number>();
  const { openSync, writeSync, closeSync, mkdirSync } = fs;
  const writing = (flags: unknown): boolean => typeof flags === 'string' && /[wa+]/.test(flags);
  fs.openSync = ((path: fs.PathLike, flags?: fs.OpenMode, mode?: fs.Mode) => {
    const name = String(path);
    if (name.includes(text) && writing(flags) && code === 'EACCES') throw fault('open', name);
    const fd = openSync(path, flags ?? 'r', mode);
    if (name.includes(text) && writing(flags)) faulty.add(fd);
    return fd;
  }) as typeof fs.openSync;
  fs.writeSync = ((fd: number, ...rest: unknown[]) => {
    if (faulty.has(fd)) throw fault('write', `fd ${fd}`);
    return (writeSync as (fd: number, ...args: unknown[]) => number)(fd, ...rest);
  }) as typeof fs.writeSync;
  fs.closeSync = (fd: number) => {
    faulty.delete(fd);
    closeSync(fd);
  };
  fs.mkdirSync = ((path: fs.PathLike, options?: fs.MakeDirectoryOptions) => {
    if (String(path).includes(text) && code === 'EACCES') throw fault('mkdir', String(path));
    return mkdirSync(path, options);
  }) as typeof fs.mkdirSync;
  syncBuiltinESMExports();
}
