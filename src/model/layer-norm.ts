// LayerNorm over the hidden dimension, as nn.LayerNorm (biased variance, eps inside the root).
import type { Engine } from '../runtime/engine.js';
import type { Parameter, ParameterStore } from './parameter-store.js';
import type { Slot, Workspace } from './workspace.js';

export class LayerNorm {
  readonly weight: Parameter;
  readonly bias: Parameter;
  private readonly mean: Slot;
  private readonly rstd: Slot;
  /** Partial sums of the weight and bias gradients (Engine.sizes.partials of each), reduced after the backward kernel. */
  private readonly partial: Slot;

  constructor(
    private readonly engine: Engine,
    store: ParameterStore,
    workspace: Workspace,
    name: string,
    readonly size: number,
    readonly eps: number,
    rowsPerItem: number,
  ) {
    this.weight = store.get(`${name}.weight`);
    this.bias = store.get(`${name}.bias`);
    this.mean = workspace.reserve(rowsPerItem);
    this.rstd = workspace.reserve(rowsPerItem);
    this.partial = workspace.reserve(0, engine.sizes.partials * 2 * size);
  }

  forward(out: number, inp: number, rows: number): void {
    this.engine.run('layernorm_forward', out, this.mean.ptr, this.rstd.ptr, inp, this.weight.ptr, this.bias.ptr, rows, this.size, this.eps);
  }

  /** Adds the input gradient to dinp and the parameter gradients to theirs. */
  backward(dinp: number, dout: number, inp: number, rows: number): void {
    const { engine } = this;
    engine.run('layernorm_backward', dinp, this.partial.ptr, dout, inp, this.weight.ptr, this.mean.ptr, this.rstd.ptr, rows, this.size);
    engine.run('layernorm_reduce', this.weight.grad, this.bias.grad, this.partial.ptr, this.size, engine.sizes.partials);
  }
}
