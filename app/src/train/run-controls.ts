// A running page run's side of the loop's callbacks: progress messages for the page (the running
// loss at most every POST_MS), and pause, resume and stop. The loop awaits the promise onBatch
// returns, so a paused run simply does not get that promise resolved until resume (or stop).
import type { BatchProgress, TrainCallbacks } from '../../../src/train/trainer.js';
import type { FromWorker } from './protocol.js';

/** The running loss is the mean of the last few batches' losses. */
const WINDOW = 10;
/** Progress messages at most this often (the last batch of an epoch always). */
const POST_MS = 100;

export class RunControls {
  private readonly abort = new AbortController();
  private release: (() => void) | null = null;
  private paused = false;
  private batchesPerEpoch = 0;
  /** The epoch's loss total so far and the images it covers, to recover each batch's own loss. */
  private lossSum = 0;
  private images = 0;
  private readonly recent: number[] = [];
  private lastPost = 0;

  constructor(private readonly post: (message: FromWorker) => void) {}

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  readonly callbacks: TrainCallbacks = {
    onStart: (start) => {
      this.batchesPerEpoch = start.batchesPerEpoch;
      const { startEpoch, epochs, budget, batchesPerEpoch, trainImages, evalImages, parameters, evaluatedOn } = start;
      this.post({ type: 'start', start: { startEpoch, epochs, budget, batchesPerEpoch, trainImages, evalImages, parameters, evaluatedOn } });
    },
    onEpochStart: () => {
      this.lossSum = 0;
      this.images = 0;
    },
    onBatch: (progress) => this.onBatch(progress),
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
    const sum = progress.loss * progress.images;
    this.recent.push((sum - this.lossSum) / (progress.images - this.images));
    if (this.recent.length > WINDOW) this.recent.shift();
    this.lossSum = sum;
    this.images = progress.images;
    const now = performance.now();
    if (now - this.lastPost >= POST_MS || progress.batch === progress.batches) {
      this.lastPost = now;
      const runningLoss = this.recent.reduce((a, b) => a + b, 0) / this.recent.length;
      this.post({ type: 'batch', progress, step: (progress.epoch - 1) * this.batchesPerEpoch + progress.batch, runningLoss });
    }
    if (!this.paused) return;
    return new Promise((resolve) => {
      this.release = resolve;
    });
  }
}
