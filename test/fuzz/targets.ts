/**
 * The parsers that read untrusted bytes, as fast-check properties: whatever the input, each
 * either throws a UserError of one line naming its source, or returns a result that satisfies the
 * format's invariants, checked by code here that reads the input itself (the oracle); anything else
 * (a TypeError, a RangeError, an accepted file that breaks the format, a hang, unbounded memory) is
 * a finding. Besides random bytes, the generators mutate valid files in one place (a shape whose
 * dimensions still multiply to the tensor's size, a tensor moved, a label past the class count), so
 * that cases get past the first checks to the deep ones.
 * Used by `npm run fuzz` (fuzz.ts, for minutes) and by fuzz.test.ts (a few seconds, fixed seed).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { createTar } from 'nanotar';
import { UserError } from '../../src/errors.js';
import { IMAGE_BYTES, type ImageSet, RECORD_BYTES, parseCifar10, parseClassNames } from '../../src/data/cifar10.js';
import { MAX_MEMBER_BYTES, extractMembers } from '../../src/data/download.js';
import { encodeSafetensors, parseSafetensors } from '../../src/io/safetensors-format.js';
import {
  CONFIG_KEYS,
  ENGINE_MAX_BYTES,
  SEED_CONFIG,
  type ViTConfig,
  activationFloatsPerImage,
  parameterCount,
} from '../../src/model/config.js';
import { configFromMetadata, interpretConfig, parseJsonObject, parsePreprocessor } from '../../src/weights/model-config.js';

export interface FuzzTarget {
  /** The property; `onCase` is called as each case starts (the fuzz runner's sign of life). */
  property: (onCase: () => void) => fc.IRawProperty<unknown[]>;
  /** Cases for the short run in `npm test`. */
  quickRuns: number;
}

/** Runs `parse`; a UserError must be one line that names `source`; any other error is a finding. */
function userErrorOr<T>(source: string, parse: () => T): T | undefined {
  try {
    return parse();
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    assert.ok(e.message.includes(source), `the message names ${source}: ${e.message}`);
    assert.ok(!e.message.includes('\n'), `one line: ${JSON.stringify(e.message)}`);
    return undefined;
  }
}

async function userErrorOrAsync(source: string, parse: () => Promise<void>): Promise<void> {
  try {
    await parse();
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    assert.ok(e.message.includes(source), `the message names ${source}: ${e.message}`);
    assert.ok(!e.message.includes('\n'), `one line: ${JSON.stringify(e.message)}`);
  }
}

const product = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

// --- safetensors ---------------------------------------------------------------------------------

const DTYPES = ['F32', 'F16', 'BF16', 'I64', 'I32', 'U8'] as const;
const ITEM: Record<string, number> = { F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, U8: 1 };

/** A header entry, often well-formed, sometimes anything at all. */
const headerEntry = fc.oneof(
  fc.record(
    {
      dtype: fc.oneof(fc.constantFrom(...DTYPES), fc.constantFrom('F64', 'f32', '', 'BOOL')),
      shape: fc.oneof(
        fc.array(fc.nat(6), { maxLength: 4 }),
        fc.array(fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom(2 ** 31, 2 ** 53, 2 ** 60, 1.5, NaN)), { maxLength: 4 }),
      ),
      data_offsets: fc.oneof(fc.tuple(fc.nat(300), fc.nat(300)), fc.array(fc.integer({ min: -5, max: 2 ** 40 }), { maxLength: 3 })),
    },
    { requiredKeys: [] },
  ),
  fc.anything({ maxDepth: 2 }),
);

/** A header of hand-made entries over random data, with the right or a random length field. */
const handMadeFile = fc
  .record({
    entries: fc.dictionary(fc.string({ maxLength: 6 }), headerEntry, { maxKeys: 5 }),
    metadata: fc.option(
      fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.string({ maxLength: 8 }), fc.anything({ maxDepth: 1 })), { maxKeys: 3 }),
    ),
    data: fc.uint8Array({ maxLength: 400 }),
    length: fc.option(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), { freq: 4 }),
  })
  .map(({ entries, metadata, data, length }) => {
    const header: Record<string, unknown> = { ...entries };
    if (metadata !== null) header['__metadata__'] = metadata;
    const json = new TextEncoder().encode(JSON.stringify(header));
    const out = new Uint8Array(8 + json.length + data.length);
    new DataView(out.buffer).setBigUint64(0, length ?? BigInt(json.length), true);
    out.set(json, 8);
    out.set(data, 8 + json.length);
    return out;
  });

