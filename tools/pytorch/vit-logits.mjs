// vit-ts's logits for given inputs, for continue_in_pytorch.py to compare against:
//   node tools/pytorch/vit-logits.mjs MODEL INPUT.safetensors OUT.safetensors
// MODEL is anything `vit eval --model` takes; INPUT holds "input" [batch, channels, size, size];
// OUT gets "logits" [batch, classes]. Needs the built package (npm run build).
import { loadCheckpoint } from '../../dist/src/weights/files.js';
import { readSafetensors, writeSafetensors } from '../../dist/src/io/safetensors.js';
import { ViTForClassification } from '../../dist/src/model/vit.js';
import { createEngine } from '../../dist/src/runtime/engine.js';

const [model, inputPath, outPath] = process.argv.slice(2);
if (outPath === undefined) {
  process.stderr.write('usage: node tools/pytorch/vit-logits.mjs MODEL INPUT.safetensors OUT.safetensors\n');
  process.exit(2);
}
const { config, params } = loadCheckpoint(model);
const input = readSafetensors(inputPath).tensors.get('input');
const batch = input.shape[0];
const engine = await createEngine({ threads: 1 });
try {
  const vit = await ViTForClassification.create(config, { engine });
  vit.loadStateDict(params);
  vit.setImages(input.data, batch);
  const logits = await vit.infer(batch);
  writeSafetensors(outPath, new Map([['logits', { shape: [batch, config.num_classes], data: logits }]]));
} finally {
  engine.close();
}
