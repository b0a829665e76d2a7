// The live curves, drawn with uPlot: the running loss every few steps, and the article's two
// plots per epoch (train and test loss; test accuracy). Each keeps its own data and redraws on push.
// A null value (an epoch not evaluated) is no point; the line spans it to the next one. Before its
// first point a chart says what will appear there instead of an empty legend.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

interface SeriesSpec {
  label: string;
  stroke: string;
}

const WHOLE_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000];
const MIN_WIDTH = 240;
const HEIGHT = 200;

/** A line chart that grows one x value at a time and follows its container's width. */
export class LiveChart {
  private readonly plot: uPlot;
  private readonly columns: (number | null)[][];

  constructor(parent: HTMLElement, title: string, xLabel: string, series: readonly SeriesSpec[], testid: string, empty: string) {
    const holder = document.createElement('figure');
    holder.className = 'chart';
    holder.dataset.testid = testid;
    holder.dataset.points = '0';
    const hint = document.createElement('p');
    hint.className = 'chart-empty';
    hint.dataset.testid = `${testid}-empty`;
    hint.textContent = empty;
    holder.append(hint);
    parent.append(holder);
    this.columns = [[], ...series.map(() => [])];
    this.plot = new uPlot(
      {
        title,
        width: Math.max(holder.clientWidth, MIN_WIDTH),
        height: HEIGHT,
        scales: { x: { time: false } },
        // Steps and epochs are whole numbers: no ticks between them.
        axes: [{ label: xLabel, incrs: WHOLE_STEPS }, {}],
        series: [
          { label: xLabel },
          ...series.map((s) => ({ label: s.label, stroke: s.stroke, width: 2, spanGaps: true, points: { show: true, size: 5 } })),
        ],
      },
      this.columns as uPlot.AlignedData,
      holder,
    );
    new ResizeObserver(() => this.plot.setSize({ width: Math.max(holder.clientWidth, MIN_WIDTH), height: HEIGHT })).observe(holder);
  }

  /** Adds one point per series at `x`. */
  push(x: number, values: readonly (number | null)[]): void {
    this.columns[0]!.push(x);
    values.forEach((v, i) => this.columns[i + 1]!.push(v));
    this.redraw();
  }

  /** Replaces all points (a resumed run's history). */
  reset(xs: readonly number[], series: readonly (readonly (number | null)[])[]): void {
    this.columns[0]!.splice(0, Infinity, ...xs);
    series.forEach((values, i) => this.columns[i + 1]!.splice(0, Infinity, ...values));
    this.redraw();
  }

  private redraw(): void {
    this.plot.setData(this.columns as uPlot.AlignedData);
    (this.plot.root.parentElement as HTMLElement).dataset.points = String(this.columns[0]!.length);
  }
}
