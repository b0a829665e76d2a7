// The Vision Transformer for classification: Embeddings → Encoder → (LayerNorm) → Linear on [CLS].
import { type Engine, getEngine } from '../runtime/engine.js';
import { type ViTConfig, numPatches, resolveConfig, sequenceLength } from './config.js';
import { Embeddings } from './embeddings.js';
import { PatchDropout, type TokenSelection, checkTokenSelection } from './patch-dropout.js';
import { Encoder } from './block.js';
import { LayerNorm } from './layer-norm.js';
import { Linear } from './linear.js';
import { ParameterStore } from './parameter-store.js';
import { parameterSpecs } from './parameters.js';
import { Workspace, type Slot } from './workspace.js';
import { type BackwardBuffers, reserveBackwardBuffers } from './backward-buffers.js';
import type { BlockPass } from './pass.js';
import { MAX_SEED, Random } from '../random.js';
import { UserError } from '../errors.js';
import { checkOptionalObject, kindOf } from '../arguments.js';

export interface CreateOptions {
  /** The engine to run on (default: the program's shared engine). */
  engine?: Engine;
  /** Seed of the initial weights and of the dropout masks. */
  seed?: number;
  /**
   * Most images per pass in trainBatch() and infer(): a larger batch goes through in chunks of
   * this many, which bounds the memory of the activations. Fewer, larger passes keep the threads'
   * meeting points (one per kernel) rare, which matters most when other programs share the cores.
   * Default: 256, or fewer where a pass of 256 would need more than ACTIVATION_BUDGET bytes.
   */
  chunk?: number;
}

/** One forward pass over images start … start + count − 1: what its backward pass needs. */
interface ModelPass {
  start: number;
  count: number;
  /** Patches kept per image, 0 when the pass kept every token. */
  kept: number;
  /** Where the pass's kept patch indices lie (i32 [count, kept]) when kept > 0. */
  keptIndices: number;
  /** Tokens per image: T, or 1 + kept. */
  tokens: number;
  /** Whether the last Block ran for the [CLS] token alone. */
  clsOnly: boolean;
  blocks: BlockPass[];
}

/** Bytes of activations one pass may take by default (see CreateOptions.chunk). */
export const ACTIVATION_BUDGET = 2 ** 30;

export class ViTForClassification {
  readonly parameters: ParameterStore;
  readonly embedding: Embeddings;
  /** Gathers the kept tokens of a pass that drops patches (see TokenSelection). */
  readonly patchDropout: PatchDropout;
  readonly encoder: Encoder;
  /** Hugging Face's ViT normalizes before the classifier; the seed does not. */
  readonly layernorm: LayerNorm | null;
  readonly classifier: Linear;
  /** Generator of the dropout masks' seeds (saved with a training checkpoint). */
  readonly dropoutRandom: Random;

  /** Inputs and outputs of a whole batch. */
  private readonly io: Workspace;
  /** Activations and gradients of one pass (a whole batch, or one chunk of it). */
  private readonly workspace: Workspace;
  /** Input images [B, channels, size, size], normalized. */
  private readonly pixels: Slot;
  /** Labels [B] as 32-bit integers. */
  private readonly labels: Slot;
  /** Each image's kept patch indices [B, kept] (32-bit integers) when a pass drops patches. */
  private readonly keptPatches: Slot;
  private readonly cls: Slot;
  private readonly clsNormed: Slot;
  private readonly logits: Slot;
  private readonly probs: Slot;
  private readonly losses: Slot;
  private readonly dlogits: Slot;
  private readonly dclsNormed: Slot;
  private readonly buffers: BackwardBuffers;
  /** Tokens per image: [CLS] + every patch. */
  private readonly T: number;
  private lastBatch = 0;
  /** The last forward pass, for backward() and attentions() (the passes of trainBatch() and infer() go straight to their backward). */
  private lastPass: ModelPass | null = null;

