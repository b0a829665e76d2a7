// `vit train` in Node: the run's settings from the options (or the checkpoint it resumes), the
// data from a cifar-10-batches-bin folder, and the experiment folder OUT/NAME that the training
// loop (trainer.ts) saves into. The only module of src/train that touches the file system.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { readCifar10 } from '../data/cifar10-files.js';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import {
  CHECKPOINT_FILE, CONFIG_FILE, EXPERIMENT_MARKERS, FINAL_MODEL_FILE, METRICS_FILE, epochModelFile,
} from '../io/experiment-layout.js';
import { readSafetensorsBytes } from '../io/safetensors.js';
import { type ViTConfig, resolveConfig } from '../model/config.js';
import { type Engine, getEngine } from '../runtime/engine.js';
import { writePreprocessorConfig } from '../weights/files.js';
import { type InitialModel, initFrom } from '../weights/init-from.js';
import { type TrainingCheckpoint, decodeTrainingCheckpoint } from './checkpoint.js';
import { trainingData } from './data-sets.js';
import { type Metrics, metricsJson } from './metrics.js';
import { type SettingKey, SETTINGS, type TrainSettings, resolveSettings, resumedSettings, settingsFromJson } from './settings.js';
import { type RunStore, type TrainCallbacks as LoopCallbacks, Trainer, experimentConfig } from './trainer.js';

/** What `train` takes: any setting (see settings.ts; left out = the recipe's or the table's default), and these. */
export type TrainOptions = Partial<Omit<TrainSettings, 'expName' | 'initFrom' | 'mean' | 'std'>> & {
  /** The experiment's folder name under outDir. */
  expName: string;
  /** Overrides of the seed's model config (of the --init-from model's, when given). */
  config?: Partial<ViTConfig>;
  /**
   * A trained model to fine-tune (anything --model accepts, a Hugging Face ViT folder included):
   * its weights and config, adapted to `config` as weights/init-from.ts does, and its normalization.
   */
  initFrom?: string;
  /** An experiment folder (or its checkpoint) to continue. */
  resume?: string;
  /** The engine to run on (default: the program's, created with `threads`). */
  engine?: Engine;
  /** Stops training after the current batch; the files then hold the last finished epoch. */
  signal?: AbortSignal;
};

export interface TrainCallbacks extends LoopCallbacks {
  /** A model file the run wrote (model_{epoch}, model_final). */
  onSave?(path: string): void;
}

export interface TrainResult {
  experimentDir: string;
  metrics: Metrics;
  /** Epochs finished (fewer than asked when stopped by the signal). */
  epochsDone: number;
  stopped: boolean;
  settings: TrainSettings;
}

/** Trains per `options` into the experiment folder OUT/NAME; see TrainOptions and TrainCallbacks. */
export async function train(options: TrainOptions, callbacks: TrainCallbacks = {}): Promise<TrainResult> {
  if (options.initFrom !== undefined && options.resume !== undefined) {
    throw new UserError('--init-from and --resume cannot go together: a resumed run continues from its own checkpoint');
  }
  const resume = options.resume !== undefined ? readTrainingCheckpoint(checkpointPathOf(options.resume)) : undefined;
  const saved = resume ? settingsFromJson(resume.settings, `${options.resume} (the checkpoint's "training")`) : undefined;
  // The thread count, chosen here once: as asked, else the resumed run's (its losses stay bit-identical), else the default.
  const threads = options.threads ?? saved?.threads;
  const engine = options.engine ?? (await getEngine(threads !== undefined ? { threads } : {}));
  const initial = options.initFrom !== undefined
    ? initFrom(options.initFrom, options.config ?? {}, { seed: options.seed ?? 0, source: '--config' })
    : undefined;
  const settings = resume && saved ? resumeSettings(resume, saved, options, engine, callbacks) : freshSettings(options, engine, initial);
  const config = resume ? resume.config : initial ? initial.config : resolveConfig((options.config ?? {}) as Record<string, unknown>, '--config');

  // Data first: a missing data folder must not leave an empty experiment folder behind.
  const data = trainingData(readCifar10(settings.dataDir, 'train'), () => readCifar10(settings.dataDir, 'test'), settings);
  const experimentDir = resolve(settings.outDir, settings.expName);
  prepareExperimentDir(experimentDir, options.resume !== undefined ? experimentDirOf(options.resume) : null);
  const store = new ExperimentFolder(experimentDir, callbacks);
  const spec = { engine, config, settings, ...(resume ? { resume } : {}), ...(initial ? { initialParams: initial.params } : {}) };
  const trainer = await Trainer.create(spec, data.evaluatedOn, store, callbacks);
  if (initial) {
    const adapted = initial.changes.length > 0 ? `: ${initial.changes.join('; ')}` : '';
    callbacks.onNotice?.(`Fine-tuning ${settings.initFrom}${adapted}`);
  }
  try {
    const outcome = await trainer.train(data, options.signal);
    return { experimentDir, settings, ...outcome };
  } finally {
    trainer.release();
  }
}

