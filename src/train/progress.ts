// What `vit train` shows while it runs: on a terminal, a progress bar per epoch (images/s, running
// loss, ETA) that gives way to the seed's epoch line; elsewhere (logs, pipes), plain lines only.
import cliProgress from 'cli-progress';
import { formatDuration, formatEpochLine } from './metrics.js';
import type { TrainCallbacks } from './experiment-folder.js';
import type { BatchProgress, EvaluationProgress, TrainStart } from './trainer.js';

export interface ProgressOptions {
  /** Where the epoch lines go (default process.stdout). */
  out?: NodeJS.WritableStream;
  /** Where the bar goes (default process.stderr, so that piping stdout keeps only the lines). */
  barStream?: NodeJS.WriteStream;
  /** Draw a bar; default: whether barStream is a terminal. */
  tty?: boolean;
  /** Without a bar, a progress line at most this often within an epoch; 0 = none. Default 60. */
  plainEverySeconds?: number;
}

export interface ProgressReporter extends TrainCallbacks {
  /** Removes a bar left by an interrupted epoch. */
  close(): void;
}

export function progressReporter(options: ProgressOptions = {}): ProgressReporter {
  const out = options.out ?? process.stdout;
  const barStream = options.barStream ?? process.stderr;
  const tty = options.tty ?? barStream.isTTY === true;
  const plainEvery = options.plainEverySeconds ?? 60;
  const write = (line: string): void => {
    out.write(line + '\n');
  };
  let bar: cliProgress.SingleBar | null = null;
  let epochs: number | null = null;
  let budget: number | null = null;
  let evalName = 'test images';
  let lastPlain = 0;
  let finalShown = false;
  /** "3/50", or "3" under a time budget. */
  const epochOf = (epoch: number): string => (epochs === null ? `${epoch}` : `${epoch}/${epochs}`);

  const stopBar = (): void => {
    bar?.stop();
    bar = null;
  };

  return {
    onStart(start: TrainStart): void {
      epochs = start.epochs;
      budget = start.budget?.seconds ?? null;
      const s = start.settings;
      evalName = start.evaluatedOn === 'validation' ? 'validation images' : 'test images';
      // --test-samples takes the first images of test_batch.bin (all of them when it asks for more): said, so that
      // `vit eval --test-samples` is run on the same.
      const first = start.evaluatedOn === 'test' && s.testSamples !== null && s.testSamples <= start.evalImages ? 'the first ' : '';
      if (start.startEpoch > 0 && start.budget) {
        write(
          `Resuming ${start.location} after epoch ${start.startEpoch}, ${formatDuration(start.budget.spent)} of its ${formatDuration(start.budget.seconds)} spent`,
        );
      } else if (start.startEpoch > 0) {
        write(`Resuming ${start.location} after epoch ${start.startEpoch} of ${start.epochs}`);
      }
      if (start.budget) write(`Time budget ${formatDuration(start.budget.seconds)}: the run ends inside it with a final evaluation`);
      const batch = Math.min(s.batchSize, start.trainImages);
      write(
        `Training on ${start.trainImages} images (${start.batchesPerEpoch} batch${start.batchesPerEpoch === 1 ? '' : 'es'} of ${batch}), evaluating on ` +
          `${first}${start.evalImages} ${evalName}${start.evaluatedOn === 'validation' ? ' (held out of training)' : ''}; ${start.parameters.toLocaleString('en-US')} parameters, recipe ${s.recipe}, ` +
          `on ${start.engine}`,
      );
      write(`Experiment folder: ${start.location}`);
    },
    onEpochStart(epoch: number, batches: number): void {
      lastPlain = performance.now();
      if (!tty) return;
      bar = new cliProgress.SingleBar(
        {
          format: `Epoch ${epochOf(epoch)} {bar} {value}/{total} | loss {loss} | {speed} img/s | ${budget === null ? 'ETA {eta_formatted}' : 'budget left {left}'}`,
          stream: barStream,
          hideCursor: true,
          clearOnComplete: true,
          etaBuffer: 50,
          fps: 5,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(batches, 0, { loss: '-', speed: '-', left: '-' });
    },
    onBatch(p: BatchProgress): void {
      const speed = p.seconds > 0 ? Math.round(p.images / p.seconds) : 0;
      const left = budget === null ? null : formatDuration(Math.max(0, budget - p.runSeconds));
      if (bar) {
        bar.update(p.batch, { loss: p.loss.toFixed(4), speed, left: left ?? '-' });
        return;
      }
      const now = performance.now();
      if (plainEvery > 0 && now - lastPlain >= plainEvery * 1000 && p.batch < p.batches) {
        lastPlain = now;
        const eta = (p.seconds / p.batch) * (p.batches - p.batch);
        write(
          `Epoch ${epochOf(p.epoch)}: batch ${p.batch}/${p.batches}, loss ${p.loss.toFixed(4)}, ${speed} img/s, ` +
            (left === null ? `epoch ends in about ${formatDuration(eta)}` : `budget left ${left}`),
        );
      }
    },
    /** The final evaluation, which can take a while on the full data set: a bar, or one line saying it runs. */
    onEvaluation(p: EvaluationProgress): void {
      if (!p.final) return;
      if (finalShown) {
        bar?.update(p.images);
        return;
      }
      finalShown = true;
      stopBar();
      if (!tty) {
        write(`Final evaluation of epoch ${p.epoch} on ${p.total} ${evalName}`);
        return;
      }
      bar = new cliProgress.SingleBar(
        {
          format: `Final evaluation {bar} {value}/{total} ${evalName}`,
          stream: barStream,
          hideCursor: true,
          clearOnComplete: true,
          fps: 5,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(p.total, p.images);
    },
    onEpochEnd(result): void {
      stopBar();
      write(formatEpochLine(result));
    },
    onSave(path: string): void {
      write(`Saved ${path}`);
    },
    onNotice(message: string): void {
      stopBar();
      write(message);
    },
    close: stopBar,
  };
}
