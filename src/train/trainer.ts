// Training a ViT on CIFAR-10 as the seed does (AdamW, cross-entropy, evaluate after every epoch,
// experiments in OUT/NAME), plus a schedule, label smoothing, gradient clipping, validation splits
// exact resumption from the checkpoint written after every epoch, and fine-tuning a trained model.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { BatchMaker } from '../data/augment.js';
import { IMAGE_BYTES, type ImageSet, readCifar10, subset } from '../data/cifar10.js';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { type ViTConfig, resolveConfig } from '../model/config.js';
import type { ParameterStore } from '../model/parameter-store.js';
import { ViTForClassification } from '../model/vit.js';
import { type Engine, getEngine } from '../runtime/engine.js';
import { Random } from '../random.js';
import { type Preprocessor, saveCheckpoint, writePreprocessorConfig } from '../weights/files.js';
import { initFrom } from '../weights/init-from.js';
import { AdamW } from './adamw.js';
import { checkpointPath, readTrainingCheckpoint, restoreTrainingCheckpoint, saveTrainingCheckpoint } from './checkpoint.js';
import { evaluate } from './evaluate.js';
import { type EpochResult, type EvaluatedOn, type Metrics, emptyMetrics, recordEpoch, writeMetrics } from './metrics.js';
import { type Hyperparameters, type RecipeName, HYPERPARAMETER_FLAGS, augmentOptions, checkHyperparameters, isRecipeName, resolveHyperparameters } from './recipes.js';
import { type Schedule, learningRateAt } from './schedule.js';

/** What `vit train` takes. Every field but expName and dataDir has the seed's default. */
export interface TrainOptions extends Partial<Hyperparameters> {
  /** The experiment's folder name under outDir. */
  expName: string;
  /** A cifar-10-batches-bin folder (data_batch_*.bin, test_batch.bin); a resumed run defaults to its own. */
  dataDir?: string;
  /** Where experiments go; default "experiments". */
  outDir?: string;
  /** Overrides of the seed's model config (of the --init-from model's, when given). */
  config?: Partial<ViTConfig>;
  /**
   * A trained model to fine-tune (anything --model accepts, a Hugging Face ViT folder included):
   * its weights and config, adapted to `config` as weights/init-from.ts does, and its normalization.
   */
  initFrom?: string;
  /** Default 'seed'; any hyper-parameter given here overrides the recipe's. */
  recipe?: RecipeName;
  /** Seeds the weights, the dropout masks, the subsets, the shuffling and the augmentation. Default 0. */
  seed?: number;
  /** Train on a random subset of this many training images; default all. */
  trainSamples?: number | null;
  /** Evaluate on a random subset of this many test images; default all. */
  testSamples?: number | null;
  /** Hold out this many training images as a validation set, evaluated instead of the test set. */
  valSplit?: number;
  /** Also save model_{epoch}.safetensors every this many epochs; 0 = only model_final. */
  saveModelEvery?: number;
  /** An experiment folder to continue from its checkpoint. */
  resume?: string;
  /** The engine to run on (default: the program's, created with `threads`). */
  engine?: Engine;
  threads?: number;
  /** Stops training after the current batch; the files then hold the last finished epoch. */
  signal?: AbortSignal;
}

/** The options a run used, complete: saved in config.json's "training" and in the checkpoint. */
export interface TrainSettings extends Hyperparameters {
  expName: string;
  outDir: string;
  dataDir: string;
  recipe: RecipeName;
  seed: number;
  trainSamples: number | null;
  testSamples: number | null;
  valSplit: number;
  saveModelEvery: number;
  threads: number;
  /** The model the run started from (resolved path); null when trained from the seed's initialization. */
  initFrom: string | null;
  /** Per channel (or one for all), on values in [0, 1]: the --init-from model's preprocessor, else the seed's 0.5. */
  mean: number[];
  std: number[];
}

export interface TrainStart {
  /** Epochs already done (from a resumed checkpoint), 0 for a fresh run. */
  startEpoch: number;
  epochs: number;
  batchesPerEpoch: number;
  trainImages: number;
  evalImages: number;
  evaluatedOn: EvaluatedOn;
  experimentDir: string;
  settings: TrainSettings;
  config: ViTConfig;
  parameters: number;
}