/** The experiment folder's files, written atomically as the loop hands them over. */
class ExperimentFolder implements RunStore {
  constructor(readonly location: string, private readonly callbacks: TrainCallbacks) {}

  saveConfig(config: ViTConfig, settings: TrainSettings): void {
    writeFileAtomic(join(this.location, CONFIG_FILE), JSON.stringify(experimentConfig(config, settings), null, 2) + '\n');
    // eval and predict take the normalization from preprocessor_config.json beside the model; 0.5 is their default.
    if (![...settings.mean, ...settings.std].every((v) => v === 0.5)) {
      writePreprocessorConfig(this.location, { mean: settings.mean, std: settings.std }, config.image_size);
    }
  }

  saveCheckpoint(checkpoint: Uint8Array): void {
    writeFileAtomic(join(this.location, CHECKPOINT_FILE), checkpoint);
  }

  saveMetrics(metrics: Metrics): void {
    writeFileAtomic(join(this.location, METRICS_FILE), metricsJson(metrics));
  }

  saveModel(model: Uint8Array, epoch: number, final: boolean): void {
    const path = join(this.location, final ? FINAL_MODEL_FILE : epochModelFile(epoch));
    writeFileAtomic(path, model);
    this.callbacks.onSave?.(path);
  }
}

/** Reads and checks the training checkpoint at `path` (see checkpoint.ts). */
export function readTrainingCheckpoint(path: string): TrainingCheckpoint {
  return decodeTrainingCheckpoint(readSafetensorsBytes(path), path);
}

/** The experiment folder of a --resume path (the folder, or its checkpoint file). */
function experimentDirOf(path: string): string {
  return resolve(path.endsWith('.safetensors') ? dirname(path) : path);
}

/** The checkpoint of an experiment folder, or the file itself. */
export function checkpointPathOf(path: string): string {
  return path.endsWith('.safetensors') ? path : join(path, CHECKPOINT_FILE);
}

function missingDataDir(): never {
  throw new UserError("no CIFAR-10 data folder given: pass --data DIR (run 'vit data cifar10' to download the data) " +
    'or --sample to use the small sample bundled with vit-ts');
}

/** The settings among the options, as given (undefined = left out). */
function givenSettings(options: TrainOptions): Partial<Record<SettingKey, unknown>> {
  const asGiven: Partial<Record<string, unknown>> = options;
  const given: Partial<Record<SettingKey, unknown>> = {};
  for (const key of Object.keys(SETTINGS) as SettingKey[]) given[key] = asGiven[key];
  if (typeof given.outDir === 'string') given.outDir = resolve(given.outDir);
  if (typeof given.dataDir === 'string') given.dataDir = resolve(given.dataDir);
  return given;
}

/** A new run's settings; `initial` is the --init-from model, whose normalization the run keeps. */
function freshSettings(options: TrainOptions, engine: Engine, initial: InitialModel | undefined): TrainSettings {
  return resolveSettings({
    ...givenSettings(options),
    outDir: resolve(options.outDir ?? SETTINGS.outDir.default as string),
    dataDir: resolve(options.dataDir ?? missingDataDir()),
    threads: engine.threads,
    initFrom: options.initFrom !== undefined ? resolve(options.initFrom) : null,
    mean: initial?.preprocessor ? [...initial.preprocessor.mean] : undefined,
    std: initial?.preprocessor ? [...initial.preprocessor.std] : undefined,
  });
}

/** The resumed run's settings, with the options given now on top (see settings.ts: resumedSettings). */
function resumeSettings(
  resumed: TrainingCheckpoint, saved: TrainSettings, options: TrainOptions, engine: Engine, callbacks: TrainCallbacks,
): TrainSettings {
  const settings = resumedSettings(saved, { ...givenSettings(options), threads: engine.threads });
  if (options.config !== undefined) {
    const asked = resolveConfig(options.config as Record<string, unknown>, '--config');
    if (JSON.stringify(asked) !== JSON.stringify(resumed.config)) {
      throw new UserError('--config differs from the model of the run being resumed; a resumed run keeps its model');
    }
  }
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
  if (resumedFrom !== dir && names.some((n) => EXPERIMENT_MARKERS.includes(n))) {
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
