// The training loop, shaped like the seed's Trainer: train() runs the epochs, trainEpoch() makes
// one pass over the training images, evaluate() measures the model after each. Around the seed's
// AdamW and cross-entropy: a learning rate schedule, label smoothing, gradient clipping and exact
// resumption from the checkpoint saved after every epoch.
//
// Platform-free: the images come in memory and the files go to a RunStore, so `vit train` (which
// keeps an experiment folder, see experiment-folder.ts) and the page (its storage) run this same loop.
import { checkObject, kindOf, quoteValue } from '../arguments.js';
import { BatchMaker } from '../data/augment.js';
import { IMAGE_BYTES, type ImageSet, checkImageSet } from '../data/cifar10.js';
import { UserError } from '../errors.js';
import { type ViTConfig, numPatches } from '../model/config.js';
import { type TokenSelection, drawKeptPatches } from '../model/patch-dropout.js';
import { ViTForClassification } from '../model/vit.js';
import { Random } from '../random.js';
import type { Engine } from '../runtime/engine.js';
import { encodeModelFile } from '../weights/model-file.js';
import { AdamW } from './adamw.js';
import { type TrainingCheckpoint, encodeTrainingCheckpoint, restoreTrainingCheckpoint } from './checkpoint.js';
import type { TrainingData } from './data-sets.js';
import { type Evaluation, evaluate } from './evaluate.js';
import { GradientClipper } from './gradient-clipper.js';
import { WeightAverage } from './weight-average.js';
import { type EpochResult, type EvaluatedOn, type Metrics, emptyMetrics, formatDuration, lastEvaluation, recordEpoch } from './metrics.js';
import { augmentOptions } from './recipes.js';
import { BudgetReserve } from './budget-reserve.js';
import { type Clock, RunClock, systemClock } from './run-clock.js';
import { type TrainingParts, trainStep } from './step.js';
import {
  type KeepSchedule,
  type RunLength,
  type RunPosition,
  type Schedule,
  learningRateAt,
  patchesKeptAt,
  runFraction,
} from './schedule.js';
import { type TrainSettings, checkSettings, settingsToJson } from './settings.js';

/** Where a run's files go: an experiment folder in Node, the browser's storage in the page. */
export interface RunStore {
  /** Where that is, for messages. */
  readonly location: string;
  /** Once, before the first epoch: the model's config and the run's settings (config.json: see experimentConfig). */
  saveConfig(config: ViTConfig, settings: TrainSettings): Promise<void> | void;
  /** After every epoch: what a resumed run starts from. */
  saveCheckpoint(checkpoint: Uint8Array, epoch: number): Promise<void> | void;
  /** After every epoch, after the checkpoint: the metrics so far (metrics.json). */
  saveMetrics(metrics: Metrics): Promise<void> | void;
  /** A model file (the seed's names, the config in its metadata): after `epoch`, or the final one. */
  saveModel(model: Uint8Array, epoch: number, final: boolean): Promise<void> | void;
}

export interface TrainStart {
  /** Epochs already done (from a resumed checkpoint), 0 for a fresh run. */
  startEpoch: number;
  /** Epochs to train; null under a time budget (as many as fit). */
  epochs: number | null;
  /** The time budget in seconds, and the seconds earlier sessions of the run spent; null without one. */
  budget: { seconds: number; spent: number } | null;
  batchesPerEpoch: number;
  trainImages: number;
  evalImages: number;
  evaluatedOn: EvaluatedOn;
  /** The store's location: the experiment folder, say. */
  location: string;
  settings: TrainSettings;
  config: ViTConfig;
  parameters: number;
  /** The engine, in words: "WebAssembly SIMD (relaxed), 2 threads" or the GPU adapter's name. */
  engine: string;
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
  /** Patch tokens each image kept in this batch (all of them without token dropping). */
  patchesKept: number;
  /** Seconds the run has spent (over all its sessions): what a time budget counts. */
  runSeconds: number;
  /** Seconds since the epoch started. */
  seconds: number;
}

