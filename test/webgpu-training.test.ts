// Training on the WebGPU engine against the WebAssembly engine: the same steps give the same losses
// (within 1e-3 relative over 30 steps), `vit train --backend webgpu` writes a model that `vit eval`
// (WebAssembly) scores as the run reported, the run continues on WebAssembly, and `--backend webgpu`
// without an adapter is one line and exit 1. In Node through Dawn on SwiftShader (correctness only,
// never timings); without an adapter these skip with a line, unless VIT_WEBGPU_REQUIRED=1 (CI).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { readCifar10 } from '../src/data/cifar10-files.js';
import { sampleDataDir } from '../src/data/location.js';
import { type Engine, createEngine } from '../src/runtime/engine.js';
import { CLI } from './helpers.js';
import { openTestEngine } from './webgpu-helpers.js';
import { TRAINING_CONFIG, checkLossesTrack, startTraining } from './webgpu-model-cases.js';

const gpu = await openTestEngine();
const STEPS = 30;
const BATCH = 16;
const CONFIG = TRAINING_CONFIG;

/** Each step's mean loss over STEPS steps of the shared training run (test/webgpu-model-cases.ts) on `engine`. */
async function stepLosses(engine: Engine): Promise<number[]> {
  const run = await startTraining(engine, readCifar10(sampleDataDir(), 'train'), BATCH);
  const losses: number[] = [];
  try {
    for (let step = 0; step < STEPS; step++) losses.push(await run.step());
  } finally {
    run.release();
  }
  return losses;
}

function vit(args: string[], env: NodeJS.ProcessEnv = process.env): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env, timeout: 600_000 });
}

describe('training on WebGPU', { skip: gpu.skip }, () => {
  after(() => gpu.engine?.close());

  test(`${STEPS} training steps on WebGPU track the WebAssembly run's losses within 1e-3 relative`, async () => {
    const wasm = await createEngine({ threads: 2 });
    let expected: number[];
    try {
      expected = await stepLosses(wasm);
    } finally {
      wasm.close();
    }
    const got = await stepLosses(gpu.engine!);
    assert.ok(expected[STEPS - 1]! < expected[0]!, `the loss falls (${expected[0]} → ${expected[STEPS - 1]})`);
    checkLossesTrack(got, expected, 'WebGPU against WebAssembly');
  });

  test('vit train --backend webgpu writes a model vit eval (WebAssembly) scores as the run reported; the run continues on wasm', () => {
    const out = mkdtempSync(join(tmpdir(), 'vit-webgpu-'));
    try {
      const small = [
        '--sample',
        '--config',
        JSON.stringify(CONFIG),
        '--train-samples',
        '200',
        '--test-samples',
        '100',
        '--batch-size',
        '50',
      ];
      const trained = vit(['train', '--backend', 'webgpu', ...small, '--epochs', '2', '--exp-name', 'gpu', '--out', out]);
      assert.equal(trained.status, 0, trained.stderr);
      const dir = join(out, 'gpu');
      const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { training: { backend: string } };
      assert.equal(config.training.backend, 'webgpu');
      const metrics = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as { accuracies: number[]; test_losses: number[] };
      const evaluated = vit([
        'eval',
        '--backend',
        'wasm',
        '--model',
        join(dir, 'model_final.safetensors'),
        '--sample',
        '--test-samples',
        '100',
        '--json',
      ]);
      assert.equal(evaluated.status, 0, evaluated.stderr);
      const result = JSON.parse(evaluated.stdout) as { accuracy: number; loss: number };
      assert.equal(result.accuracy, metrics.accuracies[1], 'vit eval on WebAssembly gives the accuracy the WebGPU run reported');
      assert.ok(
        Math.abs(result.loss - metrics.test_losses[1]!) <= 1e-4 * metrics.test_losses[1]!,
        `loss ${result.loss} vs ${metrics.test_losses[1]}`,
      );

      const resumed = vit(['train', '--resume', dir, '--epochs', '3', '--backend', 'wasm', '--threads', '1']);
      assert.equal(resumed.status, 0, resumed.stderr);
      assert.match(resumed.stdout + resumed.stderr, /The run was trained on webgpu and continues on wasm/);
      const after = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as { accuracies: number[]; train_losses: number[] };
      assert.equal(after.accuracies.length, 3);
      assert.deepEqual(after.train_losses.slice(0, 2), (metrics as unknown as { train_losses: number[] }).train_losses);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

test('--backend webgpu without an adapter: one line naming the cause, exit 1', () => {
  const run = vit(['eval', '--backend', 'webgpu', '--model', 'nowhere.safetensors', '--sample'], {
    ...process.env,
    VK_ICD_FILENAMES: join(tmpdir(), 'no-such-icd.json'),
  });
  assert.equal(run.status, 1);
  // Dawn and the Vulkan loader print their own warnings first, from native code.
  const ours = run.stderr
    .trim()
    .split('\n')
    .filter((line) => line.startsWith('vit: '));
  assert.deepEqual(ours, [
    'vit: no WebGPU adapter found: Dawn found no Vulkan, Metal or D3D12 device (a GPU driver, or VK_ICD_FILENAMES naming a Vulkan driver, is needed); use --backend wasm',
  ]);
});
