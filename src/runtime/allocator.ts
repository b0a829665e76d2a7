/**
 * First-fit allocation of byte ranges inside the shared WebAssembly memory. Blocks are aligned
 * to 64 bytes (a cache line) and padded by 64 more, so SIMD tails may read a little past the end.
 * Freed neighbours merge. The engine grows the memory when a request does not fit.
 */
export class Allocator {
  private free: Array<{ start: number; size: number }> = [];
  private sizes = new Map<number, number>();
  /** The end of the highest block ever handed out. */
  private top: number;

  constructor(base: number) {
    this.top = align(base);
  }

  static readonly ALIGN = 64;

  /** The size in bytes the memory must have for `bytes` more to fit at the top. */
  requiredEnd(bytes: number): number {
    return this.top + blockSize(bytes);
  }

  allocate(bytes: number): number {
    const size = blockSize(bytes);
    const i = this.free.findIndex((f) => f.size >= size);
    let start: number;
    if (i >= 0) {
      const f = this.free[i]!;
      start = f.start;
      if (f.size === size) this.free.splice(i, 1);
      else {
        f.start += size;
        f.size -= size;
      }
    } else {
      start = this.top;
      this.top += size;
    }
    this.sizes.set(start, size);
    return start;
  }

  release(ptr: number): void {
    const size = this.sizes.get(ptr);
    if (size === undefined) throw new Error(`release of unknown block ${ptr}`);
    this.sizes.delete(ptr);
    let i = 0;
    while (i < this.free.length && this.free[i]!.start < ptr) i++;
    this.free.splice(i, 0, { start: ptr, size });
    // merge with the next block, then with the previous one
    const cur = this.free[i]!;
    const next = this.free[i + 1];
    if (next && cur.start + cur.size === next.start) {
      cur.size += next.size;
      this.free.splice(i + 1, 1);
    }
    const prev = this.free[i - 1];
    if (prev && prev.start + prev.size === cur.start) {
      prev.size += cur.size;
      this.free.splice(i, 1);
    }
    // a free block at the top goes back to the top
    const last = this.free[this.free.length - 1];
    if (last && last.start + last.size === this.top) {
      this.top = last.start;
      this.free.pop();
    }
  }
}

const align = (n: number): number => Math.ceil(n / Allocator.ALIGN) * Allocator.ALIGN;
const blockSize = (bytes: number): number => align(Math.max(bytes, 1)) + Allocator.ALIGN;
