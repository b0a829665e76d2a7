// Token dropping (PatchDropout): a training pass may keep a random subset of each image's patch
// tokens. Position embeddings are added to every patch first, then the [CLS] row and the kept
// patches' rows are gathered into a shorter sequence that the Encoder runs on; the backward pass
// scatters their gradient back (zero for the dropped patches) before the embeddings' backward.
import type { Engine } from '../runtime/engine.js';
import type { Random } from '../random.js';
import { UserError } from '../errors.js';
import { kindOf } from '../arguments.js';
import type { Slot, Workspace } from './workspace.js';

/** The patches one pass keeps of each image. */
export interface TokenSelection {
  /** Patches kept per image, 1..numPatches; the sequence is [CLS] + these. */
  kept: number;
  /** [batch·kept]: each image's kept patch indices, increasing, in 0..numPatches − 1. */
  indices: Int32Array;
}

/**
 * A uniformly random subset of `kept` of the `numPatches` patches for each of `batch` images,
 * each image's indices in increasing order (selection sampling). Writes into `out` when given
 * (at least batch·kept long), so a training loop need not allocate.
 */
export function drawKeptPatches(random: Random, batch: number, numPatches: number, kept: number, out?: Int32Array): TokenSelection {
  const whole = (n: number): boolean => Number.isInteger(n) && n >= 1;
  if (!whole(batch)) throw new UserError(`drawKeptPatches: batch must be a positive whole number (got ${batch})`);
  if (!whole(numPatches)) throw new UserError(`drawKeptPatches: numPatches must be a positive whole number (got ${numPatches})`);
  if (!whole(kept) || kept > numPatches)
    throw new UserError(`drawKeptPatches: kept must be a whole number from 1 to ${numPatches} (got ${kept})`);
  if (out !== undefined && !(out instanceof Int32Array && out.length >= batch * kept)) {
    throw new UserError(`drawKeptPatches: out must be an Int32Array of at least ${batch * kept} indices (got ${kindOf(out)})`);
  }
  const indices = out ?? new Int32Array(batch * kept);
  for (let b = 0, k = 0; b < batch; b++) {
    // Patch p is taken with probability (still needed) / (still left): every subset equally likely.
    let needed = kept;
    for (let p = 0; needed > 0; p++) {
      if (random.uniform() * (numPatches - p) < needed) {
        indices[k++] = p;
        needed--;
      }
    }
  }
  return { kept, indices };
}

/** A UserError naming `method` unless `tokens` is a valid selection for `batch` images of `numPatches` patches. */
export function checkTokenSelection(method: string, tokens: TokenSelection, batch: number, numPatches: number): void {
  if (typeof tokens !== 'object' || tokens === null)
    throw new UserError(`${method}: tokens must be a TokenSelection { kept, indices } (got ${kindOf(tokens)})`);
  const { kept, indices } = tokens;
  if (!Number.isInteger(kept) || kept < 1 || kept > numPatches) {
    throw new UserError(`${method}: tokens.kept must be a whole number from 1 to ${numPatches} (got ${kept})`);
  }
  if (!(indices instanceof Int32Array) || indices.length < batch * kept) {
    throw new UserError(`${method}: tokens.indices must be an Int32Array of at least ${batch} × ${kept} indices (got ${kindOf(indices)})`);
  }
  for (let b = 0; b < batch; b++) {
    for (let j = 0, previous = -1; j < kept; j++) {
      const p = indices[b * kept + j]!;
      if (!(p > previous && p < numPatches)) {
        throw new UserError(`${method}: image ${b}'s kept patches must increase within 0..${numPatches - 1} (index ${j} is ${p})`);
      }
      previous = p;
    }
  }
}

/** The gather of the kept tokens and the scatter of their gradient, one layer between Embeddings and Encoder. */
export class PatchDropout {
  /** The kept sequence [B, 1 + kept, hidden] (room for every token). */
  readonly output: Slot;
  /** The gradient of the whole sequence [B, T, hidden], zero at the dropped patches. */
  private readonly dsequence: Slot;

  constructor(
    private readonly engine: Engine,
    workspace: Workspace,
    private readonly tokens: number,
    private readonly hidden: number,
  ) {
    this.output = workspace.reserve(tokens * hidden);
    this.dsequence = workspace.reserve(tokens * hidden);
  }

  /** Gathers [CLS] and the `kept` patches at `indices` (i32 [batch, kept] in the engine's memory) from x [B, T, hidden]. */
  forward(x: number, indices: number, batch: number, kept: number): number {
    this.engine.run('gather_tokens', this.output.ptr, x, indices, batch, this.tokens, kept, this.hidden);
    return this.output.ptr;
  }

  /** Writes d(whole sequence) from d(kept sequence), zero at the dropped patches, for the forward pass of the same arguments; returns its address. */
  backwardWrite(dkept: number, indices: number, batch: number, kept: number): number {
    this.engine.run('scatter_tokens', this.dsequence.ptr, dkept, indices, batch, this.tokens, kept, this.hidden);
    return this.dsequence.ptr;
  }
}