  /** Most images per pass of trainBatch() and infer(). */
  readonly chunk: number;
  /** Whether release() has freed the model's memory. */
  private freed = false;
  /** The images imageBuffer() handed out, on the host; copied into the engine before the next pass. */
  private staged = new Float32Array(0);
  /** Images in `staged` waiting to be copied in (0: none). */
  private stagedCount = 0;

  private constructor(
    readonly engine: Engine,
    readonly config: ViTConfig,
    seed: number,
    chunk: number | undefined,
  ) {
    const c = config;
    const h = c.hidden_size;
    this.T = sequenceLength(c);
    this.parameters = new ParameterStore(engine, parameterSpecs(c));
    const initRandom = new Random(seed);
    this.parameters.initialize(c.initializer_range, initRandom);
    this.dropoutRandom = new Random(seed ^ 0x5eed);
    const io = (this.io = new Workspace(engine));
    this.pixels = io.reserve(c.num_channels * c.image_size * c.image_size);
    this.labels = io.reserve(1);
    this.keptPatches = io.reserve(numPatches(c));
    this.logits = io.reserve(c.num_classes);
    this.probs = io.reserve(c.num_classes);
    this.losses = io.reserve(1);
    this.dlogits = io.reserve(c.num_classes);
    const ws = (this.workspace = new Workspace(engine));
    this.embedding = new Embeddings(engine, this.parameters, ws, c, this.dropoutRandom);
    this.patchDropout = new PatchDropout(engine, ws, this.T, h);
    this.encoder = new Encoder(engine, this.parameters, ws, c, this.dropoutRandom);
    this.layernorm = c.final_layernorm ? new LayerNorm(engine, this.parameters, ws, 'layernorm', h, c.layer_norm_eps, 1) : null;
    this.classifier = new Linear(engine, this.parameters, ws, 'classifier', h, c.num_classes);
    this.cls = ws.reserve(h);
    this.clsNormed = c.final_layernorm ? ws.reserve(h) : this.cls;
    this.buffers = reserveBackwardBuffers(ws, this.T, h, c.intermediate_size);
    this.dclsNormed = c.final_layernorm ? ws.reserve(h) : this.buffers.cls;
    this.chunk = chunk ?? Math.max(1, Math.min(256, Math.floor(ACTIVATION_BUDGET / ws.bytesPerItem)));
  }

