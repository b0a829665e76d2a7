// An experiment's metrics.json (the seed's keys, one entry per epoch) and the per-epoch summary line.
import { UserError } from '../errors.js';

export type EvaluatedOn = 'test' | 'validation';

export interface Metrics {
  train_losses: number[];
  /** The evaluation set's mean cross-entropy: the test set, or the validation split when one is held out. */
  test_losses: number[];
  accuracies: number[];
  /** Wall time of each epoch, training and evaluation together. */
  epoch_seconds: number[];
  /** Which set test_losses and accuracies were measured on. */
  evaluated_on: EvaluatedOn;
}

/** One finished epoch, as reported to callbacks and recorded in the metrics. */
export interface EpochResult {
  /** 1-based, as the seed prints it. */
  epoch: number;
  epochs: number;
  /** Mean cross-entropy over the epoch's training images (without label smoothing, to compare with test loss). */
  trainLoss: number;
  testLoss: number;
  accuracy: number;
  /** Wall time of the epoch, evaluation included. */
  seconds: number;
  /** Training images per second (evaluation excluded). */
  imagesPerSecond: number;
  /** The learning rate of the epoch's last update. */
  lr: number;
  evaluatedOn: EvaluatedOn;
}

export function emptyMetrics(evaluatedOn: EvaluatedOn): Metrics {
  return { train_losses: [], test_losses: [], accuracies: [], epoch_seconds: [], evaluated_on: evaluatedOn };
}

export function recordEpoch(metrics: Metrics, result: EpochResult): void {
  metrics.train_losses.push(result.trainLoss);
  metrics.test_losses.push(result.testLoss);
  metrics.accuracies.push(result.accuracy);
  metrics.epoch_seconds.push(result.seconds);
}

/** Checks metrics read back from a checkpoint or file; `source` names it in errors. */
export function parseMetrics(value: unknown, source: string): Metrics {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UserError(`${source}: metrics must be a JSON object`);
  const record = value as Record<string, unknown>;
  const list = (key: string): number[] => {
    const v = record[key];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'number')) throw new UserError(`${source}: metrics "${key}" must be a list of numbers`);
    return v as number[];
  };
  const metrics: Metrics = {
    train_losses: list('train_losses'),
    test_losses: list('test_losses'),
    accuracies: list('accuracies'),
    epoch_seconds: list('epoch_seconds'),
    evaluated_on: record['evaluated_on'] === 'validation' ? 'validation' : 'test',
  };
  const n = metrics.train_losses.length;
  for (const key of ['test_losses', 'accuracies', 'epoch_seconds'] as const) {
    if (metrics[key].length !== n) throw new UserError(`${source}: metrics "${key}" has ${metrics[key].length} entries, "train_losses" ${n}`);
  }
  return metrics;
}

/** metrics.json's text. */
export function metricsJson(metrics: Metrics): string {
  return JSON.stringify(metrics, null, 2) + '\n';
}

/** The seed's line, "Epoch: N, Train loss: X, Test loss: Y, Accuracy: Z", plus time and speed. */
export function formatEpochLine(r: EpochResult): string {
  const evalName = r.evaluatedOn === 'validation' ? 'Val' : 'Test';
  return `Epoch: ${r.epoch}, Train loss: ${r.trainLoss.toFixed(4)}, ${evalName} loss: ${r.testLoss.toFixed(4)}, ` +
    `Accuracy: ${r.accuracy.toFixed(4)} (${formatDuration(r.seconds)}, ${Math.round(r.imagesPerSecond)} img/s)`;
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m${rest}s` : `${m}m${rest}s`;
}
