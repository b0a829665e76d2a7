// A run's wall clock: seconds spent training and evaluating, summed over the sessions of a resumed
// run. Time the caller holds the loop (a paused page) is left out: a time budget is compute time.

export class RunClock {
  private readonly started = performance.now();
  private heldMs = 0;

  /** `before`: the seconds earlier sessions of the run spent. */
  constructor(private readonly before: number) {}

  get seconds(): number {
    return this.before + (performance.now() - this.started - this.heldMs) / 1000;
  }

  /** Waits for `pending` (when it is a promise) without counting the wait. */
  async hold(pending: void | Promise<void>): Promise<void> {
    if (!(pending instanceof Promise)) return;
    const start = performance.now();
    try {
      await pending;
    } finally {
      this.heldMs += performance.now() - start;
    }
  }
}