export interface EvaluationProgress {
  /** The epoch evaluated. */
  epoch: number;
  /** Images evaluated so far, of `total`. */
  images: number;
  total: number;
  /** Whether this is the run's final evaluation (the one a time budget keeps room for). */
  final: boolean;
}

export interface TrainCallbacks {
  onStart?(start: TrainStart): void;
  onEpochStart?(epoch: number, batches: number): void;
  /** After every batch. The loop waits for a promise returned here: that is how a page pauses a run. */
  onBatch?(progress: BatchProgress): void | Promise<void>;
  onEpochEnd?(result: EpochResult): void;
  /** After every batch of an evaluation (and of the one batch a time budget first times). */
  onEvaluation?(progress: EvaluationProgress): void;
  /** Notices worth showing the user (a resumed run's differences, say). */
  onNotice?(message: string): void;
}

/** What a run starts from: a model config and settings, and either a checkpoint or initial weights. */
export interface RunSpec {
  engine: Engine;
  config: ViTConfig;
  settings: TrainSettings;
  /** Continue this run's checkpoint (its config and settings are the ones above). */
  resume?: TrainingCheckpoint;
  /** Fine-tune from these parameters (canonical names) instead of the seed's initialization. */
  initialParams?: Map<string, Float32Array>;
  /** The clock a time budget counts on (default performance.now); a test may pass one it controls. */
  clock?: Clock;
  /** When this session began on the clock's scale (default: when train() starts); what comes before the loop counts. */
  startedAt?: number;
}

export interface TrainOutcome {
  metrics: Metrics;
  /** Epochs finished (fewer than asked when stopped by the signal). */
  epochsDone: number;
  stopped: boolean;
  /** The run's clock when train() returned, over all its sessions, the final files saved: what a time budget bounds. */
  runSeconds: number;
}

/** One pass over the training images: its mean loss, last learning rate and time; `budgetSpent` when the time budget cut it short. */
interface EpochPass {
  loss: number;
  lr: number;
  seconds: number;
  images: number;
  budgetSpent: boolean;
}

/** A step whose losses are still on their way back from the engine (read a step later). */
interface PendingLosses {
  losses: Promise<Float32Array>;
  epoch: number;
  /** The batch's index in its epoch (0-based). */
  batch: number;
}

/** Salt of the shuffling-and-augmentation generator, derived from the run's seed. */
const DATA_SALT = 0xda7a;

/** config.json: the model's config with the run's settings under "training". */
export function experimentConfig(config: ViTConfig, settings: TrainSettings): Record<string, unknown> {
  return { ...config, training: settingsToJson(settings) };
}

export class Trainer {
  private readonly optimizer: AdamW;
  private readonly clipper: GradientClipper | null;
  /** The weights' moving average that evaluation and the model files use, when the run keeps one (emaDecay). */
  private readonly average: WeightAverage | null;
  private readonly dataRandom: Random;
  private readonly metrics: Metrics;
  /** Epochs finished so far. */
  private epochsDone: number;
  /** The run's clock (set by train()). */
  private clock = new RunClock(0);
  /** Under a time budget: the time kept free at its end for the last batch, the final evaluation and the saves. */
  private readonly reserve = new BudgetReserve();
  /** Images of the evaluation set (set by train()). */
  private evalImages = 0;
  private readonly now: Clock;
  private readonly startedAt: number | undefined;
  /** The kept patches of a token-dropping batch (reused). */
  private selection: TokenSelection | null = null;

