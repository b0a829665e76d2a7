// An exponential moving average of a model's parameters (Polyak averaging, as TensorFlow's
// ExponentialMovingAverage with num_updates): evaluated and saved in place of the last weights,
// it smooths out the noise of the final steps of a short run.
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
  private readonly average: Float32Array;
  /** Whether the model holds the average (and `average` its trained weights) between swaps. */
  private swapped = false;

  /** Starts the average at the store's current values; `decay` is its largest weight on the past, in [0, 1). */
  constructor(private readonly store: ParameterStore, readonly decay: number) {
    if (!(store instanceof ParameterStore)) throw new UserError(`WeightAverage: the first argument must be a model's parameters (model.parameters), got ${kindOf(store)}`);
    if (!(typeof decay === 'number' && decay >= 0 && decay < 1)) throw new UserError(`WeightAverage: decay must be a number in [0, 1) (got ${kindOf(decay)} ${String(decay)})`);
    this.average = this.weights().slice();
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
    const d = this.currentDecay;
    const rest = 1 - d;
    const average = this.average;
    const weights = this.weights();
    for (let i = 0; i < average.length; i++) average[i] = d * average[i]! + rest * weights[i]!;
    this.updates++;
  }

  /** Starts again from the model's current weights (a checkpoint without an average, say). */
  reset(): void {
    this.checkNotSwapped('reset');
    this.average.set(this.weights());
    this.updates = 0;
  }

  /**
   * Runs `work` with the averaged weights in the model (to evaluate it or encode its model file),
   * then puts the trained weights back bit for bit, also when `work` throws. `work` must be synchronous:
   * training must not step while the model holds the average.
   */
  withAveragedWeights<T>(work: () => T): T {
    this.checkNotSwapped('withAveragedWeights');
    this.swap();
    try {
      const result = work();
      if (result instanceof Promise) throw new UserError('WeightAverage.withAveragedWeights: work must be synchronous (it returned a Promise)');
      return result;
    } finally {
      this.swap();
    }
  }

  /** A copy of the average and its update count, for a checkpoint. */
  state(): WeightAverageState {
    this.checkNotSwapped('state');
    return { updates: this.updates, values: this.average.slice() };
  }

  loadState(state: WeightAverageState): void {
    checkObject(state, 'WeightAverage.loadState: state');
    this.checkNotSwapped('loadState');
    if (!(state.values instanceof Float32Array) || state.values.length !== this.average.length) {
      throw new UserError(`WeightAverage.loadState: values must be a Float32Array of ${this.average.length} floats (got ${kindOf(state.values)})`);
    }
    if (!Number.isInteger(state.updates) || state.updates < 0) throw new UserError(`WeightAverage.loadState: updates must be a whole number ≥ 0 (got ${state.updates})`);
    this.average.set(state.values);
    this.updates = state.updates;
  }

  /** Exchanges the model's weights and the average; its own inverse. */
  private swap(): void {
    const weights = this.weights();
    const trained = weights.slice();
    weights.set(this.average);
    this.average.set(trained);
    this.swapped = !this.swapped;
  }

  /** A fresh view of every parameter (views die when the shared memory grows). */
  private weights(): Float32Array {
    return this.store.engine.f32(this.store.params, this.store.count);
  }

  private checkNotSwapped(method: string): void {
    if (this.swapped) throw new UserError(`WeightAverage.${method}: not allowed inside withAveragedWeights (the model holds the average)`);
  }
}
