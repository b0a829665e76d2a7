// A paired A/B of two builds' training loops: one process alternates one epoch of `train()` from
// build A and from build B (order swapped every pair) on the bundled sample, 2 threads, the fast
// recipe, and prints each pair's images/s and the median ratio B/A. The host's speed drifts; pairs
// that run back to back cancel most of it. A build is a vit-ts package root holding dist/.
//   node scripts/ab-train.js --a /path/to/old-checkout --b . [--pairs 10]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { a: { type: 'string' }, b: { type: 'string', default: '.' }, pairs: { type: 'string', default: '10' } },
});
if (values.a === undefined) throw new Error('--a ROOT is required: the package root of the build to compare against');

/** The build's train() (before the training core moved, it lived in train/trainer.js) and a 2-thread engine. */
async function load(root) {
  const module = (path) => import(pathToFileURL(resolve(root, 'dist/src', path)).href);
  const trainModule = await module('train/experiment-folder.js').catch(() => module('train/trainer.js'));
  const runtime = await module('runtime/engine.js');
  // Builds before the Engine interface had the class's create() instead of createEngine().
  const engine = await (runtime.createEngine ?? ((options) => runtime.Engine.create(options)))({ threads: 2 });
  return { train: trainModule.train, engine, data: resolve(root, 'data/cifar10-sample') };
}

async function epochSpeed(build) {
  const out = mkdtempSync(join(tmpdir(), 'ab-train-'));
  let speed = 0;
  try {
    await build.train(
      { expName: 'ab', outDir: out, dataDir: build.data, engine: build.engine, epochs: 1, recipe: 'fast', testSamples: 100 },
      { onEpochEnd: (r) => (speed = r.imagesPerSecond) },
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  return speed;
}

const a = await load(values.a);
const b = await load(values.b);
const ratios = [];
for (let pair = 0; pair < Number(values.pairs); pair++) {
  const speeds = {};
  for (const [name, build] of pair % 2
    ? [
        ['b', b],
        ['a', a],
      ]
    : [
        ['a', a],
        ['b', b],
      ])
    speeds[name] = await epochSpeed(build);
  ratios.push(speeds.b / speeds.a);
  console.log(`A ${speeds.a.toFixed(0)} img/s, B ${speeds.b.toFixed(0)} img/s, B/A ${(speeds.b / speeds.a).toFixed(3)}`);
}
ratios.sort((x, y) => x - y);
console.log(
  `median B/A ${ratios[Math.floor(ratios.length / 2)].toFixed(3)} over ${ratios.length} pairs (range ${ratios[0].toFixed(2)}–${ratios.at(-1).toFixed(2)})`,
);
a.engine.close();
b.engine.close();
