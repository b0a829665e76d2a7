// The Train view: data, model and recipe, start / pause / resume / stop / continue, the live
// progress and the run's files. The training itself runs in ./worker.ts on the core's loop.
import { parseSafetensors } from '../../../src/io/safetensors-format.js';
import { FINAL_MODEL_FILE } from '../../../src/io/experiment-layout.js';
import { resolveConfig } from '../../../src/model/config.js';
import { type Normalization, SEED_NORMALIZATION } from '../../../src/pixels.js';
import { type Metrics, emptyMetrics, lastEvaluation, recordEpoch } from '../../../src/train/metrics.js';
import { toCanonical } from '../../../src/weights/layouts.js';
import type { AppContext, CurrentModel } from '../context.js';
import { DataPanel } from './data-panel.js';
import { Downloads } from './downloads.js';
import { FieldError, SettingsForm } from './form.js';
import { ProgressView, clock, minutes, percent } from './progress-view.js';
import type { DataChoice, FromWorker, RunRequest, ToWorker } from './protocol.js';
import { type RunRecord, loadFinalModel, loadRun } from './run-store.js';

type Phase = 'idle' | 'loading' | 'running';

export function mountTrain(root: HTMLElement, ctx: AppContext): void {
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  const send = (message: ToWorker): void => worker.postMessage(message);
  const sampleUrl = new URL('sample/', document.baseURI).href;

  let phase: Phase = 'idle';
  let paused = false;
  let data: DataChoice | null = null;
  let dataSummary = '';
  /** The run kept in storage (what Continue continues), and the metrics of the run shown. */
  let saved: RunRecord | undefined;
  let metrics: Metrics = emptyMetrics('test');
  let runName = 'page run';
  /** The shown run's time budget in seconds; null when it trains a number of epochs. */
  let budget: number | null = null;
  /** Where an error of the worker's current job shows: the data card while loading, the run's buttons while running. */
  let errorPlace: HTMLElement;

  const panel = new DataPanel({
    useSample: () => load({ type: 'load-sample', baseUrl: sampleUrl }, 'the bundled sample'),
    useFiles: (files) => load({ type: 'load-files', files }, files.map((f) => f.name).join(', ')),
  });
  const form = new SettingsForm({ value: ctx.threads, fixed: !ctx.isolated });
  const progress = new ProgressView();
  const downloads = new Downloads();

  const buttons = document.createElement('div');
  buttons.className = 'buttons';
  const button = (label: string, testid: string, onClick: () => void, primary = false): HTMLButtonElement => {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    b.dataset.testid = testid;
    if (primary) b.className = 'primary';
    b.addEventListener('click', onClick);
    buttons.append(b);
    return b;
  };
  const start = button('Start', 'start', startRun, true);
  const pause = button('Pause', 'pause', () => setPaused(true));
  const resume = button('Resume', 'resume', () => setPaused(false));
  const stop = button('Stop', 'stop', () => send({ type: 'stop' }));
  const continueRun = button('Continue run', 'continue-run', continueSaved);
  const status = document.createElement('p');
  status.dataset.testid = 'train-status';
  status.setAttribute('aria-live', 'polite');

  const controls = document.createElement('section');
  controls.className = 'card';
  controls.setAttribute('aria-label', 'Run');
  controls.append(buttons, status);
  const settings = document.createElement('div');
  settings.className = 'grid sidebar';
  const left = document.createElement('div');
  left.className = 'stack';
  left.append(panel.element, controls, downloads.element);
  const right = document.createElement('div');
  right.className = 'stack';
  right.append(progress.element, form.element);
  settings.append(left, right);
  root.append(settings);

  worker.onmessage = (event: MessageEvent<FromWorker>) => handle(event.data);
  errorPlace = buttons;
  worker.onerror = (event) => {
    ctx.showError(`The training worker failed: ${event.message}`, errorPlace);
    setPhase('idle');
  };

  function handle(message: FromWorker): void {
    switch (message.type) {
      case 'data': {
        data = message.data;
        dataSummary = message.description;
        panel.loaded(message.description, message.trainImages, message.test.count, message.data.kind === 'files' ? message.data.files : []);
        ctx.setTestImages({ source: message.description, set: message.test });
        if (phase === 'loading') setPhase('idle');
        return;
      }
      case 'start': {
        const { start } = message;
        budget = start.budget?.seconds ?? null;
        progress.begin(start.epochs, budget, metrics);
        const length = start.budget ? ` within a budget of ${minutes(start.budget.seconds)}${start.budget.spent > 0 ? ` (${clock(start.budget.spent)} spent)` : ''}`
          : ` of ${start.epochs}`;
        status.textContent = `Training ${start.parameters.toLocaleString('en-US')} parameters on ${start.trainImages.toLocaleString('en-US')} images, ` +
          `evaluating on ${start.evalImages.toLocaleString('en-US')}, from epoch ${start.startEpoch + 1}${length}.`;
        return;
      }
      case 'batch':
        progress.batch(message.progress, message.step, message.runningLoss);
        return;
      case 'epoch':
        recordEpoch(metrics, message.result);
        progress.epoch(message.result);
        downloads.offer({ metrics });
        return;
      case 'notice':
        status.textContent = message.message;
        return;
      case 'done':
        metrics = message.metrics;
        progress.end(metrics);
        downloads.offer({ metrics, configJson: message.configJson, ...(message.model ? { model: message.model } : {}) });
        if (message.model) adoptModel(message.model, runName, message.configJson);
        setPhase('idle');
        if (!message.stopped) {
          status.textContent = `Finished: ${epochs(metrics.accuracies.length)}${budgetSummary(metrics, budget)}${accuracySummary(metrics)}.`;
          void refreshSaved();
          return;
        }
        // What a stop leaves depends on what was saved: say so once the kept run is read.
        status.textContent = 'Stopped.';
        void refreshSaved().then(() => {
          status.textContent = stoppedSummary(saved);
        });
        return;
      case 'error':
        ctx.showError(message.message, errorPlace);
        if (phase === 'loading') panel.failed(data === null ? null : dataSummary);
        setPhase('idle');
        return;
    }
  }

  function load(message: ToWorker, what: string): void {
    ctx.clearError();
    errorPlace = panel.element;
    panel.loading(what);
    setPhase('loading');
    send(message);
  }

  function startRun(): void {
    ctx.clearError();
    errorPlace = buttons;
    let request: RunRequest;
    try {
      request = form.request();
    } catch (error) {
      ctx.showError(error instanceof Error ? error.message : String(error), error instanceof FieldError ? error.field : buttons);
      // The field at fault takes the focus (and so comes into view, its message under it).
      if (error instanceof FieldError) error.field.focus();
      return;
    }
    metrics = emptyMetrics('test');
    const current = form.startsFromModel ? ctx.model : null;
    runName = current ? `${current.name}, trained further here` : 'page run';
    downloads.clear();
    setPhase('running');
    const initial = current ? { name: current.name, config: current.config, params: current.params, normalization: current.normalization } : undefined;
    send({ type: 'start', request, ...(initial ? { initial } : {}) });
  }

  /** Continues the kept run from its last checkpoint, on its own data (loaded again if need be). */
  function continueSaved(): void {
    if (!saved) return;
    ctx.clearError();
    errorPlace = buttons;
    form.show(saved.request);
    metrics = structuredClone(saved.metrics);
    runName = 'continued page run';
    downloads.clear();
    if (saved.data.kind === 'sample' && data?.kind !== 'sample') load({ type: 'load-sample', baseUrl: sampleUrl }, 'the bundled sample');
    setPhase('running');
    send({ type: 'continue' });
  }

  function setPaused(value: boolean): void {
    paused = value;
    send({ type: value ? 'pause' : 'resume' });
    status.textContent = value ? 'Paused.' : 'Training.';
    setPhase(phase);
  }

  function setPhase(next: Phase): void {
    phase = next;
    if (phase !== 'running') paused = false;
    const running = phase === 'running';
    panel.disabled = phase !== 'idle';
    form.disabled = phase !== 'idle';
    start.disabled = phase !== 'idle' || data === null;
    pause.hidden = !running || paused;
    resume.hidden = !running || !paused;
    stop.hidden = !running;
    continueRun.hidden = running || !canContinue(saved);
    continueRun.disabled = phase !== 'idle';
  }

  /** Makes the run's final model the page's current one; config.json's "training" holds its normalization. */
  function adoptModel(bytes: Uint8Array, name: string, configJson: string): void {
    const { tensors, metadata } = parseSafetensors(bytes, FINAL_MODEL_FILE);
    const config = resolveConfig(JSON.parse(metadata.config ?? '{}') as Record<string, unknown>, FINAL_MODEL_FILE);
    const { training } = JSON.parse(configJson) as { training?: Partial<Normalization> };
    const normalization = training?.mean && training.std ? { mean: training.mean, std: training.std } : SEED_NORMALIZATION;
    const model: CurrentModel = { name, config, params: toCanonical(tensors, config, FINAL_MODEL_FILE), normalization, metrics };
    ctx.setModel(model);
  }

  /** Reads the kept run: offers to continue it, or (finished) its files and model. */
  async function refreshSaved(): Promise<void> {
    saved = await loadRun();
    setPhase(phase);
  }

  async function restoreSaved(): Promise<void> {
    await refreshSaved();
    if (!saved) return;
    metrics = structuredClone(saved.metrics);
    budget = saved.request.timeBudget ?? null;
    progress.begin(saved.epochs, budget, metrics);
    downloads.offer({ metrics, configJson: saved.configJson });
    if (canContinue(saved)) {
      form.show(saved.request);
      const done = budget === null ? `epoch ${saved.epochsDone} of ${saved.epochs}`
        : `epoch ${saved.epochsDone}, ${clock(spentSeconds(saved.metrics))} of its ${minutes(budget)} budget spent`;
      status.textContent = `A run stopped after ${done}: Continue run picks up from there.`;
      return;
    }
    if (saved.finished) progress.end(saved.metrics);
    const model = await loadFinalModel();
    if (model) {
      downloads.offer({ model });
      adoptModel(model, 'the last page run', saved.configJson);
      status.textContent = `The last run: ${epochs(saved.epochsDone)}${budgetSummary(saved.metrics, budget)}${accuracySummary(saved.metrics)}.`;
    }
  }

  ctx.onModelChange((model) => form.offerModel(model));
  setPhase('idle');
  load({ type: 'load-sample', baseUrl: sampleUrl }, 'the bundled sample');
  restoreSaved().catch((error: unknown) => ctx.showError(`Could not read the saved run: ${error instanceof Error ? error.message : String(error)}`, buttons));
}