/** A valid file of random tensors (every dtype), then perhaps damaged: bytes overwritten or cut. */
const damagedValidFile = fc
  .record({
    tensors: fc.array(fc.record({ dtype: fc.constantFrom('F32', 'I64', 'I32', 'U8'), shape: fc.array(fc.nat(5), { maxLength: 3 }) }), {
      maxLength: 4,
    }),
    seed: fc.nat(),
    damage: fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 4 }),
    cut: fc.option(fc.nat()),
  })
  .map(({ tensors, seed, damage, cut }) => {
    let x = seed;
    const bytes = encodeSafetensors(
      tensors.map(({ dtype, shape }, i): [string, { shape: number[]; data: Float32Array | BigInt64Array | Int32Array | Uint8Array }] => {
        const n = product(shape);
        const data =
          dtype === 'F32'
            ? new Float32Array(n)
            : dtype === 'I64'
              ? new BigInt64Array(n)
              : dtype === 'I32'
                ? new Int32Array(n)
                : new Uint8Array(n);
        const raw = new Uint8Array(data.buffer);
        for (let b = 0; b < raw.length; b++) raw[b] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
        return [`t${i}`, { shape, data }];
      }),
      { format: 'pt' },
    );
    for (const [at, value] of damage) if (bytes.length > 0) bytes[at % bytes.length] = value;
    return cut === null ? bytes : bytes.subarray(0, cut % (bytes.length + 1));
  });

/** A valid file, written here (not by encodeSafetensors): its header as an object, to be mutated, and its data. */
interface ValidFile {
  header: Record<string, Record<string, unknown>>;
  metadata: Record<string, unknown> | null;
  data: Uint8Array;
}

const validFile = fc
  .record({
    tensors: fc.array(fc.record({ dtype: fc.constantFrom(...DTYPES), shape: fc.array(fc.nat(4), { maxLength: 3 }) }), {
      minLength: 1,
      maxLength: 4,
    }),
    metadata: fc.option(fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 6 }), { maxKeys: 2 })),
    seed: fc.nat(),
  })
  .map(({ tensors, metadata, seed }): ValidFile => {
    const header: Record<string, Record<string, unknown>> = {};
    let offset = 0;
    tensors.forEach(({ dtype, shape }, i) => {
      const size = product(shape) * ITEM[dtype]!;
      header[`t${i}`] = { dtype, shape, data_offsets: [offset, offset + size] };
      offset += size;
    });
    let x = seed;
    const data = Uint8Array.from({ length: offset }, () => (x = (x * 1103515245 + 12345) >>> 0) >>> 24);
    return { header, metadata, data };
  });

/** Dimensions that are not whole numbers ≥ 0 but multiply to `n` (as a parser's product() would see them). */
const badShapesOfProduct = (n: number): unknown[][] => [
  [-1, -n],
  [n, -1, -1],
  [0.5, 2 * n],
  [2 * n, 0.5],
  [String(n)],
  [true, n],
  [n, '1'],
  [n, 1, 0.25, 4],
  [-0.5, -2 * n],
];