  private constructor(
    readonly model: ViTForClassification,
    readonly settings: TrainSettings,
    private readonly store: RunStore,
    private readonly callbacks: TrainCallbacks,
    spec: RunSpec,
    evaluatedOn: EvaluatedOn,
  ) {
    this.optimizer = new AdamW(model.parameters, { lr: settings.lr, weightDecay: settings.weightDecay });
    this.clipper = settings.clipGrad > 0 ? new GradientClipper(model.parameters) : null;
    this.average = settings.emaDecay > 0 ? new WeightAverage(model.parameters, settings.emaDecay) : null;
    this.now = spec.clock ?? systemClock;
    this.startedAt = spec.startedAt;
    if (spec.resume) {
      restoreTrainingCheckpoint(spec.resume, model, this.optimizer, store.location, this.average ?? undefined);
      this.dataRandom = new Random(spec.resume.dataRandom);
      this.metrics = spec.resume.metrics;
      this.epochsDone = spec.resume.epoch;
    } else {
      if (spec.initialParams) model.loadStateDict(spec.initialParams);
      this.average?.reset();
      this.dataRandom = new Random(settings.seed ^ DATA_SALT);
      this.metrics = emptyMetrics(evaluatedOn);
      this.epochsDone = 0;
    }
  }

  static async create(spec: RunSpec, evaluatedOn: EvaluatedOn, store: RunStore, callbacks: TrainCallbacks = {}): Promise<Trainer> {
    checkObject(spec, 'Trainer.create: spec');
    if (!isEngine(spec.engine)) throw new UserError(`Trainer.create: spec.engine must be an Engine (got ${kindOf(spec.engine)})`);
    if (spec.clock !== undefined && typeof spec.clock !== 'function')
      throw new UserError(`Trainer.create: spec.clock must be a function (got ${kindOf(spec.clock)})`);
    checkObject(spec.settings, 'Trainer.create: spec.settings');
    checkSettings(spec.settings, 'Trainer.create: spec.settings');
    if (evaluatedOn !== 'test' && evaluatedOn !== 'validation')
      throw new UserError(`Trainer.create: evaluatedOn must be "test" or "validation" (got ${quoteValue(evaluatedOn)})`);
    for (const method of ['saveConfig', 'saveCheckpoint', 'saveMetrics', 'saveModel'] as const) {
      if (typeof (store as Partial<RunStore> | null)?.[method] !== 'function')
        throw new UserError(`Trainer.create: store must be a RunStore (it lacks ${method})`);
    }
    const givenCallbacks: unknown = callbacks;
    checkObject(givenCallbacks, 'Trainer.create: callbacks');
    const model = await ViTForClassification.create(spec.config, { engine: spec.engine, seed: spec.settings.seed });
    return new Trainer(model, spec.settings, store, callbacks, spec, evaluatedOn);
  }

