// The Train view's elements: the data card, the run's buttons and status line, the files, the
// progress and the settings form; render() shows the controls a state allows.
import { findAdapter } from '../../../src/runtime/webgpu/adapter.js';
import type { AppContext } from '../context.js';
import { DataPanel } from './data-panel.js';
import { Downloads } from './downloads.js';
import { SettingsForm } from './form.js';
import type { KnobValues } from './knobs.js';
import { ProgressView, minutes } from './progress-view.js';
import { RECIPES } from '../../../src/train/recipes.js';
import { type TrainState, canContinue } from './train-state.js';

export interface TrainActions {
  useSample(): void;
  useFiles(files: File[]): void;
  forgetKept(): void;
  start(): void;
  pause(): void;
  resume(): void;
  stop(): void;
  continueRun(): void;
}

export class TrainView {
  readonly panel: DataPanel;
  readonly form: SettingsForm;
  readonly progress = new ProgressView();
  readonly downloads = new Downloads();
  readonly status: HTMLElement;
  /** What Start will train, from the form as it is: the settings in view beside the button. */
  private readonly plan: HTMLElement;
  private dataSummary = '';
  /** The run's buttons: where a run's errors show. */
  readonly buttons: HTMLElement;
  private readonly start: HTMLButtonElement;
  private readonly pause: HTMLButtonElement;
  private readonly resume: HTMLButtonElement;
  private readonly stop: HTMLButtonElement;
  private readonly continueRun: HTMLButtonElement;

  constructor(root: HTMLElement, ctx: AppContext, firstRun: KnobValues, actions: TrainActions) {
    this.panel = new DataPanel({ useSample: actions.useSample, useFiles: actions.useFiles, forgetKept: actions.forgetKept });
    this.form = new SettingsForm({ ...firstRun, threads: ctx.threads }, ctx.isolated ? [] : ['threads']);
    void nameWebGpuChoice(this.form.element);
    this.buttons = document.createElement('div');
    this.buttons.className = 'buttons';
    const button = (label: string, testid: string, onClick: () => void, primary = false): HTMLButtonElement => {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = label;
      b.dataset.testid = testid;
      if (primary) b.className = 'primary';
      b.addEventListener('click', onClick);
      this.buttons.append(b);
      return b;
    };
    this.start = button('Start', 'start', actions.start, true);
    this.pause = button('Pause', 'pause', actions.pause);
    this.resume = button('Resume', 'resume', actions.resume);
    this.stop = button('Stop', 'stop', actions.stop);
    this.continueRun = button('Continue run', 'continue-run', actions.continueRun);
    this.status = document.createElement('p');
    this.status.dataset.testid = 'train-status';
    this.status.setAttribute('aria-live', 'polite');

    const controls = document.createElement('section');
    controls.className = 'card';
    controls.setAttribute('aria-label', 'Run');
    this.plan = document.createElement('p');
    this.plan.className = 'hint';
    this.plan.dataset.testid = 'run-plan';
    this.form.element.addEventListener('input', () => this.showPlan());
    this.form.element.addEventListener('change', () => this.showPlan());
    controls.append(this.buttons, this.plan, this.status);
    const settings = document.createElement('div');
    settings.className = 'grid sidebar';
    const left = document.createElement('div');
    left.className = 'stack';
    left.append(this.panel.element, controls, this.downloads.element);
    const right = document.createElement('div');
    right.className = 'stack';
    right.append(this.progress.element, this.form.element);
    settings.append(left, right);
    root.append(settings);
  }

  /** Where an error of the worker's current job shows. */
  errorPlace(state: TrainState): HTMLElement {
    return state.job === 'data' ? this.panel.element : this.buttons;
  }

  /** Enables and shows the controls the state allows. */
  render(state: TrainState): void {
    const running = state.phase === 'running';
    this.panel.disabled = state.phase !== 'idle';
    this.form.disabled = state.phase !== 'idle';
    this.start.disabled = state.phase !== 'idle' || state.data === null;
    this.pause.hidden = !running || state.paused;
    this.resume.hidden = !running || !state.paused;
    this.stop.hidden = !running;
    this.continueRun.hidden = running || !canContinue(state.saved);
    this.continueRun.disabled = state.phase !== 'idle';
    this.dataSummary = state.dataSummary;
    this.plan.hidden = state.phase === 'running';
    this.showPlan();
  }

  /** "Start trains a ViT of 4 blocks of 48 with the fast recipe for 1 min on the bundled sample; …" */
  private showPlan(): void {
    let request;
    try {
      request = this.form.request();
    } catch {
      this.plan.textContent = 'Start: check the settings in the Model and Recipe cards.';
      return;
    }
    const recipe = request.recipe ?? 'seed';
    const length = request.timeBudget ? `for ${minutes(request.timeBudget)}` : `for ${request.epochs ?? RECIPES[recipe].epochs} epochs`;
    const model = this.form.startsFromModel
      ? 'the current model'
      : `a ViT of ${request.model.num_hidden_layers} blocks of ${request.model.hidden_size}`;
    this.plan.textContent = `Start trains ${model} with the ${recipe} recipe ${length}${this.dataSummary ? ` on ${this.dataSummary}` : ''}; the Model and Recipe cards hold every setting.`;
  }
}

/** Labels the Backend choice's webgpu option with the adapter it would run on, or why there is none. */
async function nameWebGpuChoice(form: HTMLElement): Promise<void> {
  const option = form.querySelector<HTMLOptionElement>('select[data-testid="setting-backend"] option[value="webgpu"]');
  if (!option) return;
  try {
    const { name, software } = await findAdapter();
    option.textContent = `webgpu (${name}${software ? ', a software adapter: correct, not fast' : ''})`;
  } catch (error) {
    option.textContent = `webgpu (not available: ${error instanceof Error ? error.message.split(':')[0] : String(error)})`;
  }
}
