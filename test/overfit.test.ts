// Training end to end: AdamW on 64 fixed random images with random labels must memorize them.
// Nothing generalizes here, so only a correct forward pass, gradient and optimizer step drive the
// loss to about zero; a subtly wrong gradient stalls it well above.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEngine } from '../src/runtime/engine.js';
import { ViTForClassification } from '../src/model/vit.js';
import { AdamW } from '../src/train/adamw.js';
import { Random } from '../src/random.js';

const IMAGES = 64;
const CLASSES = 10;
/** Steps taken; the loss falls below the goal after about 45 of them. */
const STEPS = 200;
const GOAL = 0.05;

test(`AdamW memorizes ${IMAGES} random images in ${STEPS} steps`, async () => {
  // one thread: the kernels' thread splits are tested in kernels.test, and this stays fast anywhere
  const engine = await createEngine({ threads: 1 });
  try {
    const model = await ViTForClassification.create(
      {
        image_size: 8,
        patch_size: 4,
        num_channels: 3,
        hidden_size: 32,
        num_attention_heads: 4,
        num_hidden_layers: 2,
        intermediate_size: 64,
        num_classes: CLASSES,
      },
      { engine, seed: 1 },
    );
    const rng = new Random(3);
    const images = Float32Array.from({ length: IMAGES * model.imageFloats }, () => rng.normal());
    const labels = Array.from({ length: IMAGES }, () => rng.int(CLASSES));
    const optimizer = new AdamW(model.parameters, { lr: 3e-3, weightDecay: 0.01 });

    model.setImages(images, IMAGES);
    model.setLabels(labels, IMAGES);
    const losses: number[] = [];
    for (let step = 0; step < STEPS; step++) {
      model.parameters.zeroGrad();
      model.forward(IMAGES, true);
      losses.push(await model.loss());
      model.backward();
      optimizer.update();
    }

    // it starts at chance (ln 10 ≈ 2.3) and ends near zero
    assert.ok(Math.abs(losses[0]! - Math.log(CLASSES)) < 0.5, `initial loss ${losses[0]}, expected about ln ${CLASSES}`);
    const last = losses[losses.length - 1]!;
    assert.ok(
      last < GOAL,
      `training loss after ${STEPS} steps is ${last} (every 20th: ${losses
        .filter((_, i) => i % 20 === 0)
        .map((l) => l.toFixed(3))
        .join(' ')})`,
    );

    model.forward(IMAGES, false);
    const logits = await model.readLogits();
    let correct = 0;
    for (let b = 0; b < IMAGES; b++) {
      const row = logits.subarray(b * CLASSES, (b + 1) * CLASSES);
      if (row.indexOf(Math.max(...row)) === labels[b]) correct++;
    }
    assert.equal(correct, IMAGES, `accuracy on the training images: ${correct} of ${IMAGES}`);
    const loss = await model.evaluateLoss();
    assert.ok(loss < GOAL, `evaluation loss ${loss}`);
  } finally {
    engine.close();
  }
});
