// AdamW, as torch.optim.AdamW: decoupled weight decay, bias-corrected moments.
import { checkObject, kindOf } from '../arguments.js';
import { UserError } from '../errors.js';
import { ParameterStore } from '../model/parameter-store.js';

export interface AdamWOptions {
  lr: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

export interface AdamWState {
  step: number;
  m: Float32Array;
  v: Float32Array;
}

export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  lr: number;
  /** Steps taken so far. */
  step = 0;
  private readonly m: number;
  private readonly v: number;

  constructor(
    private readonly store: ParameterStore,
    options: AdamWOptions,
  ) {
    if (!(store instanceof ParameterStore))
      throw new UserError(`AdamW: the first argument must be a model's parameters (model.parameters), got ${kindOf(store)}`);
    checkObject(options, 'AdamW: options');
    for (const key of ['lr', 'eps', 'weightDecay'] as const) {
      const value = options[key];
      if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value) && value >= 0)) {
        throw new UserError(`AdamW: options.${key} must be a number ≥ 0 (got ${kindOf(value)} ${String(value)})`);
      }
    }
    this.lr = options.lr;
    [this.beta1, this.beta2] = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 1e-2;
    const { engine, count } = store;
    this.m = engine.allocate(count);
    this.v = engine.allocate(count);
    engine.run('fill', this.m, count, 0);
    engine.run('fill', this.v, count, 0);
  }

  /** Updates every parameter from its gradient. */
  update(lr = this.lr): void {
    this.step++;
    const { engine, count, params, grads } = this.store;
    const bc1 = 1 - this.beta1 ** this.step;
    const bc2 = 1 - this.beta2 ** this.step;
    engine.run('adamw', params, grads, this.m, this.v, count, lr, this.beta1, this.beta2, this.eps, this.weightDecay, bc1, bc2);
  }

  /** The moments and step count, for a checkpoint (copies). */
  async state(): Promise<AdamWState> {
    const { engine, count } = this.store;
    const step = this.step;
    const [m, v] = await Promise.all([engine.read(this.m, count), engine.read(this.v, count)]);
    return { step, m, v };
  }

  loadState(state: AdamWState): void {
    const { engine, count } = this.store;
    if (state.m.length !== count || state.v.length !== count) {
      throw new Error(`optimizer state has ${state.m.length} values, the model ${count}`);
    }
    engine.write(this.m, state.m);
    engine.write(this.v, state.v);
    this.step = state.step;
  }

  release(): void {
    this.store.engine.release(this.m);
    this.store.engine.release(this.v);
  }
}
