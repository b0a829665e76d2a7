// A run's wall clock: seconds spent training and evaluating, summed over the sessions of a resumed
// run. Time the caller holds the loop (a paused page) is left out: a time budget is compute time.

/** Milliseconds from some fixed origin, as performance.now(); a test may pass a clock it controls. */
export type Clock = () => number;

export const systemClock: Clock = () => performance.now();

export class RunClock {
  private readonly started: number;
  private heldMs = 0;

  /**
   * `before`: the seconds earlier sessions of the run spent; `startedAt`: when this session began on
   * `now`'s scale (default: now), so that what came before the training loop (reading the data) counts.
   */
  constructor(
    private readonly before: number,
    private readonly now: Clock = systemClock,
    startedAt?: number,
  ) {
    this.started = startedAt ?? now();
  }

  get seconds(): number {
    return this.before + (this.now() - this.started - this.heldMs) / 1000;
  }

  /** Waits for `pending` (when it is a promise) without counting the wait. */
  async hold(pending: void | Promise<void>): Promise<void> {
    if (!(pending instanceof Promise)) return;
    const start = this.now();
    try {
      await pending;
    } finally {
      this.heldMs += this.now() - start;
    }
  }
}