export interface BatchProgress {
  epoch: number;
  /** Batches done in this epoch. */
  batch: number;
  batches: number;
  /** Training images done in this epoch. */
  images: number;
  /** Mean training loss over the epoch so far. */
  loss: number;
  lr: number;
  /** Seconds since the epoch started. */
  seconds: number;
}

export interface TrainCallbacks {
  onStart?(start: TrainStart): void;
  onEpochStart?(epoch: number, batches: number): void;
  onBatch?(progress: BatchProgress): void;
  onEpochEnd?(result: EpochResult): void;
  /** A file the run wrote (model_{epoch}, model_final). */
  onSave?(path: string): void;
  /** Notices worth showing the user (a resumed run's differences). */
  onNotice?(message: string): void;
}

export interface TrainResult {
  experimentDir: string;
  metrics: Metrics;
  /** Epochs finished (less than asked when stopped by the signal). */
  epochsDone: number;
  stopped: boolean;
  settings: TrainSettings;
}

/** Salts of the generators derived from the run's seed (the model derives its own). */
const SUBSET_SALT = 0x5ab5e7;
const DATA_SALT = 0xda7a;

/** Options that may change when a run is resumed: they do not change what is computed. */
const RESUMABLE: ReadonlySet<keyof TrainSettings> = new Set<keyof TrainSettings>(['expName', 'outDir', 'dataDir', 'epochs', 'saveModelEvery', 'threads']);

const SETTING_FLAGS: Readonly<Record<keyof TrainSettings, string>> = Object.freeze({
  ...HYPERPARAMETER_FLAGS,
  expName: '--exp-name',
  outDir: '--out',
  dataDir: '--data',
  recipe: '--recipe',
  seed: '--seed',
  trainSamples: '--train-samples',
  testSamples: '--test-samples',
  valSplit: '--val-split',
  saveModelEvery: '--save-model-every',
  threads: '--threads',
  initFrom: '--init-from',
  mean: "the image mean (the --init-from model's)",
  std: "the image std (the --init-from model's)",
});

/** Settings added after the first experiments were saved, with the values those runs had. */
const LATER_SETTINGS: Readonly<Partial<TrainSettings>> = Object.freeze({ initFrom: null, mean: [0.5], std: [0.5] });

/** Files whose presence means a folder already holds an experiment. */
const EXPERIMENT_FILES = ['checkpoint.safetensors', 'metrics.json', 'model_final.safetensors'];

