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
import type { BlockPass } from './pass.js';

export class Block {
  readonly layernorm1: LayerNorm;
  readonly attention: MultiHeadAttention;
  readonly layernorm2: LayerNorm;
  readonly mlp: MLP;
  private readonly normed1: Slot;
  private readonly afterAttention: Slot;
  private readonly normed2: Slot;
  readonly output: Slot;

  constructor(
    private readonly engine: Engine,
    store: ParameterStore,
    workspace: Workspace,
    private readonly config: ViTConfig,
    index: number,
    rng: Random,
  ) {
    const name = `encoder.blocks.${index}`;
    const { hidden_size: h, layer_norm_eps: eps } = config;
    const T = sequenceLength(config);
    this.layernorm1 = new LayerNorm(engine, store, workspace, `${name}.layernorm_1`, h, eps, T);
    this.attention = new MultiHeadAttention(engine, store, workspace, config, `${name}.attention`, rng);
    this.layernorm2 = new LayerNorm(engine, store, workspace, `${name}.layernorm_2`, h, eps, T);
    this.mlp = new MLP(engine, store, workspace, config, `${name}.mlp`, rng);
    this.normed1 = workspace.reserve(T * h);
    this.afterAttention = workspace.reserve(T * h);
    this.normed2 = workspace.reserve(T * h);
    this.output = workspace.reserve(T * h);
  }

  /**
   * x ← x + attention(layernorm_1(x)); x ← x + mlp(layernorm_2(x)); returns the pass (its output's
   * address among it) for backward(). With clsOnly (the last Block, whose other tokens nobody reads)
   * everything after attention runs for the [CLS] token alone and the output is [B, hidden].
   * x holds `tokens` tokens per image.
   */
  forward(x: number, batch: number, tokens: number, training: boolean, clsOnly = false): BlockPass {
    const pass: BlockPass = { batch, tokens, clsOnly, input: x, output: this.output.ptr };
    const rows = batch * tokens;
    const outRows = clsOnly ? batch : rows;
    this.layernorm1.forward(this.normed1.ptr, x, rows);
    this.attention.forward(this.afterAttention.ptr, this.normed1.ptr, x, pass, training);
    this.layernorm2.forward(this.normed2.ptr, this.afterAttention.ptr, outRows);
    this.mlp.forward(this.output.ptr, this.normed2.ptr, this.afterAttention.ptr, outRows, training);
    return pass;
  }

  /**
   * The backward pass of `pass`, in place on the residual stream: on entry buffers.residual
   * (buffers.cls, for a clsOnly pass) holds d(output); on return buffers.residual holds d(input).
   * Each residual connection passes the gradient straight through, and each LayerNorm adds its
   * branch's gradient to it.
   */
  backward(pass: BlockPass, buffers: BackwardBuffers): void {
    const { batch, tokens, clsOnly } = pass;
    const rows = batch * tokens;
    const h = this.config.hidden_size;
    const dres = buffers.residual.ptr;
    const dout = clsOnly ? buffers.cls.ptr : dres;
    const dnormed2 = clsOnly ? buffers.clsNormed.ptr : buffers.normed.ptr;
    this.mlp.backwardWrite(dnormed2, dout, this.normed2.ptr, clsOnly ? batch : rows, buffers);
    this.layernorm2.backward(dout, dnormed2, this.afterAttention.ptr, clsOnly ? batch : rows);
    this.attention.backwardWrite(buffers.normed.ptr, dout, this.normed1.ptr, pass, buffers);
    if (clsOnly) {
      // Through the residual connection, d(input) is d(after attention) on the [CLS] rows, zero elsewhere.
      this.engine.run('fill', dres, rows * h, 0);
      this.engine.run('copy_rows', dres, tokens * h, dout, h, batch, h);
    }
    this.layernorm1.backward(dres, buffers.normed.ptr, pass.input, rows);
  }
}

export class Encoder {
  readonly blocks: Block[];

  constructor(engine: Engine, store: ParameterStore, workspace: Workspace, config: ViTConfig, rng: Random) {
    this.blocks = Array.from({ length: config.num_hidden_layers }, (_, i) => new Block(engine, store, workspace, config, i, rng));
  }

  /**
   * Runs the blocks; returns each one's pass, the last one's output being the encoder's. With clsOnly
   * the last block's output is the [CLS] token's alone, [B, hidden]; otherwise every token's,
   * [B, tokens, hidden]. x holds `tokens` tokens per image.
   */
  forward(x: number, batch: number, tokens: number, training: boolean, clsOnly: boolean): BlockPass[] {
    const last = this.blocks.length - 1;
    const passes: BlockPass[] = [];
    this.blocks.forEach((block, i) => {
      const pass = block.forward(x, batch, tokens, training, clsOnly && i === last);
      passes.push(pass);
      x = pass.output;
    });
    return passes;
  }

  /** The backward pass of `passes`: from d(output) in buffers.cls (clsOnly) or buffers.residual, to d(input) in buffers.residual. */
  backward(passes: readonly BlockPass[], buffers: BackwardBuffers): void {
    for (let i = this.blocks.length - 1; i >= 0; i--) this.blocks[i]!.backward(passes[i]!, buffers);
  }
}
