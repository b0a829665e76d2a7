/**
 * The safetensors format: an 8-byte little-endian header length, a JSON header
 * ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}),
 * then the raw little-endian tensor bytes. Offsets count from the end of the header.
 * https://github.com/huggingface/safetensors#format
 */
import { UserError } from '../errors.js';
import { kindOf, quoteValue } from '../arguments.js';

export type DType = 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'U8';
export type TensorData = Float32Array | BigInt64Array | Int32Array | Uint8Array;

/** F16 and BF16 tensors are widened to a Float32Array; `dtype` still says what the file held. */
export interface Tensor {
  dtype: DType;
  shape: number[];
  data: TensorData;
}

export interface HeaderEntry {
  dtype: DType;
  shape: number[];
  /** Byte offsets into the data section (after the header). */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** Tensors in the order their bytes lie in the file. */
  entries: Map<string, HeaderEntry>;
  metadata: Record<string, string>;
  /** Where the data section starts in the file. */
  dataStart: number;
}

const ITEM_SIZE: Record<DType, number> = { F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, U8: 1 };
/** The reference implementation refuses headers over 100 MB; a bigger one is a corrupt length. */
export const MAX_HEADER_BYTES = 100_000_000;

const product = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const isDType = (d: unknown): d is DType => typeof d === 'string' && Object.hasOwn(ITEM_SIZE, d);

/**
 * Checks a header's JSON and offsets. `prefix` is the file's first 8 + n bytes (at least the
 * first 8), `fileSize` the whole file's size, so a truncated file is caught before its data is read.
 */
export function parseHeader(prefix: Uint8Array, fileSize: number, source: string): SafetensorsHeader {
  if (fileSize < 8) throw new UserError(`${source}: not a safetensors file (only ${fileSize} bytes, less than the 8-byte header length)`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) throw new UserError(`${source}: not a safetensors file (header length ${n} bytes is implausible)`);
  const headerLength = Number(n);
  if (8 + headerLength > fileSize) {
    throw new UserError(
      `${source}: truncated safetensors file (header says ${headerLength} bytes of JSON, the file has ${fileSize - 8} after the length)`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(prefix.subarray(8, 8 + headerLength)));
  } catch (e) {
    throw new UserError(`${source}: not a safetensors file (the header is not valid JSON: ${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new UserError(`${source}: not a safetensors file (the header is not a JSON object)`);
  }
  const dataStart = 8 + headerLength;
  const dataLength = fileSize - dataStart;
  const metadata: Record<string, string> = {};
  const entries: [string, HeaderEntry][] = [];
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new UserError(`${source}: "__metadata__" must be an object of strings`);
      }
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new UserError(`${source}: metadata key "${k}" must be a string (got ${quoteValue(v)})`);
        metadata[k] = v;
      }
      continue;
    }
    const bad = (why: string): never => {
      throw new UserError(`${source}: tensor "${name}": ${why}`);
    };
    if (typeof value !== 'object' || value === null) bad('header entry is not an object');
    const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
    if (!isDType(dtype)) bad(`unsupported dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(ITEM_SIZE).join(', ')})`);
    const dt = dtype as DType;
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      bad(`shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || offsets.some((o) => !Number.isSafeInteger(o) || o < 0)) {
      bad(`data_offsets ${JSON.stringify(offsets)} is not [begin, end]`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end) bad(`data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataLength) {
      bad(`data_offsets [${begin}, ${end}] run past the end of the file (${dataLength} data bytes; is the file truncated?)`);
    }
    const expected = product(shape as number[]) * ITEM_SIZE[dt];
    if (end - begin !== expected) {
      bad(`holds ${end - begin} bytes, but shape [${(shape as number[]).join(', ')}] of ${dt} needs ${expected}`);
    }
    entries.push([name, { dtype: dt, shape: shape as number[], begin, end }]);
  }
  entries.sort((a, b) => a[1].begin - b[1].begin || a[1].end - b[1].end);
  // As the reference reader: the tensors tile the data section exactly, with no overlap, gap or
  // trailing bytes (zero-sized tensors may share an offset).
  let covered = 0;
  let previous: string | undefined;
  const after = (): string => (previous === undefined ? 'the start of the data' : `tensor "${previous}"`);
  for (const [name, entry] of entries) {
    if (entry.begin < covered) throw new UserError(`${source}: tensors "${previous}" and "${name}" overlap in the file`);
    if (entry.begin > covered)
      throw new UserError(`${source}: ${entry.begin - covered} bytes between ${after()} and tensor "${name}" belong to no tensor`);
    covered = entry.end;
    previous = name;
  }
  if (covered !== dataLength) {
    throw new UserError(
      `${source}: ${dataLength - covered} bytes after ${after()} belong to no tensor (the header's data_offsets do not cover the file)`,
    );
  }
  return { entries: new Map(entries), metadata, dataStart };
}

