/**
 * The parsers that read untrusted bytes, as fast-check properties: whatever the input, each
 * either returns a result that holds together or throws a UserError of one line naming its
 * source; anything else (a TypeError, a RangeError, a hang, unbounded memory) is a finding.
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
import { IMAGE_BYTES, RECORD_BYTES, parseCifar10, parseClassNames } from '../../src/data/cifar10.js';
import { MAX_MEMBER_BYTES, extractMembers } from '../../src/data/download.js';
import { encodeSafetensors, parseSafetensors } from '../../src/io/safetensors-format.js';
import { CONFIG_KEYS, ENGINE_MAX_BYTES, SEED_CONFIG, type ViTConfig, activationFloatsPerImage, parameterCount } from '../../src/model/config.js';
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
  fc.record({
    dtype: fc.oneof(fc.constantFrom(...DTYPES), fc.constantFrom('F64', 'f32', '', 'BOOL')),
    shape: fc.oneof(
      fc.array(fc.nat(6), { maxLength: 4 }),
      fc.array(fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom(2 ** 31, 2 ** 53, 2 ** 60, 1.5, NaN)), { maxLength: 4 }),
    ),
    data_offsets: fc.oneof(fc.tuple(fc.nat(300), fc.nat(300)), fc.array(fc.integer({ min: -5, max: 2 ** 40 }), { maxLength: 3 })),
  }, { requiredKeys: [] }),
  fc.anything({ maxDepth: 2 }),
);

/** A header of hand-made entries over random data, with the right or a random length field. */
const handMadeFile = fc.record({
  entries: fc.dictionary(fc.string({ maxLength: 6 }), headerEntry, { maxKeys: 5 }),
  metadata: fc.option(fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.string({ maxLength: 8 }), fc.anything({ maxDepth: 1 })), { maxKeys: 3 })),
  data: fc.uint8Array({ maxLength: 400 }),
  length: fc.option(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), { freq: 4 }),
}).map(({ entries, metadata, data, length }) => {
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
const damagedValidFile = fc.record({
  tensors: fc.array(fc.record({ dtype: fc.constantFrom('F32', 'I64', 'I32', 'U8'), shape: fc.array(fc.nat(5), { maxLength: 3 }) }), { maxLength: 4 }),
  seed: fc.nat(),
  damage: fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 4 }),
  cut: fc.option(fc.nat()),
}).map(({ tensors, seed, damage, cut }) => {
  let x = seed;
  const bytes = encodeSafetensors(tensors.map(({ dtype, shape }, i): [string, { shape: number[]; data: Float32Array | BigInt64Array | Int32Array | Uint8Array }] => {
    const n = product(shape);
    const data = dtype === 'F32' ? new Float32Array(n) : dtype === 'I64' ? new BigInt64Array(n) : dtype === 'I32' ? new Int32Array(n) : new Uint8Array(n);
    const raw = new Uint8Array(data.buffer);
    for (let b = 0; b < raw.length; b++) raw[b] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
    return [`t${i}`, { shape, data }];
  }), { format: 'pt' });
  for (const [at, value] of damage) if (bytes.length > 0) bytes[at % bytes.length] = value;
  return cut === null ? bytes : bytes.subarray(0, cut % (bytes.length + 1));
});

const safetensors: FuzzTarget = {
  quickRuns: 400,
  property: (onCase) => fc.property(fc.oneof(handMadeFile, damagedValidFile, fc.uint8Array({ maxLength: 600 })), (bytes) => {
    onCase();
    const parsed = userErrorOr('fuzz.safetensors', () => parseSafetensors(bytes, 'fuzz.safetensors'));
    if (!parsed) return;
    let size = 0;
    for (const [name, t] of parsed.tensors) {
      assert.equal(t.data.length, product(t.shape), `tensor ${name}: values match its shape`);
      size += t.data.length * ITEM[t.dtype]!;
    }
    // What was read fits in the file: memory follows the input's size, not the header's claims.
    assert.ok(size <= bytes.length, `${size} bytes of tensors from a ${bytes.length}-byte file`);
  }),
};

// --- CIFAR-10 ------------------------------------------------------------------------------------