/** Trains per `options`, writing the experiment folder as it goes; see TrainOptions and TrainCallbacks. */
export async function train(options: TrainOptions, callbacks: TrainCallbacks = {}): Promise<TrainResult> {
  if (options.initFrom !== undefined && options.resume !== undefined) {
    throw new UserError('--init-from and --resume cannot go together: a resumed run continues from its own checkpoint');
  }
  const resumed = options.resume !== undefined ? readTrainingCheckpoint(checkpointPathOf(options.resume)) : null;
  const engine = options.engine ?? (await getEngine(options.threads !== undefined ? { threads: options.threads } : {}));
  const initial = options.initFrom !== undefined
    ? initFrom(options.initFrom, options.config ?? {}, { seed: options.seed ?? 0, source: '--config' })
    : null;
  const settings = resumed ? resumeSettings(resumed, options, engine, callbacks) : freshSettings(options, engine, initial?.preprocessor);
  const config = resumed ? resumed.config : initial ? initial.config : resolveConfig((options.config ?? {}) as Record<string, unknown>, '--config');

  // Data first: a missing data folder must not leave an empty experiment folder behind.
  const { trainSet, evalSet, evaluatedOn } = loadSets(settings);
  const experimentDir = resolve(settings.outDir, settings.expName);
  prepareExperimentDir(experimentDir, options.resume !== undefined ? experimentDirOf(options.resume) : null);
  const model = await ViTForClassification.create(config, { engine, seed: settings.seed });
  if (initial) {
    model.loadStateDict(initial.params);
    const adapted = initial.changes.length > 0 ? `: ${initial.changes.join('; ')}` : '';
    callbacks.onNotice?.(`Fine-tuning ${settings.initFrom}${adapted}`);
  }
  const optimizer = new AdamW(model.parameters, { lr: settings.lr, weightDecay: settings.weightDecay });
  let dataRandom = new Random(settings.seed ^ DATA_SALT);
  let metrics = emptyMetrics(evaluatedOn);
  let startEpoch = 0;
  if (resumed) {
    restoreTrainingCheckpoint(resumed, model, optimizer, checkpointPathOf(options.resume!));
    dataRandom = new Random(resumed.dataRandom);
    metrics = resumed.metrics;
    startEpoch = resumed.epoch;
  }

  const batchesPerEpoch = Math.ceil(trainSet.count / settings.batchSize);
  const schedule: Schedule = {
    kind: settings.schedule,
    peakLr: settings.lr,
    minLr: settings.minLr,
    warmupSteps: Math.round(settings.warmupEpochs * batchesPerEpoch),
    totalSteps: settings.epochs * batchesPerEpoch,
  };
  // BatchMaker resizes the 32×32 images to the model's side (a pretrained model's 224, say).
  const normalization = { mean: settings.mean, std: settings.std };
  const maker = new BatchMaker(config.image_size, config.num_channels, { ...augmentOptions(settings.augment), ...normalization }, dataRandom);
  const clipper = settings.clipGrad > 0 ? new GradientClipper(model.parameters) : null;
  writeFileAtomic(join(experimentDir, 'config.json'), JSON.stringify({ ...config, training: settingsToJson(settings) }, null, 2) + '\n');
  // eval and predict take the normalization from preprocessor_config.json beside the model; 0.5 is their default.
  if (![...settings.mean, ...settings.std].every((v) => v === 0.5)) writePreprocessorConfig(experimentDir, normalization, config.image_size);

  callbacks.onStart?.({
    startEpoch, epochs: settings.epochs, batchesPerEpoch, trainImages: trainSet.count, evalImages: evalSet.count,
    evaluatedOn, experimentDir, settings, config, parameters: model.parameters.list.reduce((n, p) => n + p.size, 0),
  });

  const order = new Uint32Array(trainSet.count);
  const labels = new Int32Array(Math.min(settings.batchSize, trainSet.count));
  let epochsDone = startEpoch;
  let stopped = false;
  try {
    for (let epoch = startEpoch + 1; epoch <= settings.epochs && !stopped; epoch++) {
      callbacks.onEpochStart?.(epoch, batchesPerEpoch);
      const started = performance.now();
      dataRandom.permutation(trainSet.count, order);
      let lossSum = 0;
      let lr = learningRateAt(schedule, optimizer.step);
      for (let batch = 0, start = 0; start < trainSet.count; batch++, start += settings.batchSize) {
        // Let signal handlers and progress timers run between batches.
        await new Promise<void>((done) => setImmediate(done));
        if (options.signal?.aborted) {
          stopped = true;
          break;
        }
        const count = Math.min(settings.batchSize, trainSet.count - start);
        maker.fill(model.imageBuffer(count), trainSet, order, start, count, true);
        for (let i = 0; i < count; i++) labels[i] = trainSet.labels[order[start + i]!]!;
        model.setLabels(labels, count);
        model.parameters.zeroGrad();
        const objective = model.trainBatch(count, settings.labelSmoothing);
        // With label smoothing trainBatch returns the smoothed loss; the metrics keep plain cross-entropy,
        // comparable with the test loss and with the seed's runs.
        const loss = settings.labelSmoothing > 0 ? model.evaluateLoss() : objective;
        if (!Number.isFinite(objective) || !Number.isFinite(loss)) {
          throw new UserError(`training diverged: the loss is ${objective} at epoch ${epoch}, batch ${batch + 1}; ` +
            'try a lower --lr, --clip-grad 1 or a longer --warmup-epochs');
        }
        clipper?.clip(settings.clipGrad);
        lr = learningRateAt(schedule, optimizer.step);
        optimizer.update(lr);
        // The seed's running total: the batch's mean loss times its size.
        lossSum += loss * count;
        callbacks.onBatch?.({
          epoch, batch: batch + 1, batches: batchesPerEpoch, images: start + count, loss: lossSum / (start + count), lr,
          seconds: (performance.now() - started) / 1000,
        });
      }
      if (stopped) break;
      const trainSeconds = (performance.now() - started) / 1000;
      const evaluation = evaluate(model, evalSet, settings.batchSize, normalization);
      const result: EpochResult = {
        epoch, epochs: settings.epochs, trainLoss: lossSum / trainSet.count, testLoss: evaluation.loss, accuracy: evaluation.accuracy,
        seconds: (performance.now() - started) / 1000, imagesPerSecond: trainSet.count / trainSeconds, lr, evaluatedOn,
      };
      recordEpoch(metrics, result);
      if (settings.saveModelEvery > 0 && epoch % settings.saveModelEvery === 0 && epoch !== settings.epochs) {
        const path = join(experimentDir, `model_${epoch}.safetensors`);
        saveCheckpoint(path, config, model.stateDict(), { metadata: { epoch: String(epoch) } });
        callbacks.onSave?.(path);
      }
      // The checkpoint first: it is what a resumed run reads; metrics.json is its readable copy.
      saveTrainingCheckpoint(checkpointPathOf(experimentDir), model, optimizer, {
        epoch, step: optimizer.step, dataRandom: dataRandom.state(), dropoutRandom: model.dropoutRandom.state(),
        metrics, config, settings: settingsToJson(settings),
      });
      writeMetrics(join(experimentDir, 'metrics.json'), metrics);
      epochsDone = epoch;
      callbacks.onEpochEnd?.(result);
    }
    if (!stopped) {
      if (epochsDone === startEpoch) writeMetrics(join(experimentDir, 'metrics.json'), metrics);
      const path = join(experimentDir, 'model_final.safetensors');
      saveCheckpoint(path, config, model.stateDict(), { metadata: { epoch: String(epochsDone) } });
      callbacks.onSave?.(path);
    }
  } finally {
    clipper?.release();
    optimizer.release();
    model.release();
  }
  return { experimentDir, metrics, epochsDone, stopped, settings };
}