  /**
   * Trains until the settings' epochs are done, or the time budget is spent, or `signal` stops it
   * after a batch; saves as it goes.
   */
  async train(data: TrainingData, signal?: AbortSignal): Promise<TrainOutcome> {
    checkImageSet(data?.trainSet, 'Trainer.train: data.trainSet');
    checkImageSet(data?.evalSet, 'Trainer.train: data.evalSet');
    const { settings, model, store } = this;
    const startEpoch = this.epochsDone;
    const batchesPerEpoch = Math.ceil(data.trainSet.count / settings.batchSize);
    const length: RunLength =
      settings.timeBudget !== null ? { seconds: settings.timeBudget } : { steps: settings.epochs * batchesPerEpoch };
    const schedule: Schedule = {
      kind: settings.schedule,
      peakLr: settings.lr,
      minLr: settings.minLr,
      warmupSteps: Math.round(settings.warmupEpochs * batchesPerEpoch),
      length,
    };
    // BatchMaker resizes the 32×32 images to the model's side (a pretrained model's 224, say).
    const maker = new BatchMaker(
      model.config.image_size,
      model.config.num_channels,
      { ...augmentOptions(settings.augment), mean: settings.mean, std: settings.std },
      this.dataRandom,
    );
    const spent = this.metrics.elapsed_seconds.at(-1) ?? 0;
    // Before anything is written: a resumed run must not rewrite its files with a budget it has already spent.
    checkBudgetLeft(settings.timeBudget, spent, 'timeBudget');
    await store.saveConfig(model.config, settings);
    // Under a time budget the run trains as many epochs as fit.
    const epochs = settings.timeBudget === null ? settings.epochs : null;
    this.clock = new RunClock(spent, this.now, this.startedAt);
    this.evalImages = data.evalSet.count;
    if (settings.timeBudget !== null) {
      // A resumed run's batches took about what its last epoch's did, until this session measures its own.
      const lastEpoch = this.metrics.epoch_seconds.at(-1);
      if (lastEpoch !== undefined) this.reserve.recordBatch(lastEpoch / batchesPerEpoch);
      await this.timeEvaluation(data.evalSet);
    }
    this.callbacks.onStart?.({
      startEpoch,
      epochs,
      budget: settings.timeBudget === null ? null : { seconds: settings.timeBudget, spent },
      batchesPerEpoch,
      trainImages: data.trainSet.count,
      evalImages: data.evalSet.count,
      evaluatedOn: data.evaluatedOn,
      location: store.location,
      settings,
      config: model.config,
      parameters: model.parameters.list.reduce((n, p) => n + p.size, 0),
      engine: model.engine.description,
    });

    for (let epoch = startEpoch + 1; settings.timeBudget === null ? epoch <= settings.epochs : !this.budgetSpent(); epoch++) {
      const started = this.now();
      const pass = await this.trainEpoch(epoch, data.trainSet, maker, schedule, signal);
      if (pass === null) return { metrics: this.metrics, epochsDone: this.epochsDone, stopped: true, runSeconds: this.clock.seconds };
      const due = this.evaluationDue(epoch);
      // Under a budget, an evaluation due now that would leave no room for another batch is the final one.
      const last =
        settings.timeBudget === null
          ? epoch === settings.epochs
          : pass.budgetSpent || this.budgetSpent(due ? this.reserve.evaluationAhead(this.evalImages) : 0);
      const evaluation = last || due ? await this.evaluateEpoch(data.evalSet, epoch, last) : null;
      // NaN weights from the last updates show here first: nothing of this epoch is saved.
      if (evaluation && !Number.isFinite(evaluation.loss))
        throw this.diverged(`the ${data.evaluatedOn} loss is ${evaluation.loss} after epoch ${epoch}`);
      const result: EpochResult = {
        epoch,
        epochs,
        trainLoss: pass.loss,
        testLoss: evaluation?.loss ?? null,
        accuracy: evaluation?.accuracy ?? null,
        ...(settings.tta === 'flip' ? { flipAccuracy: evaluation?.flip?.accuracy ?? null } : {}),
        seconds: (this.now() - started) / 1000,
        elapsedSeconds: this.clock.seconds,
        imagesPerSecond: pass.images / pass.seconds,
        lr: pass.lr,
        evaluatedOn: data.evaluatedOn,
      };
      recordEpoch(this.metrics, result);
      await this.saveEpoch(epoch, last);
      this.callbacks.onEpochEnd?.(result);
      if (last) break;
    }
    // A resumed run with nothing left to do still leaves its metrics beside the final model, and
    // a budget run stopped with less time left than an evaluation ends evaluated too.
    if (this.epochsDone === startEpoch) {
      if (startEpoch > 0 && this.metrics.accuracies[startEpoch - 1] === null) await this.evaluateLastEpoch(data.evalSet);
      await store.saveMetrics(this.metrics);
    }
    await store.saveModel(await this.modelFile(this.epochsDone), this.epochsDone, true);
    return { metrics: this.metrics, epochsDone: this.epochsDone, stopped: false, runSeconds: this.clock.seconds };
  }

