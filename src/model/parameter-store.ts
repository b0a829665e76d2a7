// All of a model's parameters in one block of the engine's memory, and their gradients in another
// of the same layout (as llm.c does), so the optimizer and the gradient norm see one long vector.
import type { Engine } from '../runtime/engine.js';
import { Random } from '../random.js';
import { type ParameterSpec, sizeOf } from './parameters.js';
import { UserError } from '../errors.js';

export class Parameter {
  constructor(
    private readonly store: ParameterStore,
    readonly name: string,
    readonly shape: readonly number[],
    /** Offset in floats from the start of the block. */
    readonly offset: number,
    readonly size: number,
  ) {}

  /** Byte address of the values. */
  get ptr(): number {
    return this.store.params + this.offset * 4;
  }

  /** Byte address of the gradient. */
  get grad(): number {
    return this.store.grads + this.offset * 4;
  }
}

export class ParameterStore {
  readonly params: number;
  readonly grads: number;
  /** Total number of floats. */
  readonly count: number;
  private readonly byName = new Map<string, Parameter>();
  readonly list: Parameter[] = [];

  constructor(
    readonly engine: Engine,
    readonly specs: readonly ParameterSpec[],
  ) {
    let offset = 0;
    for (const spec of specs) {
      const size = sizeOf(spec.shape);
      const p = new Parameter(this, spec.name, spec.shape, offset, size);
      this.byName.set(spec.name, p);
      this.list.push(p);
      // keep every tensor 16-byte aligned for the SIMD loads
      offset += Math.ceil(size / 4) * 4;
    }
    this.count = offset;
    this.params = engine.allocate(offset);
    this.grads = engine.allocate(offset);
    engine.run('fill', this.params, offset, 0);
    this.zeroGrad();
  }

  get(name: string): Parameter {
    const p = this.byName.get(name);
    if (!p) throw new Error(`no parameter ${name}`);
    return p;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  zeroGrad(): void {
    this.engine.run('fill', this.grads, this.count, 0);
  }

  /** A copy of one parameter's values. */
  values(name: string): Promise<Float32Array> {
    const p = this.get(name);
    return this.engine.read(p.ptr, p.size);
  }

  /** A copy of one parameter's gradient. */
  gradient(name: string): Promise<Float32Array> {
    const p = this.get(name);
    return this.engine.read(p.grad, p.size);
  }

  /** Sets one parameter's values (its size of them). */
  setValues(name: string, values: Float32Array): void {
    const p = this.get(name);
    this.engine.write(p.ptr, values.subarray(0, p.size));
  }

  /** Sets one parameter's gradient. */
  setGradient(name: string, values: Float32Array): void {
    const p = this.get(name);
    this.engine.write(p.grad, values.subarray(0, p.size));
  }

  /** Initializes as the seed does: normal(0, std) weights, zero biases, LayerNorm 1 and 0,
   *  truncated normal (bounds ±2, as torch.nn.init.trunc_normal_) for [CLS] and positions. */
  initialize(std: number, rng: Random): void {
    const all = new Float32Array(this.count);
    this.specs.forEach((spec, k) => {
      const p = this.list[k]!;
      const v = all.subarray(p.offset, p.offset + p.size);
      for (let i = 0; i < v.length; i++) {
        switch (spec.init) {
          case 'zeros':
            v[i] = 0;
            break;
          case 'ones':
            v[i] = 1;
            break;
          case 'normal':
            v[i] = rng.normal() * std;
            break;
          case 'trunc_normal': {
            let x: number;
            do x = rng.normal() * std;
            while (x < -2 || x > 2);
            v[i] = x;
          }
        }
      }
    });
    this.engine.write(this.params, all);
  }

  /** Every parameter's values in the flat layout (a copy; the alignment padding is zero). */
  readAll(): Promise<Float32Array> {
    return this.engine.read(this.params, this.count);
  }

  /** Copies of every parameter, by name. */
  async toMap(): Promise<Map<string, Float32Array>> {
    const all = await this.readAll();
    return new Map(this.list.map((p) => [p.name, all.slice(p.offset, p.offset + p.size)]));
  }

  /** Sets every parameter from `tensors` (canonical names; shapes already checked by the loader). */
  load(tensors: Map<string, Float32Array>): void {
    for (const p of this.list) {
      const t = tensors.get(p.name);
      if (!t) throw new UserError(`missing tensor ${p.name}`);
      if (t.length !== p.size)
        throw new UserError(`tensor ${p.name} has ${t.length} values, expected ${p.size} (shape [${p.shape.join(', ')}])`);
      const bad = nonFinite(t);
      if (bad !== undefined) throw new UserError(`tensor ${p.name} ${bad}`);
      this.setValues(p.name, t);
    }
  }

  release(): void {
    this.engine.release(this.params);
    this.engine.release(this.grads);
  }
}

/**
 * `holds NaN at index 7` when `values` has a NaN or an infinity (the weights of a diverged run,
 * which would make every prediction NaN), else undefined.
 */
export function nonFinite(values: Float32Array): string | undefined {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    // v - v is 0 for every finite v, NaN for NaN and ±Infinity: one comparison in the common case.
    if (v - v !== 0) return `holds ${v} at index ${i}; a model with non-finite weights cannot make predictions`;
  }
  return undefined;
}