const epochs = (n: number): string => `${n} epoch${n === 1 ? '' : 's'}`;

/** ", test accuracy X" of the last evaluated epoch, naming it when it is not the last; empty when none was. */
function accuracySummary(metrics: Metrics): string {
  const evaluated = lastEvaluation(metrics);
  if (evaluated === null) return '';
  const at = evaluated.epoch === metrics.accuracies.length ? '' : ` (epoch ${evaluated.epoch})`;
  return `, test accuracy ${percent(evaluated.accuracy)}${at}`;
}

/** " in 0:14 of a 0.25 min budget"; empty without a budget. */
function budgetSummary(metrics: Metrics, budget: number | null): string {
  return budget === null ? '' : ` in ${clock(spentSeconds(metrics))} of a ${minutes(budget)} budget`;
}

const spentSeconds = (metrics: Metrics): number => metrics.elapsed_seconds.at(-1) ?? 0;

/** What a stopped run leaves: the epoch Continue picks up after, or that nothing was saved. */
function stoppedSummary(run: RunRecord | undefined): string {
  const done = run?.epochsDone ?? 0;
  if (done === 0) return 'Stopped before the first epoch ended: no epoch was saved, so there is nothing to continue. Start begins a new run.';
  return canContinue(run) ? `Stopped after epoch ${done}. Continue run picks up from there.` : `Stopped after epoch ${done}.`;
}

/** A run can continue when it has a checkpoint (an epoch done) and epochs left, or time left of its budget. */
function canContinue(run: RunRecord | undefined): boolean {
  if (run === undefined || run.finished || run.epochsDone === 0) return false;
  const budget = run.request.timeBudget;
  return budget === undefined ? run.epochsDone < (run.epochs ?? 0) : spentSeconds(run.metrics) < budget;
}
