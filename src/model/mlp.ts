// The Block's feed-forward part: Linear → GELU → Linear → dropout.
import type { Engine } from '../runtime/engine.js';
import { GELU_MODES } from '../runtime/kernels.js';
import { type ViTConfig, sequenceLength } from './config.js';
import { Dropout } from './dropout.js';
import { Linear } from './linear.js';
import type { ParameterStore } from './parameter-store.js';
import type { Slot, Workspace } from './workspace.js';
import type { Random } from '../random.js';
import type { BackwardBuffers } from './backward-buffers.js';

/**
 * GELU as the config asks, the seed's tanh form ("gelu_new", its NewGELU) or the exact erf form
 * ("gelu"): computed in dense_1's matrix product forward and in dense_2's backward.
 */
const GELU = {
  gelu_new: { forward: GELU_MODES.tanhForward, backward: GELU_MODES.tanhBackward },
  gelu: { forward: GELU_MODES.erfForward, backward: GELU_MODES.erfBackward },
} as const;

export class MLP {
  readonly dense1: Linear;
  readonly dense2: Linear;
  readonly dropout: Dropout;
  private readonly preActivation: Slot;
  private readonly activated: Slot;
  private readonly projected: Slot;

  constructor(
    private readonly engine: Engine,
    store: ParameterStore,
    workspace: Workspace,
    private readonly config: ViTConfig,
    name: string,
    rng: Random,
  ) {
    const { hidden_size: h, intermediate_size: inter } = config;
    const T = sequenceLength(config);
    this.dense1 = new Linear(engine, store, workspace, `${name}.dense_1`, h, inter);
    this.dense2 = new Linear(engine, store, workspace, `${name}.dense_2`, inter, h);
    this.dropout = new Dropout(engine, config.hidden_dropout_prob, rng);
    this.preActivation = workspace.reserve(T * inter);
    this.activated = workspace.reserve(T * inter);
    this.projected = config.hidden_dropout_prob > 0 ? workspace.reserve(T * h) : this.activated;
  }

  /** out = residual + dropout(dense_2(GELU(dense_1(x)))) for `rows` tokens: the Block's residual connection is fused in. */
  forward(out: number, x: number, residual: number, rows: number, training: boolean): void {
    const { hidden_size: h, hidden_act } = this.config;
    this.dense1.forward(this.preActivation.ptr, x, rows, 0, { mode: GELU[hidden_act].forward, buffer: this.activated.ptr });
    if (this.dropout.draw(training) < 0) {
      this.dense2.forward(out, this.activated.ptr, rows, residual);
    } else {
      this.dense2.forward(this.projected.ptr, this.activated.ptr, rows);
      this.dropout.apply(this.projected.ptr, rows * h);
      this.engine.run('add', out, residual, this.projected.ptr, rows * h);
    }
  }

  /** Writes dx from dout, the gradient of the output, for a forward pass over `rows` tokens. */
  backwardWrite(dx: number, dout: number, x: number, rows: number, buffers: BackwardBuffers): void {
    const { hidden_size: h, hidden_act } = this.config;
    let dprojected = dout;
    if (this.dropout.active) {
      dprojected = buffers.scratch.ptr;
      this.dropout.backwardWrite(dprojected, dout, rows * h);
    }
    const dhidden = buffers.hidden.ptr;
    this.dense2.backwardWrite(dhidden, dprojected, this.activated.ptr, rows, {
      mode: GELU[hidden_act].backward,
      buffer: this.preActivation.ptr,
    });
    this.dense1.backwardWrite(dx, dhidden, x, rows);
  }
}
