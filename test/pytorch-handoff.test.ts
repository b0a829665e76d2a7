// The Node half of tools/pytorch/continue_in_pytorch.py, which npm test can run without Python: a
// model file vit-ts writes carries exactly the tensors PyTorch's seed modules hold (names, shapes,
// values of a PyTorch-written state_dict) and a config they read; vit-logits.mjs gives PyTorch's logits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSafetensors } from '../src/io/safetensors-format.js';
import { readSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { loadCheckpoint } from '../src/weights/files.js';
import { encodeModelFile } from '../src/weights/model-file.js';
import { assertClose, fixturesDir } from './helpers.js';

const VIT_LOGITS = fileURLToPath(new URL('../../tools/pytorch/vit-logits.mjs', import.meta.url));

for (const name of ['seed', 'hf-layout', 'patch8-h32-nobias']) {
  test(`${name}: the model file vit-ts writes is PyTorch's state_dict, its config readable by vit_model.py`, () => {
    const torchFile = readSafetensors(join(fixturesDir, name, 'weights.safetensors'));
    const { config, params } = loadCheckpoint(join(fixturesDir, name, 'weights.safetensors'));
    const written = parseSafetensors(encodeModelFile(config, params), 'model_final.safetensors');
    assert.deepEqual([...written.tensors.keys()].sort(), [...torchFile.tensors.keys()].sort());
    for (const [tensor, t] of torchFile.tensors) {
      assert.deepEqual(written.tensors.get(tensor)!.shape, t.shape, tensor);
      assert.deepEqual(written.tensors.get(tensor)!.data, t.data, tensor);
    }
    // vit_model.full_config reads these keys; the PyTorch side wrote the same values.
    const ours = JSON.parse(written.metadata['config']!) as Record<string, unknown>;
    const theirs = JSON.parse(torchFile.metadata['config']!) as Record<string, unknown>;
    for (const [key, value] of Object.entries(theirs)) assert.deepEqual(ours[key], value, key);
  });
}

test("vit-logits.mjs (the script continue_in_pytorch.py calls) gives PyTorch's logits", () => {
  const dir = mkdtempSync(join(tmpdir(), 'vit-handoff-'));
  try {
    const { tensors: ref } = readSafetensors(join(fixturesDir, 'hf-layout', 'reference.safetensors'));
    const input = ref.get('input')!;
    writeSafetensors(join(dir, 'input.safetensors'), [['input', { shape: input.shape, data: input.data as Float32Array }]]);
    const r = spawnSync(
      process.execPath,
      [VIT_LOGITS, join(fixturesDir, 'hf-layout'), join(dir, 'input.safetensors'), join(dir, 'logits.safetensors')],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    const logits = readSafetensors(join(dir, 'logits.safetensors')).tensors.get('logits')!;
    assert.deepEqual(logits.shape, ref.get('logits')!.shape);
    assertClose(logits.data as Float32Array, ref.get('logits')!.data as Float32Array, 'logits');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
