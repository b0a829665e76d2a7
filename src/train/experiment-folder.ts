// `vit train` in Node: the run's settings from the options (or the checkpoint it resumes), the
// data from a cifar-10-batches-bin folder, and the experiment folder OUT/NAME that the training
// loop (trainer.ts) saves into. The only module of src/train that touches the file system.
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { readCifar10 } from '../data/cifar10-files.js';
import { UserError } from '../errors.js';
import { removeStaleTemporaries, writeFileAtomic } from '../io/atomic.js';
import { checkObject } from '../arguments.js';
import { unknownNameMessage } from '../did-you-mean.js';
import { createFolders, removeCreatedFolders } from '../io/created-folders.js';
import {
  CHECKPOINT_FILE,
  CONFIG_FILE,
  EXPERIMENT_MARKERS,
  FINAL_MODEL_FILE,
  LOCK_FILE,
  METRICS_FILE,
  PREPROCESSOR_FILE,
  epochModelFile,
} from '../io/experiment-layout.js';
import { processAlive } from '../io/processes.js';
import { fileSystemError, readUserFile } from '../io/user-files.js';
import { type ViTConfig, resolveConfig, trainingBytes } from '../model/config.js';
import { type Engine, engineThreads, getEngine } from '../runtime/engine.js';
import { writePreprocessorConfig } from '../weights/files.js';
import { type InitialModel, initFrom } from '../weights/init-from.js';
import { type TrainingCheckpoint, decodeTrainingCheckpoint } from './checkpoint.js';
import { type TrainingData, checkClasses, trainingData } from './data-sets.js';
import { type Metrics, formatDuration, metricsJson } from './metrics.js';
import {
  type Naming,
  type SettingKey,
  SETTINGS,
  type TrainSettings,
  resolveSettings,
  resumedSettings,
  settingName,
  settingsFromJson,
} from './settings.js';
import { type Clock, systemClock } from './run-clock.js';
import { type RunStore, type TrainCallbacks as LoopCallbacks, Trainer, checkBudgetLeft, experimentConfig } from './trainer.js';

/** What `train` takes: any setting (see settings.ts; left out = the recipe's or the table's default), and these. */
export type TrainOptions = Partial<Omit<TrainSettings, 'expName' | 'initFrom' | 'mean' | 'std'>> & {
  /** The experiment's folder name under outDir; required but when resuming (the run continues in its folder). */
  expName?: string;
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
  /** The clock a time budget counts on, in milliseconds (default performance.now); a test may pass one it controls. */
  clock?: Clock;
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
  /** The run's clock at the end, over all its sessions, the final files saved: what a time budget bounds. */
  runSeconds: number;
  settings: TrainSettings;
}

/** Options of `train` that are not settings. */
const OTHER_OPTIONS = ['config', 'initFrom', 'resume', 'engine', 'signal', 'clock'] as const;

/** How messages name the options: `vit train`'s flags, or the library's option names. */
interface Names {
  readonly naming: Naming;
  of(key: SettingKey | 'config' | 'resume'): string;
}

function namesFor(naming: Naming): Names {
  return {
    naming,
    of: (key) => (key === 'config' || key === 'resume' ? (naming === 'flags' ? `--${key}` : key) : settingName(key, naming)),
  };
}

/** Trains per `options` into the experiment folder OUT/NAME; see TrainOptions and TrainCallbacks. */
export function train(options: TrainOptions, callbacks: TrainCallbacks = {}): Promise<TrainResult> {
  return runExperiment(options, callbacks, 'options');
}

