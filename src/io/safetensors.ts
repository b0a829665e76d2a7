/**
 * safetensors files on disk (Node): reading, reading only the header, and atomic writing. The
 * format itself, which needs no file system (a browser can use it), is in safetensors-format.ts.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { UserError } from '../errors.js';
import { kindOf } from '../arguments.js';
import { writeFileAtomic } from './atomic.js';
import { fileSystemError, readUserFile, statUserFile } from './user-files.js';
import {
  type EncodableData,
  type SafetensorsHeader,
  type Tensor,
  MAX_HEADER_BYTES,
  encodeSafetensors,
  parseHeader,
  parseSafetensors,
} from './safetensors-format.js';

export * from './safetensors-format.js';

/** Reads only the header: names, dtypes, shapes and metadata, without the tensor data. */
export function readSafetensorsHeader(path: string): SafetensorsHeader {
  checkPath(path, 'readSafetensorsHeader');
  const fd = openFile(path);
  try {
    const size = fstatSync(fd).size;
    const first = new Uint8Array(8);
    readSync(fd, first, 0, Math.min(8, size), 0);
    if (size < 8) return parseHeader(first, size, path);
    const n = new DataView(first.buffer).getBigUint64(0, true);
    // Let parseHeader report implausible or truncated lengths without reading them.
    const length = n > BigInt(MAX_HEADER_BYTES) || 8 + Number(n) > size ? 0 : Number(n);
    const prefix = new Uint8Array(8 + length);
    prefix.set(first);
    readSync(fd, prefix, 8, length, 8);
    return parseHeader(prefix, size, path);
  } finally {
    closeSync(fd);
  }
}

export function readSafetensors(path: string): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  checkPath(path, 'readSafetensors');
  return parseSafetensors(readUserFile(path), path);
}

function checkPath(path: unknown, caller: string): void {
  if (typeof path !== 'string' || path === '')
    throw new UserError(`${caller}: the path must be a string naming a file (got ${kindOf(path)})`);
}

function openFile(path: string): number {
  statUserFile(path);
  try {
    return openSync(path, 'r');
  } catch (e) {
    throw fileSystemError(e) ?? e;
  }
}

/** Writes a safetensors file atomically: readers never see a half-written file. */
export function writeSafetensors(
  path: string,
  tensors: Iterable<[string, { shape: number[]; data: EncodableData }]>,
  metadata?: Record<string, string>,
): void {
  checkPath(path, 'writeSafetensors');
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}
