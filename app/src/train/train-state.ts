// What the Train view knows between messages, and the lines it says about runs.
import { type Metrics, emptyMetrics, lastEvaluation } from '../../../src/train/metrics.js';
import type { TrainStart } from '../../../src/train/trainer.js';
import { clock, minutes, percent } from './progress-view.js';
import type { DataChoice } from './protocol.js';
import type { RunRecord } from './run-store.js';

/** Idle, reading data, or training (paused or not). */
export type Phase = 'idle' | 'loading' | 'running';

export interface TrainState {
  phase: Phase;
  paused: boolean;
  /** The data loaded in the worker, and how the page names it. */
  data: DataChoice | null;
  dataSummary: string;
  /** The run kept in storage (what Continue continues). */
  saved: RunRecord | undefined;
  /** The metrics of the run shown, and its name for the model it makes. */
  metrics: Metrics;
  runName: string;
  /** The shown run's time budget in seconds; null when it trains a number of epochs. */
  budget: number | null;
  /** The worker's current job, whose error shows beside its controls. */
  job: 'data' | 'run';
}

export function initialState(): TrainState {
  return {
    phase: 'idle',
    paused: false,
    data: null,
    dataSummary: '',
    saved: undefined,
    metrics: emptyMetrics('test'),
    runName: 'page run',
    budget: null,
    job: 'data',
  };
}

/** A run can continue when it has a checkpoint (an epoch done) and epochs left, or time left of its budget. */
export function canContinue(run: RunRecord | undefined): boolean {
  if (run === undefined || run.finished || run.epochsDone === 0) return false;
  const budget = run.request.timeBudget;
  return budget === undefined || budget === null ? run.epochsDone < (run.epochs ?? 0) : spentSeconds(run.metrics) < budget;
}

/**
 * "Training 5,258 parameters on 2,000 images (WebAssembly SIMD (relaxed), 2 threads), evaluating on the first 100 of the 500 test images
 * (…), from epoch 1 of 3." `testImages` is the data's test split, of which the run may take the first.
 */
export function startedLine(
  start: Pick<TrainStart, 'startEpoch' | 'epochs' | 'budget' | 'trainImages' | 'evalImages' | 'parameters' | 'evaluatedOn' | 'engine'>,
  testImages: number,
): string {
  const length = start.budget
    ? ` within a budget of ${minutes(start.budget.seconds)}${start.budget.spent > 0 ? ` (${clock(start.budget.spent)} spent)` : ''}`
    : ` of ${start.epochs}`;
  const count = (n: number): string => n.toLocaleString('en-US');
  const evaluated =
    start.evaluatedOn === 'validation'
      ? `${count(start.evalImages)} held-out training images`
      : start.evalImages < testImages
        ? `the first ${count(start.evalImages)} of the ${count(testImages)} test images (vit eval --test-samples ${start.evalImages} takes the same)`
        : `all ${count(start.evalImages)} test images`;
  return (
    `Training ${start.parameters.toLocaleString('en-US')} parameters on ${count(start.trainImages)} images (${start.engine}), ` +
    `evaluating on ${evaluated}, from epoch ${start.startEpoch + 1}${length}.`
  );
}

export function finishedLine(metrics: Metrics, budget: number | null): string {
  return `Finished: ${epochs(metrics.accuracies.length)}${budgetSummary(metrics, budget)}${accuracySummary(metrics)}.`;
}

/** What a stopped run leaves: the epoch Continue picks up after, or that nothing was saved. */
export function stoppedLine(run: RunRecord | undefined): string {
  const done = run?.epochsDone ?? 0;
  if (done === 0)
    return 'Stopped before the first epoch ended: no epoch was saved, so there is nothing to continue. Start begins a new run.';
  return canContinue(run) ? `Stopped after epoch ${done}. Continue run picks up from there.` : `Stopped after epoch ${done}.`;
}

/** The kept run, after a reload: where it stopped (it can continue), or how it ended. */
export function savedLine(saved: RunRecord, budget: number | null): string {
  if (!canContinue(saved))
    return `The last run: ${epochs(saved.epochsDone)}${budgetSummary(saved.metrics, budget)}${accuracySummary(saved.metrics)}.`;
  const done =
    budget === null
      ? `epoch ${saved.epochsDone} of ${saved.epochs}`
      : `epoch ${saved.epochsDone}, ${clock(spentSeconds(saved.metrics))} of its ${minutes(budget)} budget spent`;
  return `A run stopped after ${done}: Continue run picks up from there.`;
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
