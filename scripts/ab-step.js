// A paired A/B of two builds' training steps, and of 1 against 2 threads: one process holds both
// builds, each with a 1-thread and a 2-thread engine, and runs one step of each of the four in
// turn (the order rotated every round). A step is what Trainer.trainEpoch does per batch: the
// fast recipe's augmented batch of 128 (padded crop + flip) from the bundled sample, then train/step.js's
// step (forward and backward of the seed model, gradient clipping and AdamW). Prints medians of the per-round ratios:
// B/A at 1 and at 2 threads, and each build's 2-thread speed-up over 1 thread. Steps of the four
// run back to back, so most of a shared machine's drift cancels. A build is a package root holding dist/.
//   node scripts/ab-step.js --a /path/to/old-checkout --b . [--rounds 30]
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { a: { type: 'string' }, b: { type: 'string', default: '.' }, rounds: { type: 'string', default: '30' } },
});
if (values.a === undefined) throw new Error('--a ROOT is required: the package root of the build to compare against');
const BATCH = 128;

/** One training step of `root`'s build on `threads` threads, as a function that returns its milliseconds; and its engine. */
async function stepper(root, threads) {
  const module = (path) => import(pathToFileURL(resolve(root, 'dist/src', path)).href);
  const { createEngine } = await module('runtime/engine.js');
  const { trainStep } = await module('train/step.js');
  const { ViTForClassification } = await module('model/vit.js');
  const { BatchMaker } = await module('data/augment.js');
  const { readCifar10 } = await module('data/cifar10-files.js');
  const { AdamW } = await module('train/adamw.js');
  const { GradientClipper } = await module('train/gradient-clipper.js');
  const { Random } = await module('random.js');
  const { augmentOptions } = await module('train/recipes.js');
  const set = readCifar10(resolve(root, 'data/cifar10-sample'), 'train');
  const engine = await createEngine({ threads });
  const model = await ViTForClassification.create({}, { engine });
  const optimizer = new AdamW(model.parameters, { lr: 1e-3, weightDecay: 1e-2 });
  const clipper = new GradientClipper(model.parameters);
  const rng = new Random(7);
  const maker = new BatchMaker(32, 3, augmentOptions('crop'), rng);
  const labels = new Int32Array(BATCH);
  const order = rng.permutation(set.count);
  let start = 0;
  const parts = { model, optimizer, clipper, average: null };
  const step = async () => {
    const began = performance.now();
    start = (start + BATCH) % (set.count - BATCH);
    maker.fill(model.imageBuffer(BATCH), set, order, start, BATCH, true);
    for (let i = 0; i < BATCH; i++) labels[i] = set.labels[order[start + i]];
    model.setLabels(labels, BATCH);
    await trainStep(parts, BATCH, { lr: 1e-3, clipGrad: 1 });
    return performance.now() - began;
  };
  return { step, engine };
}

const runs = {
  A1: await stepper(values.a, 1),
  A2: await stepper(values.a, 2),
  B1: await stepper(values.b, 1),
  B2: await stepper(values.b, 2),
};
const names = Object.keys(runs);
for (const name of names) for (let i = 0; i < 3; i++) await runs[name].step(); // warm-up
const rounds = [];
for (let r = 0; r < Number(values.rounds); r++) {
  const ms = {};
  for (let i = 0; i < names.length; i++) {
    const name = names[(i + r) % names.length];
    ms[name] = await runs[name].step();
  }
  rounds.push(ms);
}
const median = (xs) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const ratio = (slow, fast) => median(rounds.map((ms) => ms[slow] / ms[fast])).toFixed(3);
for (const name of names) console.log(`${name}: median step ${median(rounds.map((ms) => ms[name])).toFixed(1)} ms`);
console.log(`B/A speed, 1 thread ${ratio('A1', 'B1')}, 2 threads ${ratio('A2', 'B2')}`);
console.log(`2-thread speed-up over 1 thread: A ${ratio('A1', 'A2')}, B ${ratio('B1', 'B2')} (medians over ${rounds.length} rounds)`);
for (const { engine } of Object.values(runs)) engine.close();
