// Inverted dropout with a fresh seed per forward pass; the backward pass redraws the same mask
// from that seed instead of storing it.
import type { Engine } from '../runtime/engine.js';
import type { Random } from '../random.js';

export class Dropout {
  /** The seed of the last training forward pass, or -1 when it dropped nothing. */
  private seed = -1;

  constructor(
    private readonly engine: Engine,
    readonly p: number,
    private readonly rng: Random,
  ) {}

  /** Draws this pass's mask; returns the seed to use, or -1 when nothing is dropped. */
  draw(training: boolean): number {
    this.seed = training && this.p > 0 ? this.rng.nextUint32() : -1;
    return this.seed;
  }

  /** Whether the last forward pass dropped anything. */
  get active(): boolean {
    return this.seed >= 0;
  }

  /** The last pass's seed (for kernels that apply the mask themselves). */
  get lastSeed(): number {
    return Math.max(this.seed, 0);
  }

  /** Applies a new mask in place to n floats at x (nothing when not training). */
  forward(x: number, n: number, training: boolean): void {
    this.draw(training);
    this.apply(x, n);
  }

  /** Applies the mask drawn last, in place. */
  apply(x: number, n: number): void {
    if (this.active) this.engine.run('dropout', x, x, n, this.p, this.seed);
  }

  /** Writes dinp = dout through the last pass's mask (dinp may be dout). */
  backwardWrite(dinp: number, dout: number, n: number): void {
    if (this.active) this.engine.run('dropout', dinp, dout, n, this.p, this.seed);
  }
}
