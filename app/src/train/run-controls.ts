// A running page run's side of the loop's callbacks: the trainer's progress (training and evaluation
// batches), passed on to the page as it reports it (at most every POST_MS), and pause, resume and stop. The loop awaits the promise
// onBatch returns, so a paused run simply does not get that promise resolved until resume (or stop).
import type { BatchProgress, TrainCallbacks } from '../../../src/train/trainer.js';
import type { FromWorker } from './protocol.js';

/** Progress messages at most this often (the last batch of an epoch always). */
const POST_MS = 100;

export class RunControls {
  private readonly abort = new AbortController();
  private release: (() => void) | null = null;
  private paused = false;
  private lastPost = 0;

  constructor(private readonly post: (message: FromWorker) => void) {}

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  readonly callbacks: TrainCallbacks = {
    onStart: (start) => {
      const { startEpoch, epochs, budget, batchesPerEpoch, trainImages, evalImages, parameters, evaluatedOn, engine } = start;
      this.post({
        type: 'start',
        start: { startEpoch, epochs, budget, batchesPerEpoch, trainImages, evalImages, parameters, evaluatedOn, engine },
      });
    },
    onBatch: (progress) => this.onBatch(progress),
    onEvaluation: (progress) => {
      if (this.due(progress.images === progress.total)) this.post({ type: 'evaluation', progress });
    },
    onEpochEnd: (result) => this.post({ type: 'epoch', result }),
    onNotice: (message) => this.post({ type: 'notice', message }),
  };

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.release?.();
    this.release = null;
  }

  /** Stops after the current batch; a paused run wakes up to stop. */
  stop(): void {
    this.abort.abort();
    this.resume();
  }

  private onBatch(progress: BatchProgress): Promise<void> | void {
    if (!this.paused) {
      if (this.due(progress.batch === progress.batches)) this.post({ type: 'batch', progress });
      return;
    }
    // Said at once, with the batch it holds after: the page shows where the run stands (a step in flight when Pause was pressed may still finish).
    this.post({ type: 'paused', progress });
    return new Promise((resolve) => {
      this.release = resolve;
    });
  }

  /** Whether a progress message goes out now: POST_MS after the last one, or always at the end of a pass. */
  private due(last: boolean): boolean {
    const now = performance.now();
    if (!last && now - this.lastPost < POST_MS) return false;
    this.lastPost = now;
    return true;
  }
}