/** One change to a valid file's header, length field or data: mostly what a file damaged in one place holds. */
type Mutation = (file: ValidFile, bytes: { length: bigint | null; data: Uint8Array }) => void;
const pick = <T>(items: T[], i: number): T => items[i % items.length]!;
const entryOf = (file: ValidFile, i: number): Record<string, unknown> => pick(Object.values(file.header), i);
/** A shape whose dimensions still multiply to the tensor's size: only the dimension check can refuse it. */
const sameSizeBadShape = fc.tuple(fc.nat(), fc.nat()).map(([i, j]): Mutation => (file) => {
  const entry = entryOf(file, i);
  const shape = entry['shape'];
  entry['shape'] = pick(badShapesOfProduct(Array.isArray(shape) ? product(shape as number[]) : 1), j);
});
const otherMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc
    .tuple(fc.nat(), fc.constantFrom<unknown>([-1], [1.5], [null], [2 ** 60], [2 ** 53, 0], 'x', null, [[2]], {}))
    .map(([i, shape]): Mutation => (file) => {
      entryOf(file, i)['shape'] = shape;
    }),
  fc.tuple(fc.nat(), fc.constantFrom<unknown>(...DTYPES, 'F64', 'BOOL', 'f32', '', 7, null)).map(([i, dtype]): Mutation => (file) => {
    entryOf(file, i)['dtype'] = dtype;
  }),
  fc.tuple(fc.nat(), fc.nat(1), fc.integer({ min: -9, max: 9 })).map(([i, k, delta]): Mutation => (file) => {
    const entry = entryOf(file, i);
    if (!Array.isArray(entry['data_offsets'])) return;
    const offsets = [...(entry['data_offsets'] as number[])];
    offsets[k] = offsets[k]! + delta;
    entry['data_offsets'] = offsets;
  }),
  fc
    .tuple(fc.nat(), fc.constantFrom<unknown>([2 ** 53, 2 ** 53], [0.5, 1.5], ['0', '4'], [0], [0, 0, 0], [-4, 0], [1e300, 1e300], null))
    .map(([i, offsets]): Mutation => (file) => {
      entryOf(file, i)['data_offsets'] = offsets;
    }),
  fc.tuple(fc.nat(), fc.integer({ min: -4, max: 4 })).map(([i, delta]): Mutation => (file, bytes) => {
    // a tensor and those after it move by delta bytes, the data grown or cut to match: a gap or an overlap
    const offsets = entryOf(file, i)['data_offsets'];
    if (!Array.isArray(offsets) || typeof offsets[0] !== 'number') return;
    const from = offsets[0];
    for (const entry of Object.values(file.header)) {
      const o = entry['data_offsets'];
      if (Array.isArray(o) && typeof o[0] === 'number' && typeof o[1] === 'number' && o[0] >= from)
        entry['data_offsets'] = [o[0] + delta, o[1] + delta];
    }
    bytes.data =
      delta < 0
        ? bytes.data.subarray(0, Math.max(0, bytes.data.length + delta))
        : Uint8Array.from([...bytes.data, ...Array<number>(delta).fill(0)]);
  }),
  fc.tuple(fc.nat(), fc.nat()).map(([i, j]): Mutation => (file) => {
    // two tensors trade places in the data: still valid when their sizes agree
    const a = entryOf(file, i);
    const b = entryOf(file, j);
    [a['data_offsets'], b['data_offsets']] = [b['data_offsets'], a['data_offsets']];
  }),
  fc.tuple(fc.nat(), fc.string({ maxLength: 3 })).map(([i, name]): Mutation => (file) => {
    file.header[name] = { ...entryOf(file, i) };
  }),
  fc.tuple(fc.nat(), fc.constantFrom('dtype', 'shape', 'data_offsets')).map(([i, key]): Mutation => (file) => {
    delete entryOf(file, i)[key];
  }),
  fc.constantFrom<unknown>(7, 'x', [], { a: 1 }, { a: null }, []).map((metadata): Mutation => (file) => {
    file.metadata = metadata as Record<string, unknown>;
  }),
  fc.integer({ min: -9, max: 9 }).map((delta): Mutation => (_file, bytes) => {
    bytes.length = (bytes.length ?? 0n) + BigInt(delta);
  }),
  fc.tuple(fc.integer({ min: -9, max: 9 }), fc.nat(255)).map(([delta, value]): Mutation => (_file, bytes) => {
    bytes.data =
      delta < 0
        ? bytes.data.subarray(0, Math.max(0, bytes.data.length + delta))
        : Uint8Array.from([...bytes.data, ...Array<number>(delta).fill(value)]);
  }),
);

