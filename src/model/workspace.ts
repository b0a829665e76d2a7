// The activations of a forward and backward pass, laid out in one block allocated once for the
// largest batch: each layer reserves its slots while the model is built, and the block is
// (re)allocated only when a larger batch arrives. Nothing is allocated in the step loop.
import type { Engine } from '../runtime/engine.js';

export class Slot {
  constructor(
    private readonly workspace: Workspace,
    private readonly index: number,
  ) {}

  /** Byte address (valid after Workspace.ensure). */
  get ptr(): number {
    return this.workspace.addressOf(this.index);
  }
}

export class Workspace {
  private readonly sizes: Array<{ perItem: number; fixed: number }> = [];
  private offsets: number[] = [];
  private capacity = 0;
  private block = 0;

  constructor(private readonly engine: Engine) {}

  /** Reserves perItem floats per batch item, plus `fixed` floats whatever the batch. */
  reserve(perItem: number, fixed = 0): Slot {
    this.sizes.push({ perItem, fixed });
    this.capacity = 0; // the layout changed: the next ensure() lays it out again
    return new Slot(this, this.sizes.length - 1);
  }

  addressOf(index: number): number {
    return this.block + this.offsets[index]! * 4;
  }

  /** Makes room for `batch` items, reallocating only if the block is too small. */
  ensure(batch: number): void {
    if (batch <= this.capacity) return;
    if (this.block) this.engine.release(this.block);
    let offset = 0;
    this.offsets = this.sizes.map(({ perItem, fixed }) => {
      const start = offset;
      offset += Math.ceil((perItem * batch + fixed) / 16) * 16; // 64-byte aligned slots
      return start;
    });
    this.block = this.engine.allocate(offset);
    this.capacity = batch;
  }

  /** Bytes the block takes for each batch item. */
  get bytesPerItem(): number {
    return this.sizes.reduce((s, r) => s + r.perItem, 0) * 4;
  }

  release(): void {
    if (this.block) this.engine.release(this.block);
    this.block = 0;
    this.capacity = 0;
  }
}