/** train(), with messages naming the options as `naming` says (`vit train` names its flags). */
export async function runExperiment(options: TrainOptions, callbacks: TrainCallbacks, naming: Naming): Promise<TrainResult> {
  checkOptionNames(options);
  // A time budget counts this session from here: reading the data and the checkpoint is time the user waits too.
  const startedAt = (options.clock ?? systemClock)();
  const givenCallbacks: unknown = callbacks;
  checkObject(givenCallbacks, 'train: callbacks');
  const names = namesFor(naming);
  if (options.initFrom !== undefined && options.resume !== undefined) {
    throw new UserError(
      `${names.of('initFrom')} and ${names.of('resume')} cannot go together: a resumed run continues from its own checkpoint`,
    );
  }
  const resumed = options.resume !== undefined ? readResumed(options.resume, names) : undefined;
  const initial =
    options.initFrom !== undefined
      ? initFrom(options.initFrom, options.config ?? {}, { seed: options.seed ?? 0, source: names.of('config') })
      : undefined;
  const config = resumed
    ? resumed.checkpoint.config
    : initial
      ? initial.config
      : resolveConfig((options.config ?? {}) as Record<string, unknown>, names.of('config'));
  // The backend and thread count, chosen here once: as asked, else the resumed run's (its losses stay bit-identical), else the default.
  const threads = options.threads ?? (resumed?.saved.backend === 'wasm' ? resumed.saved.threads : undefined);
  const backend = options.backend ?? resumed?.saved.backend;
  const batch = options.batchSize ?? resumed?.saved.batchSize ?? 256;
  const engine =
    options.engine ??
    (await getEngine({
      ...(threads !== undefined ? { threads } : {}),
      ...(backend !== undefined ? { backend } : {}),
      memoryBytes: trainingBytes(config, batch),
      onChoice: (line) => callbacks.onNotice?.(line),
    }));
  // A WebGPU run records the threads it was given (its host side runs on one).
  const used = { backend: engine.kind, threads: engineThreads(engine) ?? threads ?? 1 };
  const settings = resumed ? resumeSettings(resumed, options, used, callbacks, names) : freshSettings(options, used, initial, names);

  // Data first: a missing data folder must not leave an empty experiment folder behind.
  const data = trainingData(readCifar10(settings.dataDir, 'train'), () => readCifar10(settings.dataDir, 'test'), settings);
  checkClasses(config.num_classes, data.trainSet, `the model (${names.of('config')})`, `the data in ${settings.dataDir}`);
  noteClamped(settings, data, callbacks, names);
  const folder = ExperimentFolder.open(resolve(settings.outDir, settings.expName), resumed?.dir ?? null, callbacks, names);
  try {
    const spec = {
      engine,
      config,
      settings,
      clock: options.clock,
      startedAt,
      ...(resumed ? { resume: resumed.checkpoint } : {}),
      ...(initial ? { initialParams: initial.params } : {}),
    };
    const trainer = await Trainer.create(spec, data.evaluatedOn, folder, callbacks);
    if (initial) {
      const adapted = initial.changes.length > 0 ? `: ${initial.changes.join('; ')}` : '';
      callbacks.onNotice?.(`Fine-tuning ${settings.initFrom}${adapted}`);
    }
    try {
      const outcome = await trainer.train(data, options.signal);
      // Stopped before its first epoch ended, a new run has nothing worth keeping.
      if (outcome.epochsDone === 0) folder.discard();
      return { experimentDir: folder.location, settings, ...outcome };
    } finally {
      trainer.release();
    }
  } catch (error) {
    if (!folder.holdsEpochs) folder.discard();
    throw error;
  } finally {
    folder.unlock();
  }
}

/** Sizes larger than the data are used as all of it: said, with what was used. */
function noteClamped(settings: TrainSettings, data: TrainingData, callbacks: TrainCallbacks, names: Names): void {
  const count = (n: number): string => n.toLocaleString('en-US');
  const validation = data.evaluatedOn === 'validation';
  const trainImages = data.trainSet.count + (validation ? data.evalSet.count : 0);
  if (settings.trainSamples !== null && settings.trainSamples > trainImages) {
    callbacks.onNotice?.(
      `${names.of('trainSamples')} ${settings.trainSamples} is more than the ${count(trainImages)} training images: all ${count(trainImages)} are used`,
    );
  }
  if (!validation && settings.testSamples !== null && settings.testSamples > data.evalSet.count) {
    callbacks.onNotice?.(
      `${names.of('testSamples')} ${settings.testSamples} is more than the ${count(data.evalSet.count)} test images: all ${count(data.evalSet.count)} are used`,
    );
  }
  if (settings.batchSize > data.trainSet.count) {
    callbacks.onNotice?.(
      `${names.of('batchSize')} ${settings.batchSize} is more than the ${count(data.trainSet.count)} training images: each batch holds all ${count(data.trainSet.count)}`,
    );
  }
}

/** A misspelt option would otherwise be ignored silently (and the default used). */
function checkOptionNames(options: TrainOptions): void {
  checkObject(options, 'train: options');
  const known = [...Object.keys(SETTINGS), ...OTHER_OPTIONS].filter((k) => k !== 'mean' && k !== 'std');
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new UserError(`train: ${unknownNameMessage('option', key, known)}`);
  }
}

/**
 * The experiment folder: locked while a run trains into it, its files written atomically as the
 * loop hands them over, and removed again when a new run fails or stops before its first epoch.
 */
class ExperimentFolder implements RunStore {
  /** Whether a finished epoch is saved here (a resumed run's folder always holds one). */
  holdsEpochs: boolean;
  /** Files this run added to a folder that existed (removed by discard). */
  private readonly added = new Set<string>();

  private constructor(
    readonly location: string,
    private readonly callbacks: TrainCallbacks,
    /** The topmost folder this run created, if it created any. */
    private readonly created: string | undefined,
    resumed: boolean,
  ) {
    this.holdsEpochs = resumed;
  }

