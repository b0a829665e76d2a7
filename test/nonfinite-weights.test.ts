// A model file whose weights hold NaN or infinity (a diverged run) is refused, naming the file and
// the tensor, by every way of loading a model: a path, files in memory, and loadStateDict.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../src/api.js';
import { UserError } from '../src/errors.js';
import { ViTForClassification } from '../src/model/vit.js';
import { getEngine } from '../src/runtime/engine.js';
import { encodeModelFile } from '../src/weights/model-file.js';
import { loadCheckpoint } from '../src/weights/files.js';
import { modelFromFiles } from '../src/weights/model-in-memory.js';
import { fixturesDir } from './helpers.js';

before(async () => {
  await getEngine({ threads: 1 });
});

test('NaN or infinite weights are a UserError naming the file, the tensor and the index', async () => {
  const { config, params } = loadCheckpoint(join(fixturesDir, 'seed'));
  const dir = mkdtempSync(join(tmpdir(), 'vit-nan-'));
  try {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const broken = new Map(params);
      const weight = broken.get('encoder.blocks.1.mlp.dense_1.weight')!.slice();
      weight[17] = bad;
      broken.set('encoder.blocks.1.mlp.dense_1.weight', weight);
      const bytes = encodeModelFile(config, broken);
      const file = join(dir, 'model.safetensors');
      writeFileSync(file, bytes);
      const named = (e: unknown): boolean =>
        e instanceof UserError && new RegExp(`"encoder\\.blocks\\.1\\.mlp\\.dense_1\\.weight" holds ${bad} at index 17`).test(e.message);
      assert.throws(
        () => loadCheckpoint(file),
        (e: unknown) => named(e) && (e as Error).message.startsWith(`${file}: `),
      );
      await assert.rejects(loadModel(file), named);
      assert.throws(
        () => modelFromFiles([{ name: 'upload.safetensors', bytes }]),
        (e: unknown) => named(e) && (e as Error).message.startsWith('upload.safetensors: '),
      );
      const model = await ViTForClassification.create(config);
      assert.throws(() => model.loadStateDict(broken), /tensor encoder\.blocks\.1\.mlp\.dense_1\.weight holds/);
      model.release();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
