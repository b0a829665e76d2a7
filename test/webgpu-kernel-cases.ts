// The WGSL kernels against the WebAssembly kernels, case by case, on real and awkward shapes: 65
// tokens, batch 1, 3 and 257 (257·65 rows), sizes not multiples of the 64×64 gemm tile or of the
// 16-deep slices, accumulate on and off, every GELU mode. Both engines get the same inputs; every
// GPU buffer is surrounded by sentinels that must survive, GPU inputs must come back bit for bit,
// and written outputs start as NaN on both sides so that a skipped element shows. Kernels the
// WebAssembly set lacks (copy, ema, clip_gradients) are checked against plain references.
//
// No node: imports: the same cases run in Node (test/webgpu-kernels.test.ts, Dawn) and in
// Chromium (test/webgpu-kernels-browser.test.ts loads this module into a page).
import type { WasmEngine } from '../src/runtime/wasm-engine.js';
import { GELU_MODES } from '../src/runtime/kernels.js';
import type { WebGpuEngine } from '../src/runtime/webgpu/engine.js';
import { GPU_PARTIALS } from '../src/runtime/webgpu/prelude.js';
import { Random } from '../src/random.js';
import * as ref from './reference/kernels.js';

export interface KernelCase {
  readonly name: string;
  run(gpu: WebGpuEngine, wasm: WasmEngine): Promise<void>;
}

/** Floats of sentinel on each side of a GPU buffer. */
const GUARD = 16;
const SENTINEL = Math.fround(-1.2345e30);