const mutation = fc.oneof({ weight: 1, arbitrary: sameSizeBadShape }, { weight: 3, arbitrary: otherMutation });

/** A valid file with structured mutations, mostly one: the cases that get past the first checks to the deep ones. */
const mutatedValidFile = fc
  .record({
    file: validFile,
    mutations: fc.oneof(
      { weight: 3, arbitrary: fc.tuple(mutation) },
      { weight: 1, arbitrary: fc.array(mutation, { minLength: 2, maxLength: 3 }) },
    ),
    padding: fc.nat(7),
  })
  .map(({ file, mutations, padding }) => {
    const copy: ValidFile = { header: structuredClone(file.header), metadata: structuredClone(file.metadata), data: file.data };
    const bytes = { length: null as bigint | null, data: file.data };
    for (const mutate of mutations) mutate(copy, bytes);
    const header: Record<string, unknown> = { ...copy.header };
    if (copy.metadata !== null) header['__metadata__'] = copy.metadata;
    const json = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(padding));
    const out = new Uint8Array(8 + json.length + bytes.data.length);
    new DataView(out.buffer).setBigUint64(
      0,
      BigInt.asUintN(64, bytes.length === null ? BigInt(json.length) : BigInt(json.length) + bytes.length),
      true,
    );
    out.set(json, 8);
    out.set(bytes.data, 8 + json.length);
    return out;
  });

/** An IEEE half's value, by assembling the float32 bits (the parser computes it arithmetically). */
function halfBitsToFloat(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return (sign ? -1 : 1) * mantissa * 2 ** -24;
  const bits = exponent === 0x1f ? sign | 0x7f800000 | (mantissa << 13) : sign | ((exponent - 15 + 127) << 23) | (mantissa << 13);
  return new Float32Array(new Uint32Array([bits >>> 0]).buffer)[0]!;
}

/**
 * The format's invariants, read from the bytes here without the parser: whatever parseSafetensors
 * accepts has a JSON header of entries whose dtype is known, whose dimensions are whole numbers ≥ 0,
 * whose offsets hold exactly the shape's bytes and tile the data section; and the tensors it returns
 * are those entries, with the values at those offsets.
 */
function assertValidSafetensors(bytes: Uint8Array, parsed: ReturnType<typeof parseSafetensors>): void {
  assert.ok(bytes.length >= 8, 'at least the length field');
  const length = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  assert.ok(8n + length <= BigInt(bytes.length), `a header of ${length} bytes fits in ${bytes.length}`);
  const dataStart = 8 + Number(length);
  const header: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart)));
  assert.ok(typeof header === 'object' && header !== null && !Array.isArray(header), 'the header is an object');
  const dataLength = bytes.length - dataStart;
  const spans: [number, number][] = [];
  let tensors = 0;
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      assert.ok(typeof entry === 'object' && entry !== null && !Array.isArray(entry), 'metadata is an object');
      for (const value of Object.values(entry)) assert.equal(typeof value, 'string', 'metadata values are strings');
      assert.deepEqual(parsed.metadata, entry);
      continue;
    }
    tensors++;
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    assert.ok(typeof dtype === 'string' && Object.hasOwn(ITEM, dtype), `tensor ${name}: dtype ${String(dtype)} is known`);
    assert.ok(
      Array.isArray(shape) && shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0),
      `tensor ${name}: each dimension is a whole number ≥ 0: ${JSON.stringify(shape)}`,
    );
    assert.ok(
      Array.isArray(offsets) && offsets.length === 2 && offsets.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0),
      `tensor ${name}: data_offsets ${JSON.stringify(offsets)} are two whole numbers ≥ 0`,
    );
    const [begin, end] = offsets as [number, number];
    assert.ok(begin <= end && end <= dataLength, `tensor ${name}: [${begin}, ${end}] lies inside the ${dataLength} data bytes`);
    assert.equal(end - begin, product(shape as number[]) * ITEM[dtype]!, `tensor ${name}: its bytes are its shape's`);
    spans.push([begin, end]);
    const tensor = parsed.tensors.get(name);
    assert.ok(tensor, `tensor ${name} is returned`);
    assert.equal(tensor.dtype, dtype);
    assert.deepEqual(tensor.shape, shape);
    assert.equal(tensor.data.length, product(shape as number[]), `tensor ${name}: values match its shape`);
    const stored = bytes.subarray(dataStart + begin, dataStart + end);
    if (dtype === 'F16' || dtype === 'BF16') {
      const view = new DataView(stored.buffer, stored.byteOffset, stored.byteLength);
      for (let i = 0; i < tensor.data.length; i++) {
        const half = view.getUint16(2 * i, true);
        const expected = dtype === 'BF16' ? new Float32Array(new Uint32Array([(half << 16) >>> 0]).buffer)[0]! : halfBitsToFloat(half);
        assert.ok(
          Object.is(tensor.data[i], expected) || (Number.isNaN(tensor.data[i]) && Number.isNaN(expected)),
          `tensor ${name}[${i}]: ${tensor.data[i]} is ${expected}`,
        );
      }
    } else {
      assert.deepEqual(
        new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength),
        new Uint8Array(stored),
        `tensor ${name}: its values are its bytes`,
      );
    }
  }
  assert.equal(parsed.tensors.size, tensors, 'one tensor per entry');
  // The entries tile the data section: no gap, overlap or trailing bytes.
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let covered = 0;
  for (const [begin, end] of spans) {
    assert.equal(begin, covered, `the data from ${covered} is one tensor's`);
    covered = end;
  }
  assert.equal(covered, dataLength, 'the tensors cover the data');
}

