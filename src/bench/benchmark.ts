// Training and inference throughput of the model on random data, after a warm-up. Platform-free:
// `vit bench` runs it in Node, `npm run bench:browser` also in a page's worker (app/src/bench-worker.ts).
import { Engine } from '../runtime/engine.js';
import { ViTForClassification } from '../model/vit.js';
import { type ViTConfig } from '../model/config.js';
import { AdamW } from '../train/adamw.js';
import { Random } from '../random.js';
import { forwardFlopsPerImage, trainingFlopsPerImage } from './flops.js';

export interface BenchOptions {
  config?: Partial<ViTConfig>;
  batch?: number;
  /** Threads of the engine made for the run (ignored when `engine` is given). */
  threads?: number;
  /** The engine to run on, left open; default: a new one, closed at the end. */
  engine?: Engine;
  /** Timed steps of each kind. */
  steps?: number;
  warmup?: number;
  /** Also time every kernel of the training steps. */
  profile?: boolean;
  /** Images per pass (CreateOptions.chunk). */
  chunk?: number;
}

export interface KernelTime {
  kernel: string;
  ms_per_step: number;
  calls_per_step: number;
  share: number;
}

export interface BenchResult {
  train_img_s: number;
  infer_img_s: number;
  train_gflop_s: number;
  infer_gflop_s: number;
  threads: number;
  batch: number;
  /** Images per forward/backward pass. */
  chunk: number;
  relaxed_simd: boolean;
  params: number;
  config: ViTConfig;
  profile?: KernelTime[];
}

export async function benchmark(options: BenchOptions = {}): Promise<BenchResult> {
  const batch = options.batch ?? 256;
  const steps = options.steps ?? 10;
  const warmup = options.warmup ?? 3;
  const engine = options.engine ?? await Engine.create({ threads: options.threads });
  try {
    const model = await ViTForClassification.create(options.config ?? {}, { engine, chunk: options.chunk });
    const { config } = model;
    const optimizer = new AdamW(model.parameters, { lr: 1e-3, weightDecay: 1e-2 });
    const rng = new Random(1);
    const images = model.imageBuffer(batch);
    for (let i = 0; i < images.length; i++) images[i] = rng.normal();
    model.setLabels(Array.from({ length: batch }, () => rng.int(config.num_classes)), batch);

    const trainStep = (): void => {
      model.parameters.zeroGrad();
      model.trainBatch(batch);
      optimizer.update();
    };
    for (let i = 0; i < warmup; i++) trainStep();
    const timings = options.profile ? engine.profile() : null;
    let start = performance.now();
    for (let i = 0; i < steps; i++) trainStep();
    const trainSeconds = (performance.now() - start) / 1000;
    engine.stopProfile();

    for (let i = 0; i < warmup; i++) model.infer(batch);
    start = performance.now();
    for (let i = 0; i < steps; i++) model.infer(batch);
    const inferSeconds = (performance.now() - start) / 1000;

    const train = (batch * steps) / trainSeconds;
    const infer = (batch * steps) / inferSeconds;
    const result: BenchResult = {
      train_img_s: round(train),
      infer_img_s: round(infer),
      train_gflop_s: round((train * trainingFlopsPerImage(config)) / 1e9),
      infer_gflop_s: round((infer * forwardFlopsPerImage(config)) / 1e9),
      threads: engine.threads,
      batch,
      chunk: Math.min(model.chunk, batch),
      relaxed_simd: engine.relaxedSimd,
      params: model.parameters.list.reduce((n, p) => n + p.size, 0),
      config,
    };
    if (timings) {
      const stepMs = (trainSeconds * 1000) / steps;
      result.profile = [...timings]
        .map(([kernel, t]) => ({ kernel, ms_per_step: round(t.ms / steps), calls_per_step: t.calls / steps, share: round(t.ms / steps / stepMs) }))
        .sort((a, b) => b.ms_per_step - a.ms_per_step);
    }
    return result;
  } finally {
    if (options.engine === undefined) engine.close();
  }
}

const round = (x: number): number => Math.round(x * 1000) / 1000;