  /**
   * Prepares `dir` for a run: a new experiment must not overwrite another (`resumedFrom` is the
   * folder a resumed run came from); the folder is created and locked before anything is written.
   */
  static open(dir: string, resumedFrom: string | null, callbacks: TrainCallbacks, names: Names): ExperimentFolder {
    const existing = existingNames(dir);
    if (resumedFrom !== dir && existing.some((n) => EXPERIMENT_MARKERS.includes(n))) {
      throw new UserError(
        `${dir} already holds an experiment; continue it with ${names.of('resume')} ${dir}, ` +
          `choose another ${names.of('expName')}, or remove the folder`,
      );
    }
    const created = createFolders(dir);
    const folder = new ExperimentFolder(dir, callbacks, created, resumedFrom === dir);
    try {
      folder.lock();
    } catch (error) {
      removeCreatedFolders(created);
      throw error;
    }
    removeStaleTemporaries(dir, existing);
    return folder;
  }

  saveConfig(config: ViTConfig, settings: TrainSettings): void {
    this.write(CONFIG_FILE, JSON.stringify(experimentConfig(config, settings), null, 2) + '\n');
    // eval and predict take the normalization from preprocessor_config.json beside the model; 0.5 is their default.
    if (![...settings.mean, ...settings.std].every((v) => v === 0.5)) {
      this.noteAdded(PREPROCESSOR_FILE);
      writePreprocessorConfig(this.location, { mean: settings.mean, std: settings.std }, config.image_size);
    }
  }

  saveCheckpoint(checkpoint: Uint8Array): void {
    this.write(CHECKPOINT_FILE, checkpoint);
    this.holdsEpochs = true;
  }

  saveMetrics(metrics: Metrics): void {
    this.write(METRICS_FILE, metricsJson(metrics));
  }

  saveModel(model: Uint8Array, epoch: number, final: boolean): void {
    const path = this.write(final ? FINAL_MODEL_FILE : epochModelFile(epoch), model);
    this.callbacks.onSave?.(path);
  }

  /** Removes what this run made: the folder if it created it, else the files it added. */
  discard(): void {
    if (this.holdsEpochs) return;
    if (this.created !== undefined) {
      removeCreatedFolders(this.created);
      return;
    }
    for (const name of this.added) rmSync(join(this.location, name), { force: true });
  }

  private write(name: string, data: Uint8Array | string): string {
    this.noteAdded(name);
    const path = join(this.location, name);
    writeFileAtomic(path, data);
    return path;
  }

  private noteAdded(name: string): void {
    if (!existsSync(join(this.location, name))) this.added.add(name);
  }

  /**
   * Takes the folder's lock file, or fails naming the process that holds it. A lock left by a
   * process that no longer runs (killed) is taken over.
   */
  private lock(): void {
    const path = join(this.location, LOCK_FILE);
    for (let attempt = 0; ; attempt++) {
      try {
        writeFileSync(path, `${process.pid}\n`, { flag: 'wx' });
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw fileSystemError(error) ?? error;
      }
      const holder = Number.parseInt(readFileSync(path, 'utf8'), 10);
      if (Number.isInteger(holder) && processAlive(holder)) {
        throw new UserError(`${this.location} is in use by another vit train (process ${holder}); wait for it to finish or stop it`);
      }
      rmSync(path, { force: true });
    }
  }

  unlock(): void {
    rmSync(join(this.location, LOCK_FILE), { force: true });
  }
}

/** The names in `dir`, or none when it does not exist yet. */
function existingNames(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    // A file somewhere on the way: createFolders names it.
    if (code === 'ENOTDIR') return [];
    throw fileSystemError(e) ?? e;
  }
}

/** Reads and checks the training checkpoint at `path` (see checkpoint.ts). */
export function readTrainingCheckpoint(path: string): TrainingCheckpoint {
  return decodeTrainingCheckpoint(readUserFile(path), path);
}

/** A run being resumed: its folder, its checkpoint and the settings saved in it. */
interface Resumed {
  dir: string;
  checkpoint: TrainingCheckpoint;
  saved: TrainSettings;
}

/** `path`: an experiment folder, or its checkpoint file. */
function readResumed(path: string, names: Names): Resumed {
  const isFile = existsSync(path) && !statSync(path).isDirectory();
  if (isFile && basename(path) !== CHECKPOINT_FILE) {
    throw new UserError(`${names.of('resume')} ${path}: expected an experiment folder (or its ${CHECKPOINT_FILE}), not another file`);
  }
  const dir = resolve(isFile ? dirname(path) : path);
  const checkpoint = readTrainingCheckpoint(join(dir, CHECKPOINT_FILE));
  const saved = settingsFromJson(checkpoint.settings, `${path} (the checkpoint's "training")`);
  return { dir, checkpoint, saved };
}