const safetensors: FuzzTarget = {
  quickRuns: 400,
  property: (onCase) =>
    fc.property(
      fc.oneof(
        { weight: 2, arbitrary: handMadeFile },
        { weight: 2, arbitrary: damagedValidFile },
        { weight: 5, arbitrary: mutatedValidFile },
        { weight: 1, arbitrary: fc.uint8Array({ maxLength: 600 }) },
      ),
      (bytes) => {
        onCase();
        const parsed = userErrorOr('fuzz.safetensors', () => parseSafetensors(bytes, 'fuzz.safetensors'));
        if (parsed) assertValidSafetensors(bytes, parsed);
      },
    ),
};

// --- CIFAR-10 ------------------------------------------------------------------------------------

const cifarFile = fc.record({
  name: fc.constantFrom('data_batch_1.bin', 'test_batch.bin', 'x/data_batch_2.bin'),
  bytes: fc.oneof(
    fc.uint8Array({ maxLength: 2 * RECORD_BYTES + 5 }),
    fc.integer({ min: 0, max: 3 }).chain((n) => fc.uint8Array({ minLength: n * RECORD_BYTES, maxLength: n * RECORD_BYTES })),
  ),
});
const metaText = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.array(fc.constantFrom('cat', 'dog', ' ', '', '\r', '\n', 'é'), { maxLength: 300 }).map((l) => l.join('\n')),
);

/**
 * A valid split (files of whole records, labels below the class count, batches.meta.txt naming the
 * classes with blank lines, spaces and CRLFs about), then perhaps damaged where the deep checks look:
 * a label set at or past the class count, a file cut or grown by a few bytes, a name dropped.
 */