const cifarFile = fc.record({
  name: fc.constantFrom('data_batch_1.bin', 'test_batch.bin', 'x/data_batch_2.bin'),
  bytes: fc.oneof(
    fc.uint8Array({ maxLength: 2 * RECORD_BYTES + 5 }),
    fc.integer({ min: 0, max: 3 }).chain((n) => fc.uint8Array({ minLength: n * RECORD_BYTES, maxLength: n * RECORD_BYTES })),
  ),
});

const cifar10: FuzzTarget = {
  quickRuns: 150,
  property: (onCase) => fc.property(
    fc.array(cifarFile, { maxLength: 3 }),
    fc.oneof(fc.string({ maxLength: 200 }), fc.array(fc.constantFrom('cat', 'dog', ' ', '', '\r', '\n', 'é'), { maxLength: 300 }).map((l) => l.join('\n'))),
    (files, metaText) => {
      onCase();
      const names = userErrorOr('batches.meta.txt', () => parseClassNames(metaText, 'batches.meta.txt'));
      if (!names) return;
      assert.ok(names.length >= 1 && names.length <= 256);
      const set = userErrorOr('.bin', () => parseCifar10(files, names));
      if (!set) return;
      assert.equal(set.images.length, set.count * IMAGE_BYTES);
      assert.equal(set.labels.length, set.count);
      assert.equal(set.count * RECORD_BYTES, files.reduce((s, f) => s + f.bytes.length, 0));
      for (const label of set.labels) assert.ok(label < names.length, `label ${label} has a name`);
    },
  ),
};

// --- config.json and preprocessor_config.json -----------------------------------------------------

const CONFIG_VALUES = fc.oneof(
  fc.integer({ min: -2, max: 70 }), fc.constantFrom(0, 1, 2, 3, 4, 8, 16, 32, 64, 2 ** 20, 2 ** 31, 2 ** 53, 1e308, 0.5, -0.0),
  fc.double(), fc.boolean(), fc.constantFrom('gelu', 'gelu_new', 'gelu_pytorch_tanh', 'relu', 'vit', ''), fc.constant(null),
  fc.array(fc.oneof(fc.integer({ min: 0, max: 40 }), fc.string({ maxLength: 3 })), { maxLength: 3 }), fc.anything({ maxDepth: 1 }),
);
const CONFIG_NAMES = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...CONFIG_KEYS) },
  { weight: 2, arbitrary: fc.constantFrom('model_type', 'model', 'training', 'id2label', 'num_labels', 'hiden_size', '__proto__', 'constructor') },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
);
const configObject = fc.dictionary(CONFIG_NAMES, CONFIG_VALUES, { maxKeys: 12 });
/** A config.json: seed-style keys, a Hugging Face one (model_type "vit"), an experiment's ("model"), or any JSON. */
const configText = fc.oneof(
  configObject.map((o) => JSON.stringify(o)),
  configObject.map((o) => JSON.stringify({ ...o, model_type: 'vit' })),
  fc.tuple(configObject, fc.dictionary(fc.string({ maxLength: 4 }), fc.nat(), { maxKeys: 2 })).map(([o, id2label]) => JSON.stringify({ ...o, model_type: 'vit', id2label })),
  configObject.map((o) => JSON.stringify({ model: o, training: { epochs: 1 } })),
  fc.json({ maxDepth: 3 }),
  fc.string({ maxLength: 60 }),
);

/** A config that resolved must be one the engine can build. */
function assertBuildable(config: ViTConfig): void {
  for (const key of ['patch_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size', 'image_size', 'num_classes', 'num_channels'] as const) {
    assert.ok(Number.isInteger(config[key]) && config[key] > 0, `${key} ${config[key]}`);
  }
  assert.equal(config.hidden_size % config.num_attention_heads, 0);
  assert.equal(config.image_size % config.patch_size, 0);
  assert.ok(4 * (2 * parameterCount(config) + activationFloatsPerImage(config)) <= ENGINE_MAX_BYTES, 'fits in an engine');
  if (config.labels) assert.equal(config.labels.length, config.num_classes);
}

const configJson: FuzzTarget = {
  quickRuns: 400,
  property: (onCase) => fc.property(configText, (text) => {
    onCase();
    const fromFile = userErrorOr('config.json', () => interpretConfig(parseJsonObject(text, 'config.json'), 'config.json'));
    if (fromFile) assertBuildable(fromFile.config);
    const fromMetadata = userErrorOr('m.safetensors', () => configFromMetadata({ config: text }, 'm.safetensors'));
    if (fromMetadata) assertBuildable(fromMetadata);
  }),
};

