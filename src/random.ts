/**
 * A small seeded generator (xoshiro128**) whose whole state can be saved and restored,
 * so that initialization, shuffling, augmentation and dropout repeat exactly for a seed
 * and a resumed run continues the same stream.
 */
/** The largest seed: the generator is seeded with 32 bits, so a larger seed would repeat a smaller one's stream. */
export const MAX_SEED = 2 ** 32 - 1;

export class Random {
  private s: Uint32Array;

  constructor(seed: number | readonly number[] = 0) {
    if (typeof seed === 'number') {
      // splitmix32 spreads one seed over the four state words
      this.s = new Uint32Array(4);
      let x = seed >>> 0;
      for (let i = 0; i < 4; i++) {
        x = (x + 0x9e3779b9) >>> 0;
        let z = x;
        z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
        z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
        this.s[i] = (z ^ (z >>> 16)) >>> 0;
      }
    } else {
      if (seed.length !== 4) throw new Error('Random state must have 4 words');
      this.s = Uint32Array.from(seed);
    }
  }

  /** The generator's state, to save in a checkpoint. */
  state(): number[] {
    return Array.from(this.s);
  }

  /** Continues from a state saved by state(). */
  setState(words: readonly number[]): void {
    if (words.length !== 4) throw new Error('Random state must have 4 words');
    this.s.set(words);
  }

  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal, by Box–Muller. */
  normal(): number {
    const u = 1 - this.uniform();
    const v = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** A random permutation of 0..n-1 (Fisher–Yates), written into `out`. */
  permutation(n: number, out: Uint32Array = new Uint32Array(n)): Uint32Array {
    for (let i = 0; i < n; i++) out[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = out[i]!;
      out[i] = out[j]!;
      out[j] = tmp;
    }
    return out;
  }
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;
