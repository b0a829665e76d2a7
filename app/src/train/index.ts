// The Train view: data, model and recipe, start / pause / resume / stop / continue, the live
// progress and the run's files. The training itself runs in ./worker.ts on the core's loop. Here:
// the view's state (./train-state.ts), the user's actions and the worker's messages; ./train-view.ts draws.
import { parseSafetensors } from '../../../src/io/safetensors-format.js';
import { FINAL_MODEL_FILE } from '../../../src/io/experiment-layout.js';
import { resolveConfig } from '../../../src/model/config.js';
import { type Normalization, SEED_NORMALIZATION } from '../../../src/pixels.js';
import { emptyMetrics, recordEpoch } from '../../../src/train/metrics.js';
import { toCanonical } from '../../../src/weights/layouts.js';
import type { AppContext } from '../context.js';
import { FieldError } from './form.js';
import type { KnobValues } from './knobs.js';
import type { FileChecksum, FromWorker, ToWorker } from './protocol.js';
import { type RunRecord, loadFinalModel, loadRun } from './run-store.js';
import { forgetFiles, keptFiles } from './data-store.js';
import {
  type Phase,
  type TrainState,
  canContinue,
  finishedLine,
  initialState,
  savedLine,
  startedLine,
  stoppedLine,
} from './train-state.js';
import { TrainView } from './train-view.js';

/**
 * What Start trains on a first visit, shown in the form: the fast recipe for one minute, which on
 * the sample goes from chance to clearly learning; the seed recipe's 100 epochs take hours here.
 */
const FIRST_RUN: KnobValues = { recipe: 'fast', timeBudget: 60 };

type Handlers = { [T in FromWorker['type']]: (message: Extract<FromWorker, { type: T }>) => void };

export function mountTrain(root: HTMLElement, ctx: AppContext): void {
  new TrainController(root, ctx);
}

class TrainController {
  private readonly worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  private readonly sampleUrl = new URL('sample/', document.baseURI).href;
  private readonly state: TrainState = initialState();
  private readonly view: TrainView;
  /** The files kept in this browser's storage for Continue. */
  private kept: FileChecksum[] = [];

  constructor(
    root: HTMLElement,
    private readonly ctx: AppContext,
  ) {
    this.view = new TrainView(root, ctx, FIRST_RUN, {
      useSample: () => this.loadSample(),
      useFiles: (files) => this.load({ type: 'load-files', files }, files.map((f) => f.name).join(', ')),
      forgetKept: () => void this.forgetKept(),
      start: () => this.start(),
      pause: () => this.setPaused(true),
      resume: () => this.setPaused(false),
      stop: () => this.send({ type: 'stop' }),
      continueRun: () => this.continueSaved(),
    });
    this.worker.onmessage = (event: MessageEvent<FromWorker>) =>
      (this.handlers[event.data.type] as (message: FromWorker) => void)(event.data);
    this.worker.onerror = (event) => {
      ctx.showError(`The training worker failed: ${event.message}`, this.view.errorPlace(this.state));
      this.setPhase('idle');
    };
    ctx.onModelChange((model) => this.view.form.offerModel(model));
    this.view.render(this.state);
    this.loadSample();
    this.restoreSaved().catch((error: unknown) =>
      ctx.showError(`Could not read the saved run: ${error instanceof Error ? error.message : String(error)}`, this.view.buttons),
    );
  }

  private send(message: ToWorker): void {
    this.worker.postMessage(message);
  }

  private setPhase(phase: Phase): void {
    this.state.phase = phase;
    if (phase !== 'running') this.state.paused = false;
    this.view.render(this.state);
  }

  // --- the worker's messages ---------------------------------------------------------------------

  private readonly handlers: Handlers = {
    data: (message) => {
      this.state.data = message.data;
      this.state.dataSummary = message.description;
      this.view.panel.loaded(
        message.description,
        message.trainImages,
        message.test.count,
        message.data.kind === 'files' ? message.data.files : [],
      );
      this.ctx.setTestImages({ source: message.description, set: message.test });
      if (this.state.phase === 'loading') this.setPhase('idle');
    },
    start: ({ start }) => {
      this.state.budget = start.budget?.seconds ?? null;
      this.view.progress.begin(start.epochs, this.state.budget, this.state.metrics);
      this.view.status.textContent = startedLine(start, this.ctx.testImages?.set.count ?? start.evalImages);
    },
    batch: ({ progress }) => this.view.progress.batch(progress),
    paused: ({ progress }) => {
      this.view.progress.batch(progress);
      if (this.state.paused) this.view.status.textContent = `Paused after step ${progress.batch} of epoch ${progress.epoch}.`;
    },
    evaluation: ({ progress }) => this.view.progress.evaluation(progress),
    epoch: ({ result }) => {
      recordEpoch(this.state.metrics, result);
      this.view.progress.epoch(result);
      this.view.downloads.offer({ metrics: this.state.metrics });
    },
    notice: ({ message }) => {
      this.view.status.textContent = message;
    },
    kept: ({ files, failed }) => {
      void this.showKept(files);
      if (failed) {
        this.view.status.textContent =
          `Could not keep ${this.state.dataSummary} in this browser's storage (${failed}): ` +
          'to continue this run after a reload, pick the files again.';
      }
    },
    done: (message) => {
      const { state, view } = this;
      state.metrics = message.metrics;
      view.progress.end(state.metrics);
      view.downloads.offer({ metrics: state.metrics, configJson: message.configJson, ...(message.model ? { model: message.model } : {}) });
      if (message.model) this.adoptModel(message.model, state.runName, message.configJson);
      this.setPhase('idle');
      if (!message.stopped) {
        view.status.textContent = finishedLine(state.metrics, state.budget);
        void this.refreshSaved();
        return;
      }
      // What a stop leaves depends on what was saved: say so once the kept run is read.
      view.status.textContent = 'Stopped.';
      void this.refreshSaved().then(() => {
        view.status.textContent = stoppedLine(state.saved);
      });
    },
    error: ({ message }) => {
      this.ctx.showError(message, this.view.errorPlace(this.state));
      if (this.state.phase === 'loading') this.view.panel.failed(this.state.data === null ? null : this.state.dataSummary);
      this.setPhase('idle');
    },
  };

