// The article's figure of one run: train and test loss | test accuracy, per epoch.
import type { TopLevelSpec } from 'vega-lite';
import { UserError } from '../errors.js';
import { renderSpecPng, renderSpecSvg, writeFigure } from './vega-figure.js';

/** A training run's per-epoch history, as saved in the experiment's metrics.json; null: an epoch not evaluated. */
export interface Metrics {
  train_losses: number[];
  test_losses: (number | null)[];
  /** Test accuracy per epoch as a fraction in [0, 1]. */
  accuracies: (number | null)[];
}

const METRIC_KEYS = ['train_losses', 'test_losses', 'accuracies'] as const;

/** Line colours (matplotlib's first three), fixed so the figure reads the same every run. */
export const METRIC_COLOURS = {
  trainLoss: '#1f77b4',
  testLoss: '#ff7f0e',
  accuracy: '#2ca02c',
} as const;

const PANEL_WIDTH = 380;
const PANEL_HEIGHT = 280;

/**
 * Checks that a parsed metrics.json has the three per-epoch arrays of finite numbers (null allowed in
 * test_losses and accuracies: an epoch not evaluated), equally long and non-empty, and accuracies
 * within [0, 1]. `source` (a file name) prefixes messages.
 */
export function validateMetrics(value: unknown, source = 'metrics'): Metrics {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UserError(`${source}: expected an object with ${METRIC_KEYS.join(', ')}`);
  }
  const record = value as Record<string, unknown>;
  for (const key of METRIC_KEYS) {
    const series = record[key];
    if (!Array.isArray(series)) {
      throw new UserError(`${source}: "${key}" must be an array of numbers`);
    }
    series.forEach((entry: unknown, index) => {
      if (entry === null && key !== 'train_losses') return;
      // A diverged run can save NaN; say which epoch rather than drawing a broken line.
      if (typeof entry !== 'number' || !Number.isFinite(entry)) {
        throw new UserError(`${source}: "${key}"[${index}] is ${JSON.stringify(entry)}, not a finite number`);
      }
    });
  }
  const metrics = record as unknown as Metrics;
  const epochs = metrics.train_losses.length;
  if (epochs === 0) throw new UserError(`${source}: "train_losses" is empty, there is nothing to plot`);
  for (const key of ['test_losses', 'accuracies'] as const) {
    if (metrics[key].length !== epochs) {
      throw new UserError(
        `${source}: "${key}" has ${metrics[key].length} entries but "train_losses" has ${epochs}; ` +
          'every array needs one entry per epoch',
      );
    }
  }
  metrics.accuracies.forEach((accuracy, index) => {
    if (accuracy !== null && (accuracy < 0 || accuracy > 1)) {
      throw new UserError(`${source}: "accuracies"[${index}] is ${accuracy}; accuracies must be fractions in [0, 1]`);
    }
  });
  return metrics;
}

/** Pixels between a curve's extremes and a panel's frame. */
const EDGE_ROOM = 8;

/** The two-panel figure (loss curves | accuracy curve) as a vega-lite spec; epochs not evaluated have no test points. */
export function metricsSpec(metrics: Metrics, title: string): TopLevelSpec {
  const lossRows = metrics.train_losses.flatMap((trainLoss, index) => {
    const testLoss = metrics.test_losses[index];
    const train = { epoch: index + 1, series: 'Train loss', value: trainLoss };
    return testLoss === null || testLoss === undefined ? [train] : [train, { epoch: index + 1, series: 'Test loss', value: testLoss }];
  });
  const accuracyRows = evaluated(metrics.accuracies).map(({ epoch, value }) => ({ epoch, accuracy: value }));
  const epochAxis = {
    field: 'epoch',
    type: 'quantitative' as const,
    title: 'Epoch',
    // Integer ticks only: there is no epoch 1.5.
    axis: { tickMinStep: 1, format: 'd' },
    scale: { domain: [1, Math.max(2, metrics.train_losses.length)], nice: false },
  };
  // One epoch draws no line, so show the points as well then.
  const point = metrics.train_losses.length === 1;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, fontSize: 16, anchor: 'middle' },
    background: 'white',
    padding: 12,
    // Keep the legend inside the loss panel; a shared legend would sit beside the whole figure.
    resolve: { legend: { color: 'independent' } },
    config: {
      view: { stroke: '#888' },
      axis: { grid: true, gridColor: '#e6e6e6' },
      // A y label on the panel's top edge would stick out and push that panel's title up.
      axisY: { labelFlush: 1 },
    },
    hconcat: [
      {
        title: 'Loss',
        width: PANEL_WIDTH,
        height: PANEL_HEIGHT,
        data: { values: lossRows },
        mark: { type: 'line', point, strokeWidth: 2 },
        encoding: {
          x: epochAxis,
          y: { field: 'value', type: 'quantitative', title: 'Loss', scale: { zero: false, padding: EDGE_ROOM } },
          color: {
            field: 'series',
            type: 'nominal',
            title: null,
            scale: {
              domain: ['Train loss', 'Test loss'],
              range: [METRIC_COLOURS.trainLoss, METRIC_COLOURS.testLoss],
            },
            legend: { orient: 'top-right', fillColor: 'white', strokeColor: '#ccc', padding: 6 },
          },
        },
      },
      {
        title: 'Accuracy',
        width: PANEL_WIDTH,
        height: PANEL_HEIGHT,
        data: { values: accuracyRows },
        mark: { type: 'line', point, strokeWidth: 2, color: METRIC_COLOURS.accuracy },
        encoding: {
          x: epochAxis,
          y: {
            field: 'accuracy',
            type: 'quantitative',
            title: 'Test accuracy',
            axis: { format: percentFormat(accuracyRows.map((row) => row.accuracy)) },
            // A few pixels of room above and below: a best epoch on a round tick would draw along the frame.
            scale: { zero: false, padding: EDGE_ROOM },
          },
        },
      },
    ],
  };
}

/** The non-null entries of a per-epoch list, with their 1-based epochs. */
function evaluated(values: readonly (number | null)[]): { epoch: number; value: number }[] {
  return values.flatMap((value, index) => (value === null ? [] : [{ epoch: index + 1, value }]));
}

/**
 * The accuracy axis's label format: enough decimals that the ticks (about five over the data's
 * range) print differently — a short run's accuracies can span under one percent.
 */
export function percentFormat(accuracies: readonly number[]): string {
  const span = Math.max(...accuracies) - Math.min(...accuracies);
  const tickStepPercent = (span / 5) * 100;
  const decimals = tickStepPercent > 0 ? Math.min(3, Math.max(0, Math.ceil(-Math.log10(tickStepPercent)))) : 0;
  return `.${decimals}%`;
}

/** Renders the metrics figure to an SVG string (headless: no canvas, no DOM). */
export async function renderMetricsSvg(metrics: Metrics, title: string): Promise<string> {
  return renderSpecSvg(metricsSpec(validateMetrics(metrics), title));
}

/** Renders the metrics figure to PNG bytes, white background, ~1900 px wide. */
export async function renderMetricsPng(metrics: Metrics, title: string): Promise<Uint8Array> {
  return renderSpecPng(metricsSpec(validateMetrics(metrics), title));
}

/** Writes the metrics figure to `outPath`, as PNG or SVG according to its extension. */
export async function writeMetricsFigure(metrics: Metrics, title: string, outPath: string): Promise<void> {
  await writeFigure(metricsSpec(validateMetrics(metrics), title), outPath);
}
