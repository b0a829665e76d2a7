// Multi-head self-attention: softmax(Q·Kᵀ/√head_size)·V for every head, then an output projection.
// The seed's per-head query/key/value Linears are held as one fused projection (same function;
// see parameters.ts), and the heads run fused in one kernel per (image, head).
import type { Engine } from '../runtime/engine.js';
import { type ViTConfig, sequenceLength } from './config.js';
import { Dropout } from './dropout.js';
import { Linear } from './linear.js';
import type { ParameterStore } from './parameter-store.js';
import type { Slot, Workspace } from './workspace.js';
import type { Random } from '../random.js';
import type { BackwardBuffers } from './backward-buffers.js';
import type { Pass } from './pass.js';

export class MultiHeadAttention {
  readonly qkvProjection: Linear;
  readonly outputProjection: Linear;
  readonly attentionDropout: Dropout;
  readonly outputDropout: Dropout;
  private readonly qkv: Slot;
  /** Attention probabilities [B, heads, T, T], kept for the backward pass and for pictures. */
  readonly probabilities: Slot;
  /** The heads' outputs side by side, [B, T, hidden]. */
  private readonly context: Slot;
  /** The [CLS] rows of the heads' outputs and of the residual, [B, hidden], when only they go on. */
  private readonly clsContext: Slot;
  private readonly clsResidual: Slot;
  /** The projected output before dropout, used only when output dropout is on. */
  private readonly projected: Slot;
  /** The fused attention kernels' working memory (each thread's, on WebAssembly). */
  private readonly scratch: Slot;

  constructor(
    private readonly engine: Engine,
    store: ParameterStore,
    workspace: Workspace,
    private readonly config: ViTConfig,
    name: string,
    rng: Random,
  ) {
    const h = config.hidden_size;
    const T = sequenceLength(config);
    this.qkvProjection = new Linear(engine, store, workspace, `${name}.qkv_projection`, h, 3 * h);
    this.outputProjection = new Linear(engine, store, workspace, `${name}.output_projection`, h, h);
    this.attentionDropout = new Dropout(engine, config.attention_probs_dropout_prob, rng);
    this.outputDropout = new Dropout(engine, config.hidden_dropout_prob, rng);
    this.qkv = workspace.reserve(T * 3 * h);
    this.probabilities = workspace.reserve(config.num_attention_heads * T * T);
    this.context = workspace.reserve(T * h);
    this.clsContext = workspace.reserve(h);
    this.clsResidual = workspace.reserve(h);
    this.projected = config.hidden_dropout_prob > 0 ? workspace.reserve(T * h) : this.context;
    const headSize = h / config.num_attention_heads;
    // sized for every token: a pass with fewer takes less of it
    this.scratch = workspace.reserve(0, engine.sizes.attentionScratch(T, headSize));
  }

  /**
   * out = residual + dropout(attention(x)): the Block's residual connection is fused into the
   * projection. With clsOnly, only the [CLS] token's output is computed and out is [B, hidden]
   * (the keys and values still come from every token). x holds `pass.tokens` tokens per image.
   */
  forward(out: number, x: number, residual: number, pass: Pass, training: boolean): void {
    const { engine } = this;
    const { hidden_size: h, num_attention_heads: nh } = this.config;
    const { batch, tokens: T, clsOnly } = pass;
    this.qkvProjection.forward(this.qkv.ptr, x, batch * T);
    const seed = this.attentionDropout.draw(training);
    engine.run(
      'attention_forward',
      this.context.ptr,
      this.probabilities.ptr,
      this.qkv.ptr,
      this.scratch.ptr,
      batch,
      T,
      h,
      nh,
      clsOnly ? 1 : T,
      seed >= 0 ? this.attentionDropout.p : 0,
      Math.max(seed, 0),
    );
    let context = this.context.ptr;
    let rows = batch * T;
    if (clsOnly) {
      engine.run('copy_rows', this.clsContext.ptr, h, context, T * h, batch, h);
      engine.run('copy_rows', this.clsResidual.ptr, h, residual, T * h, batch, h);
      context = this.clsContext.ptr;
      residual = this.clsResidual.ptr;
      rows = batch;
    }
    if (this.outputDropout.draw(training) < 0) {
      this.outputProjection.forward(out, context, rows, residual);
    } else {
      this.outputProjection.forward(this.projected.ptr, context, rows);
      this.outputDropout.apply(this.projected.ptr, rows * h);
      engine.run('add', out, residual, this.projected.ptr, rows * h);
    }
  }

  /** Writes dx (the gradient of the input x, [B, T, hidden]) from dout, the gradient of the output of `pass`. */
  backwardWrite(dx: number, dout: number, x: number, pass: Pass, buffers: BackwardBuffers): void {
    const { engine } = this;
    const { hidden_size: h, num_attention_heads: nh } = this.config;
    const { batch, tokens: T, clsOnly } = pass;
    const rows = clsOnly ? batch : batch * T;
    let dprojected = dout;
    if (this.outputDropout.active) {
      dprojected = buffers.scratch.ptr;
      this.outputDropout.backwardWrite(dprojected, dout, rows * h);
    }
    const dcontext = buffers.context.ptr;
    if (clsOnly) {
      // Only the [CLS] rows of the heads' outputs have a gradient; the others are zero.
      this.outputProjection.backwardWrite(buffers.clsContext.ptr, dprojected, this.clsContext.ptr, batch);
      engine.run('fill', dcontext, batch * T * h, 0);
      engine.run('copy_rows', dcontext, T * h, buffers.clsContext.ptr, h, batch, h);
    } else {
      this.outputProjection.backwardWrite(dcontext, dprojected, this.context.ptr, rows);
    }
    const dropout = this.attentionDropout.active ? this.attentionDropout.p : 0;
    engine.run(
      'attention_backward',
      buffers.qkv.ptr,
      dcontext,
      this.qkv.ptr,
      this.probabilities.ptr,
      this.scratch.ptr,
      batch,
      T,
      h,
      nh,
      clsOnly ? 1 : T,
      dropout,
      this.attentionDropout.lastSeed,
    );
    this.qkvProjection.backwardWrite(dx, buffers.qkv.ptr, x, batch * T);
  }
}
