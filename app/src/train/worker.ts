// The training worker: loads the data, then runs `vit train`'s own loop (src/train/trainer.ts)
// on an engine whose kernel threads are nested workers. The page's main thread only draws.
import { UserError } from '../../../src/errors.js';
import { resolveConfig } from '../../../src/model/config.js';
import { decodeTrainingCheckpoint } from '../../../src/train/checkpoint.js';
import { emptyMetrics } from '../../../src/train/metrics.js';
import { checkClasses, trainingData } from '../../../src/train/data-sets.js';
import { type TrainSettings, resolveSettings, resumedSettings, settingsFromJson } from '../../../src/train/settings.js';
import { type RunSpec, Trainer } from '../../../src/train/trainer.js';
import type { ViTConfig } from '../../../src/model/config.js';
import { startEngine } from '../engine.js';
import { type LoadedData, loadFiles, loadSample, sameData } from './data-loading.js';
import { PageStore } from './page-store.js';
import type { FromWorker, InitialModel, RunRequest, ToWorker } from './protocol.js';
import { RunControls } from './run-controls.js';
import { beginRun, loadCheckpoint, loadRun } from './run-store.js';
import { keepFiles, keptCopies, keptFiles } from './data-store.js';

const post = (message: FromWorker, transfer: Transferable[] = []): void => postMessage(message, { transfer });

let data: LoadedData | null = null;
let controls: RunControls | null = null;
/** A stop that came while the asked-for run was still starting (no controls yet): it stops at its first batch. */
let stopAsked = false;
/** Loading and runs take turns, in the order asked; pause, resume and stop act at once. */
let queue = Promise.resolve();
const enqueue = (task: () => Promise<void>): void => {
  queue = queue.then(() => report(task));
};

onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  switch (message.type) {
    case 'load-sample':
      return enqueue(async () => announce(await loadSample(message.baseUrl)));
    case 'load-files':
      return enqueue(async () => announce(await loadFiles(message.files)));
    case 'start':
      stopAsked = false;
      return enqueue(() => startRun(message.request, message.initial));
    case 'continue':
      stopAsked = false;
      return enqueue(continueRun);
    case 'pause':
      return controls?.pause();
    case 'resume':
      return controls?.resume();
    case 'stop':
      if (controls) return controls.stop();
      stopAsked = true;
      return;
  }
};

/** Runs `task`, turning what it throws into one line for the page. */
async function report(task: () => Promise<void>): Promise<void> {
  try {
    await task();
  } catch (error) {
    // A UserError's message says what to fix; anything else is a bug, worth its name.
    const message =
      error instanceof UserError
        ? error.message
        : `${error instanceof Error ? error.name : 'Error'}: ${error instanceof Error ? error.message : String(error)}`;
    post({ type: 'error', message });
  }
}

function announce(loaded: LoadedData): void {
  data = loaded;
  post({ type: 'data', data: loaded.choice, description: loaded.description, trainImages: loaded.train.count, test: loaded.test });
}

function requireData(): LoadedData {
  if (data === null) throw new UserError('no data loaded yet: choose the bundled sample or your CIFAR-10 files');
  return data;
}

async function startRun(request: RunRequest, initial?: InitialModel): Promise<void> {
  const loaded = requireData();
  const { model, ...knobs } = request;
  const config = initial ? initial.config : resolveConfig({ ...model }, 'the model settings');
  checkClasses(config.num_classes, loaded.train, initial ? initial.name : 'the model', loaded.description);
  // The knobs are settings already: passed through, checked by the table as `vit train`'s flags are.
  const settings = resolveSettings({
    expName: 'page',
    dataDir: loaded.description,
    ...knobs,
    ...(initial ? { initFrom: initial.name, mean: [...initial.normalization.mean], std: [...initial.normalization.std] } : {}),
  });
  await beginRun({
    request,
    data: loaded.choice,
    configJson: '',
    metrics: emptyMetrics('test'),
    epochsDone: 0,
    epochs: settings.timeBudget === null ? settings.epochs : null,
    finished: false,
    updatedAt: Date.now(),
  });
  await keep(loaded);
  await run(loaded, config, settings, initial ? { initialParams: initial.params } : {});
}

/** Keeps the run's files in this browser's storage (none for the sample); a storage that refuses them is said, not fatal. */
async function keep(loaded: LoadedData): Promise<void> {
  try {
    post({ type: 'kept', files: await keepFiles(loaded.sources, loaded.choice.kind === 'files' ? loaded.choice.files : []) });
  } catch (error) {
    if (error instanceof UserError) throw error;
    const failed = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    post({ type: 'kept', files: await keptFiles().catch(() => []), failed });
  }
}

/**
 * Continues the kept run from its checkpoint: its settings, its thread count, as `vit train --resume`;
 * on its own files, from this browser's storage when they are not the ones loaded.
 */
async function continueRun(): Promise<void> {
  let loaded = requireData();
  const [record, bytes] = await Promise.all([loadRun(), loadCheckpoint()]);
  if (!record || !bytes) throw new UserError('there is no saved run to continue');
  if (!sameData(loaded.choice, record.data) && record.data.kind === 'files') {
    const copies = await keptCopies(record.data.files);
    if (copies) {
      loaded = await loadFiles(copies);
      announce(loaded);
    }
  }
  if (!sameData(loaded.choice, record.data)) {
    throw new UserError(
      `the run to continue was trained on other data, not kept in this browser: load the same files first (${describeFiles(record.data)})`,
    );
  }
  await keep(loaded);
  const source = "the saved run's checkpoint";
  const resume = decodeTrainingCheckpoint(bytes, source);
  const settings = resumedSettings(settingsFromJson(resume.settings, source), {});
  await run(loaded, resume.config, settings, { resume });
}

function describeFiles(choice: LoadedData['choice']): string {
  return choice.kind === 'sample'
    ? 'the bundled sample'
    : choice.files.map((f) => `${f.name}, SHA-256 ${f.sha256.slice(0, 12)}…`).join('; ');
}

/** Where a run starts from: a checkpoint to continue, or weights to fine-tune; neither = the seed's initialization. */
type StartingPoint = Pick<RunSpec, 'resume' | 'initialParams'>;

async function run(loaded: LoadedData, config: ViTConfig, asked: TrainSettings, from: StartingPoint): Promise<void> {
  if (controls !== null) throw new UserError('a run is already going: stop it first');
  // A time budget counts from here: starting the threads and preparing the data are time the user waits too.
  const startedAt = performance.now();
  const engine = await startEngine(asked.threads, asked.backend);
  // The run records the engine it ran on (auto's choice), as vit train does.
  const settings: TrainSettings = { ...asked, backend: engine.kind };
  const store = new PageStore();
  const runControls = new RunControls(post);
  controls = runControls;
  if (stopAsked) runControls.stop();
  const sets = trainingData(loaded.train, () => loaded.test, settings);
  const trainer = await Trainer.create({ engine, config, settings, startedAt, ...from }, sets.evaluatedOn, store, runControls.callbacks);
  try {
    const outcome = await trainer.train(sets, runControls.signal);
    const model = store.finalModel;
    post({ type: 'done', stopped: outcome.stopped, metrics: outcome.metrics, configJson: store.configJson, ...(model ? { model } : {}) });
  } finally {
    controls = null;
    trainer.release();
    engine.close();
  }
}
