// What a run shows while it goes: epoch, step, the training loss, images/s, time left and the last
// accuracy, over the live loss curve and the article's two per-epoch plots. The loss is the trainer's
// (the mean over the epoch so far, as `vit train` prints it). Under a time budget the time left is
// the budget's (the run's clock, which a pause stops), on a line of its own too. Times read as a clock, 3:12.
import { type EpochResult, type Metrics, lastEvaluation } from '../../../src/train/metrics.js';
import type { BatchProgress, EvaluationProgress } from '../../../src/train/trainer.js';
import { LiveChart } from './charts.js';

const STATS = [
  ['epoch', 'Epoch'],
  ['step', 'Step'],
  ['running-loss', 'Loss (epoch so far)'],
  ['images-per-second', 'Images/s'],
  ['time-left', 'Time left'],
  ['accuracy', 'Test accuracy'],
] as const;

type StatKey = (typeof STATS)[number][0];

export class ProgressView {
  readonly element: HTMLElement;
  private readonly values = new Map<StatKey, HTMLElement>();
  private readonly runningLoss: LiveChart;
  private readonly losses: LiveChart;
  private readonly accuracy: LiveChart;
  /** Null under a time budget. */
  private epochs: number | null = 0;
  /** The time budget in seconds; null when the run trains a number of epochs. */
  private budget: number | null = null;
  private readonly budgetLine: HTMLElement;
  /** The evaluation going on, as the trainer reports it; hidden between evaluations. */
  private readonly evaluationLine: HTMLElement;
  /** Wall time of the last finished epoch, for the time left; null before the first. */
  private lastEpochSeconds: number | null = null;

  constructor() {
    this.element = document.createElement('section');
    this.element.className = 'card';
    this.element.setAttribute('aria-label', 'Progress');
    const stats = document.createElement('div');
    stats.className = 'stats';
    for (const [key, label] of STATS) {
      const stat = document.createElement('div');
      stat.className = 'stat';
      const name = document.createElement('span');
      name.textContent = label;
      const value = document.createElement('strong');
      value.dataset.testid = key;
      value.textContent = '–';
      stat.append(name, value);
      stats.append(stat);
      this.values.set(key, value);
    }
    // The running loss across the card; below it the article's two plots side by side.
    const live = document.createElement('div');
    const perEpoch = document.createElement('div');
    perEpoch.className = 'grid two';
    const lossCell = document.createElement('div');
    const accuracyCell = document.createElement('div');
    perEpoch.append(lossCell, accuracyCell);
    this.budgetLine = document.createElement('p');
    this.budgetLine.className = 'budget';
    this.budgetLine.dataset.testid = 'budget';
    this.budgetLine.hidden = true;
    this.evaluationLine = document.createElement('p');
    this.evaluationLine.className = 'budget';
    this.evaluationLine.dataset.testid = 'evaluation';
    this.evaluationLine.hidden = true;
    this.element.append(stats, this.budgetLine, this.evaluationLine, live, perEpoch);
    this.runningLoss = new LiveChart(
      live,
      'Training loss (mean over the epoch so far)',
      'step',
      [{ label: 'train', stroke: '#2f5fd0' }],
      'chart-running-loss',
      'The training loss appears here, step by step, once a run starts.',
    );
    this.losses = new LiveChart(
      lossCell,
      'Loss per epoch',
      'epoch',
      [
        { label: 'train', stroke: '#2f5fd0' },
        { label: 'test', stroke: '#d0702f' },
      ],
      'chart-loss',
      'A point per epoch: the train and test loss.',
    );
    this.accuracy = new LiveChart(
      accuracyCell,
      'Test accuracy per epoch',
      'epoch',
      [{ label: 'accuracy', stroke: '#1d7a3e' }],
      'chart-accuracy',
      'A point per evaluated epoch: the test accuracy.',
    );
  }

  /** A run (re)starts: the epochs it will run to (or its time budget, in seconds) and the epochs already done. */
  begin(epochs: number | null, budget: number | null, history: Metrics): void {
    this.epochs = epochs;
    this.budget = budget;
    this.budgetLine.hidden = budget === null;
    this.showBudgetLeft(history.elapsed_seconds.at(-1) ?? 0);
    const xs = history.train_losses.map((_, i) => i + 1);
    this.losses.reset(xs, [history.train_losses, history.test_losses]);
    this.accuracy.reset(xs, [history.accuracies]);
    this.runningLoss.reset([], [[]]);
    this.lastEpochSeconds = history.epoch_seconds.at(-1) ?? null;
    this.set('epoch', this.epochOf(history.train_losses.length));
    const evaluated = lastEvaluation(history);
    this.set('accuracy', evaluated === null ? '–' : percent(evaluated.accuracy));
  }