/** The experiment folder of a --resume path (the folder, or its checkpoint file). */
function experimentDirOf(path: string): string {
  return resolve(path.endsWith('.safetensors') ? dirname(path) : path);
}

/** The checkpoint of an experiment folder, or the file itself. */
export function checkpointPathOf(path: string): string {
  return path.endsWith('.safetensors') ? path : checkpointPath(path);
}

function missingDataDir(): never {
  throw new UserError("no CIFAR-10 data folder given: pass --data DIR (run 'vit data cifar10' to download the data) " +
    'or --sample to use the small sample bundled with vit-ts');
}

/** `preprocessor`: the --init-from model's, whose normalization the run keeps. */
function freshSettings(options: TrainOptions, engine: Engine, preprocessor: Preprocessor | undefined): TrainSettings {
  const recipe = options.recipe ?? 'seed';
  if (!isRecipeName(recipe)) throw new UserError(`--recipe: unknown recipe "${String(recipe)}" (choose seed or fast)`);
  const hyper = resolveHyperparameters(recipe, {
    epochs: options.epochs, batchSize: options.batchSize, lr: options.lr, minLr: options.minLr, schedule: options.schedule,
    warmupEpochs: options.warmupEpochs, weightDecay: options.weightDecay, labelSmoothing: options.labelSmoothing,
    clipGrad: options.clipGrad, augment: options.augment,
  });
  const settings: TrainSettings = {
    ...hyper,
    expName: options.expName,
    outDir: resolve(options.outDir ?? 'experiments'),
    dataDir: resolve(options.dataDir ?? missingDataDir()),
    recipe,
    seed: options.seed ?? 0,
    trainSamples: options.trainSamples ?? null,
    testSamples: options.testSamples ?? null,
    valSplit: options.valSplit ?? 0,
    saveModelEvery: options.saveModelEvery ?? 0,
    threads: engine.threads,
    initFrom: options.initFrom !== undefined ? resolve(options.initFrom) : null,
    mean: preprocessor ? [...preprocessor.mean] : [0.5],
    std: preprocessor ? [...preprocessor.std] : [0.5],
  };
  checkSettings(settings);
  return settings;
}

/**
 * The resumed run's settings, with the options given now on top. Only options that leave the
 * computation unchanged may differ; anything else would silently make a different run.
 */