const structuredSplit = fc
  .record({
    classes: fc.integer({ min: 1, max: 12 }),
    files: fc.array(
      fc.record({ name: fc.constantFrom('data_batch_1.bin', 'test_batch.bin'), records: fc.integer({ min: 1, max: 3 }), seed: fc.nat() }),
      { minLength: 1, maxLength: 3 },
    ),
    spacing: fc.constantFrom('\n', '\r\n', '\n\n', '  \n '),
    damage: fc.option(
      fc.oneof(
        fc.record({ label: fc.tuple(fc.nat(), fc.nat(), fc.constantFrom(-1, 0, 1, 200)) }),
        fc.record({ resize: fc.tuple(fc.nat(), fc.integer({ min: -3, max: 3 })) }),
        fc.record({ dropName: fc.constant(true) }),
      ),
      { freq: 3 },
    ),
  })
  .map(({ classes, files, spacing, damage }) => {
    const made = files.map(({ name, records, seed }) => {
      let x = seed;
      const bytes = Uint8Array.from({ length: records * RECORD_BYTES }, () => (x = (x * 1103515245 + 12345) >>> 0) >>> 24);
      for (let r = 0; r < records; r++) bytes[r * RECORD_BYTES] = bytes[r * RECORD_BYTES]! % classes;
      return { name, bytes };
    });
    let names = Array.from({ length: classes }, (_, i) => `class ${i}`);
    if (damage !== null && 'label' in damage) {
      const [f, r, offset] = damage.label;
      const file = made[f % made.length]!;
      file.bytes[(r % (file.bytes.length / RECORD_BYTES)) * RECORD_BYTES] = Math.min(255, Math.max(0, classes + offset));
    } else if (damage !== null && 'resize' in damage) {
      const [f, delta] = damage.resize;
      const file = made[f % made.length]!;
      file.bytes =
        delta < 0 ? file.bytes.subarray(0, file.bytes.length + delta) : Uint8Array.from([...file.bytes, ...Array<number>(delta).fill(7)]);
    } else if (damage !== null && 'dropName' in damage && classes > 1) {
      names = names.slice(0, -1);
    }
    return { files: made, metaText: ` ${names.join(` ${spacing} `)}${spacing}` };
  });

/**
 * What parseClassNames and parseCifar10 accept, checked against the bytes here: 1 to 256 names,
 * each a non-blank line without surrounding spaces; every file whole records; the set is the
 * records in file order, each label the record's first byte and below the class count.
 */
function assertValidSplit(files: readonly { name: string; bytes: Uint8Array }[], names: string[], set: ImageSet): void {
  assert.deepEqual(set.classNames, names);
  let count = 0;
  for (const { name, bytes } of files) {
    assert.ok(bytes.length > 0 && bytes.length % RECORD_BYTES === 0, `${name}: ${bytes.length} bytes are whole records`);
    count += bytes.length / RECORD_BYTES;
  }
  assert.equal(set.count, count);
  assert.equal(set.images.length, count * IMAGE_BYTES);
  assert.equal(set.labels.length, count);
  let k = 0;
  for (const { bytes } of files) {
    for (let at = 0; at < bytes.length; at += RECORD_BYTES, k++) {
      assert.equal(set.labels[k], bytes[at], `record ${k}: its label is its first byte`);
      assert.ok(bytes[at]! < names.length, `record ${k}: label ${bytes[at]} names one of ${names.length} classes`);
      assert.deepEqual(
        set.images.subarray(k * IMAGE_BYTES, (k + 1) * IMAGE_BYTES),
        bytes.subarray(at + 1, at + RECORD_BYTES),
        `record ${k}: its image`,
      );
    }
  }
}

function assertValidNames(text: string, names: string[]): void {
  assert.ok(names.length >= 1 && names.length <= 256, `${names.length} names`);
  for (const name of names) {
    assert.ok(name.length > 0 && name === name.trim() && !/[\r\n]/.test(name), `name ${JSON.stringify(name)} is a non-blank line, trimmed`);
    assert.ok(text.includes(name), `name ${JSON.stringify(name)} is in the file`);
  }
}

const cifar10: FuzzTarget = {
  quickRuns: 150,
  property: (onCase) =>
    fc.property(
      fc.oneof(
        { weight: 1, arbitrary: fc.record({ files: fc.array(cifarFile, { maxLength: 3 }), metaText }) },
        { weight: 2, arbitrary: structuredSplit },
      ),
      ({ files, metaText: text }) => {
        onCase();
        const names = userErrorOr('batches.meta.txt', () => parseClassNames(text, 'batches.meta.txt'));
        if (!names) return;
        assertValidNames(text, names);
        const set = userErrorOr('.bin', () => parseCifar10(files, names));
        if (set) assertValidSplit(files, names, set);
      },
    ),
};

// --- config.json and preprocessor_config.json -----------------------------------------------------

