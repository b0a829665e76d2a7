// `vit plot`: one experiment's loss and accuracy curves from its metrics.json, or several runs' test
// accuracy in one figure against the epoch or the wall-clock minutes (vit-ts experiments and PyTorch logs).
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { UserError } from '../../errors.js';
import { checkOutputFile } from '../../io/atomic.js';
import { CONFIG_FILE, METRICS_FIGURE_FILE, METRICS_FILE } from '../../io/experiment-layout.js';
import { parsePytorchLog } from '../../io/pytorch-log.js';
import { readUserFile } from '../../io/user-files.js';
import { parseMetrics } from '../../train/metrics.js';
import { type AccuracyRun, type XAxis, accuracyRunsSpec, runFromMetrics } from '../../viz/accuracy-runs.js';
import { validateMetrics, writeMetricsFigure } from '../../viz/metrics-plot.js';
import { checkFigurePath, writeFigure } from '../../viz/vega-figure.js';

const PYTORCH_LOG_EXTENSION = '.jsonl';

interface PlotOptions {
  x: XAxis;
  out?: string;
}

/** A run named on the command line: a metrics.json (of an experiment folder) or a PyTorch log. */
interface RunFile {
  path: string;
  /** The experiment folder's name, or the log's file name without .jsonl. */
  name: string;
  /** Where a single experiment's figure goes by default. */
  dir: string;
  kind: 'metrics' | 'pytorch-log';
}

export function register(program: Command): void {
  program
    .command('plot')
    .description(
      `draw an experiment's loss and accuracy curves from its ${METRICS_FILE}; with several runs (or --x time), ` +
        'their test accuracy in one figure',
    )
    .argument(
      '<runs...>',
      `experiment folders (or their ${METRICS_FILE}), or PyTorch logs (${PYTORCH_LOG_EXTENSION}: ` +
        'JSON lines of {epoch, train_loss, test_loss, test_acc, elapsed_s}, as tools/pytorch/peer.py train prints them)',
    )
    .addOption(new Option('--x <axis>', 'the x axis: epoch, or time (wall-clock minutes)').choices(['epoch', 'time']).default('epoch'))
    .option(
      '--out <file>',
      `the figure to write, .png or .svg (default: EXPERIMENT/${METRICS_FIGURE_FILE} for one experiment ` +
        'by epoch, else accuracy-by-epoch.png or accuracy-by-time.png here)',
    )
    .action(async (runs: string[], options: PlotOptions) => {
      await plot(runs, options);
    });
}

async function plot(runArguments: string[], options: PlotOptions): Promise<void> {
  if (options.out !== undefined) {
    checkFigurePath(options.out);
    checkOutputFile(options.out, '--out');
  }
  const files = runArguments.map(locateRun);
  const out =
    files.length === 1 && files[0]!.kind === 'metrics' && options.x === 'epoch'
      ? await plotExperiment(files[0]!, options.out)
      : await plotRuns(files, options.x, options.out);
  process.stdout.write(`wrote ${out}\n`);
}

/** One experiment keeps the article's two-panel figure; returns the file written. */
async function plotExperiment(file: RunFile, outPath: string | undefined): Promise<string> {
  const out = outPath ?? join(file.dir, METRICS_FIGURE_FILE);
  const metrics = validateMetrics(readJson(file.path), file.path);
  const epochs = metrics.train_losses.length;
  await writeMetricsFigure(metrics, `${experimentName(file)}: ${epochs} epoch${epochs === 1 ? '' : 's'}`, out);
  return out;
}

/** Test accuracy of every run in one figure; returns the file written. */
async function plotRuns(files: RunFile[], x: XAxis, outPath: string | undefined): Promise<string> {
  const out = outPath ?? `accuracy-by-${x}.png`;
  await writeFigure(accuracyRunsSpec(distinctNames(files).map(readRun), x), out);
  return out;
}

function locateRun(argument: string): RunFile {
  let isFile = false;
  try {
    isFile = statSync(argument).isFile();
  } catch {
    throw new UserError(
      `${argument}: no such folder or file; expected a training experiment's folder holding ${METRICS_FILE}, ` +
        `or a PyTorch log (${PYTORCH_LOG_EXTENSION})`,
    );
  }
  if (isFile && extname(argument).toLowerCase() === PYTORCH_LOG_EXTENSION) {
    return { path: argument, name: basename(argument, extname(argument)), dir: dirname(argument), kind: 'pytorch-log' };
  }
  const dir = isFile ? dirname(argument) : argument;
  const path = isFile ? argument : join(argument, METRICS_FILE);
  // The experiment's name is its folder's name; resolve() names "." too.
  return { path, name: basename(resolve(dir)), dir, kind: 'metrics' };
}

/** Runs from different places with the same folder or file name are told apart by the paths given. */
function distinctNames(files: RunFile[]): RunFile[] {
  return files.map((file) =>
    files.some((other) => other !== file && other.name === file.name)
      ? { ...file, name: file.kind === 'metrics' ? file.dir : file.path }
      : file,
  );
}

function readRun(file: RunFile): AccuracyRun {
  if (file.kind === 'pytorch-log') return { name: file.name, points: parsePytorchLog(readUserFile(file.path).toString('utf8'), file.path) };
  const metrics = parseMetrics(readJson(file.path), file.path);
  const name = metrics.evaluated_on === 'validation' ? `${file.name} (validation)` : file.name;
  return runFromMetrics(name, metrics, file.path);
}

/** The name the experiment was trained under (config.json's exp_name), else its folder's name. */
function experimentName(file: RunFile): string {
  const config = join(file.dir, CONFIG_FILE);
  if (!existsSync(config)) return file.name;
  try {
    const name: unknown = (JSON.parse(readUserFile(config).toString('utf8')) as { training?: { exp_name?: unknown } }).training?.exp_name;
    return typeof name === 'string' && name !== '' ? name : file.name;
  } catch {
    // A config.json that does not parse is vit eval's business, not the figure's.
    return file.name;
  }
}

function readJson(path: string): unknown {
  if (!existsSync(path)) throw new UserError(`${path}: no such file; is ${dirname(path)} a training experiment's folder?`);
  const text = readUserFile(path).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    // The parser's message quotes the text: a binary file (a model, say) would print its bytes.
    if (/[\u0000-\u0008\u000e-\u001f\ufffd]/.test(text.slice(0, 4096))) {
      throw new UserError(
        `${path} is a binary file, not a metrics.json; vit plot takes a training experiment's folder, its ${METRICS_FILE}, ` +
          `or a PyTorch log (${PYTORCH_LOG_EXTENSION})`,
      );
    }
    throw new UserError(`${path}: not valid JSON (${(e as Error).message})`);
  }
}
