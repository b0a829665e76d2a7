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
  /** The projected output before dropout, used only when output dropout is on. */
  private readonly projected: Slot;
  private readonly scratch: number;
  private readonly T: number;

  constructor(private readonly engine: Engine, store: ParameterStore, workspace: Workspace, private readonly config: ViTConfig,
              name: string, rng: Random) {
    const h = config.hidden_size;
    this.T = sequenceLength(config);
    this.qkvProjection = new Linear(engine, store, `${name}.qkv_projection`, h, 3 * h);
    this.outputProjection = new Linear(engine, store, `${name}.output_projection`, h, h);
    this.attentionDropout = new Dropout(engine, config.attention_probs_dropout_prob, rng);
    this.outputDropout = new Dropout(engine, config.hidden_dropout_prob, rng);
    this.qkv = workspace.reserve(this.T * 3 * h);
    this.probabilities = workspace.reserve(config.num_attention_heads * this.T * this.T);
    this.context = workspace.reserve(this.T * h);
    this.projected = config.hidden_dropout_prob > 0 ? workspace.reserve(this.T * h) : this.context;
    const headSize = h / config.num_attention_heads;
    this.scratch = engine.allocate(engine.threads * engine.serial.attention_scratch_floats(this.T, headSize));
  }

  /** out = residual + dropout(attention(x)): the Block's residual connection is fused into the projection. */
  forward(out: number, x: number, residual: number, batch: number, training: boolean): void {
    const { engine, T } = this;
    const { hidden_size: h, num_attention_heads: nh } = this.config;
    const rows = batch * T;
    this.qkvProjection.forward(this.qkv.ptr, x, rows);
    const seed = this.attentionDropout.draw(training);
    engine.run('attention_forward', this.context.ptr, this.probabilities.ptr, this.qkv.ptr, this.scratch, batch, T, h, nh,
      seed >= 0 ? this.attentionDropout.p : 0, Math.max(seed, 0));
    if (this.outputDropout.draw(training) < 0) {
      this.outputProjection.forward(out, this.context.ptr, rows, residual);
    } else {
      this.outputProjection.forward(this.projected.ptr, this.context.ptr, rows);
      this.outputDropout.apply(this.projected.ptr, rows * h);
      engine.run('add', out, residual, this.projected.ptr, rows * h);
    }
  }

  /** Writes dx (the gradient of the input x) from dout, the gradient of the output. */
  backward(dx: number, dout: number, x: number, batch: number, buffers: BackwardBuffers): void {
    const { engine, T } = this;
    const { hidden_size: h, num_attention_heads: nh } = this.config;
    const rows = batch * T;
    let dprojected = dout;
    if (this.outputDropout.active) {
      dprojected = buffers.scratch.ptr;
      this.outputDropout.backward(dprojected, dout, rows * h);
    }
    this.outputProjection.backward(buffers.context.ptr, dprojected, this.context.ptr, rows);
    const dropout = this.attentionDropout.active ? this.attentionDropout.p : 0;
    engine.run('attention_backward', buffers.qkv.ptr, buffers.context.ptr, this.qkv.ptr, this.probabilities.ptr, this.scratch,
      batch, T, h, nh, dropout, this.attentionDropout.lastSeed);
    this.qkvProjection.backward(dx, buffers.qkv.ptr, x, rows);
  }
}