const CONFIG_VALUES = fc.oneof(
  fc.integer({ min: -2, max: 70 }),
  fc.constantFrom(0, 1, 2, 3, 4, 8, 16, 32, 64, 2 ** 20, 2 ** 31, 2 ** 53, 1e308, 0.5, -0.0),
  fc.double(),
  fc.boolean(),
  fc.constantFrom('gelu', 'gelu_new', 'gelu_pytorch_tanh', 'relu', 'vit', ''),
  fc.constant(null),
  fc.array(fc.oneof(fc.integer({ min: 0, max: 40 }), fc.string({ maxLength: 3 })), { maxLength: 3 }),
  fc.anything({ maxDepth: 1 }),
);
const CONFIG_NAMES = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...CONFIG_KEYS) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('model_type', 'model', 'training', 'id2label', 'num_labels', 'hiden_size', '__proto__', 'constructor'),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
);
const configObject = fc.dictionary(CONFIG_NAMES, CONFIG_VALUES, { maxKeys: 12 });
/** A config.json: seed-style keys, a Hugging Face one (model_type "vit"), an experiment's ("model"), or any JSON. */
const configText = fc.oneof(
  configObject.map((o) => JSON.stringify(o)),
  configObject.map((o) => JSON.stringify({ ...o, model_type: 'vit' })),
  fc
    .tuple(configObject, fc.dictionary(fc.string({ maxLength: 4 }), fc.nat(), { maxKeys: 2 }))
    .map(([o, id2label]) => JSON.stringify({ ...o, model_type: 'vit', id2label })),
  configObject.map((o) => JSON.stringify({ model: o, training: { epochs: 1 } })),
  fc.json({ maxDepth: 3 }),
  fc.string({ maxLength: 60 }),
);

/** A config that resolved must be one the engine can build. */
function assertBuildable(config: ViTConfig): void {
  for (const key of [
    'patch_size',
    'hidden_size',
    'num_hidden_layers',
    'num_attention_heads',
    'intermediate_size',
    'image_size',
    'num_classes',
    'num_channels',
  ] as const) {
    assert.ok(Number.isInteger(config[key]) && config[key] > 0, `${key} ${config[key]}`);
  }
  assert.equal(config.hidden_size % config.num_attention_heads, 0);
  assert.equal(config.image_size % config.patch_size, 0);
  assert.ok(4 * (2 * parameterCount(config) + activationFloatsPerImage(config)) <= ENGINE_MAX_BYTES, 'fits in an engine');
  if (config.labels) assert.equal(config.labels.length, config.num_classes);
}

const configJson: FuzzTarget = {
  quickRuns: 400,
  property: (onCase) =>
    fc.property(configText, (text) => {
      onCase();
      const fromFile = userErrorOr('config.json', () => interpretConfig(parseJsonObject(text, 'config.json'), 'config.json'));
      if (fromFile) assertBuildable(fromFile.config);
      const fromMetadata = userErrorOr('m.safetensors', () => configFromMetadata({ config: text }, 'm.safetensors'));
      if (fromMetadata) assertBuildable(fromMetadata);
    }),
};

const NUMBER_LISTS = fc.oneof(
  fc.double(),
  fc.array(fc.double(), { maxLength: 4 }),
  fc.array(fc.oneof(fc.double(), fc.string()), { maxLength: 3 }),
  fc.anything({ maxDepth: 1 }),
);
const preprocessorJson: FuzzTarget = {
  quickRuns: 300,
  property: (onCase) =>
    fc.property(
      fc.oneof(
        fc
          .record(
            {
              do_normalize: fc.oneof(fc.boolean(), fc.anything({ maxDepth: 0 })),
              image_mean: NUMBER_LISTS,
              image_std: NUMBER_LISTS,
              size: fc.oneof(
                fc.integer({ min: -3, max: 500 }),
                fc.double(),
                fc.record({ height: fc.double(), width: fc.double() }, { requiredKeys: [] }),
                fc.record({ shortest_edge: fc.oneof(fc.nat(300), fc.double()) }),
                fc.anything({ maxDepth: 1 }),
              ),
            },
            { requiredKeys: [] },
          )
          .map((o) => JSON.stringify(o)),
        fc.json({ maxDepth: 2 }),
      ),
      fc.constantFrom(1, 3),
      (text, channels) => {
        onCase();
        const config = { ...SEED_CONFIG, num_channels: channels };
        const parsed = userErrorOr('preprocessor_config.json', () =>
          parsePreprocessor(parseJsonObject(text, 'preprocessor_config.json'), config, 'preprocessor_config.json'),
        );
        if (!parsed) return;
        assert.equal(parsed.mean.length, channels);
        assert.equal(parsed.std.length, channels);
        for (const v of [...parsed.mean, ...parsed.std]) assert.ok(Number.isFinite(v), `finite normalization: ${v}`);
        for (const s of parsed.std) assert.ok(s !== 0, 'no division by a zero std');
        if (parsed.size !== undefined)
          assert.ok(Number.isInteger(parsed.size) && parsed.size > 0, `size ${parsed.size} is a side in pixels`);
      },
    ),
};

