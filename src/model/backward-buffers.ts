// Gradient buffers of the backward pass that every Block uses in turn (allocated once, shared).
import type { Slot, Workspace } from './workspace.js';

export interface BackwardBuffers {
  /** d(token sequence), [B, T, hidden]: carried back through the residual stream, block by block. */
  residual: Slot;
  /** d(LayerNorm output), [B, T, hidden]. */
  normed: Slot;
  /** d(heads' outputs), [B, T, hidden]. */
  context: Slot;
  /** d(q, k, v), [B, T, 3·hidden]. */
  qkv: Slot;
  /** d(MLP hidden layer), [B, T, intermediate]. */
  hidden: Slot;
  /** d(a branch's output) through its dropout, [B, T, hidden]. */
  scratch: Slot;
  /** d(the last Block's output), which exists for the [CLS] token alone: [B, hidden]. */
  cls: Slot;
  /** d(LayerNorm output) and d(heads' outputs) of the [CLS] rows in the last Block: [B, hidden] each. */
  clsNormed: Slot;
  clsContext: Slot;
}

export function reserveBackwardBuffers(workspace: Workspace, tokens: number, hidden: number, intermediate: number): BackwardBuffers {
  return {
    residual: workspace.reserve(tokens * hidden),
    normed: workspace.reserve(tokens * hidden),
    context: workspace.reserve(tokens * hidden),
    qkv: workspace.reserve(tokens * 3 * hidden),
    hidden: workspace.reserve(tokens * intermediate),
    scratch: workspace.reserve(tokens * hidden),
    cls: workspace.reserve(hidden),
    clsNormed: workspace.reserve(hidden),
    clsContext: workspace.reserve(hidden),
  };
}