  /**
   * One pass over the training images in a fresh random order, or until the time budget is spent:
   * the mean training loss, the last learning rate, the seconds and images; null when `signal` stopped it.
   * Each step's losses are read a step later, so that the engine is not waited on between steps.
   */
  async trainEpoch(
    epoch: number,
    trainSet: ImageSet,
    maker: BatchMaker,
    schedule: Schedule,
    signal?: AbortSignal,
  ): Promise<EpochPass | null> {
    const { model, settings } = this;
    const batches = Math.ceil(trainSet.count / settings.batchSize);
    this.callbacks.onEpochStart?.(epoch, batches);
    const started = this.now();
    const order = this.dataRandom.permutation(trainSet.count);
    const labels = new Int32Array(Math.min(settings.batchSize, trainSet.count));
    const patches = numPatches(model.config);
    const keep: KeepSchedule = { start: settings.keepTokens, allFrom: settings.keepTokensUntil };
    // The seed's running total: each batch's mean loss times its size, i.e. the sum of the images' losses.
    let lossSum = 0;
    let images = 0;
    let counted = 0;
    let pending: PendingLosses | null = null;
    const settle = async (): Promise<void> => {
      if (pending === null) return;
      const step = pending;
      pending = null;
      const losses = await step.losses;
      lossSum += this.checkedSum(losses, step);
      counted += losses.length;
    };
    let lr = learningRateAt(schedule, this.position());
    const pass = (budgetSpent: boolean): EpochPass => ({
      loss: lossSum / counted,
      lr,
      seconds: (this.now() - started) / 1000,
      images,
      budgetSpent,
    });
    for (let batch = 0, start = 0; start < trainSet.count; batch++, start += settings.batchSize) {
      // Let signal handlers, progress timers and a page's messages run between batches.
      await yieldToEventLoop();
      if (signal?.aborted) return null;
      const batchStarted = this.clock.seconds;
      const count = Math.min(settings.batchSize, trainSet.count - start);
      maker.fill(model.imageBuffer(count), trainSet, order, start, count, true);
      for (let i = 0; i < count; i++) labels[i] = trainSet.labels[order[start + i]!]!;
      model.setLabels(labels, count);
      const kept = patchesKeptAt(keep, patches, runFraction(schedule.length, this.position()));
      const tokens = kept < patches ? this.keptPatches(count, patches, kept) : undefined;
      lr = learningRateAt(schedule, this.position());
      const losses = trainStep(this.parts, count, { lr, labelSmoothing: settings.labelSmoothing, clipGrad: settings.clipGrad, tokens });
      // The previous step's losses, which the engine has had a whole step to send; the first of an epoch is awaited at once.
      await settle();
      pending = { losses, epoch, batch };
      if (counted === 0) await settle();
      images += count;
      await this.clock.hold(
        this.callbacks.onBatch?.({
          epoch,
          batch: batch + 1,
          batches,
          images,
          loss: lossSum / counted,
          lr,
          patchesKept: kept,
          seconds: (this.now() - started) / 1000,
          runSeconds: this.clock.seconds,
        }),
      );
      // The batch's time on the run's clock: a callback's own work counts, a pause it holds does not.
      this.reserve.recordBatch(this.clock.seconds - batchStarted);
      if (this.budgetSpent()) {
        await settle();
        return pass(true);
      }
    }
    await settle();
    return pass(false);
  }

  /** The model, optimizer, clipper and average one step updates. */
  private get parts(): TrainingParts {
    return { model: this.model, optimizer: this.optimizer, clipper: this.clipper, average: this.average };
  }

  /** The sum of a step's losses; a diverged run (a loss not finite) stops here. */
  private checkedSum(losses: Float32Array, step: PendingLosses): number {
    let sum = 0;
    for (const loss of losses) sum += loss;
    if (!Number.isFinite(sum)) throw this.diverged(`the loss is ${sum / losses.length} at epoch ${step.epoch}, batch ${step.batch + 1}`);
    return sum;
  }

