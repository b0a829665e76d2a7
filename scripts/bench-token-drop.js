// The time of one trainBatch of the seed model (batch 128, 2 threads) with every token and with
// token dropping at several kept counts, interleaved in one process (the order rotates each
// round, so the host's drift falls on every setting alike); prints each setting's median time and
// the median over rounds of its ratio to that round's pass with every token. A report, not a test:
// run it on an otherwise idle machine.
//   npm run build && node scripts/bench-token-drop.js [--rounds 15] [--batch 128] [--threads 2] [--kept 64,48,32,16]
import { parseArgs } from 'node:util';
import { WasmEngine } from '../dist/src/runtime/wasm-engine.js';
import { ViTForClassification } from '../dist/src/model/vit.js';
import { drawKeptPatches } from '../dist/src/model/patch-dropout.js';
import { numPatches } from '../dist/src/model/config.js';
import { Random } from '../dist/src/random.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '15' },
    batch: { type: 'string', default: '128' },
    threads: { type: 'string', default: '2' },
    kept: { type: 'string', default: '64,48,32,16' },
  },
});
const rounds = Number(values.rounds),
  batch = Number(values.batch);
const engine = await WasmEngine.create({ threads: Number(values.threads) });
const model = await ViTForClassification.create({}, { engine, seed: 1 });
const random = new Random(2);
model.setImages(
  Float32Array.from({ length: batch * model.imageFloats }, () => random.normal()),
  batch,
);
model.setLabels(
  Array.from({ length: batch }, () => random.int(10)),
  batch,
);
const patches = numPatches(model.config);

/** 'all' is the plain pass (no selection); a number keeps that many patches, drawn afresh each time. */
const settings = ['all', ...new Set(values.kept.split(',').map(Number))];
const timeOne = (setting) => {
  const tokens = setting === 'all' ? undefined : drawKeptPatches(random, batch, patches, setting);
  const start = performance.now();
  model.trainBatch(batch, 0, tokens);
  return performance.now() - start;
};
for (const s of settings) timeOne(s); // warm-up: the workspace, the JIT
const times = new Map(settings.map((s) => [s, []]));
for (let round = 0; round < rounds; round++) {
  for (let i = 0; i < settings.length; i++) {
    const s = settings[(i + round) % settings.length];
    times.get(s).push(timeOne(s));
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const all = times.get('all');
console.log(`trainBatch, seed model, batch ${batch}, ${values.threads} threads, ${rounds} interleaved rounds (medians)`);
for (const s of settings) {
  const ratio = median(times.get(s).map((t, round) => t / all[round]));
  const label = s === 'all' ? `all ${patches} patches, no selection` : `kept ${s} of ${patches}`;
  console.log(`${label.padEnd(30)} ${median(times.get(s)).toFixed(1).padStart(7)} ms   ${ratio.toFixed(3)} × all`);
}
engine.close();
