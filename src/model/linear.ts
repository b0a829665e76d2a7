// A Linear layer, out = inp · Wᵀ + b, as nn.Linear: the weight is [out_features, in_features].
import type { Engine } from '../runtime/engine.js';
import type { Parameter, ParameterStore } from './parameter-store.js';
import type { Slot, Workspace } from './workspace.js';

export class Linear {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  /** The weight, repacked into column panels for the matrix kernel before each use. */
  private readonly packed: Slot;
  /** Each thread's rows of the left-hand matrix, interleaved by the matrix kernel. */
  private readonly scratch: Slot;

  constructor(private readonly engine: Engine, store: ParameterStore, workspace: Workspace, name: string,
              readonly inFeatures: number, readonly outFeatures: number) {
    this.weight = store.get(`${name}.weight`);
    this.bias = store.has(`${name}.bias`) ? store.get(`${name}.bias`) : null;
    const panel = (n: number): number => Math.ceil(n / 8) * 8;
    this.packed = workspace.reserve(0, Math.max(panel(outFeatures) * inFeatures, panel(inFeatures) * outFeatures));
    this.scratch = workspace.reserve(0, engine.threads * engine.serial.gemm_scratch_floats(Math.max(inFeatures, outFeatures)));
  }

  /** out[rows, out] = inp[rows, in] · Wᵀ + b, plus residual[rows, out] when given (fused residual connection). */
  forward(out: number, inp: number, rows: number, residual = 0): void {
    const { engine, inFeatures, outFeatures } = this;
    engine.run('pack_bt', this.packed.ptr, this.weight.ptr, inFeatures, outFeatures);
    engine.run('gemm', out, inp, this.packed.ptr, this.scratch.ptr, this.bias?.ptr ?? 0, residual, rows, inFeatures, outFeatures, 0);
  }

  /**
   * Adds this batch's dW = doutᵀ · inp and db = Σ dout to the gradients, and writes
   * dinp = dout · W (or adds it, with accumulate). dinp = 0 skips the input gradient.
   */
  backward(dinp: number, dout: number, inp: number, rows: number, accumulate = false): void {
    const { engine, inFeatures, outFeatures } = this;
    engine.run('matmul_backward_weight', this.weight.grad, this.bias?.grad ?? 0, dout, inp, rows, inFeatures, outFeatures);
    if (dinp === 0) return;
    engine.run('pack_b', this.packed.ptr, this.weight.ptr, outFeatures, inFeatures);
    engine.run('gemm', dinp, dout, this.packed.ptr, this.scratch.ptr, 0, 0, rows, outFeatures, inFeatures, accumulate ? 1 : 0);
  }
}
