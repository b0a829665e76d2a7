// `vit export`: ONNX that ONNX Runtime runs like vit-ts, Hugging Face folders that load back, layouts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InferenceSession, Tensor as OrtTensor } from './onnx-runtime.js';
import { readSafetensors, readSafetensorsHeader } from '../src/io/safetensors.js';
import { ViTForClassification } from '../src/model/vit.js';
import { getEngine } from '../src/runtime/engine.js';
import { loadCheckpoint } from '../src/weights/files.js';
import { CLI, assertClose, fixturesDir } from './helpers.js';

function vit(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, VIT_THREADS: '1' } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** vit-ts's logits for the model at `path` on the fixture's reference input. */
async function logitsOf(path: string, input: Float32Array, batch: number): Promise<Float32Array> {
  const { config, params } = loadCheckpoint(path);
  const model = await ViTForClassification.create(config, { engine: await getEngine({ threads: 1 }) });
  model.loadStateDict(params);
  model.setImages(input, batch);
  model.forward(batch);
  return model.readLogits();
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

function referenceInput(fixture: string): { input: Float32Array; shape: number[] } {
  const input = readSafetensors(join(fixturesDir, fixture, 'reference.safetensors')).tensors.get('input')!;
  return { input: input.data as Float32Array, shape: input.shape };
}

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'vit-export-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('--onnx: ONNX Runtime gives the logits vit-ts gives (seed fixture)', async () => {
  const out = join(dir, 'seed.onnx');
  const { status, stdout, stderr } = vit('export', '--model', join(fixturesDir, 'seed'), '--onnx', out);
  assert.equal(status, 0, stderr);
  assert.match(stdout, /seed\.onnx/);
  const { input, shape } = referenceInput('seed');
  const expected = await logitsOf(join(fixturesDir, 'seed'), input, shape[0]!);
  const session = await InferenceSession.create(new Uint8Array(readFileSync(out)));
  try {
    const result = await session.run({ pixel_values: new OrtTensor('float32', input, shape) });
    assertClose(result['logits']!.data as Float32Array, expected, 'ONNX Runtime logits against vit-ts');
  } finally {
    await session.release();
  }
});

test('--hf: the Hugging Face folder loads back with the same logits, class names and normalization', async () => {
  const out = join(dir, 'hf-model');
  const source = join(fixturesDir, 'hf-layout');
  const { status, stderr } = vit('export', '--model', source, '--hf', out);
  assert.equal(status, 0, stderr);
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(config['model_type'], 'vit');
  assert.deepEqual(config['architectures'], ['ViTForImageClassification']);
  assert.equal((config['id2label'] as Record<string, string>)['3'], 'cat');
  assert.ok(
    [...readSafetensorsHeader(join(out, 'model.safetensors')).entries.keys()].every(
      (n) => n.startsWith('vit.') || n.startsWith('classifier.'),
    ),
  );
  const preprocessor = JSON.parse(readFileSync(join(out, 'preprocessor_config.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(preprocessor['image_mean'], [0.5, 0.5, 0.5]);
  assert.deepEqual(preprocessor['size'], { height: 16, width: 16 });

  const { input, shape } = referenceInput('hf-layout');
  const before = await logitsOf(source, input, shape[0]!);
  const after = await logitsOf(out, input, shape[0]!);
  assert.ok(maxAbsDiff(after, before) === 0, 'the weights are copied exactly');
});

test('--hf refuses a seed model (no final LayerNorm), saying why, and writes nothing', () => {
  const out = join(dir, 'refused');
  const { status, stderr } = vit('export', '--model', join(fixturesDir, 'seed'), '--hf', out);
  assert.equal(status, 1);
  assert.match(
    stderr,
    /^vit: --hf .*refused: .*has no final LayerNorm .*ViTForImageClassification always applies one.*use --safetensors FILE .*or --onnx FILE\n$/,
  );
  assert.doesNotMatch(stderr, /\n\s+at /);
  assert.ok(!existsSync(out));
});

test('--safetensors with --layout fused writes the fused names, and they load back to the same parameters', () => {
  const out = join(dir, 'fused.safetensors');
  const { status, stderr } = vit('export', '--model', join(fixturesDir, 'seed'), '--safetensors', out, '--layout', 'fused');
  assert.equal(status, 0, stderr);
  const names = [...readSafetensorsHeader(out).entries.keys()];
  assert.ok(names.includes('encoder.blocks.0.attention.qkv_projection.weight'));
  assert.deepEqual(loadCheckpoint(out).params, loadCheckpoint(join(fixturesDir, 'seed')).params);
});

test('export needs exactly one target; --layout goes with --safetensors alone', () => {
  const model = join(fixturesDir, 'seed');
  const none = vit('export', '--model', model);
  assert.equal(none.status, 1);
  assert.match(none.stderr, /^vit: give exactly one of --onnx FILE, --hf DIR or --safetensors FILE/);
  const two = vit('export', '--model', model, '--onnx', join(dir, 'a.onnx'), '--hf', join(dir, 'b'));
  assert.equal(two.status, 1);
  const layout = vit('export', '--model', model, '--onnx', join(dir, 'a.onnx'), '--layout', 'fused');
  assert.match(layout.stderr, /^vit: --layout goes with --safetensors/);
  const name = vit('export', '--model', model, '--safetensors', join(dir, 'weights.bin'));
  assert.match(name.stderr, /must end in \.safetensors/);
  assert.ok(!existsSync(join(dir, 'a.onnx')));
});