function resumeSettings(
  resumed: { settings: Record<string, unknown>; config: ViTConfig; epoch: number },
  options: TrainOptions,
  engine: Engine,
  callbacks: TrainCallbacks,
): TrainSettings {
  const source = `${options.resume} (the checkpoint's "training")`;
  const saved = settingsFromJson(resumed.settings, source);
  const asGiven: Partial<Record<keyof TrainSettings, unknown>> = options;
  const given: Partial<Record<keyof TrainSettings, unknown>> = { threads: engine.threads };
  for (const key of Object.keys(SETTING_FLAGS) as (keyof TrainSettings)[]) {
    if (asGiven[key] !== undefined && key !== 'threads') given[key] = asGiven[key];
  }
  if (typeof given.outDir === 'string') given.outDir = resolve(given.outDir);
  if (typeof given.dataDir === 'string') given.dataDir = resolve(given.dataDir);
  for (const [key, value] of Object.entries(given) as [keyof TrainSettings, unknown][]) {
    if (RESUMABLE.has(key) || value === saved[key]) continue;
    throw new UserError(`${SETTING_FLAGS[key]} ${JSON.stringify(value)} differs from the run being resumed ` +
      `(${JSON.stringify(saved[key])}); a resumed run keeps its options except ${[...RESUMABLE].map((k) => SETTING_FLAGS[k]).join(', ')}`);
  }
  if (options.config !== undefined) {
    const asked = resolveConfig(options.config as Record<string, unknown>, '--config');
    if (JSON.stringify(asked) !== JSON.stringify(resumed.config)) {
      throw new UserError('--config differs from the model of the run being resumed; a resumed run keeps its model');
    }
  }
  const settings = { ...saved, ...given } as TrainSettings;
  checkSettings(settings);
  if (settings.epochs < resumed.epoch) {
    throw new UserError(`--epochs ${settings.epochs} is fewer than the ${resumed.epoch} epochs the run being resumed has done`);
  }
  if (settings.threads !== saved.threads) {
    callbacks.onNotice?.(`The run was trained on ${saved.threads} thread(s) and continues on ${settings.threads}: ` +
      'the losses may differ in the last digits from an uninterrupted run.');
  }
  if (settings.epochs !== saved.epochs && settings.schedule !== 'constant') {
    callbacks.onNotice?.(`--epochs changed from ${saved.epochs} to ${settings.epochs}: the learning rate schedule is ` +
      'stretched to the new length from here on.');
  }
  return settings;
}

function checkSettings(s: TrainSettings): void {
  checkHyperparameters(s);
  if (!/^[^/\\]+$/.test(s.expName) || s.expName === '.' || s.expName === '..') {
    throw new UserError(`--exp-name must be a plain folder name without slashes (got ${JSON.stringify(s.expName)})`);
  }
  const wholeOrNull = (key: 'trainSamples' | 'testSamples', min: number): void => {
    const v = s[key];
    if (v !== null && !(Number.isInteger(v) && v >= min)) throw new UserError(`${SETTING_FLAGS[key]} must be a whole number ≥ ${min} (got ${v})`);
  };
  wholeOrNull('trainSamples', 1);
  wholeOrNull('testSamples', 1);
  for (const key of ['seed', 'valSplit', 'saveModelEvery'] as const) {
    if (!Number.isInteger(s[key]) || s[key] < 0) throw new UserError(`${SETTING_FLAGS[key]} must be a whole number ≥ 0 (got ${s[key]})`);
  }
  if (s.initFrom !== null && typeof s.initFrom !== 'string') throw new UserError(`${SETTING_FLAGS.initFrom} must be a path (got ${JSON.stringify(s.initFrom)})`);
  for (const key of ['mean', 'std'] as const) {
    const v: unknown = s[key];
    if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== 'number' || !Number.isFinite(x) || (key === 'std' && x <= 0))) {
      throw new UserError(`${SETTING_FLAGS[key]} must be a list of ${key === 'std' ? 'positive ' : ''}numbers (got ${JSON.stringify(v)})`);
    }
  }
}

/** config.json and the checkpoint keep the settings with snake_case keys, as the seed's config. */
export function settingsToJson(s: TrainSettings): Record<string, unknown> {
  return Object.fromEntries(Object.entries(s).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]));
}

export function settingsFromJson(json: Record<string, unknown>, source: string): TrainSettings {
  const camel = {
    ...LATER_SETTINGS,
    ...Object.fromEntries(Object.entries(json).map(([k, v]) => [k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), v])),
  };
  for (const key of Object.keys(SETTING_FLAGS)) {
    if (!(key in camel)) throw new UserError(`${source}: lacks "${key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}"`);
  }
  const settings = camel as unknown as TrainSettings;
  if (!isRecipeName(settings.recipe)) throw new UserError(`${source}: unknown recipe ${JSON.stringify(settings.recipe)}`);
  checkSettings(settings);
  return settings;
}