  /**
   * Whether epoch `epoch` (not the last) is evaluated: every evalEvery epochs; by default every
   * epoch, or under a time budget after each tenth of it, so that evaluation takes little of a short budget.
   */
  private evaluationDue(epoch: number): boolean {
    const { evalEvery, timeBudget } = this.settings;
    if (evalEvery !== null) return epoch % evalEvery === 0;
    if (timeBudget === null) return true;
    const last = lastEvaluation(this.metrics);
    const tenth = (seconds: number): number => Math.floor((10 * seconds) / timeBudget);
    return tenth(this.clock.seconds) > (last === null ? 0 : tenth(this.metrics.elapsed_seconds[last.epoch - 1]!));
  }

  /** The run's position for the schedules: updates done, seconds spent. */
  private position(): RunPosition {
    return { step: this.optimizer.step, seconds: this.clock.seconds };
  }

  /** Whether the time budget, after `ahead` seconds more, leaves no room for another batch before the final evaluation and saves. */
  private budgetSpent(ahead = 0): boolean {
    const budget = this.settings.timeBudget;
    return budget !== null && this.clock.seconds + ahead + this.reserve.seconds(this.evalImages) >= budget;
  }

  /** Each image's kept patches for a token-dropping batch, drawn from the data's generator (a resumed run draws the same). */
  private keptPatches(count: number, patches: number, kept: number): TokenSelection {
    const reuse = this.selection && this.selection.indices.length >= count * kept ? this.selection.indices : undefined;
    this.selection = drawKeptPatches(this.dataRandom, count, patches, kept, reuse);
    return this.selection;
  }

  /**
   * The evaluation throughput before any evaluation, from the first batch of `evalSet` (each
   * evaluation then refines it); reported as an evaluation of that batch alone, not final.
   */
  private async timeEvaluation(evalSet: ImageSet): Promise<void> {
    const count = Math.min(evalSet.count, this.settings.batchSize);
    const batch = { ...evalSet, count, images: evalSet.images.subarray(0, count * IMAGE_BYTES), labels: evalSet.labels.subarray(0, count) };
    const report = (images: number, total: number): void =>
      this.callbacks.onEvaluation?.({ epoch: this.epochsDone, images, total, final: false });
    // Twice, timing the second: a first call pays for warming up (the page's engine compiling and
    // tiering up its code), which extrapolated over the whole set stopped a page's run far too early.
    await this.evaluateWeights(batch, report, false);
    await this.evaluateWeights(batch, report);
  }

  private diverged(what: string): UserError {
    const kept = this.epochsDone > 0 ? `; ${this.store.location} keeps the checkpoint and metrics of epoch ${this.epochsDone}` : '';
    return new UserError(
      `training diverged: ${what}; try a lower learning rate (lr), gradient clipping (clipGrad 1) or a longer warmup (warmupEpochs)${kept}`,
    );
  }

  /** Accuracy and mean cross-entropy on `evalSet`, normalized as the training images. */
  evaluate(evalSet: ImageSet): Promise<Evaluation> {
    return this.withEvaluatedWeights(() => this.evaluateWeights(evalSet));
  }

  /** evaluate() after epoch `epoch`, its progress reported (onEvaluation). */
  private evaluateEpoch(evalSet: ImageSet, epoch: number, final: boolean): Promise<Evaluation> {
    return this.withEvaluatedWeights(() =>
      this.evaluateWeights(evalSet, (images, total) => {
        this.callbacks.onEvaluation?.({ epoch, images, total, final });
      }),
    );
  }

  /** Fills in the evaluation of the last epoch, which was not evaluated. */
  private async evaluateLastEpoch(evalSet: ImageSet): Promise<void> {
    const evaluation = await this.evaluateEpoch(evalSet, this.epochsDone, true);
    const last = this.epochsDone - 1;
    this.metrics.test_losses[last] = evaluation.loss;
    this.metrics.accuracies[last] = evaluation.accuracy;
    if (this.metrics.flip_accuracies) this.metrics.flip_accuracies[last] = evaluation.flip?.accuracy ?? null;
  }

