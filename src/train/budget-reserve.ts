// Under a time budget, the seconds kept free at the budget's end for what follows the last training
// batch: that batch itself, the final evaluation and the last saves. Each is measured as the run
// goes and smoothed, so that one stall (a busy host, a collection) neither stops the run far too
// early nor lets it overrun; the final evaluation is its image count over the measured evaluation
// throughput, which holds whatever the size of the batch it was measured on.

/** Weight of the newest measurement in each smoothed value. */
const SMOOTHING = 0.25;

/** Headroom on the sum, for the host's swings between the last measurement and the run's end: a share and a stall. */
const MARGIN = 1.25;
const STALL_SECONDS = 0.5;

export class BudgetReserve {
  private evaluationSecondsPerImage: number | null = null;
  private batchSeconds = 0;
  private saveSeconds = 0;

  /** An evaluation batch of `images` took `seconds`. */
  recordEvaluation(images: number, seconds: number): void {
    this.evaluationSecondsPerImage = smooth(this.evaluationSecondsPerImage, seconds / images);
  }

  /** A training batch took `seconds`. */
  recordBatch(seconds: number): void {
    this.batchSeconds = smooth(this.batchSeconds || null, seconds);
  }

  /** Saving an epoch (checkpoint, metrics, a model file) took `seconds`. */
  recordSave(seconds: number): void {
    this.saveSeconds = smooth(this.saveSeconds || null, seconds);
  }

  /** The final evaluation of `images` images alone, as expected now (0 before any measurement). */
  evaluationSeconds(images: number): number {
    return images * (this.evaluationSecondsPerImage ?? 0);
  }

  /** What an evaluation of `images` images due now may take, with the reserve's headroom: whether it has to be the final one. */
  evaluationAhead(images: number): number {
    return MARGIN * this.evaluationSeconds(images) + STALL_SECONDS;
  }

  /**
   * The seconds to keep free before starting another training batch: that batch, the final
   * evaluation of `images` images, and the last epoch's save with the final model file (about a second save).
   */
  seconds(images: number): number {
    return MARGIN * (this.batchSeconds + this.evaluationSeconds(images) + 2 * this.saveSeconds) + STALL_SECONDS;
  }
}

function smooth(previous: number | null, value: number): number {
  return previous === null ? value : previous + SMOOTHING * (value - previous);
}