const NUMBER_LISTS = fc.oneof(fc.double(), fc.array(fc.double(), { maxLength: 4 }), fc.array(fc.oneof(fc.double(), fc.string()), { maxLength: 3 }), fc.anything({ maxDepth: 1 }));
const preprocessorJson: FuzzTarget = {
  quickRuns: 300,
  property: (onCase) => fc.property(
    fc.oneof(
      fc.record({
        do_normalize: fc.oneof(fc.boolean(), fc.anything({ maxDepth: 0 })),
        image_mean: NUMBER_LISTS,
        image_std: NUMBER_LISTS,
        size: fc.oneof(fc.integer({ min: -3, max: 500 }), fc.double(), fc.record({ height: fc.double(), width: fc.double() }, { requiredKeys: [] }),
          fc.record({ shortest_edge: fc.oneof(fc.nat(300), fc.double()) }), fc.anything({ maxDepth: 1 })),
      }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
      fc.json({ maxDepth: 2 }),
    ),
    fc.constantFrom(1, 3),
    (text, channels) => {
      onCase();
      const config = { ...SEED_CONFIG, num_channels: channels };
      const parsed = userErrorOr('preprocessor_config.json', () => parsePreprocessor(parseJsonObject(text, 'preprocessor_config.json'), config, 'preprocessor_config.json'));
      if (!parsed) return;
      assert.equal(parsed.mean.length, channels);
      assert.equal(parsed.std.length, channels);
      for (const v of [...parsed.mean, ...parsed.std]) assert.ok(Number.isFinite(v), `finite normalization: ${v}`);
      for (const s of parsed.std) assert.ok(s !== 0, 'no division by a zero std');
      if (parsed.size !== undefined) assert.ok(Number.isInteger(parsed.size) && parsed.size > 0, `size ${parsed.size} is a side in pixels`);
    },
  ),
};

// --- the archive `vit data` extracts --------------------------------------------------------------

const MEMBER_NAMES = fc.oneof(
  fc.constantFrom('cifar-10-batches-bin/test_batch.bin', 'cifar-10-batches-bin/data_batch_1.bin', 'cifar-10-batches-bin/batches.meta.txt', 'cifar-10-batches-bin/'),
  fc.constantFrom('../escape.bin', '/abs.bin', 'cifar-10-batches-bin/../../up.bin', './cifar-10-batches-bin/readme.html', 'C:/x.bin', 'a\\..\\b'),
  fc.string({ maxLength: 20 }),
);

/** A tar of random members, perhaps with bytes of the tar overwritten (headers included), gzipped. */
const archive = fc.record({
  members: fc.array(fc.record({ name: MEMBER_NAMES, data: fc.uint8Array({ maxLength: 3000 }), type: fc.constantFrom('file', 'directory') }), { maxLength: 4 }),
  damage: fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 6 }),
  cut: fc.option(fc.nat(), { freq: 5 }),
  raw: fc.option(fc.uint8Array({ maxLength: 1200 }), { freq: 6 }),
}).map(({ members, damage, cut, raw }) => {
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
  property: (onCase) => fc.asyncProperty(archive, async (bytes) => {
    onCase();
    const root = mkdtempSync(join(tmpdir(), 'vit-fuzz-tar-'));
    try {
      const file = join(root, 'archive.tar.gz');
      writeFileSync(file, bytes);
      const staging = join(root, 'staging');
      await userErrorOrAsync('fuzz.tar.gz', () => extractMembers(file, staging, 'fuzz.tar.gz'));
      // Nothing is written outside the staging folder, and inside it only the known members, each within the cap.
      assert.deepEqual(readdirSync(root).filter((name) => name !== 'archive.tar.gz' && name !== 'staging'), []);
      if (readdirSync(root).includes('staging')) {
        for (const path of listFiles(staging)) {
          assert.match(relative(staging, join(staging, path)), /^cifar-10-batches-bin\/(data_batch_[1-5]\.bin|test_batch\.bin|batches\.meta\.txt|readme\.html)$/);
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