/** A new experiment must not overwrite another; a resumed one continues in its own folder or a fresh one. */
function prepareExperimentDir(dir: string, resumedFrom: string | null): void {
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw new UserError(`${dir} is a file; the experiment needs a folder there`);
    if (code !== 'ENOENT') throw e;
  }
  if (resumedFrom !== dir && names.some((n) => EXPERIMENT_FILES.includes(n))) {
    throw new UserError(`${dir} already holds an experiment; continue it with --resume ${dir}, choose another --exp-name, or remove the folder`);
  }
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new UserError(`cannot create the experiment folder ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  removeStaleTemporaries(dir, names);
}

/** A run killed while writing leaves its temp file (NAME.tmp-PID-HEX, see io/atomic); the target itself is whole. */
function removeStaleTemporaries(dir: string, names: readonly string[]): void {
  for (const name of names) {
    const match = /\.tmp-(\d+)-[0-9a-f]+$/.exec(name);
    if (match && !processAlive(Number(match[1]))) rmSync(join(dir, name), { force: true });
  }
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The training set and the set evaluated after each epoch (the test set, or a validation split). */
function loadSets(s: TrainSettings): { trainSet: ImageSet; evalSet: ImageSet; evaluatedOn: EvaluatedOn } {
  const rng = new Random(s.seed ^ SUBSET_SALT);
  let trainSet = readCifar10(s.dataDir, 'train');
  if (s.trainSamples !== null) trainSet = subset(trainSet, s.trainSamples, rng);
  if (s.valSplit > 0) {
    if (s.valSplit >= trainSet.count) {
      throw new UserError(`--val-split ${s.valSplit} leaves no training images (there are ${trainSet.count})`);
    }
    const { kept, heldOut } = splitOff(trainSet, s.valSplit, rng);
    return { trainSet: kept, evalSet: heldOut, evaluatedOn: 'validation' };
  }
  let testSet = readCifar10(s.dataDir, 'test');
  if (s.testSamples !== null) testSet = subset(testSet, s.testSamples, rng);
  return { trainSet, evalSet: testSet, evaluatedOn: 'test' };
}

/** Splits `count` random images off `set`; both parts keep file order. */
export function splitOff(set: ImageSet, count: number, rng: Random): { kept: ImageSet; heldOut: ImageSet } {
  const chosen = new Uint8Array(set.count);
  const permutation = rng.permutation(set.count);
  for (let i = 0; i < count; i++) chosen[permutation[i]!] = 1;
  const pick = (want: number, n: number): ImageSet => {
    const images = new Uint8Array(n * IMAGE_BYTES);
    const labels = new Uint8Array(n);
    for (let from = 0, to = 0; from < set.count; from++) {
      if (chosen[from] !== want) continue;
      images.set(set.images.subarray(from * IMAGE_BYTES, (from + 1) * IMAGE_BYTES), to * IMAGE_BYTES);
      labels[to++] = set.labels[from]!;
    }
    return { images, labels, count: n, classNames: set.classNames };
  };
  return { kept: pick(0, set.count - count), heldOut: pick(1, count) };
}

/** Clips the global L2 norm of all gradients, as torch.nn.utils.clip_grad_norm_. */
export class GradientClipper {
  private readonly partial: number;

  constructor(private readonly store: ParameterStore) {
    // one f64 partial sum per thread
    this.partial = store.engine.allocate(2 * store.engine.threads);
  }

  /** The gradients' norm before clipping; scales them by maxNorm / (norm + 1e-6) when that is below 1. */
  clip(maxNorm: number): number {
    const norm = this.norm();
    const factor = maxNorm / (norm + 1e-6);
    if (factor < 1) this.store.engine.run('scale', this.store.grads, this.store.count, factor);
    return norm;
  }

  norm(): number {
    const { engine, grads, count } = this.store;
    engine.run('sum_squares', this.partial, grads, count);
    let sum = 0;
    for (const part of engine.f64(this.partial, engine.threads)) sum += part;
    return Math.sqrt(sum);
  }

  release(): void {
    this.store.engine.release(this.partial);
  }
}