// --- the archive `vit data` extracts --------------------------------------------------------------

const MEMBER_NAMES = fc.oneof(
  fc.constantFrom(
    'cifar-10-batches-bin/test_batch.bin',
    'cifar-10-batches-bin/data_batch_1.bin',
    'cifar-10-batches-bin/batches.meta.txt',
    'cifar-10-batches-bin/',
  ),
  fc.constantFrom(
    '../escape.bin',
    '/abs.bin',
    'cifar-10-batches-bin/../../up.bin',
    './cifar-10-batches-bin/readme.html',
    'C:/x.bin',
    'a\\..\\b',
  ),
  fc.string({ maxLength: 20 }),
);

/** A tar of random members, perhaps with bytes of the tar overwritten (headers included), gzipped. */
const archive = fc
  .record({
    members: fc.array(
      fc.record({ name: MEMBER_NAMES, data: fc.uint8Array({ maxLength: 3000 }), type: fc.constantFrom('file', 'directory') }),
      { maxLength: 4 },
    ),
    damage: fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 6 }),
    cut: fc.option(fc.nat(), { freq: 5 }),
    raw: fc.option(fc.uint8Array({ maxLength: 1200 }), { freq: 6 }),
  })
  .map(({ members, damage, cut, raw }) => {
    if (raw !== null) return raw.length % 2 === 0 ? gzipSync(raw) : raw;
    const tar = createTar(members.map(({ name, data, type }) => (type === 'directory' ? { name } : { name, data })));
    for (const [at, value] of damage) if (tar.length > 0) tar[at % tar.length] = value;
    const gz = gzipSync(tar);
    return cut === null ? gz : gz.subarray(0, cut % (gz.length + 1));
  });

/** Every file under `dir`, relative to it. */
function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((p) => statSync(join(dir, p)).isFile());
}

const tarReader: FuzzTarget = {
  quickRuns: 40,
  property: (onCase) =>
    fc.asyncProperty(archive, async (bytes) => {
      onCase();
      const root = mkdtempSync(join(tmpdir(), 'vit-fuzz-tar-'));
      try {
        const file = join(root, 'archive.tar.gz');
        writeFileSync(file, bytes);
        const staging = join(root, 'staging');
        await userErrorOrAsync('fuzz.tar.gz', () => extractMembers(file, staging, 'fuzz.tar.gz'));
        // Nothing is written outside the staging folder, and inside it only the known members, each within the cap.
        assert.deepEqual(
          readdirSync(root).filter((name) => name !== 'archive.tar.gz' && name !== 'staging'),
          [],
        );
        if (readdirSync(root).includes('staging')) {
          for (const path of listFiles(staging)) {
            assert.match(
              relative(staging, join(staging, path)),
              /^cifar-10-batches-bin\/(data_batch_[1-5]\.bin|test_batch\.bin|batches\.meta\.txt|readme\.html)$/,
            );
            assert.ok(statSync(join(staging, path)).size <= MAX_MEMBER_BYTES);
          }
        }
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    }),
};

export const FUZZ_TARGETS: Record<string, FuzzTarget> = {
  safetensors,
  cifar10,
  'config.json': configJson,
  'preprocessor_config.json': preprocessorJson,
  tar: tarReader,
};
