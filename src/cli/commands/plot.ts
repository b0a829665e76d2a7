// `vit plot`: an experiment's loss and accuracy curves, from its metrics.json.
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../../errors.js';
import { METRICS_FIGURE_FILE, METRICS_FILE } from '../../io/experiment-layout.js';
import { readUserFile } from '../../io/user-files.js';
import { validateMetrics, writeMetricsFigure } from '../../viz/metrics-plot.js';

interface PlotOptions {
  out?: string;
}

export function register(program: Command): void {
  program
    .command('plot')
    .description(`draw an experiment's loss and accuracy curves from its ${METRICS_FILE}`)
    .argument('<experiment>', `the experiment folder (or its ${METRICS_FILE})`)
    .option('--out <file>', `the figure to write, .png or .svg (default: EXPERIMENT/${METRICS_FIGURE_FILE})`)
    .action(async (experiment: string, options: PlotOptions) => {
      await plot(experiment, options);
    });
}

async function plot(experiment: string, options: PlotOptions): Promise<void> {
  const { dir, metricsPath } = locateMetrics(experiment);
  if (!existsSync(metricsPath)) throw new UserError(`${metricsPath}: no such file; is ${experiment} a training experiment's folder?`);
  const text = readUserFile(metricsPath).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${metricsPath}: not valid JSON (${(e as Error).message})`);
  }
  const metrics = validateMetrics(json, metricsPath);
  const out = options.out ?? join(dir, METRICS_FIGURE_FILE);
  // The experiment's name is its folder's name; resolve() names "." too.
  await writeMetricsFigure(metrics, basename(resolve(dir)), out);
  process.stdout.write(`wrote ${out}\n`);
}

function locateMetrics(experiment: string): { dir: string; metricsPath: string } {
  let isFile = false;
  try {
    isFile = statSync(experiment).isFile();
  } catch {
    throw new UserError(`${experiment}: no such folder; expected a training experiment's folder holding ${METRICS_FILE}`);
  }
  if (isFile) return { dir: dirname(experiment), metricsPath: experiment };
  return { dir: experiment, metricsPath: join(experiment, METRICS_FILE) };
}
