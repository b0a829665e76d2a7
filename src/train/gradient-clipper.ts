// Gradient clipping by the global L2 norm, as torch.nn.utils.clip_grad_norm_, on the engine: the
// norm never visits the host unless asked for.
import type { ParameterStore } from '../model/parameter-store.js';

export class GradientClipper {
  /** sum_squares's partial sums (float64 on WebAssembly: two floats each). */
  private readonly partial: number;
  /** The norm of the last clip(), before clipping (one float). */
  private readonly normPtr: number;

  constructor(private readonly store: ParameterStore) {
    this.partial = store.engine.allocate(2 * store.engine.sizes.partials);
    this.normPtr = store.engine.allocate(1);
  }

  /** Scales the gradients by maxNorm / (norm + 1e-6) when that is below 1; readNorm() has the norm before clipping. */
  clip(maxNorm: number): void {
    const { engine, grads, count } = this.store;
    engine.run('sum_squares', this.partial, grads, count);
    engine.run('clip_gradients', grads, count, this.partial, maxNorm, this.normPtr);
  }

  /** The gradients' norm before the last clip(). */
  async readNorm(): Promise<number> {
    return (await this.store.engine.read(this.normPtr, 1))[0]!;
  }

  /** The gradients' present norm (nothing clipped). */
  norm(): Promise<number> {
    this.clip(Infinity);
    return this.readNorm();
  }

  release(): void {
    this.store.engine.release(this.partial);
    this.store.engine.release(this.normPtr);
  }
}
