// A Linear layer, out = inp · Wᵀ + b, as nn.Linear: the weight is [out_features, in_features].
import type { Engine } from '../runtime/engine.js';
import { GELU_MODES, type GeluMode } from '../runtime/kernels.js';
import type { Parameter, ParameterStore } from './parameter-store.js';
import type { Slot, Workspace } from './workspace.js';

/** The MLP's GELU, fused into a Linear layer's matrix product (see GELU_MODES): its mode and the buffer it writes or reads. */
export interface FusedGelu {
  mode: GeluMode;
  buffer: number;
}

export class Linear {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  /** Each thread's copy of the weight, repacked into column panels by the matrix kernel at each use. */
  private readonly packed: Slot;
  /** Each thread's rows of the left-hand matrix, interleaved by the matrix kernel. */
  private readonly scratch: Slot;

  constructor(
    private readonly engine: Engine,
    store: ParameterStore,
    workspace: Workspace,
    name: string,
    readonly inFeatures: number,
    readonly outFeatures: number,
  ) {
    this.weight = store.get(`${name}.weight`);
    this.bias = store.has(`${name}.bias`) ? store.get(`${name}.bias`) : null;
    const { gemmPacked, gemmScratch } = engine.sizes;
    this.packed = workspace.reserve(0, Math.max(gemmPacked(inFeatures, outFeatures), gemmPacked(outFeatures, inFeatures)));
    this.scratch = workspace.reserve(0, gemmScratch(Math.max(inFeatures, outFeatures)));
  }

  /**
   * out[rows, out] = inp[rows, in] · Wᵀ + b, plus residual[rows, out] when given (fused residual
   * connection); with `gelu` (a forward mode) also GELU(out) into gelu.buffer.
   */
  forward(out: number, inp: number, rows: number, residual = 0, gelu?: FusedGelu): void {
    const { engine, inFeatures, outFeatures } = this;
    engine.run(
      'gemm',
      out,
      inp,
      this.weight.ptr,
      1,
      this.packed.ptr,
      this.scratch.ptr,
      this.bias?.ptr ?? 0,
      residual,
      gelu?.mode ?? GELU_MODES.none,
      gelu?.buffer ?? 0,
      rows,
      inFeatures,
      outFeatures,
      0,
    );
  }

  /**
   * Adds this batch's dW = doutᵀ · inp and db = Σ dout to the gradients, and WRITES
   * dinp = dout · W; dinp = 0 skips the input gradient. With `gelu` (a backward mode, gelu.buffer
   * the previous layer's pre-activation) dinp is taken through GELU.
   */
  backwardWrite(dinp: number, dout: number, inp: number, rows: number, gelu?: FusedGelu): void {
    const { engine, inFeatures, outFeatures } = this;
    engine.run(
      'linear_backward',
      this.weight.grad,
      this.bias?.grad ?? 0,
      dinp,
      dout,
      inp,
      this.weight.ptr,
      this.packed.ptr,
      this.scratch.ptr,
      gelu?.mode ?? GELU_MODES.none,
      gelu?.buffer ?? 0,
      rows,
      inFeatures,
      outFeatures,
      0,
    );
  }
}
