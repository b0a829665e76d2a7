// An exponential moving average of a model's parameters (Polyak averaging, as TensorFlow's
// ExponentialMovingAverage with num_updates): evaluated and saved in place of the last weights,
// it smooths out the noise of the final steps of a short run. The average lives in the engine's
// memory beside the weights: updating it and swapping it in are kernels, never host work.
import { checkObject, kindOf } from '../arguments.js';
import { UserError } from '../errors.js';
import { ParameterStore } from '../model/parameter-store.js';

/** What a training checkpoint keeps of an average: its values (the store's flat layout) and updates so far. */
export interface WeightAverageState {
  updates: number;
  values: Float32Array;
}

export class WeightAverage {
  /** Updates so far: the warmup of the decay counts them. */
  updates = 0;
  /** The averaged parameters, in the store's flat layout (alignment padding included, always zero). */
  private readonly average: number;
  /** The trained weights while the model holds the average. */
  private readonly trained: number;
  /** Whether the model holds the average (and `trained` its trained weights). */
  private swapped = false;

  /** Starts the average at the store's current values; `decay` is its largest weight on the past, in [0, 1). */
  constructor(
    private readonly store: ParameterStore,
    readonly decay: number,
  ) {
    if (!(store instanceof ParameterStore))
      throw new UserError(`WeightAverage: the first argument must be a model's parameters (model.parameters), got ${kindOf(store)}`);
    if (!(typeof decay === 'number' && decay >= 0 && decay < 1))
      throw new UserError(`WeightAverage: decay must be a number in [0, 1) (got ${kindOf(decay)} ${String(decay)})`);
    this.average = store.engine.allocate(store.count);
    this.trained = store.engine.allocate(store.count);
    store.engine.run('copy', this.average, store.params, store.count);
  }

  /**
   * The decay of the next update: min(decay, (1 + t) / (10 + t)) after t updates, so that the
   * first averages follow the weights instead of the initialization (0.1 at the first update).
   */
  get currentDecay(): number {
    return Math.min(this.decay, (1 + this.updates) / (10 + this.updates));
  }

  /** After an optimizer step: average ← d·average + (1 − d)·weights. */
  update(): void {
    this.checkNotSwapped('update');
    this.store.engine.run('ema', this.average, this.store.params, this.store.count, this.currentDecay);
    this.updates++;
  }

  /** Starts again from the model's current weights (a checkpoint without an average, say). */
  reset(): void {
    this.checkNotSwapped('reset');
    this.store.engine.run('copy', this.average, this.store.params, this.store.count);
    this.updates = 0;
  }

  /**
   * Runs `work` with the averaged weights in the model (to evaluate it or encode its model file),
   * then puts the trained weights back bit for bit, also when `work` throws. Training must not step
   * until the returned promise settles: update() refuses meanwhile.
   */
  async withAveragedWeights<T>(work: () => T | Promise<T>): Promise<T> {
    this.checkNotSwapped('withAveragedWeights');
    const { engine, params, count } = this.store;
    engine.run('copy', this.trained, params, count);
    engine.run('copy', params, this.average, count);
    this.swapped = true;
    try {
      return await work();
    } finally {
      engine.run('copy', params, this.trained, count);
      this.swapped = false;
    }
  }

  /** A copy of the average and its update count, for a checkpoint. */
  async state(): Promise<WeightAverageState> {
    this.checkNotSwapped('state');
    const updates = this.updates;
    return { updates, values: await this.store.engine.read(this.average, this.store.count) };
  }

  loadState(state: WeightAverageState): void {
    checkObject(state, 'WeightAverage.loadState: state');
    this.checkNotSwapped('loadState');
    const { count } = this.store;
    if (!(state.values instanceof Float32Array) || state.values.length !== count) {
      throw new UserError(`WeightAverage.loadState: values must be a Float32Array of ${count} floats (got ${kindOf(state.values)})`);
    }
    if (!Number.isInteger(state.updates) || state.updates < 0)
      throw new UserError(`WeightAverage.loadState: updates must be a whole number ≥ 0 (got ${state.updates})`);
    this.store.engine.write(this.average, state.values);
    this.updates = state.updates;
  }

  release(): void {
    this.store.engine.release(this.average);
    this.store.engine.release(this.trained);
  }

  private checkNotSwapped(method: string): void {
    if (this.swapped) throw new UserError(`WeightAverage.${method}: not allowed inside withAveragedWeights (the model holds the average)`);
  }
}
