// `vit predict`: the most likely classes of image files under a trained model.
import { type Command, Option } from 'commander';
import type { Backend } from '../../runtime/engine.js';
import { type Classification, DEFAULT_TOP_K, classifyAll, loadModel } from '../../api.js';
import { UserError } from '../../errors.js';
import { type RgbImage, loadImageForModel } from '../../images.js';
import { backendOption, engineFor, modelOption, positiveInteger, threadsOption } from '../options.js';

interface PredictOptions {
  model: string;
  topK: number;
  json?: boolean;
  threads?: number;
  backend?: Backend;
}

export interface Prediction {
  file: string;
  predictions: Classification[];
}

export function register(program: Command): void {
  program
    .command('predict')
    .description('classify PNG/JPEG images of any size with a trained model')
    .argument('<image...>', 'image files (PNG, JPEG, …)')
    .addOption(modelOption())
    .addOption(
      new Option('--top-k <k>', 'how many of the most likely classes to show').default(DEFAULT_TOP_K).argParser(positiveInteger('--top-k')),
    )
    .option('--json', 'print one JSON array: [{ file, predictions: [{ label, score }] }]')
    .addOption(threadsOption())
    .addOption(backendOption())
    .action(async (files: string[], options: PredictOptions) => {
      await predict(files, options);
    });
}

/** Files per forward pass (each decoded on its own, one at a time). */
const CHUNK = 32;

async function predict(files: string[], options: PredictOptions): Promise<void> {
  const engine = await engineFor(options.threads, options.backend);
  const model = await loadModel(options.model, { engine });
  const size = model.config.image_size;
  // More classes than the model has: all of them, said once (on stderr, so that --json stays clean).
  const topK = Math.min(options.topK, model.config.num_classes);
  if (topK < options.topK) process.stderr.write(`vit: --top-k ${options.topK}: the model has ${topK} classes; showing all ${topK}\n`);
  const results: Prediction[] = [];
  let failures = 0;
  for (let start = 0; start < files.length; start += CHUNK) {
    const chunk = files.slice(start, start + CHUNK);
    // Decode every file on its own, so that one bad file does not stop the others, and one at a
    // time: a full-size decoded photo is large, and only its resized copy is kept.
    const decoded: (RgbImage | UserError)[] = [];
    for (const file of chunk) {
      decoded.push(
        await loadImageForModel(file, size, file).catch((e: unknown) => {
          if (e instanceof UserError) return e;
          throw e;
        }),
      );
    }
    const readable: string[] = [];
    const pictures: RgbImage[] = [];
    decoded.forEach((d, i) => {
      if (d instanceof UserError) {
        process.stderr.write(`vit: ${d.message}\n`);
        failures++;
      } else {
        readable.push(chunk[i]!);
        pictures.push(d);
      }
    });
    const ranked = await classifyAll(model, pictures, { topK });
    const predictions = readable.map((file, i): Prediction => ({ file, predictions: ranked[i]! }));
    // Text goes out as it comes; JSON is one array, written at the end.
    for (const prediction of predictions) {
      if (!options.json) process.stdout.write((results.length > 0 ? '\n' : '') + formatPrediction(prediction));
      results.push(prediction);
    }
  }
  if (options.json) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
  // Each unreadable file had its one line above; the status says that some failed.
  if (failures > 0) process.exitCode = 1;
}

/** The file name, then one indented line per class: probability as a percentage, then the label. */
function formatPrediction({ file, predictions }: Prediction): string {
  const lines = predictions.map(({ label, score }) => `  ${(100 * score).toFixed(2).padStart(6)}%  ${label}`);
  return `${file}\n${lines.join('\n')}\n`;
}
