// Training and inference throughput of the model on random data, after a warm-up. Platform-free:
// `vit bench` runs it in Node, `npm run bench:browser` also in a page's worker (app/src/bench-worker.ts).
import { type Backend, type Engine, createEngine } from '../runtime/engine.js';
import { WasmEngine } from '../runtime/wasm-engine.js';
import { ViTForClassification } from '../model/vit.js';
import { type ViTConfig } from '../model/config.js';
import { AdamW } from '../train/adamw.js';
import { trainStep } from '../train/step.js';
import { Random } from '../random.js';
import { forwardFlopsPerImage, trainingFlopsPerImage } from './flops.js';

export interface BenchOptions {
  config?: Partial<ViTConfig>;
  batch?: number;
  /** Threads of the engine made for the run (ignored when `engine` is given). */
  threads?: number;
  /** Where a new engine runs (ignored when `engine` is given); default wasm. */
  backend?: Backend;
  /** Told which engine `auto` picked. */
  onChoice?: (line: string) => void;
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
  /** The engine, in words (engine.description). */
  engine: string;
  /** Threads of a WebAssembly engine (0 on WebGPU). */
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
  const engine =
    options.engine ??
    (await createEngine({
      ...(options.threads === undefined ? {} : { threads: options.threads }),
      ...(options.backend === undefined ? {} : { backend: options.backend }),
      ...(options.onChoice ? { onChoice: options.onChoice } : {}),
    }));
  try {
    const model = await ViTForClassification.create(options.config ?? {}, { engine, chunk: options.chunk });
    const { config } = model;
    const optimizer = new AdamW(model.parameters, { lr: 1e-3, weightDecay: 1e-2 });
    const rng = new Random(1);
    const images = model.imageBuffer(batch);
    for (let i = 0; i < images.length; i++) images[i] = rng.normal();
    model.setLabels(
      Array.from({ length: batch }, () => rng.int(config.num_classes)),
      batch,
    );

    const parts = { model, optimizer, clipper: null, average: null };
    // The training loop's step; the clock stops when the last step's losses are back (the engine is done).
    const train = async (n: number): Promise<void> => {
      let losses: Promise<Float32Array> | null = null;
      for (let i = 0; i < n; i++) losses = trainStep(parts, batch, { lr: 1e-3 });
      await losses;
    };
    const infer = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) await model.infer(batch);
    };
    await train(warmup);
    const timings = options.profile ? engine.profile() : null;
    let start = performance.now();
    await train(steps);
    const trainSeconds = (performance.now() - start) / 1000;
    engine.stopProfile();

    await infer(warmup);
    start = performance.now();
    await infer(steps);
    const inferSeconds = (performance.now() - start) / 1000;

    const trainRate = (batch * steps) / trainSeconds;
    const inferRate = (batch * steps) / inferSeconds;
    const result: BenchResult = {
      train_img_s: round(trainRate),
      infer_img_s: round(inferRate),
      train_gflop_s: round((trainRate * trainingFlopsPerImage(config)) / 1e9),
      infer_gflop_s: round((inferRate * forwardFlopsPerImage(config)) / 1e9),
      engine: engine.description,
      threads: engine instanceof WasmEngine ? engine.threads : 0,
      batch,
      chunk: Math.min(model.chunk, batch),
      relaxed_simd: engine instanceof WasmEngine && engine.relaxedSimd,
      params: model.parameters.list.reduce((n, p) => n + p.size, 0),
      config,
    };
    if (timings) {
      const stepMs = (trainSeconds * 1000) / steps;
      result.profile = [...timings]
        .map(([kernel, t]) => ({
          kernel,
          ms_per_step: round(t.ms / steps),
          calls_per_step: t.calls / steps,
          share: round(t.ms / steps / stepMs),
        }))
        .sort((a, b) => b.ms_per_step - a.ms_per_step);
    }
    return result;
  } finally {
    if (options.engine === undefined) engine.close();
  }
}

const round = (x: number): number => Math.round(x * 1000) / 1000;