/** Copies little-endian bytes into a typed array of the dtype (copying also fixes alignment). */
function decode(bytes: Uint8Array, dtype: DType): TensorData {
  // `new Uint8Array(view)` copies; Buffer#slice would not (and may share Node's buffer pool).
  const copy = new Uint8Array(bytes);
  const buffer = copy.buffer;
  switch (dtype) {
    case 'F32':
      return new Float32Array(buffer);
    case 'I64':
      return new BigInt64Array(buffer);
    case 'I32':
      return new Int32Array(buffer);
    case 'U8':
      return copy;
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const src = new Uint16Array(buffer);
      const bits = new Uint32Array(src.length);
      for (let i = 0; i < src.length; i++) bits[i] = src[i]! << 16;
      return new Float32Array(bits.buffer);
    }
    case 'F16': {
      const src = new Uint16Array(buffer);
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = halfToFloat(src[i]!);
      return out;
    }
  }
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

function readTensors(header: SafetensorsHeader, bytes: Uint8Array): Map<string, Tensor> {
  const tensors = new Map<string, Tensor>();
  for (const [name, e] of header.entries) {
    const slice = bytes.subarray(header.dataStart + e.begin, header.dataStart + e.end);
    tensors.set(name, { dtype: e.dtype, shape: [...e.shape], data: decode(slice, e.dtype) });
  }
  return tensors;
}

/** Parses a whole safetensors file held in memory (e.g. fetched in a browser). `source` names it in errors. */
export function parseSafetensors(bytes: Uint8Array, source: string): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  if (!(bytes instanceof Uint8Array)) throw new UserError(`parseSafetensors: bytes must be a Uint8Array (got ${kindOf(bytes)})`);
  const header = parseHeader(bytes, bytes.length, source);
  return { tensors: readTensors(header, bytes), metadata: header.metadata };
}

export type EncodableData = Float32Array | BigInt64Array | Int32Array | Uint8Array;

function dtypeOf(data: EncodableData): DType {
  if (data instanceof Float32Array) return 'F32';
  if (data instanceof BigInt64Array) return 'I64';
  if (data instanceof Int32Array) return 'I32';
  return 'U8';
}

/**
 * Encodes tensors in the order given. The dtype follows the array type (Float32Array → F32, etc.).
 * The header is padded with spaces to a multiple of 8 bytes, like the reference writers,
 * so the data that follows is aligned for zero-copy readers.
 */
export function encodeSafetensors(
  tensors: Iterable<[string, { shape: number[]; data: EncodableData }]>,
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header['__metadata__'] = { ...metadata };
  const blobs: Uint8Array[] = [];
  let offset = 0;
  for (const [name, { shape, data }] of tensors) {
    if (!(data instanceof Float32Array || data instanceof BigInt64Array || data instanceof Int32Array || data instanceof Uint8Array)) {
      throw new UserError(
        `encodeSafetensors: tensor "${name}" must hold a Float32Array, BigInt64Array, Int32Array or Uint8Array (got ${kindOf(data)})`,
      );
    }
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      throw new UserError(`encodeSafetensors: tensor "${name}" has shape ${JSON.stringify(shape)}, not a list of whole numbers ≥ 0`);
    }
    if (name === '__metadata__' || Object.hasOwn(header, name))
      throw new Error(`encodeSafetensors: duplicate or reserved tensor name "${name}"`);
    if (product(shape) !== data.length) {
      throw new Error(`encodeSafetensors: tensor "${name}" has ${data.length} values, shape [${shape.join(', ')}] needs ${product(shape)}`);
    }
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    header[name] = { dtype: dtypeOf(data), shape: [...shape], data_offsets: [offset, offset + bytes.length] };
    blobs.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  let jsonBytes = new TextEncoder().encode(json);
  json += ' '.repeat((8 - (jsonBytes.length % 8)) % 8);
  jsonBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + jsonBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(jsonBytes.length), true);
  out.set(jsonBytes, 8);
  let at = 8 + jsonBytes.length;
  for (const b of blobs) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}
