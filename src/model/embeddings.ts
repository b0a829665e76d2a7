// The input side of the ViT: images → patch embeddings → [CLS] + patches, plus positions.
import type { Engine } from '../runtime/engine.js';
import { type ViTConfig, numPatches, sequenceLength } from './config.js';
import { Dropout } from './dropout.js';
import { Linear } from './linear.js';
import type { Parameter, ParameterStore } from './parameter-store.js';
import type { Slot, Workspace } from './workspace.js';
import type { Random } from '../random.js';

/**
 * Cuts each image into non-overlapping patch_size × patch_size patches and projects each to
 * hidden_size: nn.Conv2d with kernel = stride = patch_size, done as unfold + Linear on the same
 * weight ([hidden, channels, patch, patch] is [hidden, channels·patch·patch] in memory).
 */
export class PatchEmbeddings {
  readonly projection: Linear;
  readonly numPatches: number;
  private readonly patches: Slot;
  /** The projected patches, [B·P, hidden]. */
  readonly output: Slot;

  constructor(
    private readonly engine: Engine,
    store: ParameterStore,
    workspace: Workspace,
    private readonly config: ViTConfig,
  ) {
    const { patch_size: p, num_channels: ch, hidden_size: h } = config;
    this.numPatches = numPatches(config);
    this.projection = new Linear(engine, store, workspace, 'embedding.patch_embeddings.projection', ch * p * p, h);
    this.patches = workspace.reserve(this.numPatches * ch * p * p);
    this.output = workspace.reserve(this.numPatches * h);
  }

  forward(images: number, batch: number): void {
    const { num_channels: ch, image_size: s, patch_size: p } = this.config;
    this.engine.run('patchify', this.patches.ptr, images, batch, ch, s, s, p);
    this.projection.forward(this.output.ptr, this.patches.ptr, batch * this.numPatches);
  }

  /** Adds the projection's gradients; the images need none. */
  backward(dout: number, batch: number): void {
    this.projection.backwardWrite(0, dout, this.patches.ptr, batch * this.numPatches);
  }
}

/** Patch embeddings with a learnable [CLS] token in front, learned position embeddings added, then dropout. */
export class Embeddings {
  readonly patchEmbeddings: PatchEmbeddings;
  readonly clsToken: Parameter;
  readonly positionEmbeddings: Parameter;
  readonly dropout: Dropout;
  /** The token sequence [B, T, hidden]. */
  readonly output: Slot;
  private readonly dpatches: Slot;
  private readonly T: number;

  constructor(
    private readonly engine: Engine,
    store: ParameterStore,
    workspace: Workspace,
    private readonly config: ViTConfig,
    rng: Random,
  ) {
    this.patchEmbeddings = new PatchEmbeddings(engine, store, workspace, config);
    this.clsToken = store.get('embedding.cls_token');
    this.positionEmbeddings = store.get('embedding.position_embeddings');
    this.dropout = new Dropout(engine, config.hidden_dropout_prob, rng);
    this.T = sequenceLength(config);
    this.output = workspace.reserve(this.T * config.hidden_size);
    this.dpatches = workspace.reserve((this.T - 1) * config.hidden_size);
  }

  forward(images: number, batch: number, training: boolean): number {
    const h = this.config.hidden_size;
    this.patchEmbeddings.forward(images, batch);
    const x = this.output.ptr;
    this.engine.run('embed_forward', x, this.patchEmbeddings.output.ptr, this.clsToken.ptr, this.positionEmbeddings.ptr, batch, this.T, h);
    this.dropout.forward(x, batch * this.T * h, training);
    return x;
  }

  /** Adds the parameters' gradients from dx, the gradient of the output (the images need none); dx is overwritten on the way. */
  backward(dx: number, batch: number): void {
    const h = this.config.hidden_size;
    this.dropout.backwardWrite(dx, dx, batch * this.T * h);
    this.engine.run('embed_backward', this.dpatches.ptr, this.clsToken.grad, this.positionEmbeddings.grad, dx, batch, this.T, h);
    this.patchEmbeddings.backward(this.dpatches.ptr, batch);
  }
}
