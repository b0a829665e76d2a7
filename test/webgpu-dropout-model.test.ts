// The whole model's training pass with hidden and attention dropout, on WebGPU against WebAssembly:
// both engines draw the same masks from the same seeds (the WGSL dropout and attention kernels
// reproduce the WebAssembly kernels' random stream), so the losses, every parameter's gradient, the
// logits and the attention maps agree to rounding — with token dropping (kept patches gathered and
// scattered) and without. Dawn on SwiftShader in Node; skipped with one line without an adapter,
// unless VIT_WEBGPU_REQUIRED=1.
import { after, before, describe, test } from 'node:test';
import type { Engine } from '../src/runtime/engine.js';
import { WasmEngine } from '../src/runtime/wasm-engine.js';
import { ViTForClassification } from '../src/model/vit.js';
import { drawKeptPatches, type TokenSelection } from '../src/model/patch-dropout.js';
import { Random } from '../src/random.js';
import { assertClose } from './helpers.js';
import { openTestEngine } from './webgpu-helpers.js';

/** The seed's shapes (65 tokens, width 48, 4 heads), two layers, dropout everywhere. */
const CONFIG = { num_hidden_layers: 2, hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1 };
const BATCH = 3;
/** Observed: below 1e-6 of each tensor's scale on SwiftShader. */
const RTOL = 1e-5;

interface Pass {
  losses: Float32Array;
  gradients: Map<string, Float32Array>;
  logits: Float32Array;
  attentions: Float32Array;
}

/** One training pass (mean loss, label smoothing 0.1), its gradients; then inference with every attention map of the last layer. */
async function trainingPass(engine: Engine, tokens: TokenSelection | undefined): Promise<Pass> {
  const model = await ViTForClassification.create(CONFIG, { engine, seed: 3 });
  try {
    const rng = new Random(9);
    const images = model.imageBuffer(BATCH);
    for (let i = 0; i < images.length; i++) images[i] = rng.normal();
    model.setLabels(
      Array.from({ length: BATCH }, (_, i) => (3 * i) % 10),
      BATCH,
    );
    model.parameters.zeroGrad();
    model.trainBatch(BATCH, 0.1, tokens);
    const losses = await model.readLosses();
    const gradients = new Map<string, Float32Array>();
    for (const p of model.parameters.list) gradients.set(p.name, await model.parameters.gradient(p.name));
    const logits = await model.infer(BATCH);
    model.forward(BATCH, false, true);
    return { losses, gradients, logits, attentions: await model.attentions(CONFIG.num_hidden_layers - 1) };
  } finally {
    model.release();
  }
}

const gpu = await openTestEngine();

describe('the model with dropout on WebGPU against WebAssembly (Dawn)', { skip: gpu.skip }, () => {
  let wasm: WasmEngine;
  before(async () => {
    wasm = await WasmEngine.create({ threads: 2 });
  });
  after(() => {
    wasm.close();
    gpu.engine?.close();
  });

  const cases: Record<string, () => TokenSelection | undefined> = {
    'every token': () => undefined,
    'token dropping (16 of 64 patches kept)': () => drawKeptPatches(new Random(4), BATCH, 64, 16),
  };
  for (const [name, tokens] of Object.entries(cases)) {
    test(name, async () => {
      const expected = await trainingPass(wasm, tokens());
      const actual = await trainingPass(gpu.engine!, tokens());
      assertClose(actual.losses, expected.losses, 'losses', RTOL);
      for (const [tensor, gradient] of expected.gradients)
        assertClose(actual.gradients.get(tensor)!, gradient, `gradient of ${tensor}`, RTOL);
      assertClose(actual.logits, expected.logits, 'logits', RTOL);
      assertClose(actual.attentions, expected.attentions, 'attention maps', RTOL);
    });
  }
});
