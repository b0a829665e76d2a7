// The model against PyTorch: logits, loss, attention probabilities, every parameter's gradient and
// the parameters after one AdamW step, for fixtures written by tools/pytorch/fixture.py (parameters
// perturbed away from their initialization, so that no bias is 0 and no LayerNorm gain 1).
import { after, test } from 'node:test';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors } from '../src/io/safetensors.js';
import { loadCheckpoint } from '../src/weights/files.js';
import { ViTForClassification } from '../src/model/vit.js';
import { type Engine, createEngine } from '../src/runtime/engine.js';
import { fixturesDir, assertClose } from './helpers.js';
import { openTestEngine } from './webgpu-helpers.js';
import { checkFixture } from './webgpu-model-cases.js';

const fixtures = readdirSync(fixturesDir).filter((d) => !d.startsWith('.'));

/** The WebGPU engine (SwiftShader here: correctness only), shared by its tests; they skip with a line without an adapter. */
const gpu = await openTestEngine();
after(() => gpu.engine?.close());

/**
 * The engines to check: the relaxed-SIMD build (the default where the runtime has it) on 1 and 2 threads,
 * the plain SIMD build on 2, 5 threads, whose shares of most kernels' rows are uneven, and WebGPU.
 */
const ENGINES: Array<{ label: string; open: () => Promise<Engine>; shared?: boolean; skip?: string | false }> = [
  { label: '1 thread', open: () => createEngine({ threads: 1 }) },
  { label: '2 threads', open: () => createEngine({ threads: 2 }) },
  { label: '2 threads, plain SIMD', open: () => createEngine({ threads: 2, relaxedSimd: false }) },
  { label: '5 threads', open: () => createEngine({ threads: 5 }) },
  { label: 'WebGPU', open: () => Promise.resolve(gpu.engine!), shared: true, skip: gpu.skip },
];

for (const { label, open, shared, skip } of ENGINES) {
  for (const name of fixtures) {
    test(`${name} matches PyTorch (${label})`, { skip }, async () => {
      const dir = join(fixturesDir, name);
      const file = (base: string): Uint8Array => readFileSync(join(dir, base));
      const engine = await open();
      try {
        // The checks themselves are shared with the page (test/webgpu-model-browser.test.ts).
        await checkFixture(engine, {
          name,
          config: file('config.json'),
          weights: file('weights.safetensors'),
          reference: file('reference.safetensors'),
        });
      } finally {
        if (!shared) engine.close();
      }
    });
  }
}

for (const name of fixtures.filter((f) => existsSync(join(fixturesDir, f, 'fused.safetensors')))) {
  test(`${name}: the fused layout PyTorch wrote gives PyTorch's logits`, async () => {
    const dir = join(fixturesDir, name);
    const { config, params } = loadCheckpoint(join(dir, 'fused.safetensors'));
    const { tensors: ref } = readSafetensors(join(dir, 'reference.safetensors'));
    const engine = await createEngine({ threads: 2 });
    try {
      const model = await ViTForClassification.create(config, { engine });
      model.loadStateDict(params);
      const batch = ref.get('labels')!.shape[0]!;
      model.setImages(ref.get('input')!.data as Float32Array, batch);
      model.forward(batch);
      assertClose(await model.readLogits(), ref.get('logits')!.data as Float32Array, 'logits from fused.safetensors');
    } finally {
      engine.close();
    }
  });
}
