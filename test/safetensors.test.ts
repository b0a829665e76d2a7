import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../src/errors.js';
import { encodeSafetensors, parseSafetensors, readSafetensors, readSafetensorsHeader, writeSafetensors } from '../src/io/safetensors.js';

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));

/** Builds a file by hand, to test what encodeSafetensors never writes. */
function rawFile(header: unknown, data: Uint8Array = new Uint8Array(0), headerText?: string): Uint8Array {
  const json = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

test('reads every fixture file with consistent dtypes and shapes', () => {
  let files = 0;
  for (const dir of readdirSync(FIXTURES)) {
    for (const file of readdirSync(join(FIXTURES, dir)).filter((f) => f.endsWith('.safetensors'))) {
      const path = join(FIXTURES, dir, file);
      const { tensors, metadata } = readSafetensors(path);
      assert.ok(tensors.size > 0, path);
      for (const [name, t] of tensors) {
        assert.equal(
          t.data.length,
          t.shape.reduce((a, b) => a * b, 1),
          `${path} ${name}`,
        );
        if (t.dtype === 'F32') assert.ok(t.data instanceof Float32Array);
        if (t.dtype === 'I64') assert.ok(t.data instanceof BigInt64Array);
      }
      const header = readSafetensorsHeader(path);
      assert.deepEqual([...header.entries.keys()], [...tensors.keys()]);
      assert.deepEqual(header.metadata, metadata);
      if (file === 'weights.safetensors') {
        const config = JSON.parse(metadata['config']!) as Record<string, unknown>;
        assert.deepEqual(config, JSON.parse(readFileSync(join(FIXTURES, dir, 'config.json'), 'utf8')));
      }
      files++;
    }
  }
  assert.ok(files >= 13);
});

test('the seed fixture holds the expected tensors', () => {
  const { tensors } = readSafetensors(join(FIXTURES, 'seed', 'reference.safetensors'));
  const input = tensors.get('input')!;
  assert.equal(input.dtype, 'F32');
  assert.deepEqual(input.shape.slice(1), [3, 32, 32]);
  const labels = tensors.get('labels')!;
  assert.equal(labels.dtype, 'I64');
  assert.ok(labels.data instanceof BigInt64Array);
  for (const l of labels.data as BigInt64Array) assert.ok(l >= 0n && l < 10n);
  assert.deepEqual(tensors.get('logits')!.shape, [input.shape[0], 10]);
});

test('encode → parse round-trips tensors and metadata, header padded to 8 bytes', () => {
  const a = Float32Array.from([1, -2.5, 3e-8, Infinity, -0]);
  const b = new Float32Array(0);
  const c = Float32Array.from({ length: 24 }, (_, i) => Math.fround(Math.sin(i)));
  const labels = BigInt64Array.from([0n, 9n, -1n]);
  const bytes = encodeSafetensors(
    [
      ['a', { shape: [5], data: a }],
      ['empty', { shape: [0, 3], data: b }],
      ['c', { shape: [2, 3, 4], data: c }],
      ['labels', { shape: [3], data: labels }],
    ],
    { config: '{"x":1}', note: 'ünïcode' },
  );
  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(headerLength % 8, 0);
  const { tensors, metadata } = parseSafetensors(bytes, 'memory');
  assert.deepEqual(metadata, { config: '{"x":1}', note: 'ünïcode' });
  assert.deepEqual([...tensors.keys()], ['a', 'empty', 'c', 'labels']);
  assert.deepEqual(tensors.get('a'), { dtype: 'F32', shape: [5], data: a });
  assert.deepEqual(tensors.get('empty'), { dtype: 'F32', shape: [0, 3], data: b });
  assert.deepEqual(tensors.get('c'), { dtype: 'F32', shape: [2, 3, 4], data: c });
  assert.deepEqual(tensors.get('labels'), { dtype: 'I64', shape: [3], data: labels });
});

test('re-encoding a fixture reproduces its tensors', () => {
  const path = join(FIXTURES, 'seed', 'weights.safetensors');
  const { tensors, metadata } = readSafetensors(path);
  const again = parseSafetensors(
    encodeSafetensors(
      [...tensors].map(([n, t]) => [n, { shape: t.shape, data: t.data as Float32Array }]),
      metadata,
    ),
    'again',
  );
  assert.deepEqual(again.tensors, tensors);
  assert.deepEqual(again.metadata, metadata);
});

test('writeSafetensors writes atomically and reads back', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vit-st-'));
  try {
    const path = join(dir, 'w.safetensors');
    writeSafetensors(path, [['w', { shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) }]], { k: 'v' });
    assert.deepEqual(readdirSync(dir), ['w.safetensors']);
    const { tensors, metadata } = readSafetensors(path);
    assert.deepEqual(tensors.get('w')!.data, Float32Array.from([1, 2, 3, 4]));
    assert.deepEqual(metadata, { k: 'v' });
    assert.throws(() => writeSafetensors(join(dir, 'no', 'such.safetensors'), []), UserError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('F16 and BF16 are widened to float32', () => {
  // 1.0, -2.0, 0.5, 65504 (max half), smallest subnormal half, +inf.
  const f16 = Uint16Array.from([0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x7c00]);
  // 1.0, -2.0, 3.140625 in bfloat16.
  const bf16 = Uint16Array.from([0x3f80, 0xc000, 0x4049]);
  const data = new Uint8Array(f16.byteLength + bf16.byteLength);
  data.set(new Uint8Array(f16.buffer), 0);
  data.set(new Uint8Array(bf16.buffer), f16.byteLength);
  const bytes = rawFile(
    {
      h: { dtype: 'F16', shape: [2, 3], data_offsets: [0, 12] },
      b: { dtype: 'BF16', shape: [3], data_offsets: [12, 18] },
    },
    data,
  );
  const { tensors } = parseSafetensors(bytes, 'half');
  assert.equal(tensors.get('h')!.dtype, 'F16');
  assert.deepEqual(tensors.get('h')!.data, Float32Array.from([1, -2, 0.5, 65504, 2 ** -24, Infinity]));
  assert.equal(tensors.get('b')!.dtype, 'BF16');
  assert.deepEqual(tensors.get('b')!.data, Float32Array.from([1, -2, 3.140625]));
});

test('truncated and corrupt files are UserErrors naming the file and tensor', () => {
  const good = encodeSafetensors([['weight', { shape: [4, 4], data: new Float32Array(16) }]]);
  const expectError = (bytes: Uint8Array, pattern: RegExp): void => {
    assert.throws(
      () => parseSafetensors(bytes, 'model.safetensors'),
      (e: unknown) => {
        assert.ok(e instanceof UserError, String(e));
        assert.match(e.message, /^model\.safetensors: /);
        assert.match(e.message, pattern);
        return true;
      },
    );
  };
  expectError(good.subarray(0, 5), /less than the 8-byte/);
  expectError(good.subarray(0, 20), /truncated/);
  expectError(good.subarray(0, good.length - 1), /"weight".*past the end/);
  const huge = good.slice();
  new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
  expectError(huge, /implausible/);
  expectError(rawFile(null, undefined, '{"weight": {'), /not valid JSON/);
  expectError(rawFile([1, 2]), /not a JSON object/);
  expectError(rawFile({ w: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)), /"w".*unsupported dtype "F64"/);
  expectError(rawFile({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)), /"w".*holds 8 bytes.*needs 12/);
  expectError(rawFile({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)), /"w".*shape/);
  expectError(rawFile({ w: { dtype: 'F32', shape: [1], data_offsets: [4] } }, new Uint8Array(4)), /"w".*data_offsets/);
  expectError(rawFile({ w: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, new Uint8Array(4)), /"w".*end before/);
  expectError(
    rawFile(
      {
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
      },
      new Uint8Array(12),
    ),
    /"a" and "b" overlap/,
  );
  expectError(rawFile({ __metadata__: { epoch: 3 } }), /metadata key "epoch"/);
});

test('file errors name the path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vit-st-'));
  try {
    assert.throws(() => readSafetensors(join(dir, 'missing.safetensors')), /missing\.safetensors: no such file/);
    assert.throws(
      () => readSafetensors(dir),
      (e: unknown) => e instanceof UserError && /is a folder/.test(e.message),
    );
    const path = join(dir, 'short.safetensors');
    writeFileSync(path, new Uint8Array([1, 2, 3]));
    assert.throws(() => readSafetensorsHeader(path), /short\.safetensors: not a safetensors file/);
    const truncated = join(dir, 'truncated.safetensors');
    writeFileSync(truncated, encodeSafetensors([['w', { shape: [8], data: new Float32Array(8) }]]).subarray(0, 40));
    assert.throws(() => readSafetensorsHeader(truncated), /truncated\.safetensors: truncated/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('offsets must tile the data exactly: gaps, trailing bytes and huge shapes are UserErrors naming the tensor', () => {
  const expectError = (bytes: Uint8Array, pattern: RegExp): void => {
    assert.throws(
      () => parseSafetensors(bytes, 'm.safetensors'),
      (e: unknown) => e instanceof UserError && pattern.test(e.message),
    );
  };
  // A gap between two tensors, and bytes after the last one, as the reference reader refuses them.
  expectError(
    rawFile(
      {
        a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
        b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
      },
      new Uint8Array(12),
    ),
    /^m\.safetensors: 4 bytes between tensor "a" and tensor "b" belong to no tensor/,
  );
  expectError(
    rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)),
    /^m\.safetensors: 4 bytes between the start of the data and tensor "a"/,
  );
  expectError(
    rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(8)),
    /^m\.safetensors: 4 bytes after tensor "a" belong to no tensor/,
  );
  expectError(rawFile({}, new Uint8Array(3)), /3 bytes after the start of the data belong to no tensor/);
  // A shape whose product overflows is a size mismatch, found before anything is allocated.
  expectError(
    rawFile({ w: { dtype: 'F32', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 4] } }, new Uint8Array(4)),
    /"w": holds 4 bytes, but shape/,
  );
  expectError(rawFile({ w: { dtype: 'F32', shape: [1.5], data_offsets: [0, 4] } }, new Uint8Array(4)), /"w": shape \[1.5\]/);
  // Zero-sized tensors may share an offset with a neighbour.
  const shared = rawFile(
    {
      e: { dtype: 'F32', shape: [0], data_offsets: [0, 0] },
      a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
    },
    new Uint8Array(4),
  );
  assert.deepEqual([...parseSafetensors(shared, 'm').tensors.keys()].sort(), ['a', 'e']);
});