function missingDataDir(names: Names): never {
  if (names.naming === 'options') {
    throw new UserError(
      "no CIFAR-10 data folder given: set dataDir to a cifar-10-batches-bin folder ('vit data cifar10' " +
        'downloads one), or to sampleDataDir() for the small sample bundled with vit-ts',
    );
  }
  throw new UserError(
    "no CIFAR-10 data folder given: pass --data DIR (run 'vit data cifar10' to download the data) " +
      'or --sample to use the small sample bundled with vit-ts',
  );
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

/** The settings the engine decides: its backend and threads. */
interface EngineUsed {
  backend: 'wasm' | 'webgpu';
  threads: number;
}

/** A new run's settings; `initial` is the --init-from model, whose normalization the run keeps. */
function freshSettings(options: TrainOptions, used: EngineUsed, initial: InitialModel | undefined, names: Names): TrainSettings {
  return resolveSettings(
    {
      ...givenSettings(options),
      outDir: resolve(options.outDir ?? (SETTINGS.outDir.default as string)),
      dataDir: resolve(options.dataDir ?? missingDataDir(names)),
      ...used,
      initFrom: options.initFrom !== undefined ? resolve(options.initFrom) : null,
      mean: initial?.preprocessor ? [...initial.preprocessor.mean] : undefined,
      std: initial?.preprocessor ? [...initial.preprocessor.std] : undefined,
    },
    names.naming,
  );
}

/**
 * The resumed run's settings, with the options given now on top (see settings.ts: resumedSettings).
 * It continues in the folder it resumes — never where a path saved in the checkpoint points — or,
 * when `outDir` is given, in a new folder OUT/NAME (a fork).
 */
function resumeSettings(resumed: Resumed, options: TrainOptions, used: EngineUsed, callbacks: TrainCallbacks, names: Names): TrainSettings {
  const { saved, checkpoint } = resumed;
  const forked = options.outDir !== undefined;
  const place = forked
    ? { outDir: resolve(options.outDir!), expName: options.expName ?? basename(resumed.dir) }
    : { outDir: dirname(resumed.dir), expName: basename(resumed.dir) };
  if (!forked && options.expName !== undefined && options.expName !== place.expName) {
    callbacks.onNotice?.(
      `Continuing in ${resumed.dir}, the folder being resumed (${names.of('expName')} ${options.expName} applies ` +
        `only with ${names.of('outDir')}, to continue into a new folder)`,
    );
  }
  const settings = resumedSettings(saved, { ...givenSettings(options), ...place, ...used }, names.naming);
  if (options.config !== undefined) {
    const asked = resolveConfig(options.config as Record<string, unknown>, names.of('config'));
    if (JSON.stringify(asked) !== JSON.stringify(checkpoint.config)) {
      throw new UserError(`${names.of('config')} differs from the model of the run being resumed; a resumed run keeps its model`);
    }
  }
  checkBudgetLeft(settings.timeBudget, checkpoint.metrics.elapsed_seconds.at(-1) ?? 0, names.of('timeBudget'));
  const epochs = names.of('epochs');
  if (settings.timeBudget === null && settings.epochs < checkpoint.epoch) {
    throw new UserError(`${epochs} ${settings.epochs} is fewer than the ${checkpoint.epoch} epochs the run being resumed has done`);
  }
  if (settings.backend !== saved.backend) {
    callbacks.onNotice?.(
      `The run was trained on ${saved.backend} and continues on ${settings.backend}: ` +
        'the losses may differ in the last digits from an uninterrupted run.',
    );
  } else if (settings.threads !== saved.threads) {
    callbacks.onNotice?.(
      `The run was trained on ${saved.threads} thread(s) and continues on ${settings.threads}: ` +
        'the losses may differ in the last digits from an uninterrupted run.',
    );
  }
  if (settings.epochs !== saved.epochs && settings.schedule !== 'constant') {
    callbacks.onNotice?.(
      `${epochs} changed from ${saved.epochs} to ${settings.epochs}: the learning rate schedule is ` +
        'stretched to the new length from here on.',
    );
  }
  if (settings.timeBudget !== saved.timeBudget) {
    callbacks.onNotice?.(
      `${names.of('timeBudget')} changed from ${describeBudget(saved.timeBudget)} to ${describeBudget(settings.timeBudget)}: ` +
        'the schedules are stretched to the new length from here on.',
    );
  }
  return settings;
}

function describeBudget(seconds: number | null): string {
  return seconds === null ? 'none' : formatDuration(seconds);
}