  /** A model with the seed's initialization. `config` holds overrides of the seed config. */
  static async create(config: Partial<ViTConfig> = {}, options: CreateOptions = {}): Promise<ViTForClassification> {
    checkOptionalObject(options, 'ViTForClassification.create: "options"');
    const seed = options.seed ?? 0;
    if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED)
      throw new UserError(`seed must be a whole number from 0 to ${MAX_SEED} (got ${seed})`);
    const engine = options.engine ?? (await getEngine());
    const chunk = options.chunk;
    if (chunk !== undefined && (!Number.isInteger(chunk) || chunk < 1))
      throw new UserError(`chunk must be a positive whole number (got ${chunk})`);
    return new ViTForClassification(engine, resolveConfig(config as Record<string, unknown>), seed, chunk);
  }

  /** Copies `count` normalized images ([count, channels, size, size] floats) in as the next batch. */
  setImages(images: Float32Array, count: number): void {
    this.checkBatch('setImages', count);
    if (!(images instanceof Float32Array)) throw new UserError(`setImages: images must be a Float32Array (got ${kindOf(images)})`);
    const per = this.imageFloats;
    if (images.length < count * per) throw new UserError(`expected ${count * per} floats for ${count} images, got ${images.length}`);
    this.io.ensure(count);
    this.stagedCount = 0;
    this.engine.write(this.pixels.ptr, images.subarray(0, count * per));
  }

  /**
   * Where a caller may write the next batch of images: [count, channels, size, size] on the host,
   * copied into the engine by the next pass. It keeps what was written last (a pass may mirror it).
   */
  imageBuffer(count: number): Float32Array {
    this.checkBatch('imageBuffer', count);
    // The engine's room first: a batch it cannot hold is refused before the host's copy is made.
    this.io.ensure(count);
    const floats = count * this.imageFloats;
    if (this.staged.length < floats) {
      const grown = new Float32Array(floats);
      grown.set(this.staged);
      this.staged = grown;
    }
    this.stagedCount = count;
    return this.staged.subarray(0, floats);
  }

  /** Copies the images imageBuffer() handed out into the engine, once, before the pass that reads them. */
  private uploadImages(): void {
    if (this.stagedCount === 0) return;
    this.engine.write(this.pixels.ptr, this.staged.subarray(0, this.stagedCount * this.imageFloats));
    this.stagedCount = 0;
  }

  setLabels(labels: ArrayLike<number>, count: number): void {
    this.checkBatch('setLabels', count);
    if (typeof labels !== 'object' || labels === null || !(labels.length >= count)) {
      throw new UserError(`setLabels: labels must be an array of at least ${count} numbers (got ${kindOf(labels)})`);
    }
    const values = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      const y = labels[i]!;
      if (!(y >= 0 && y < this.config.num_classes)) throw new UserError(`label ${y} is outside 0..${this.config.num_classes - 1}`);
      values[i] = y;
    }
    this.ensureInputs(count);
    this.engine.write(this.labels.ptr, values);
  }

  /** Room for `count` images' inputs and outputs; a larger block takes over the images imageBuffer() handed out. */
  private ensureInputs(count: number): void {
    this.io.ensure(count);
    this.uploadImages();
  }

  get imageFloats(): number {
    return this.config.num_channels * this.config.image_size ** 2;
  }

  /**
   * Runs the model on the `batch` images set last, in one pass (readLogits() has the logits
   * [batch, classes]). Only the [CLS] token's output feeds the classifier, so the last Block
   * continues after attention with that token alone, unless `allAttentions` asks for the last
   * layer's full attention matrix (attentions() always has every layer's [CLS] row).
   * With `tokens`, each image's sequence is [CLS] + its kept patches (token dropping).
   */
  forward(batch: number, training = false, allAttentions = false, tokens?: TokenSelection): void {
    this.checkBatch('forward', batch);
    this.ensureInputs(batch);
    this.workspace.ensure(batch);
    const kept = this.setKeptPatches('forward', batch, tokens);
    this.lastPass = this.forwardRange(0, batch, training, !allAttentions, kept);
    this.lastBatch = batch;
  }

  /** The logits [batch, classes] of the last forward(), infer() or trainBatch() (a copy). */
  readLogits(): Promise<Float32Array> {
    this.checkUsable('readLogits');
    return this.engine.read(this.logits.ptr, this.lastBatch * this.config.num_classes);
  }

  /**
   * Mean cross-entropy of the last forward pass against the labels set last; also prepares
   * d(logits) for backward(). labelSmoothing mixes the one-hot targets with the uniform distribution.
   */
  loss(labelSmoothing = 0): Promise<number> {
    this.checkUsable('loss');
    this.lossRange(0, this.lastBatch, this.lastBatch, labelSmoothing, true);
    return this.readLoss();
  }

  /**
   * The plain cross-entropy (no label smoothing) of each image of the last pass into the losses,
   * without a gradient: what evaluation reports, and a smoothed run's training loss. Read it with readLosses().
   */
  crossEntropy(): void {
    this.checkUsable('crossEntropy');
    this.lossRange(0, this.lastBatch, this.lastBatch, 0, false);
  }

  /** Per-image losses [batch] of the last loss(), trainBatch(), crossEntropy() or the like (a copy). */
  readLosses(): Promise<Float32Array> {
    this.checkUsable('readLosses');
    return this.engine.read(this.losses.ptr, this.lastBatch);
  }

  /** The mean of readLosses(). */
  async readLoss(): Promise<number> {
    return meanOf(await this.readLosses());
  }

  /** Adds the gradient of the last loss() to every parameter's gradient. */
  backward(): void {
    this.checkUsable('backward');
    if (this.lastPass === null) throw new UserError('backward: run forward() and loss() first');
    this.backwardRange(this.lastPass);
  }

  /**
   * A training pass over the `batch` images and labels set last, in chunks (see CreateOptions.chunk):
   * forward, loss and backward of each chunk in turn. Adds the gradient of the batch's mean loss to
   * the parameters' gradients (readLosses() has each image's loss); the same as forward, loss and
   * backward in one pass, up to the order of the sums (and the dropout masks drawn). With `tokens`,
   * each image keeps only the patches it names (token dropping). Nothing here waits for the engine.
   */
  trainBatch(batch: number, labelSmoothing = 0, tokens?: TokenSelection): void {
    this.checkBatch('trainBatch', batch);
    this.ensureInputs(batch);
    const chunk = Math.min(this.chunk, batch);
    this.workspace.ensure(chunk);
    const kept = this.setKeptPatches('trainBatch', batch, tokens);
    for (let start = 0; start < batch; start += chunk) {
      const n = Math.min(chunk, batch - start);
      const pass = this.forwardRange(start, n, true, true, kept);
      this.lossRange(start, n, batch, labelSmoothing, true);
      this.backwardRange(pass);
      this.lastPass = pass;
    }
    this.lastBatch = batch;
  }

  /** Logits [batch, classes] of the `batch` images set last, in chunks; for inference. */
  infer(batch: number): Promise<Float32Array> {
    this.checkBatch('infer', batch);
    this.ensureInputs(batch);
    const chunk = Math.min(this.chunk, batch);
    this.workspace.ensure(chunk);
    for (let start = 0; start < batch; start += chunk)
      this.lastPass = this.forwardRange(start, Math.min(chunk, batch - start), false, true, 0);
    this.lastBatch = batch;
    return this.readLogits();
  }

  /** Mean loss of the last infer() or forward() against the labels set last (no gradient needed). */
  evaluateLoss(): Promise<number> {
    this.checkUsable('evaluateLoss');
    this.crossEntropy();
    return this.readLoss();
  }

  /**
   * Copies a pass's kept patch indices into the engine's memory after checking them; returns
   * the patches kept per image, 0 for a pass without a selection (every token).
   */
  private setKeptPatches(method: string, batch: number, tokens: TokenSelection | undefined): number {
    if (tokens === undefined) return 0;
    checkTokenSelection(method, tokens, batch, this.T - 1);
    this.engine.write(this.keptPatches.ptr, tokens.indices.subarray(0, batch * tokens.kept));
    return tokens.kept;
  }

  /**
   * Images start … start + count − 1 through the model; their logits go to the logits at start.
   * With kept > 0 each image's sequence is [CLS] + its kept patches (setKeptPatches). Returns the
   * pass, which its backward pass takes.
   */
  private forwardRange(start: number, count: number, training: boolean, clsOnly: boolean, kept: number): ModelPass {
    const { engine } = this;
    const h = this.config.hidden_size;
    const tokens = kept > 0 ? 1 + kept : this.T;
    const keptIndices = this.keptPatches.ptr + start * kept * 4;
    let x = this.embedding.forward(this.pixels.ptr + start * this.imageFloats * 4, count, training);
    if (kept > 0) x = this.patchDropout.forward(x, keptIndices, count, kept);
    const blocks = this.encoder.forward(x, count, tokens, training, clsOnly);
    engine.run('copy_rows', this.cls.ptr, h, blocks.at(-1)!.output, clsOnly ? h : tokens * h, count, h);
    this.layernorm?.forward(this.clsNormed.ptr, this.cls.ptr, count);
    this.classifier.forward(this.logits.ptr + this.classOffset(start), this.clsNormed.ptr, count);
    return { start, count, kept, keptIndices, tokens, clsOnly, blocks };
  }

  /** Losses of images start … start + count − 1; with `gradient`, their d(logits), scaled for a mean over `norm` images. */
  private lossRange(start: number, count: number, norm: number, labelSmoothing: number, gradient: boolean): void {
    const offset = this.classOffset(start);
    this.engine.run(
      'softmax_cross_entropy',
      this.probs.ptr + offset,
      this.losses.ptr + start * 4,
      gradient ? this.dlogits.ptr + offset : 0,
      this.logits.ptr + offset,
      this.labels.ptr + start * 4,
      count,
      this.config.num_classes,
      labelSmoothing,
      norm,
    );
  }

  /** The backward pass of `pass` (its images' d(logits) ready): adds every parameter's gradient. */
  private backwardRange(pass: ModelPass): void {
    const { engine } = this;
    const { start, count, kept, keptIndices, tokens, clsOnly, blocks } = pass;
    const h = this.config.hidden_size;
    const dcls = this.buffers.cls.ptr;
    this.classifier.backwardWrite(this.dclsNormed.ptr, this.dlogits.ptr + this.classOffset(start), this.clsNormed.ptr, count);
    if (this.layernorm) {
      engine.run('fill', dcls, count * h, 0);
      this.layernorm.backward(dcls, this.dclsNormed.ptr, this.cls.ptr, count);
    }
    const dres = this.buffers.residual.ptr;
    if (!clsOnly) {
      // The gradient reaches the token sequence at the [CLS] rows only.
      engine.run('fill', dres, count * tokens * h, 0);
      engine.run('copy_rows', dres, tokens * h, dcls, h, count, h);
    }
    this.encoder.backward(blocks, this.buffers);
    this.embedding.backward(kept > 0 ? this.patchDropout.backwardWrite(dres, keptIndices, count, kept) : dres, count);
  }

  /** Byte offset of image `index`'s row in the [B, classes] buffers. */
  private classOffset(index: number): number {
    return index * this.config.num_classes * 4;
  }

  /** The attention probabilities of block `layer` in the last forward pass: [batch, heads, T, T] (T of that pass). */
  attentions(layer: number): Promise<Float32Array> {
    this.checkUsable('attentions');
    const block = this.encoder.blocks[layer];
    if (!block) throw new UserError(`layer ${layer} does not exist (the model has ${this.encoder.blocks.length})`);
    const nh = this.config.num_attention_heads;
    const T = this.lastPass?.tokens ?? this.T;
    return this.engine.read(block.attention.probabilities.ptr, this.lastBatch * nh * T * T);
  }

  /** Every parameter's values by canonical name (copies). */
  stateDict(): Promise<Map<string, Float32Array>> {
    this.checkUsable('stateDict');
    return this.parameters.toMap();
  }

  loadStateDict(tensors: Map<string, Float32Array>): void {
    this.checkUsable('loadStateDict');
    if (!(tensors instanceof Map))
      throw new UserError(`loadStateDict: tensors must be a Map of name → Float32Array (got ${kindOf(tensors)})`);
    this.parameters.load(tensors);
  }

  /** Whether release() has freed the model: it cannot be used any more. */
  get released(): boolean {
    return this.freed;
  }

  /** A UserError naming `method` once the model is released (its memory may hold another model's by then). */
  checkUsable(method: string): void {
    if (this.freed) throw new UserError(`${method}: the model was released (release() frees its memory); load or create it again`);
  }

  private checkBatch(method: string, batch: number): void {
    this.checkUsable(method);
    if (!Number.isInteger(batch) || batch < 1) throw new UserError(`${method}: the batch must be a positive whole number (got ${batch})`);
  }

  /** Frees the model's memory in the engine; the model cannot be used afterwards. Releasing twice does nothing. */
  release(): void {
    if (this.freed) return;
    this.freed = true;
    this.parameters.release();
    this.io.release();
    this.workspace.release();
  }
}

/** The mean of `values`, summed in float64. */
function meanOf(values: Float32Array): number {
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}