  /** The trainer's progress, as it reports it. */
  batch(progress: BatchProgress): void {
    this.evaluationLine.hidden = true;
    this.runningLoss.push((progress.epoch - 1) * progress.batches + progress.batch, [progress.loss]);
    this.set('epoch', this.epochOf(progress.epoch));
    this.set('step', `${progress.batch} / ${progress.batches}`);
    this.set('running-loss', progress.loss.toFixed(4));
    this.set('images-per-second', Math.round(progress.images / progress.seconds).toLocaleString('en-US'));
    const done = progress.batch / progress.batches;
    const epochSeconds = this.lastEpochSeconds ?? progress.seconds / done;
    if (this.epochs !== null)
      this.set('time-left', clock(Math.max(0, (1 - done) * epochSeconds + (this.epochs - progress.epoch) * epochSeconds)));
    this.showBudgetLeft(progress.runSeconds);
  }

  /** "Final evaluation: 2,048 / 10,000 test images", while the trainer evaluates. */
  evaluation(progress: EvaluationProgress): void {
    const what = progress.final ? 'Final evaluation' : `Evaluating after epoch ${progress.epoch}`;
    this.evaluationLine.textContent = `${what}: ${progress.images.toLocaleString('en-US')} / ${progress.total.toLocaleString('en-US')} test images`;
    this.evaluationLine.hidden = false;
  }

  epoch(result: EpochResult): void {
    this.evaluationLine.hidden = true;
    this.losses.push(result.epoch, [result.trainLoss, result.testLoss]);
    this.accuracy.push(result.epoch, [result.accuracy]);
    this.lastEpochSeconds = result.seconds;
    // The batches report their losses one step late (the engine sends them while the next step runs): the epoch's mean is the whole of it.
    this.set('running-loss', result.trainLoss.toFixed(4));
    // An epoch not evaluated keeps the last accuracy shown.
    if (result.accuracy !== null) this.set('accuracy', percent(result.accuracy));
    if (this.epochs !== null) this.set('time-left', clock((this.epochs - result.epoch) * result.seconds));
    this.showBudgetLeft(result.elapsedSeconds);
  }

  /** The run ended: under a budget, the time it took of it. */
  end(metrics: Metrics): void {
    this.evaluationLine.hidden = true;
    if (this.budget === null) return;
    const spent = metrics.elapsed_seconds.at(-1) ?? 0;
    this.set('time-left', clock(Math.max(0, this.budget - spent)));
    this.budgetLine.textContent = `Budget ${minutes(this.budget)}: ${clock(spent)} used`;
  }

  /** "Budget 10 min: 3:12 left", and the same in the Time left stat, after `spent` seconds of the run's clock. */
  private showBudgetLeft(spent: number): void {
    if (this.budget === null) return;
    const left = clock(Math.max(0, this.budget - spent));
    this.set('time-left', left);
    this.budgetLine.textContent = `Budget ${minutes(this.budget)}: ${left} left`;
  }

  /** "3 / 50", or "3" under a time budget. */
  private epochOf(epoch: number): string {
    return this.epochs === null ? `${epoch}` : `${epoch} / ${this.epochs}`;
  }

  private set(key: StatKey, text: string): void {
    this.values.get(key)!.textContent = text;
  }
}

/** A budget in minutes, e.g. "0.25 min", "30 min". */
export function minutes(seconds: number): string {
  return `${Number((seconds / 60).toFixed(2))} min`;
}

/** Seconds as a clock, e.g. 3:12 or 1:02:05. */
export function clock(seconds: number): string {
  const s = Math.floor(seconds);
  const two = (n: number): string => String(n).padStart(2, '0');
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}:${two(m)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
}

/** Accuracy as the CLI prints it, e.g. 41.20%. */
export function percent(accuracy: number): string {
  return `${(accuracy * 100).toFixed(2)}%`;
}
