// Gradient clipping by the global L2 norm, as torch.nn.utils.clip_grad_norm_.
import type { ParameterStore } from '../model/parameter-store.js';

export class GradientClipper {
  private readonly partial: number;

  constructor(private readonly store: ParameterStore) {
    // one f64 partial sum per thread
    this.partial = store.engine.allocate(2 * store.engine.threads);
  }

  /** The gradients' norm before clipping; scales them by maxNorm / (norm + 1e-6) when that is below 1. */
  clip(maxNorm: number): number {
    const norm = this.norm();
    const factor = maxNorm / (norm + 1e-6);
    if (factor < 1) this.store.engine.run('scale', this.store.grads, this.store.count, factor);
    return norm;
  }

  norm(): number {
    const { engine, grads, count } = this.store;
    engine.run('sum_squares', this.partial, grads, count);
    let sum = 0;
    for (const part of engine.f64(this.partial, engine.threads)) sum += part;
    return Math.sqrt(sum);
  }

  release(): void {
    this.store.engine.release(this.partial);
  }
}
