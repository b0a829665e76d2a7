// The transformer Block (pre-LayerNorm, a residual connection around attention and around the
// MLP) and the Encoder, a stack of Blocks.
import type { Engine } from '../runtime/engine.js';
import { type ViTConfig, sequenceLength } from './config.js';
import { LayerNorm } from './layer-norm.js';
import { MultiHeadAttention } from './attention.js';
import { MLP } from './mlp.js';
import type { ParameterStore } from './parameter-store.js';
import type { Slot, Workspace } from './workspace.js';
import type { Random } from '../random.js';
import type { BackwardBuffers } from './backward-buffers.js';

export class Block {
  readonly layernorm1: LayerNorm;
  readonly attention: MultiHeadAttention;
  readonly layernorm2: LayerNorm;
  readonly mlp: MLP;
  private readonly normed1: Slot;
  private readonly afterAttention: Slot;
  private readonly normed2: Slot;
  readonly output: Slot;
  /** The input of the last forward pass, needed by the backward pass. */
  private input = 0;
  private readonly T: number;

  constructor(engine: Engine, store: ParameterStore, workspace: Workspace, config: ViTConfig, index: number, rng: Random) {
    const name = `encoder.blocks.${index}`;
    const { hidden_size: h, layer_norm_eps: eps } = config;
    this.T = sequenceLength(config);
    this.layernorm1 = new LayerNorm(engine, store, workspace, `${name}.layernorm_1`, h, eps, this.T);
    this.attention = new MultiHeadAttention(engine, store, workspace, config, `${name}.attention`, rng);
    this.layernorm2 = new LayerNorm(engine, store, workspace, `${name}.layernorm_2`, h, eps, this.T);
    this.mlp = new MLP(engine, store, workspace, config, `${name}.mlp`, rng);
    this.normed1 = workspace.reserve(this.T * h);
    this.afterAttention = workspace.reserve(this.T * h);
    this.normed2 = workspace.reserve(this.T * h);
    this.output = workspace.reserve(this.T * h);
  }

  /** x ← x + attention(layernorm_1(x)); x ← x + mlp(layernorm_2(x)). Returns the output's address. */
  forward(x: number, batch: number, training: boolean): number {
    const rows = batch * this.T;
    this.input = x;
    this.layernorm1.forward(this.normed1.ptr, x, rows);
    this.attention.forward(this.afterAttention.ptr, this.normed1.ptr, x, batch, training);
    this.layernorm2.forward(this.normed2.ptr, this.afterAttention.ptr, rows);
    this.mlp.forward(this.output.ptr, this.normed2.ptr, this.afterAttention.ptr, batch, training);
    return this.output.ptr;
  }

  /**
   * On entry buffers.residual holds d(output); on return, d(input). Each residual connection
   * passes the gradient straight through, and each LayerNorm adds its branch's gradient to it.
   */
  backward(batch: number, buffers: BackwardBuffers): void {
    const rows = batch * this.T;
    const dres = buffers.residual.ptr, dnormed = buffers.normed.ptr;
    this.mlp.backward(dnormed, dres, this.normed2.ptr, batch, buffers);
    this.layernorm2.backward(dres, dnormed, this.afterAttention.ptr, rows);
    this.attention.backward(dnormed, dres, this.normed1.ptr, batch, buffers);
    this.layernorm1.backward(dres, dnormed, this.input, rows);
  }
}

export class Encoder {
  readonly blocks: Block[];

  constructor(engine: Engine, store: ParameterStore, workspace: Workspace, config: ViTConfig, rng: Random) {
    this.blocks = Array.from({ length: config.num_hidden_layers }, (_, i) => new Block(engine, store, workspace, config, i, rng));
  }

  forward(x: number, batch: number, training: boolean): number {
    for (const block of this.blocks) x = block.forward(x, batch, training);
    return x;
  }

  backward(batch: number, buffers: BackwardBuffers): void {
    for (let i = this.blocks.length - 1; i >= 0; i--) this.blocks[i]!.backward(batch, buffers);
  }
}