  // --- the user's actions ------------------------------------------------------------------------

  private loadSample(): void {
    this.load({ type: 'load-sample', baseUrl: this.sampleUrl }, 'the bundled sample');
  }

  private load(message: ToWorker, what: string): void {
    this.ctx.clearError();
    this.state.job = 'data';
    this.view.panel.loading(what);
    this.setPhase('loading');
    this.send(message);
  }

  private start(): void {
    const { ctx, state, view } = this;
    ctx.clearError();
    state.job = 'run';
    let request;
    try {
      request = view.form.request();
    } catch (error) {
      ctx.showError(error instanceof Error ? error.message : String(error), error instanceof FieldError ? error.field : view.buttons);
      // The field at fault takes the focus (and so comes into view, its message under it).
      if (error instanceof FieldError) error.field.focus();
      return;
    }
    state.metrics = emptyMetrics('test');
    const current = view.form.startsFromModel ? ctx.model : null;
    state.runName = current ? `${current.name}, trained further here` : 'page run';
    view.downloads.clear();
    this.setPhase('running');
    const initial = current
      ? { name: current.name, config: current.config, params: current.params, normalization: current.normalization }
      : undefined;
    this.send({ type: 'start', request, ...(initial ? { initial } : {}) });
  }

  /** Continues the kept run from its last checkpoint, on its own data (loaded again if need be). */
  private continueSaved(): void {
    const { saved } = this.state;
    if (!saved) return;
    this.ctx.clearError();
    this.view.form.show(saved.request);
    this.state.metrics = structuredClone(saved.metrics);
    this.state.runName = 'continued page run';
    this.view.downloads.clear();
    if (saved.data.kind === 'sample' && this.state.data?.kind !== 'sample') this.loadSample();
    this.state.job = 'run';
    this.setPhase('running');
    this.send({ type: 'continue' });
  }

  private setPaused(paused: boolean): void {
    this.state.paused = paused;
    this.send({ type: paused ? 'pause' : 'resume' });
    this.view.status.textContent = paused ? 'Paused.' : 'Training.';
    this.view.render(this.state);
  }

  // --- the kept run and its model ----------------------------------------------------------------

  /** Makes the run's final model the page's current one; config.json's "training" holds its normalization. */
  private adoptModel(bytes: Uint8Array, name: string, configJson: string): void {
    const { tensors, metadata } = parseSafetensors(bytes, FINAL_MODEL_FILE);
    const config = resolveConfig(JSON.parse(metadata.config ?? '{}') as Record<string, unknown>, FINAL_MODEL_FILE);
    const { training } = JSON.parse(configJson) as { training?: Partial<Normalization> };
    const normalization = training?.mean && training.std ? { mean: training.mean, std: training.std } : SEED_NORMALIZATION;
    this.ctx.setModel({ name, config, params: toCanonical(tensors, config, FINAL_MODEL_FILE), normalization, metrics: this.state.metrics });
  }

  /** Reads the kept run: offers to continue it, or (finished) its files and model. */
  private async refreshSaved(): Promise<void> {
    this.state.saved = await loadRun();
    this.view.render(this.state);
  }

  /** Shows the kept files and the storage this page takes. */
  private async showKept(files: FileChecksum[]): Promise<void> {
    this.kept = files;
    const estimate = await navigator.storage?.estimate?.().catch(() => undefined);
    this.view.panel.showKept(files, estimate?.usage ?? null);
  }

  private async forgetKept(): Promise<void> {
    await forgetFiles();
    await this.showKept([]);
    const { saved } = this.state;
    if (saved && canContinue(saved)) this.view.status.textContent = `${savedLine(saved, this.state.budget)}${this.pickAgain(saved)}`;
  }

  /** What Continue needs picked first: the kept run's files when this browser no longer keeps them. */
  private pickAgain(saved: RunRecord): string {
    if (saved.data.kind === 'sample' || saved.data.files.every((file) => this.kept.some((k) => k.sha256 === file.sha256))) return '';
    return ` It trained on ${saved.data.files.map((file) => file.name).join(', ')}, no longer kept in this browser: pick ${saved.data.files.length === 1 ? 'it' : 'them'} again first.`;
  }

  private async restoreSaved(): Promise<void> {
    await Promise.all([this.refreshSaved(), keptFiles().then((files) => this.showKept(files))]);
    const { state, view } = this;
    const { saved } = state;
    if (!saved) return;
    state.metrics = structuredClone(saved.metrics);
    state.budget = saved.request.timeBudget ?? null;
    view.progress.begin(saved.epochs, state.budget, state.metrics);
    view.downloads.offer({ metrics: state.metrics, configJson: saved.configJson });
    if (canContinue(saved)) {
      view.form.show(saved.request);
      view.status.textContent = `${savedLine(saved, state.budget)}${this.pickAgain(saved)}`;
      return;
    }
    if (saved.finished) view.progress.end(saved.metrics);
    const model = await loadFinalModel();
    if (model) {
      view.downloads.offer({ model });
      this.adoptModel(model, 'the last page run', saved.configJson);
      view.status.textContent = savedLine(saved, state.budget);
    }
  }
}