/** |actual − expected| ≤ rtol × (the expected tensor's largest magnitude) + atol, everywhere; NaN fails. */
export function checkClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, rtol = 1e-5, atol = 0): void {
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length}, expected ${expected.length}`);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  let worst = 0,
    at = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.abs(actual[i]! - expected[i]!);
    if (!(e <= worst)) {
      worst = e;
      at = i;
    }
  }
  const limit = rtol * scale + atol;
  if (!(worst <= limit)) {
    throw new Error(
      `${what}: max abs error ${worst.toExponential(3)} at ${at} (got ${actual[at]}, expected ${expected[at]}) > ` +
        `${limit.toExponential(3)} (scale ${scale.toExponential(3)})`,
    );
  }
}

function checkExact(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length}, expected ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) throw new Error(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
  }
}

interface Buffer {
  readonly name: string;
  readonly n: number;
  /** Byte offsets of the first float on each engine. */
  readonly gpu: number;
  readonly wasm: number;
  readonly base: { gpu: number; wasm: number };
  /** Inputs: the bits they must keep. */
  readonly keep: Uint32Array | null;
}

/** The same buffers on both engines, for one kernel call. */
class Pair {
  private readonly buffers: Buffer[] = [];

  constructor(
    readonly gpu: WebGpuEngine,
    readonly wasm: WasmEngine,
  ) {}

  private make(name: string, data: Float32Array | Int32Array, input: boolean): Buffer {
    const n = data.length;
    const guarded = new Float32Array(n + 2 * GUARD).fill(SENTINEL);
    const bits = new Uint32Array(guarded.buffer);
    bits.set(new Uint32Array(data.buffer, data.byteOffset, n), GUARD);
    const base = { gpu: this.gpu.allocate(n + 2 * GUARD), wasm: this.wasm.allocate(n) };
    this.gpu.write(base.gpu, guarded);
    new Uint32Array(this.wasm.memory.buffer, base.wasm, n).set(bits.subarray(GUARD, GUARD + n));
    const buffer = { name, n, gpu: base.gpu + 4 * GUARD, wasm: base.wasm, base, keep: input ? bits.slice() : null };
    this.buffers.push(buffer);
    return buffer;
  }

  /** Read-only: must come back bit for bit. */
  input(name: string, data: Float32Array): Buffer {
    return this.make(name, data, true);
  }
  int32(name: string, data: Int32Array): Buffer {
    return this.make(name, data, true);
  }
  /** Added to, or read and written. */
  inout(name: string, data: Float32Array): Buffer {
    return this.make(name, data, false);
  }
  /** Written completely: starts as NaN. */
  output(name: string, n: number): Buffer {
    return this.make(name, new Float32Array(n).fill(NaN), false);
  }
  /** A buffer only the WebAssembly kernel uses (gemm's packed and scratch). */
  wasmOnly(floats: number): number {
    const ptr = this.wasm.allocate(floats);
    this.wasmScratch.push(ptr);
    return ptr;
  }
  private readonly wasmScratch: number[] = [];

  async read(b: Buffer): Promise<{ gpu: Float32Array; wasm: Float32Array }> {
    return { gpu: await this.gpu.read(b.gpu, b.n), wasm: this.wasm.f32(b.wasm, b.n).slice() };
  }

  /** The sentinels around every GPU buffer, and its inputs, unchanged. */
  async check(): Promise<void> {
    for (const b of this.buffers) {
      const all = new Uint32Array((await this.gpu.read(b.base.gpu, b.n + 2 * GUARD)).buffer);
      const sentinel = new Uint32Array(Float32Array.of(SENTINEL).buffer)[0]!;
      for (let i = 0; i < GUARD; i++) {
        if (all[i] !== sentinel) throw new Error(`${b.name}: float ${i - GUARD} before the buffer was overwritten`);
        if (all[GUARD + b.n + i] !== sentinel) throw new Error(`${b.name}: float ${b.n + i} (past its ${b.n}) was overwritten`);
      }
      if (b.keep !== null) {
        for (let i = GUARD; i < GUARD + b.n; i++) {
          if (all[i] !== b.keep[i]) throw new Error(`${b.name}: input changed at float ${i - GUARD}`);
        }
      }
    }
  }

  release(): void {
    for (const b of this.buffers) {
      this.gpu.release(b.base.gpu);
      this.wasm.release(b.base.wasm);
    }
    for (const ptr of this.wasmScratch) this.wasm.release(ptr);
  }
}

async function withPair(gpu: WebGpuEngine, wasm: WasmEngine, body: (pair: Pair) => Promise<void>): Promise<void> {
  const pair = new Pair(gpu, wasm);
  try {
    await body(pair);
    await pair.check();
  } finally {
    pair.release();
  }
}

/** Compares the two engines' values of each buffer, each within rtol of its scale. */
async function compare(pair: Pair, what: string, buffers: readonly Buffer[], rtol = 1e-5, atol = 0): Promise<void> {
  for (const b of buffers) {
    const { gpu, wasm } = await pair.read(b);
    checkClose(gpu, wasm, `${what} ${b.name}`, rtol, atol);
  }
}

function randn(rng: Random, n: number, std = 1, mean = 0): Float32Array {
  return Float32Array.from({ length: n }, () => mean + std * rng.normal());
}

const GELU_NAMES = ['none', 'tanh forward', 'erf forward', 'tanh backward', 'erf backward'];
/** Rows of a batch of 257 images of 65 tokens. */
const BIG = 257 * 65;

export function kernelCases(): KernelCase[] {
  const cases: KernelCase[] = [];
  const add = (name: string, run: KernelCase['run']): void => {
    cases.push({ name, run });
  };

  // ── gemm ────────────────────────────────────────────────────────────────────────────────
  const gemmCase = async (
    gpu: WebGpuEngine,
    wasm: WasmEngine,
    rng: Random,
    N: number,
    K: number,
    M: number,
    flags: number,
    gelu: number,
  ): Promise<void> => {
    const bias = (flags & 1) !== 0,
      residual = (flags & 2) !== 0,
      accumulate = (flags & 4) !== 0,
      transposed = (flags & 8) === 0;
    const what =
      `gemm N=${N} K=${K} M=${M} bias=${bias} residual=${residual} accumulate=${accumulate} ` +
      `${transposed ? 'w transposed' : 'w as is'} gelu=${GELU_NAMES[gelu]}`;
    await withPair(gpu, wasm, async (p) => {
      const a = p.input('a', randn(rng, N * K)),
        w = p.input('w', randn(rng, K * M, 0.2));
      const b = bias ? p.input('bias', randn(rng, M)) : null;
      const r = residual ? p.input('residual', randn(rng, N * M)) : null;
      const out = accumulate ? p.inout('out', randn(rng, N * M)) : p.output('out', N * M);
      const backward = gelu === GELU_MODES.tanhBackward || gelu === GELU_MODES.erfBackward;
      // forward modes write GELU(out) there; backward modes read pre-activations (some far out, where the slope saturates)
      const g = gelu === 0 ? null : backward ? p.input('geluBuffer', randn(rng, N * M, 3)) : p.output('geluBuffer', N * M);
      const packed = p.wasmOnly(wasm.sizes.gemmPacked(K, M));
      const scratch = p.wasmOnly(wasm.sizes.gemmScratch(K));
      const flag = (x: boolean): number => (x ? 1 : 0);
      gpu.run(
        'gemm',
        out.gpu,
        a.gpu,
        w.gpu,
        flag(transposed),
        0,
        0,
        b?.gpu ?? 0,
        r?.gpu ?? 0,
        gelu,
        g?.gpu ?? 0,
        N,
        K,
        M,
        flag(accumulate),
      );
      wasm.run(
        'gemm',
        out.wasm,
        a.wasm,
        w.wasm,
        flag(transposed),
        packed,
        scratch,
        b?.wasm ?? 0,
        r?.wasm ?? 0,
        gelu as 0,
        g?.wasm ?? 0,
        N,
        K,
        M,
        flag(accumulate),
      );
      await compare(p, what, g === null || backward ? [out] : [out, g]);
    });
  };

  add("gemm on the model's shapes (K = 48 or 192; 65 tokens; batch 1, 3 and 257)", async (gpu, wasm) => {
    const rng = new Random(1601);
    for (const [N, K, M, flags] of [
      [65, 48, 144, 1],
      [65, 48, 48, 3],
      [3 * 65, 48, 192, 1],
      [3 * 65, 192, 48, 3],
      [65, 192, 576, 1],
      [65, 576, 192, 3],
      [BIG, 48, 144, 1],
      [3, 48, 10, 1],
      [1, 192, 10, 1],
      [257, 48, 10, 1],
    ] as const) {
      await gemmCase(gpu, wasm, rng, N, K, M, flags, GELU_MODES.none);
    }
  });

  add('gemm: every combination of bias, residual, accumulate and w transposed or not, on sizes off the tile', async (gpu, wasm) => {
    const rng = new Random(1602);
    for (const [N, K, M] of [
      [67, 17, 65],
      [1, 3, 1],
      [129, 33, 70],
      [5, 1, 3],
    ] as const) {
      for (let flags = 0; flags < 16; flags++) await gemmCase(gpu, wasm, rng, N, K, M, flags, GELU_MODES.none);
    }
  });

  add('gemm: every GELU mode, forward ones with the bias, backward ones alone', async (gpu, wasm) => {
    const rng = new Random(1603);
    for (const [N, K, M] of [
      [65, 48, 192],
      [130, 13, 70],
      [1, 192, 576],
    ] as const) {
      for (const gelu of [GELU_MODES.tanhForward, GELU_MODES.erfForward]) await gemmCase(gpu, wasm, rng, N, K, M, 1, gelu);
      for (const gelu of [GELU_MODES.tanhBackward, GELU_MODES.erfBackward]) await gemmCase(gpu, wasm, rng, N, K, M, 8, gelu);
    }
  });

  add("gemm with the residual added in place (out is the residual), as a block's residual connection", async (gpu, wasm) => {
    const rng = new Random(1613);
    for (const [N, K, M] of [
      [65, 48, 48],
      [3 * 65, 192, 48],
      [67, 17, 65],
    ] as const) {
      await withPair(gpu, wasm, async (p) => {
        const a = p.input('a', randn(rng, N * K)),
          w = p.input('w', randn(rng, M * K, 0.2)),
          b = p.input('bias', randn(rng, M));
        const x = p.inout('x', randn(rng, N * M));
        const packed = p.wasmOnly(wasm.sizes.gemmPacked(K, M));
        const scratch = p.wasmOnly(wasm.sizes.gemmScratch(K));
        gpu.run('gemm', x.gpu, a.gpu, w.gpu, 1, 0, 0, b.gpu, x.gpu, 0, 0, N, K, M, 0);
        wasm.run('gemm', x.wasm, a.wasm, w.wasm, 1, packed, scratch, b.wasm, x.wasm, 0, 0, N, K, M, 0);
        await compare(p, `gemm in place N=${N} K=${K} M=${M}`, [x]);
      });
    }
  });

  // ── linear_backward ─────────────────────────────────────────────────────────────────────
  add(
    'linear_backward: weight, bias and input gradients; input gradient absent, written or added; GELU backward modes',
    async (gpu, wasm) => {
      const rng = new Random(1604);
      let i = 0;
      for (const [N, K, M] of [
        [65, 48, 144],
        [3 * 65, 192, 48],
        [65, 48, 192],
        [1, 48, 10],
        [BIG, 48, 144],
        [130, 7, 13],
        [17, 200, 70],
        [3, 1, 1],
        [257, 192, 10],
      ] as const) {
        // batch 257 once (SwiftShader is slow), the other shapes in all three ways
        for (const inputGradient of N === BIG ? (['write'] as const) : (['none', 'write', 'add'] as const)) {
          const withBias = i % 2 === 0;
          const gelu = [GELU_MODES.none, GELU_MODES.tanhBackward, GELU_MODES.erfBackward][i % 3]!;
          i++;
          const what = `linear_backward N=${N} K=${K} M=${M} bias=${withBias} input gradient ${inputGradient} gelu=${GELU_NAMES[gelu]}`;
          await withPair(gpu, wasm, async (p) => {
            const dweight = p.inout('dweight', randn(rng, M * K));
            const dbias = withBias ? p.inout('dbias', randn(rng, M)) : null;
            const dout = p.input('dout', randn(rng, N * M)),
              inp = p.input('inp', randn(rng, N * K)),
              w = p.input('w', randn(rng, M * K, 0.2));
            const dinp =
              inputGradient === 'none' ? null : inputGradient === 'add' ? p.inout('dinp', randn(rng, N * K)) : p.output('dinp', N * K);
            const pre = gelu === GELU_MODES.none || dinp === null ? null : p.input('preActivation', randn(rng, N * K, 3));
            const packed = p.wasmOnly(wasm.sizes.gemmPacked(M, K));
            const scratch = p.wasmOnly(wasm.sizes.gemmScratch(M));
            const mode = pre === null ? GELU_MODES.none : gelu;
            const acc = inputGradient === 'add' ? 1 : 0;
            gpu.run(
              'linear_backward',
              dweight.gpu,
              dbias?.gpu ?? 0,
              dinp?.gpu ?? 0,
              dout.gpu,
              inp.gpu,
              w.gpu,
              0,
              0,
              mode,
              pre?.gpu ?? 0,
              N,
              K,
              M,
              acc,
            );
            wasm.run(
              'linear_backward',
              dweight.wasm,
              dbias?.wasm ?? 0,
              dinp?.wasm ?? 0,
              dout.wasm,
              inp.wasm,
              w.wasm,
              packed,
              scratch,
              mode,
              pre?.wasm ?? 0,
              N,
              K,
              M,
              acc,
            );
            await compare(p, what, [dweight, ...(dbias ? [dbias] : []), ...(dinp ? [dinp] : [])]);
          });
        }
      }
    },
  );

  add('linear_backward gives the same bits every run (fixed-order sums, no atomics)', async (gpu) => {
    const rng = new Random(1605);
    // rows enough for the weight gradient to be split into partial sums
    const [N, K, M] = [1000, 48, 144];
    const data = { dout: randn(rng, N * M), inp: randn(rng, N * K), w: randn(rng, M * K) };
    const runs: Float32Array[] = [];
    for (let r = 0; r < 2; r++) {
      const ptr = (d: Float32Array): number => {
        const q = gpu.allocate(d.length);
        gpu.write(q, d);
        return q;
      };
      const dout = ptr(data.dout),
        inp = ptr(data.inp),
        w = ptr(data.w);
      const grads = gpu.allocate(M * K + M + N * K);
      gpu.run('fill', grads, M * K + M + N * K, 0);
      gpu.run('linear_backward', grads, grads + 4 * M * K, grads + 4 * (M * K + M), dout, inp, w, 0, 0, 0, 0, N, K, M, 0);
      runs.push(await gpu.read(grads, M * K + M + N * K));
      for (const q of [dout, inp, w, grads]) gpu.release(q);
    }
    checkExact(runs[1]!, runs[0]!, 'second run');
  });

  // ── layernorm ───────────────────────────────────────────────────────────────────────────
  add('layernorm_forward, on rows off centre', async (gpu, wasm) => {
    const rng = new Random(1606);
    let i = 0;
    for (const N of [1, 3, 65, BIG]) {
      for (const C of N === BIG ? [48] : [1, 3, 48, 49, 192, 200]) {
        const eps = i++ % 2 === 0 ? 1e-5 : 1e-12;
        const what = `layernorm_forward N=${N} C=${C} eps=${eps}`;
        await withPair(gpu, wasm, async (p) => {
          const inp = p.input('inp', randn(rng, N * C, 2, 3)),
            weight = p.input('weight', randn(rng, C, 0.5, 1));
          const bias = p.input('bias', randn(rng, C, 0.5));
          const out = p.output('out', N * C),
            mean = p.output('mean', N),
            rstd = p.output('rstd', N);
          gpu.run('layernorm_forward', out.gpu, mean.gpu, rstd.gpu, inp.gpu, weight.gpu, bias.gpu, N, C, eps);
          wasm.run('layernorm_forward', out.wasm, mean.wasm, rstd.wasm, inp.wasm, weight.wasm, bias.wasm, N, C, eps);
          await compare(p, what, [out, mean, rstd]);
        });
      }
    }
  });

  add('layernorm_backward and layernorm_reduce add to non-zero gradients', async (gpu, wasm) => {
    const rng = new Random(1607);
    for (const N of [1, 3, 65, BIG]) {
      for (const C of N === BIG ? [48] : [1, 3, 48, 49, 192, 200]) {
        const what = `layernorm_backward N=${N} C=${C}`;
        await withPair(gpu, wasm, async (p) => {
          const x = randn(rng, N * C, 2, 3),
            w = randn(rng, C, 0.5, 1);
          const fwd = ref.layernormForward(x, w, new Float32Array(C), N, C, 1e-5);
          const inp = p.input('inp', x),
            weight = p.input('weight', w);
          const mean = p.input('mean', Float32Array.from(fwd.mean)),
            rstd = p.input('rstd', Float32Array.from(fwd.rstd));
          const dout = p.input('dout', randn(rng, N * C));
          const dinp = p.inout('dinp', randn(rng, N * C)),
            dweight = p.inout('dweight', randn(rng, C)),
            dbias = p.inout('dbias', randn(rng, C));
          // each engine's own number of partial sums (its partial rows are its own business)
          const partial = p.output('partial', Math.max(GPU_PARTIALS, wasm.threads) * 2 * C);
          gpu.run('layernorm_backward', dinp.gpu, partial.gpu, dout.gpu, inp.gpu, weight.gpu, mean.gpu, rstd.gpu, N, C);
          gpu.run('layernorm_reduce', dweight.gpu, dbias.gpu, partial.gpu, C, GPU_PARTIALS);
          wasm.run('layernorm_backward', dinp.wasm, partial.wasm, dout.wasm, inp.wasm, weight.wasm, mean.wasm, rstd.wasm, N, C);
          wasm.run('layernorm_reduce', dweight.wasm, dbias.wasm, partial.wasm, C, wasm.sizes.partials);
          await compare(p, what, [dinp, dweight, dbias]);
        });
      }
    }
  });

  // ── loss ────────────────────────────────────────────────────────────────────────────────
  add('softmax_cross_entropy, with and without dlogits and label smoothing, as a batch or a chunk of one', async (gpu, wasm) => {
    const rng = new Random(1608);
    for (const B of [1, 3, 65, 257]) {
      for (const K of [1, 3, 10, 100]) {
        for (const big of [false, true]) {
          for (const smoothing of [0, 0.1]) {
            const withGrad = rng.uniform() < 0.7;
            const norm = rng.uniform() < 0.5 ? B : B + 1 + rng.int(40);
            const what = `softmax_cross_entropy B=${B} K=${K} big=${big} smoothing=${smoothing} norm=${norm} dlogits=${withGrad}`;
            await withPair(gpu, wasm, async (p) => {
              // big: logits in the hundreds, where exp overflows without the max subtracted
              const logits = p.input('logits', randn(rng, B * K, big ? 300 : 3));
              const labels = p.int32(
                'labels',
                Int32Array.from({ length: B }, () => rng.int(K)),
              );
              const probs = p.output('probs', B * K),
                losses = p.output('losses', B);
              const dlogits = withGrad ? p.output('dlogits', B * K) : null;
              gpu.run('softmax_cross_entropy', probs.gpu, losses.gpu, dlogits?.gpu ?? 0, logits.gpu, labels.gpu, B, K, smoothing, norm);
              wasm.run(
                'softmax_cross_entropy',
                probs.wasm,
                losses.wasm,
                dlogits?.wasm ?? 0,
                logits.wasm,
                labels.wasm,
                B,
                K,
                smoothing,
                norm,
              );
              await compare(p, what, [probs, ...(dlogits ? [dlogits] : [])], 1e-5, 1e-7);
              // a loss of logits in the hundreds is a difference of terms in the hundreds: 1e-5 of those
              await compare(p, what, [losses], 1e-5, big ? 1e-3 : 1e-6);
            });
          }
        }
      }
    }
  });

  // ── optimizer and element-wise ──────────────────────────────────────────────────────────
  add('adamw: three steps from non-zero moments', async (gpu, wasm) => {
    const rng = new Random(1609);
    for (const n of [1, 5, 1003, 100_003]) {
      for (const weightDecay of [0, 0.1]) {
        await withPair(gpu, wasm, async (p) => {
          const params = p.inout('params', randn(rng, n)),
            grads = p.input('grads', randn(rng, n));
          const m = p.inout('m', randn(rng, n, 0.1)),
            v = p.inout(
              'v',
              Float32Array.from(randn(rng, n, 0.1), (x) => x * x + 1e-4),
            );
          for (let step = 5; step < 8; step++) {
            const args = [n, 1e-2, 0.9, 0.999, 1e-8, weightDecay, 1 - 0.9 ** step, 1 - 0.999 ** step] as const;
            gpu.run('adamw', params.gpu, grads.gpu, m.gpu, v.gpu, ...args);
            wasm.run('adamw', params.wasm, grads.wasm, m.wasm, v.wasm, ...args);
          }
          await compare(p, `adamw n=${n} wd=${weightDecay}`, [params, m, v]);
        });
      }
    }
  });

  add('fill, scale and add', async (gpu, wasm) => {
    const rng = new Random(1610);
    for (const n of [1, 3, 257, 1_048_579]) {
      await withPair(gpu, wasm, async (p) => {
        const x = p.output('x', n),
          y = p.inout('y', randn(rng, n)),
          a = p.input('a', randn(rng, n)),
          sum = p.output('sum', n);
        gpu.run('fill', x.gpu, n, 0.25);
        wasm.run('fill', x.wasm, n, 0.25);
        gpu.run('scale', y.gpu, n, -1.5);
        wasm.run('scale', y.wasm, n, -1.5);
        gpu.run('add', sum.gpu, y.gpu, a.gpu, n);
        wasm.run('add', sum.wasm, y.wasm, a.wasm, n);
        // the same single float operation on both: equal to the bit
        for (const b of [x, y, sum]) {
          const { gpu: g, wasm: w } = await p.read(b);
          checkExact(g, w, `n=${n} ${b.name}`);
        }
      });
    }
  });

  add("copy and ema (the weights' moving average)", async (gpu, wasm) => {
    const rng = new Random(1611);
    for (const n of [1, 3, 257, 100_003]) {
      for (const decay of [0.999, 0.1]) {
        await withPair(gpu, wasm, async (p) => {
          const average = p.inout('average', randn(rng, n)),
            weights = p.input('weights', randn(rng, n)),
            copied = p.output('copied', n);
          for (const [engine, side] of [
            [gpu, 'gpu'],
            [wasm, 'wasm'],
          ] as const) {
            engine.run('copy', copied[side], weights[side], n);
            engine.run('ema', average[side], weights[side], n, decay);
          }
          const { gpu: c } = await p.read(copied);
          checkExact(c, (await p.read(weights)).gpu, `copy n=${n}`);
          // WGSL has no f64: the WebAssembly kernel's decay is a double, here a float (1 − decay then 1.3e-5 off for 0.999)
          await compare(p, `ema n=${n} decay=${decay}`, [average], 1e-6);
        });
      }
    }
  });

  add('sum_squares and clip_gradients: the norm from fixed partial sums, the scale only when above the limit', async (gpu, wasm) => {
    const rng = new Random(1612);
    for (const n of [1, 3, 1000, 300_001]) {
      for (const limitFactor of [0.5, 2]) {
        const data = randn(rng, n);
        const maxNorm = limitFactor * Math.sqrt(ref.sumSquares(data));
        await withPair(gpu, wasm, async (p) => {
          const x = p.inout('x', data),
            norm = p.output('norm', 1);
          // each engine's own partial sums: GPU_PARTIALS floats here, a double per thread there
          const partial = p.output('partial', Math.max(GPU_PARTIALS, 2 * wasm.sizes.partials));
          for (const [engine, side] of [
            [gpu, 'gpu'],
            [wasm, 'wasm'],
          ] as const) {
            engine.run('sum_squares', partial[side], x[side], n);
            engine.run('clip_gradients', x[side], n, partial[side], maxNorm, norm[side]);
          }
          const what = `n=${n} maxNorm=${limitFactor}·norm`;
          // against float64: the GPU's partial sums are short (a few elements per thread, then trees)
          const exact = Math.sqrt(ref.sumSquares(data));
          const factor = Math.min(1, Math.fround(maxNorm) / (exact + 1e-6));
          checkClose((await p.read(norm)).gpu, [exact], `${what} norm`, 1e-6);
          checkClose(
            (await p.read(x)).gpu,
            Float64Array.from(data, (v) => v * factor),
            `${what} clipped x`,
            2e-6,
          );
          // against the WebAssembly kernel: its float32 lanes run over n/4 elements per thread, so
          // its norm is within 5e-5 (as kernels.test.ts holds it), not 1e-6
          await compare(p, what, [norm, x], 5e-5);
        });
      }
    }
  });

  return cases;
}
