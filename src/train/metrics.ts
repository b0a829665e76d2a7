// An experiment's metrics.json (the seed's keys, one entry per epoch) and the per-epoch summary line.
// An epoch without evaluation (--eval-every) has null test loss and accuracy.
import { UserError } from '../errors.js';

export type EvaluatedOn = 'test' | 'validation';

export interface Metrics {
  train_losses: number[];
  /** The evaluation set's mean cross-entropy: the test set, or the validation split when one is held out. */
  test_losses: (number | null)[];
  accuracies: (number | null)[];
  /** Wall time of each epoch, training and evaluation together. */
  epoch_seconds: number[];
  /**
   * Wall seconds since the run started (summed over resumed sessions) at the end of each epoch, its
   * evaluation included: the time axis of `vit plot --x time`.
   */
  elapsed_seconds: number[];
  /**
   * With flip test-time augmentation (--tta flip): the accuracy of each image's and its mirror's
   * probabilities averaged, beside the single-view accuracies (null where not evaluated). Absent without.
   */
  flip_accuracies?: (number | null)[];
  /** Which set test_losses and accuracies were measured on. */
  evaluated_on: EvaluatedOn;
}

/** One finished epoch, as reported to callbacks and recorded in the metrics. */
export interface EpochResult {
  /** 1-based, as the seed prints it. */
  epoch: number;
  /** Epochs the run trains; null under a time budget (as many as fit). */
  epochs: number | null;
  /** Mean cross-entropy over the epoch's training images (without label smoothing, to compare with test loss). */
  trainLoss: number;
  /** Null when the epoch was not evaluated. */
  testLoss: number | null;
  accuracy: number | null;
  /** With flip test-time augmentation: the flip-averaged accuracy (null when not evaluated). */
  flipAccuracy?: number | null;
  /** Wall time of the epoch, evaluation included. */
  seconds: number;
  /** Wall time since the run started (over all its sessions) at the end of the epoch. */
  elapsedSeconds: number;
  /** Training images per second (evaluation excluded). */
  imagesPerSecond: number;
  /** The learning rate of the epoch's last update. */
  lr: number;
  evaluatedOn: EvaluatedOn;
}

export function emptyMetrics(evaluatedOn: EvaluatedOn): Metrics {
  return { train_losses: [], test_losses: [], accuracies: [], epoch_seconds: [], elapsed_seconds: [], evaluated_on: evaluatedOn };
}

export function recordEpoch(metrics: Metrics, result: EpochResult): void {
  metrics.train_losses.push(result.trainLoss);
  metrics.test_losses.push(result.testLoss);
  metrics.accuracies.push(result.accuracy);
  metrics.epoch_seconds.push(result.seconds);
  metrics.elapsed_seconds.push(result.elapsedSeconds);
  if (result.flipAccuracy !== undefined) (metrics.flip_accuracies ??= []).push(result.flipAccuracy);
}

/** The last evaluated epoch (1-based) and its accuracy; null when no epoch was evaluated. */
export function lastEvaluation(metrics: Metrics): { epoch: number; accuracy: number } | null {
  for (let i = metrics.accuracies.length - 1; i >= 0; i--) {
    const accuracy = metrics.accuracies[i];
    if (accuracy !== null && accuracy !== undefined) return { epoch: i + 1, accuracy };
  }
  return null;
}

/**
 * Checks metrics read back from a checkpoint or file; `source` names it in errors. A file from before
 * elapsed_seconds gets it as the running sum of epoch_seconds.
 */
export function parseMetrics(value: unknown, source: string): Metrics {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UserError(`${source}: metrics must be a JSON object`);
  const record = value as Record<string, unknown>;
  const list = (key: string, nullable: boolean): (number | null)[] => {
    const v = record[key];
    const allowed = (x: unknown): boolean => typeof x === 'number' || (nullable && x === null);
    if (!Array.isArray(v) || !v.every(allowed)) {
      throw new UserError(`${source}: metrics "${key}" must be a list of numbers${nullable ? ' (null for an epoch not evaluated)' : ''}`);
    }
    return v as (number | null)[];
  };
  const numbers = (key: string): number[] => list(key, false) as number[];
  const epochSeconds = numbers('epoch_seconds');
  const metrics: Metrics = {
    train_losses: numbers('train_losses'),
    test_losses: list('test_losses', true),
    accuracies: list('accuracies', true),
    epoch_seconds: epochSeconds,
    elapsed_seconds: record['elapsed_seconds'] === undefined ? runningSum(epochSeconds) : numbers('elapsed_seconds'),
    evaluated_on: record['evaluated_on'] === 'validation' ? 'validation' : 'test',
    ...(record['flip_accuracies'] === undefined ? {} : { flip_accuracies: list('flip_accuracies', true) }),
  };
  const n = metrics.train_losses.length;
  for (const key of ['test_losses', 'accuracies', 'epoch_seconds', 'elapsed_seconds', 'flip_accuracies'] as const) {
    const length = metrics[key]?.length ?? n;
    if (length !== n) throw new UserError(`${source}: metrics "${key}" has ${length} entries, "train_losses" ${n}`);
  }
  return metrics;
}

function runningSum(values: readonly number[]): number[] {
  let sum = 0;
  return values.map((v) => (sum += v));
}

/** metrics.json's text. */
export function metricsJson(metrics: Metrics): string {
  return JSON.stringify(metrics, null, 2) + '\n';
}

/**
 * The seed's line, "Epoch: N, Train loss: X, Test loss: Y, Accuracy: Z", plus time and speed; an epoch
 * not evaluated says so in place of the test loss and accuracy.
 */
export function formatEpochLine(r: EpochResult): string {
  const speed = `${formatDuration(r.seconds)}, ${Math.round(r.imagesPerSecond)} img/s`;
  const head = `Epoch: ${r.epoch}, Train loss: ${r.trainLoss.toFixed(4)}`;
  if (r.testLoss === null || r.accuracy === null) return `${head} (not evaluated; ${speed})`;
  const evalName = r.evaluatedOn === 'validation' ? 'Val' : 'Test';
  const flip = r.flipAccuracy === undefined || r.flipAccuracy === null ? '' : `, with flip TTA: ${r.flipAccuracy.toFixed(4)}`;
  return `${head}, ${evalName} loss: ${r.testLoss.toFixed(4)}, Accuracy: ${r.accuracy.toFixed(4)}${flip} (${speed})`;
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m${rest}s` : `${m}m${rest}s`;
}