  /**
   * The model's present weights on `evalSet`, normalized as the training images, with the run's
   * test-time augmentation; each batch's time goes to the budget's reserve (unless not `measured`).
   */
  private evaluateWeights(evalSet: ImageSet, onBatch?: (images: number, total: number) => void, measured = true): Promise<Evaluation> {
    const { batchSize, mean, std, tta } = this.settings;
    let [batchStarted, before] = [this.now(), 0];
    return evaluate(this.model, evalSet, batchSize, {
      mean,
      std,
      flip: tta === 'flip',
      onBatch: (images, total) => {
        // Reporting the progress is part of the evaluation's time.
        onBatch?.(images, total);
        const now = this.now();
        if (measured) this.reserve.recordEvaluation(images - before, (now - batchStarted) / 1000);
        [batchStarted, before] = [now, images];
      },
    });
  }

  /** The checkpoint first: it is what a resumed run reads; the metrics are its readable copy. */
  private async saveEpoch(epoch: number, last: boolean): Promise<void> {
    const { settings, store } = this;
    const started = this.now();
    if (settings.saveModelEvery > 0 && epoch % settings.saveModelEvery === 0 && !last) {
      await store.saveModel(await this.modelFile(epoch), epoch, false);
    }
    await store.saveCheckpoint(
      await encodeTrainingCheckpoint(
        this.model,
        this.optimizer,
        {
          epoch,
          step: this.optimizer.step,
          dataRandom: this.dataRandom.state(),
          dropoutRandom: this.model.dropoutRandom.state(),
          metrics: this.metrics,
          config: this.model.config,
          settings: settingsToJson(settings),
        },
        this.average ?? undefined,
      ),
      epoch,
    );
    await store.saveMetrics(this.metrics);
    this.epochsDone = epoch;
    this.reserve.recordSave((this.now() - started) / 1000);
  }

  private async modelFile(epoch: number): Promise<Uint8Array> {
    const params = await this.withEvaluatedWeights(() => this.model.stateDict());
    return encodeModelFile(this.model.config, params, { metadata: { epoch: String(epoch) } });
  }

  /** Runs `work` on the weights the run evaluates and saves: the moving average when it keeps one, else the trained weights. */
  private withEvaluatedWeights<T>(work: () => Promise<T>): Promise<T> {
    return this.average ? this.average.withAveragedWeights(work) : work();
  }

  release(): void {
    this.clipper?.release();
    this.average?.release();
    this.optimizer.release();
    this.model.release();
  }
}

/**
 * Refuses to continue a run whose time budget (`name`, in seconds) is already spent: it would train
 * nothing and rewrite its files.
 */
export function checkBudgetLeft(budget: number | null, spent: number, name: string): void {
  if (budget !== null && spent >= budget) {
    throw new UserError(
      `${name} ${formatDuration(budget)} is already spent: the run has used ${formatDuration(spent)}; ` +
        `nothing was changed (give a budget above ${formatDuration(Math.ceil(spent * 10) / 10)} to train on)`,
    );
  }
}

/** Returns after pending events have run (setImmediate in Node; a message round trip elsewhere, unthrottled unlike setTimeout). */
function yieldToEventLoop(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((done) => setImmediate(done));
  return new Promise((done) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      done();
    };
    channel.port2.postMessage(null);
  });
}

/** Whether `value` looks like an Engine (either backend's). */
function isEngine(value: unknown): value is Engine {
  const engine = value as Partial<Engine> | null;
  return (
    typeof engine === 'object' &&
    engine !== null &&
    (engine.kind === 'wasm' || engine.kind === 'webgpu') &&
    typeof engine.run === 'function'
  );
}
