// Several runs' test accuracy in one figure, against the epoch or the wall-clock minutes: `vit plot`
// comparing runs (vit-ts experiments and PyTorch logs) by what a person waits for.
import type { TopLevelSpec } from 'vega-lite';
import { UserError } from '../errors.js';
import { percentFormat } from './metrics-plot.js';

export type XAxis = 'epoch' | 'time';

/** An evaluated epoch: its test accuracy and the run's wall time then. */
export interface AccuracyPoint {
  epoch: number;
  accuracy: number;
  elapsedSeconds: number;
}

/** One line of the figure; `name` labels it in the legend. */
export interface AccuracyRun {
  name: string;
  points: AccuracyPoint[];
}

/** A row of the figure's data. */
export interface AccuracyRow {
  run: string;
  epoch: number;
  minutes: number;
  accuracy: number;
}

/** matplotlib's tab10, so lines keep their colours in the order the runs are named. */
const RUN_COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/**
 * A vit-ts run's evaluated epochs from its metrics (epochs not evaluated, null, are left out); `source`
 * (the file) names it in errors.
 */
export function runFromMetrics(
  name: string,
  metrics: { accuracies: readonly (number | null)[]; elapsed_seconds: readonly number[] },
  source: string,
): AccuracyRun {
  const points = metrics.accuracies.flatMap((accuracy, index) => {
    if (accuracy === null) return [];
    if (!(accuracy >= 0 && accuracy <= 1))
      throw new UserError(`${source}: "accuracies"[${index}] is ${accuracy}; accuracies must be fractions in [0, 1]`);
    return [{ epoch: index + 1, accuracy, elapsedSeconds: metrics.elapsed_seconds[index]! }];
  });
  if (points.length === 0) throw new UserError(`${source}: no evaluated epoch ("accuracies" has no number), there is nothing to plot`);
  return { name, points };
}

/** The figure's rows: one per evaluated epoch of each run, the wall time in minutes. */
export function accuracyRows(runs: readonly AccuracyRun[]): AccuracyRow[] {
  return runs.flatMap((run) =>
    run.points.map((p) => ({ run: run.name, epoch: p.epoch, minutes: p.elapsedSeconds / 60, accuracy: p.accuracy })),
  );
}

/** Test accuracy against `x`, one coloured line (with its points) per run. */
export function accuracyRunsSpec(runs: readonly AccuracyRun[], x: XAxis): TopLevelSpec {
  const rows = accuracyRows(runs);
  const names = runs.map((run) => run.name);
  const xEncoding =
    x === 'time'
      ? { field: 'minutes', type: 'quantitative' as const, title: 'Wall-clock minutes', scale: { domainMin: 0 } }
      : { field: 'epoch', type: 'quantitative' as const, title: 'Epoch', axis: { tickMinStep: 1, format: 'd' }, scale: { domainMin: 1 } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `Test accuracy by ${x === 'time' ? 'wall-clock time' : 'epoch'}`, fontSize: 16, anchor: 'middle' },
    background: 'white',
    padding: 12,
    width: 640,
    height: 400,
    config: { view: { stroke: '#888' }, axis: { grid: true, gridColor: '#e6e6e6' } },
    data: { values: rows },
    mark: { type: 'line', point: true, strokeWidth: 2 },
    encoding: {
      x: xEncoding,
      y: {
        field: 'accuracy',
        type: 'quantitative',
        title: 'Test accuracy',
        axis: { format: percentFormat(rows.map((row) => row.accuracy)) },
        scale: { zero: false },
      },
      color: {
        field: 'run',
        type: 'nominal',
        title: null,
        sort: names,
        scale: { domain: names, range: names.map((_, i) => RUN_COLOURS[i % RUN_COLOURS.length]!) },
        legend: { orient: 'bottom-right', fillColor: 'white', strokeColor: '#ccc', padding: 6, labelLimit: 320 },
      },
      order: { field: x === 'time' ? 'minutes' : 'epoch' },
    },
  };
}
