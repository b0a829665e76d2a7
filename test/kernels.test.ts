// Every WebAssembly kernel against the plain references in reference/kernels.ts, on random inputs
// and awkward shapes (sizes that are not multiples of the SIMD width 4 or the matmul panel 8), on
// one thread and on three (more threads than work, so some threads get none), and in the build
// without relaxed SIMD (fused multiply-add) as well as the one with it. Every buffer is
// surrounded by sentinels that must survive, inputs must come back unchanged, and outputs that
// are written (not added to) start as NaN so that a skipped element shows.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WasmEngine, type WasmEngineOptions } from '../src/runtime/wasm-engine.js';
import { GELU_MODES } from '../src/runtime/kernels.js';
import { Random } from '../src/random.js';
import * as ref from './reference/kernels.js';
import { assertClose } from './helpers.js';

/** Floats of sentinel on each side of a buffer: one 64-byte line, as far as the allocator lets kernels read past. */
const GUARD = 16;
/** Finite, so a read past an input whose lanes are then discarded stays harmless, but any real use shows. */
const SENTINEL = Math.fround(-1.2345e30);

/** A buffer of n floats in the engine's memory, with GUARD sentinels on each side. */
class Guarded {
  constructor(
    private readonly engine: WasmEngine,
    readonly base: number,
    readonly n: number,
    readonly name: string,
  ) {}

  /** Byte address of the first float (64-byte aligned, as the allocator hands out). */
  get ptr(): number {
    return this.base + GUARD * 4;
  }

  view(): Float32Array {
    return this.engine.f32(this.ptr, this.n);
  }

  read(): Float32Array {
    return this.view().slice();
  }

  /** The whole block, guards included, as raw bits. */
  bits(): Uint32Array {
    return new Uint32Array(this.engine.memory.buffer, this.base, this.n + 2 * GUARD).slice();
  }

  checkGuards(): void {
    const all = this.engine.f32(this.base, this.n + 2 * GUARD);
    for (let i = 0; i < GUARD; i++) {
      assert.ok(Object.is(all[i], SENTINEL), `${this.name}: float ${i - GUARD} before the buffer was overwritten (${all[i]})`);
      const j = GUARD + this.n + i;
      assert.ok(Object.is(all[j], SENTINEL), `${this.name}: float ${this.n + i} (past its ${this.n}) was overwritten (${all[j]})`);
    }
  }
}

/** The buffers of one kernel call; check() verifies the sentinels and the inputs afterwards. */
class Arena {
  private readonly buffers: Guarded[] = [];
  private readonly inputs: Array<{ buffer: Guarded; bits: Uint32Array }> = [];

  constructor(readonly engine: WasmEngine) {}

  private make(name: string, n: number): Guarded {
    const base = this.engine.allocate(n + 2 * GUARD);
    this.engine.f32(base, n + 2 * GUARD).fill(SENTINEL);
    const b = new Guarded(this.engine, base, n, name);
    this.buffers.push(b);
    return b;
  }

  /** A read-only input: must come back bit for bit. */
  input(name: string, data: ArrayLike<number>): Guarded {
    const b = this.make(name, data.length);
    b.view().set(data);
    this.inputs.push({ buffer: b, bits: b.bits() });
    return b;
  }

  /** An output the kernel adds to (or reads and writes): starts as `data`. */
  inout(name: string, data: ArrayLike<number>): Guarded {
    const b = this.make(name, data.length);
    b.view().set(data);
    return b;
  }

  /** An output the kernel must write completely: starts as NaN. */
  output(name: string, n: number): Guarded {
    const b = this.make(name, n);
    b.view().fill(NaN);
    return b;
  }

  /** Integers (labels), read-only. */
  int32(name: string, data: ArrayLike<number>): Guarded {
    const b = this.make(name, data.length);
    this.engine.i32(b.ptr, data.length).set(data);
    this.inputs.push({ buffer: b, bits: b.bits() });
    return b;
  }

  check(): void {
    for (const b of this.buffers) b.checkGuards();
    for (const { buffer, bits } of this.inputs) {
      const now = buffer.bits();
      for (let i = 0; i < now.length; i++) {
        assert.equal(now[i], bits[i], `${buffer.name}: input changed at float ${i - GUARD}`);
      }
    }
  }

  release(): void {
    for (const b of this.buffers) this.engine.release(b.base);
  }
}

/** Runs body with a fresh arena, checks it, and releases it. */
function withArena(engine: WasmEngine, body: (arena: Arena) => void): void {
  const arena = new Arena(engine);
  try {
    body(arena);
    arena.check();
  } finally {
    arena.release();
  }
}

/**
 * Element by element: |actual − expected| ≤ rtol·|expected| + atol (times |atolScale[i]| when given),
 * for functions applied per element.
 */
function assertEach(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  what: string,
  rtol: number,
  atol: number,
  atolScale?: ArrayLike<number>,
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!,
      a = actual[i]!;
    const floor = atol * (atolScale ? Math.abs(atolScale[i]!) : 1);
    assert.ok(
      Math.abs(a - e) <= rtol * Math.abs(e) + floor,
      `${what}: element ${i} is ${a}, expected ${e} (error ${Math.abs(a - e).toExponential(3)})`,
    );
  }
}

function assertExact(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Object.is(actual[i], expected[i]), `${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
  }
}

function randn(rng: Random, n: number, std = 1, mean = 0): Float32Array {
  return Float32Array.from({ length: n }, () => mean + std * rng.normal());
}

/** Columns [from, from + width) of each row of a [rows, stride] matrix: one part of qkv. */
function columns(x: ArrayLike<number>, rows: number, stride: number, from: number, width: number): Float64Array {
  const out = new Float64Array(rows * width);
  for (let r = 0; r < rows; r++) for (let c = 0; c < width; c++) out[r * width + c] = x[r * stride + from + c]!;
  return out;
}

/** Floats the packed right-hand matrix takes: panels of 8 columns, as src/model/linear.ts allocates. */
const packedFloats = (K: number, M: number): number => Math.ceil(M / 8) * 8 * K;

const ENGINES: Array<{ label: string; options: WasmEngineOptions }> = [
  { label: '1 thread', options: { threads: 1 } },
  { label: '3 threads', options: { threads: 3 } },
  { label: '1 thread, plain SIMD (no relaxed fma)', options: { threads: 1, relaxedSimd: false } },
];

for (const { label, options } of ENGINES) {
  describe(`kernels on ${label}`, () => {
    let engine: WasmEngine;
    before(async () => {
      engine = await WasmEngine.create(options);
    });
    after(() => engine.close());

    // ── matmul ─────────────────────────────────────────────────────────────────────────

    /** One gemm case: pack w (as Bᵀ or as B), multiply, compare with the reference. */
    const gemmCase = (rng: Random, N: number, K: number, M: number, flags: number): void => {
      const useBias = (flags & 1) !== 0,
        useResidual = (flags & 2) !== 0,
        accumulate = (flags & 4) !== 0;
      const transposed = (flags & 8) === 0;
      const what = `gemm N=${N} K=${K} M=${M} bias=${useBias} residual=${useResidual} accumulate=${accumulate} ${transposed ? 'w transposed' : 'w as is'}`;
      withArena(engine, (arena) => {
        // w is [M, K] (a Linear weight) when transposed, else [K, M]
        const wData = randn(rng, K * M);
        const a = arena.input('a', randn(rng, N * K));
        const w = arena.input('w', wData);
        const bias = useBias ? arena.input('bias', randn(rng, M)) : null;
        const residual = useResidual ? arena.input('residual', randn(rng, N * M)) : null;
        const previous = randn(rng, N * M);
        const out = accumulate ? arena.inout('out', previous) : arena.output('out', N * M);
        const packed = arena.output('packed', engine.threads * packedFloats(K, M));
        const scratch = arena.output('scratch', engine.sizes.gemmScratch(K));
        engine.run(
          'gemm',
          out.ptr,
          a.ptr,
          w.ptr,
          transposed ? 1 : 0,
          packed.ptr,
          scratch.ptr,
          bias?.ptr ?? 0,
          residual?.ptr ?? 0,
          GELU_MODES.none,
          0,
          N,
          K,
          M,
          accumulate ? 1 : 0,
        );
        arena.check();
        const B = transposed ? ref.transpose(wData, M, K) : wData;
        const expected = ref.gemm(a.read(), B, bias?.read() ?? null, residual?.read() ?? null, accumulate ? previous : null, N, K, M);
        assertClose(out.read(), expected, what, 1e-5, 1e-6);
      });
    };

    test('gemm (w transposed and as is) on a grid of awkward shapes', () => {
      const rng = new Random(101);
      const sizes = [1, 3, 5, 8, 13, 17, 64, 144];
      for (const N of sizes) for (const K of [1, 3, 7, 48]) for (const M of sizes) gemmCase(rng, N, K, M, rng.int(16));
    });

    test('gemm: every combination of bias, residual, accumulate and packing', () => {
      const rng = new Random(102);
      for (const [N, K, M] of [
        [13, 7, 17],
        [144, 48, 64],
        [5, 1, 3],
        [1, 3, 9],
      ] as const) {
        for (let flags = 0; flags < 16; flags++) gemmCase(rng, N, K, M, flags);
      }
    });

    test('gemm on random shapes', () => {
      const rng = new Random(103);
      for (let i = 0; i < 24; i++) gemmCase(rng, 1 + rng.int(200), 1 + rng.int(80), 1 + rng.int(160), rng.int(16));
    });

    test('linear_backward adds to non-zero gradients and writes or adds the input gradient', () => {
      const rng = new Random(104);
      let i = 0;
      for (const N of [1, 5, 13, 144, 300]) {
        for (const K of [1, 3, 7, 8, 48]) {
          for (const M of [1, 3, 5, 17, 64]) {
            const withBias = i % 2 === 0;
            // by turns: no input gradient (the patch projection's case), a written one, an added one
            const inputGradient = (['none', 'write', 'add'] as const)[i++ % 3]!;
            withArena(engine, (arena) => {
              const dw0 = randn(rng, M * K),
                db0 = randn(rng, M),
                dinp0 = randn(rng, N * K);
              const dweight = arena.inout('dweight', dw0);
              const dbias = withBias ? arena.inout('dbias', db0) : null;
              const dout = arena.input('dout', randn(rng, N * M));
              const inp = arena.input('inp', randn(rng, N * K));
              const wData = randn(rng, M * K);
              const w = arena.input('w', wData);
              const dinp =
                inputGradient === 'none' ? null : inputGradient === 'add' ? arena.inout('dinp', dinp0) : arena.output('dinp', N * K);
              const packed = arena.output('packed', engine.threads * packedFloats(M, K));
              const scratch = arena.output('scratch', engine.sizes.gemmScratch(M));
              engine.run(
                'linear_backward',
                dweight.ptr,
                dbias?.ptr ?? 0,
                dinp?.ptr ?? 0,
                dout.ptr,
                inp.ptr,
                w.ptr,
                packed.ptr,
                scratch.ptr,
                GELU_MODES.none,
                0,
                N,
                K,
                M,
                inputGradient === 'add' ? 1 : 0,
              );
              arena.check();
              const expected = ref.matmulBackwardWeight(dw0, withBias ? db0 : null, dout.read(), inp.read(), N, K, M);
              const what = `linear_backward N=${N} K=${K} M=${M} input gradient ${inputGradient}`;
              assertClose(dweight.read(), expected.dweight, `${what} dweight`, 1e-5, 1e-6);
              if (dbias) assertClose(dbias.read(), expected.dbias!, `${what} dbias`, 1e-5, 1e-6);
              if (dinp) {
                const expectedDinp = ref.gemm(dout.read(), wData, null, null, inputGradient === 'add' ? dinp0 : null, N, M, K);
                assertClose(dinp.read(), expectedDinp, `${what} dinp`, 1e-5, 1e-6);
              }
            });
          }
        }
      }
    });

    // ── layernorm ──────────────────────────────────────────────────────────────────────

    test('layernorm_forward', () => {
      const rng = new Random(105);
      let i = 0;
      for (const N of [1, 2, 5, 17, 65]) {
        for (const C of [1, 3, 4, 20, 48, 49]) {
          const eps = i++ % 2 === 0 ? 1e-5 : 1e-12;
          withArena(engine, (arena) => {
            // rows off-centre and wide, so that the mean and variance matter
            const inp = arena.input('inp', randn(rng, N * C, 2, 3));
            const weight = arena.input('weight', randn(rng, C, 0.5, 1));
            const bias = arena.input('bias', randn(rng, C, 0.5));
            const out = arena.output('out', N * C),
              mean = arena.output('mean', N),
              rstd = arena.output('rstd', N);
            engine.run('layernorm_forward', out.ptr, mean.ptr, rstd.ptr, inp.ptr, weight.ptr, bias.ptr, N, C, eps);
            arena.check();
            const expected = ref.layernormForward(inp.read(), weight.read(), bias.read(), N, C, eps);
            const what = `layernorm_forward N=${N} C=${C} eps=${eps}`;
            assertClose(out.read(), expected.out, `${what} out`, 1e-5, 1e-6);
            assertClose(mean.read(), expected.mean, `${what} mean`, 1e-5, 1e-6);
            // a one-wide row has zero variance: rstd is 1/√eps, compared relative to itself
            assertEach(rstd.read(), expected.rstd, `${what} rstd`, 1e-5, 0);
          });
        }
      }
    });

    test('layernorm_forward on rows far off centre (mean 30, spread 1)', () => {
      // the two-pass variance keeps 2e-6 here; E[x²] − mean² in float32 would lose 3e-4
      const rng = new Random(120);
      for (const C of [3, 48, 49]) {
        withArena(engine, (arena) => {
          const N = 17;
          const inp = arena.input('inp', randn(rng, N * C, 1, 30));
          const weight = arena.input('weight', randn(rng, C, 0.5, 1)),
            bias = arena.input('bias', randn(rng, C, 0.5));
          const out = arena.output('out', N * C),
            mean = arena.output('mean', N),
            rstd = arena.output('rstd', N);
          engine.run('layernorm_forward', out.ptr, mean.ptr, rstd.ptr, inp.ptr, weight.ptr, bias.ptr, N, C, 1e-5);
          arena.check();
          const expected = ref.layernormForward(inp.read(), weight.read(), bias.read(), N, C, 1e-5);
          assertClose(out.read(), expected.out, `layernorm_forward off centre C=${C} out`, 1e-5, 1e-6);
          assertEach(rstd.read(), expected.rstd, `layernorm_forward off centre C=${C} rstd`, 1e-5, 0);
        });
      }
    });

    test('layernorm_backward and layernorm_reduce add to non-zero gradients', () => {
      const rng = new Random(106);
      const nt = engine.threads;
      for (const N of [1, 2, 5, 17, 65]) {
        for (const C of [1, 3, 4, 20, 48, 49]) {
          withArena(engine, (arena) => {
            const x = randn(rng, N * C, 2, 3);
            const w = randn(rng, C, 0.5, 1);
            const fwd = ref.layernormForward(x, w, new Float32Array(C), N, C, 1e-5);
            const inp = arena.input('inp', x),
              weight = arena.input('weight', w);
            const mean = arena.input('mean', Float32Array.from(fwd.mean)),
              rstd = arena.input('rstd', Float32Array.from(fwd.rstd));
            const dout = arena.input('dout', randn(rng, N * C));
            const dx0 = randn(rng, N * C),
              dw0 = randn(rng, C),
              db0 = randn(rng, C);
            const dinp = arena.inout('dinp', dx0),
              dweight = arena.inout('dweight', dw0),
              dbias = arena.inout('dbias', db0);
            const partial = arena.inout('partial', randn(rng, nt * 2 * C, 100));
            engine.run('layernorm_backward', dinp.ptr, partial.ptr, dout.ptr, inp.ptr, weight.ptr, mean.ptr, rstd.ptr, N, C);
            engine.run('layernorm_reduce', dweight.ptr, dbias.ptr, partial.ptr, C, nt);
            arena.check();
            const expected = ref.layernormBackward(dx0, dw0, db0, dout.read(), x, w, mean.read(), rstd.read(), N, C);
            const what = `layernorm_backward N=${N} C=${C}`;
            assertClose(dinp.read(), expected.dinp, `${what} dinp`, 1e-5, 1e-6);
            assertClose(dweight.read(), expected.dweight, `${what} dweight`, 1e-5, 1e-6);
            assertClose(dbias.read(), expected.dbias, `${what} dbias`, 1e-5, 1e-6);
          });
        }
      }
    });

    // ── attention ──────────────────────────────────────────────────────────────────────

    /**
     * Each head size with each sequence length, all query rows, with and without dropout, and
     * with only some query rows (1: the [CLS] token alone, as the last block asks); batch and
     * heads vary from case to case.
     */
    const attentionCases = (): Array<{ B: number; T: number; NH: number; hs: number; queries: number; p: number; seed: number }> => {
      const cases = [];
      let i = 0;
      for (const T of [2, 5, 17, 65]) {
        for (const hs of [1, 3, 4, 6, 12, 16, 20, 64]) {
          const B = 1 + (i % 2),
            NH = 1 + (i % 3);
          const p = [0.1, 0.5, 0.25][i % 3]!,
            seed = [12345, 0xdeadbeef, 7][i % 3]!;
          cases.push({ B, T, NH, hs, queries: T, p: 0, seed: 0 });
          cases.push({ B, T, NH, hs, queries: T, p, seed });
          cases.push({ B, T, NH, hs, queries: i % 2 === 0 ? 1 : T - 1, p: i % 4 < 2 ? 0 : p, seed });
          i++;
        }
      }
      return cases;
    };

    /** Rows [0, queries) of each group of T rows of width `width`: the query rows computed. */
    const queryRows = (x: ArrayLike<number>, groups: number, T: number, width: number, queries: number): Float64Array => {
      const out = new Float64Array(groups * queries * width);
      for (let g = 0; g < groups; g++) {
        for (let i = 0; i < queries * width; i++) out[g * queries * width + i] = x[g * T * width + i]!;
      }
      return out;
    };

    test('attention_forward, with and without dropout, all or some query rows', () => {
      const rng = new Random(107);
      for (const { B, T, NH, hs, queries, p, seed } of attentionCases()) {
        const C = NH * hs;
        const what = `attention_forward B=${B} T=${T} NH=${NH} hs=${hs} queries=${queries} dropout=${p}`;
        withArena(engine, (arena) => {
          // scores of a few units, so the softmax is neither flat nor one-hot
          const qkv = arena.input('qkv', randn(rng, B * T * 3 * C, 1.5));
          const out = arena.output('out', B * T * C),
            att = arena.output('att', B * NH * T * T);
          const scratch = arena.output('scratch', engine.sizes.attentionScratch(T, hs));
          engine.run('attention_forward', out.ptr, att.ptr, qkv.ptr, scratch.ptr, B, T, C, NH, queries, p, seed);
          arena.check();
          const expected = ref.attentionForward(qkv.read(), B, T, C, NH, p, seed, queries);
          // rows past `queries` are left as they were: only the computed ones are compared
          assertClose(
            queryRows(att.read(), B * NH, T, T, queries),
            queryRows(expected.att, B * NH, T, T, queries),
            `${what} att`,
            1e-5,
            1e-7,
          );
          assertClose(queryRows(out.read(), B, T, C, queries), queryRows(expected.out, B, T, C, queries), `${what} out`, 1e-5, 1e-6);
        });
      }
    });

    test('attention_forward with scores in the hundreds (the softmax must subtract its row maximum)', () => {
      const rng = new Random(121);
      for (const [B, T, NH, hs] of [
        [1, 17, 2, 16],
        [2, 5, 1, 3],
        [1, 65, 1, 64],
      ] as const) {
        const C = NH * hs;
        withArena(engine, (arena) => {
          const qkv = arena.input('qkv', randn(rng, B * T * 3 * C, 8));
          const out = arena.output('out', B * T * C),
            att = arena.output('att', B * NH * T * T);
          const scratch = arena.output('scratch', engine.sizes.attentionScratch(T, hs));
          engine.run('attention_forward', out.ptr, att.ptr, qkv.ptr, scratch.ptr, B, T, C, NH, T, 0, 0);
          arena.check();
          const expected = ref.attentionForward(qkv.read(), B, T, C, NH, 0, 0);
          const what = `attention_forward large scores B=${B} T=${T} NH=${NH} hs=${hs}`;
          // a float32 score near 200 is itself 2e-5 uncertain, and softmax passes that on; without
          // the maximum subtracted, exp's clamp at 88 would be off by far more
          assertClose(att.read(), expected.att, `${what} att`, 1e-4, 1e-7);
          assertClose(out.read(), expected.out, `${what} out`, 1e-4, 1e-6);
        });
      }
    });

    test('attention_backward, with and without dropout, all or some query rows, overwriting dqkv', () => {
      const rng = new Random(108);
      for (const { B, T, NH, hs, queries, p, seed } of attentionCases()) {
        const C = NH * hs;
        const what = `attention_backward B=${B} T=${T} NH=${NH} hs=${hs} queries=${queries} dropout=${p}`;
        withArena(engine, (arena) => {
          const qkvData = randn(rng, B * T * 3 * C, 1.5);
          // the probability rows forward did not compute hold stale values: finite garbage here
          const attData = Float32Array.from(ref.attentionForward(qkvData, B, T, C, NH, 0, 0).att, (v, k) =>
            Math.floor(k / T) % T < queries ? v : 1e4 * (1 + (k % 7)),
          );
          // and the gradient of the rows not computed is 0, as the contract asks
          const doutData = Float32Array.from(randn(rng, B * T * C), (v, k) => (Math.floor(k / C) % T < queries ? v : 0));
          const qkv = arena.input('qkv', qkvData),
            att = arena.input('att', attData),
            dout = arena.input('dout', doutData);
          // dqkv is written, not added to: start it as garbage
          const dqkv = arena.inout('dqkv', randn(rng, B * T * 3 * C, 1000));
          const scratch = arena.output('scratch', engine.sizes.attentionScratch(T, hs));
          engine.run('attention_backward', dqkv.ptr, dout.ptr, qkv.ptr, att.ptr, scratch.ptr, B, T, C, NH, queries, p, seed);
          arena.check();
          const expected = ref.attentionBackward(doutData, qkvData, attData, B, T, C, NH, p, seed, queries);
          const got = dqkv.read();
          // Q, K and V separately, so an error in a small part is not hidden by a large one
          for (const [part, name] of ['dq', 'dk', 'dv'].entries()) {
            assertClose(
              columns(got, B * T, 3 * C, part * C, C),
              columns(expected, B * T, 3 * C, part * C, C),
              `${what} ${name}`,
              1e-5,
              1e-6,
            );
          }
        });
      }
    });

    // ── activations and dropout ────────────────────────────────────────────────────────

    /** Random values with the special ones first: zero, tiny, large, and past the exp clamp. */
    const activationInputs = (rng: Random, n: number): Float32Array => {
      const specials = [0, -0, 1e-8, -1e-8, 0.5, -0.5, 3, -3, 6, -6, 10, -10, 30, -30, 100, -100];
      const x = randn(rng, n, 3);
      for (let i = 0; i < Math.min(n, specials.length); i++) x[i] = specials[i]!;
      return x;
    };
    /** The C×C identity: a product with it leaves its operand exactly as it was, so the GELU epilogue sees x itself. */
    const identity = (C: number): Float32Array => Float32Array.from({ length: C * C }, (_, i) => (i % (C + 1) === 0 ? 1 : 0));
    // C = 8 fills gemm's panels (the SIMD epilogue), C = 3 does not (the element-by-element one)
    const GELU_SHAPES = [
      [1, 8],
      [5, 8],
      [130, 8],
      [1, 3],
      [7, 3],
      [333, 3],
    ] as const;

    for (const [form, f, slope] of [
      ['tanh', ref.geluTanh, ref.geluTanhSlope],
      ['erf', ref.geluErf, ref.geluErfSlope],
    ] as const) {
      const forward = form === 'tanh' ? GELU_MODES.tanhForward : GELU_MODES.erfForward;
      const backward = form === 'tanh' ? GELU_MODES.tanhBackward : GELU_MODES.erfBackward;

      test(`gemm's GELU epilogue, ${form} form, forward: out as without it, GELU(out) in the GELU buffer`, () => {
        const rng = new Random(110);
        for (const [N, C] of GELU_SHAPES) {
          withArena(engine, (arena) => {
            const n = N * C;
            const x = activationInputs(rng, n);
            const inp = arena.input('inp', x);
            const w = arena.input('w', identity(C));
            const out = arena.output('out', n),
              activated = arena.output('activated', n);
            const packed = arena.output('packed', engine.threads * packedFloats(C, C));
            const scratch = arena.output('scratch', engine.sizes.gemmScratch(C));
            engine.run('gemm', out.ptr, inp.ptr, w.ptr, 1, packed.ptr, scratch.ptr, 0, 0, forward, activated.ptr, N, C, C, 0);
            arena.check();
            assertEach(out.read(), x, `${form} forward N=${N} C=${C}: out`, 0, 0);
            assertEach(activated.read(), Array.from(x, f), `${form} forward N=${N} C=${C}: GELU`, 1e-5, 1e-6);
          });
        }
      });

      test(`linear_backward's GELU epilogue, ${form} form: the input gradient times GELU' at the pre-activation`, () => {
        const rng = new Random(111);
        for (const [N, C] of GELU_SHAPES) {
          withArena(engine, (arena) => {
            const n = N * C;
            const x = activationInputs(rng, n),
              g = randn(rng, n);
            const preActivation = arena.input('preActivation', x);
            const dout = arena.input('dout', g);
            const inp = arena.input('inp', randn(rng, n));
            const w = arena.input('w', identity(C));
            const dweight = arena.inout('dweight', new Float32Array(C * C));
            const dinp = arena.output('dinp', n);
            const packed = arena.output('packed', engine.threads * packedFloats(C, C));
            const scratch = arena.output('scratch', engine.sizes.gemmScratch(C));
            engine.run(
              'linear_backward',
              dweight.ptr,
              0,
              dinp.ptr,
              dout.ptr,
              inp.ptr,
              w.ptr,
              packed.ptr,
              scratch.ptr,
              backward,
              preActivation.ptr,
              N,
              C,
              C,
              0,
            );
            arena.check();
            const expected = Array.from(x, (xi, i) => slope(xi) * g[i]!);
            // The slope's error is absolute: the tanh form's 1 − t² loses about 2e-6 of it in float32
            // near x ≈ −5, where tanh → −1; so the floor scales with dout.
            assertEach(dinp.read(), expected, `${form} backward N=${N} C=${C}`, 1e-5, 4e-6, g);
          });
        }
      });
    }

    test('dropout: the mask of (seed, index), separately and in place', () => {
      const rng = new Random(112);
      for (const n of [1, 3, 17, 1003, 4096]) {
        for (const p of [0.1, 0.5, 0.9]) {
          for (const seed of [1, 0xdeadbeef]) {
            const inPlace = rng.uniform() < 0.5;
            withArena(engine, (arena) => {
              // no zeros in the input, so a zero out means dropped
              const x = Float32Array.from(randn(rng, n), (v) => v + Math.sign(v || 1) * 0.1);
              const inp = inPlace ? arena.inout('inp', x) : arena.input('inp', x);
              const out = inPlace ? inp : arena.output('out', n);
              engine.run('dropout', out.ptr, inp.ptr, n, p, seed);
              arena.check();
              const got = out.read(),
                expected = ref.dropout(x, p, seed);
              const what = `dropout n=${n} p=${p} seed=${seed} inPlace=${inPlace}`;
              let dropped = 0;
              for (let i = 0; i < n; i++) {
                assert.equal(got[i] === 0, expected[i] === 0, `${what}: element ${i} kept/dropped differs`);
                if (got[i] === 0) dropped++;
              }
              assertEach(got, expected, what, 1e-6, 0);
              if (n === 4096) assert.ok(Math.abs(dropped / n - p) < 0.03, `${what}: dropped ${dropped} of ${n}`);
            });
          }
        }
      }
    });

    // ── embeddings ─────────────────────────────────────────────────────────────────────

    test('patchify', () => {
      const rng = new Random(113);
      const cases = [
        [1, 1, 4, 4, 1],
        [2, 3, 8, 8, 4],
        [2, 3, 12, 12, 4],
        [1, 3, 8, 8, 8],
        [3, 1, 6, 6, 3],
        [2, 2, 8, 12, 2],
        [1, 3, 32, 32, 4],
        [2, 3, 10, 10, 5],
        [5, 3, 9, 9, 3],
      ] as const;
      for (const [B, Ch, H, W, p] of cases) {
        withArena(engine, (arena) => {
          const images = arena.input('images', randn(rng, B * Ch * H * W));
          const patches = arena.output('patches', B * Ch * H * W);
          engine.run('patchify', patches.ptr, images.ptr, B, Ch, H, W, p);
          arena.check();
          assertExact(
            patches.read(),
            Float32Array.from(ref.patchify(images.read(), B, Ch, H, W, p)),
            `patchify B=${B} Ch=${Ch} H=${H} W=${W} p=${p}`,
          );
        });
      }
    });

    test('embed_forward and embed_backward', () => {
      const rng = new Random(114);
      for (const B of [1, 2, 3]) {
        for (const T of [2, 5, 17]) {
          for (const C of [1, 3, 20, 48]) {
            const what = `B=${B} T=${T} C=${C}`;
            withArena(engine, (arena) => {
              const patchOut = arena.input('patchOut', randn(rng, B * (T - 1) * C));
              const cls = arena.input('cls', randn(rng, C)),
                pos = arena.input('pos', randn(rng, T * C));
              const x = arena.output('x', B * T * C);
              engine.run('embed_forward', x.ptr, patchOut.ptr, cls.ptr, pos.ptr, B, T, C);
              arena.check();
              const expected = Float32Array.from(ref.embedForward(patchOut.read(), cls.read(), pos.read(), B, T, C));
              assertExact(x.read(), expected, `embed_forward ${what}`);
            });
            withArena(engine, (arena) => {
              const dcls0 = randn(rng, C),
                dpos0 = randn(rng, T * C);
              const dx = arena.input('dx', randn(rng, B * T * C));
              const dpatchOut = arena.output('dpatchOut', B * (T - 1) * C);
              const dcls = arena.inout('dcls', dcls0),
                dpos = arena.inout('dpos', dpos0);
              engine.run('embed_backward', dpatchOut.ptr, dcls.ptr, dpos.ptr, dx.ptr, B, T, C);
              arena.check();
              const expected = ref.embedBackward(dcls0, dpos0, dx.read(), B, T, C);
              assertExact(dpatchOut.read(), Float32Array.from(expected.dpatchOut), `embed_backward ${what} dpatchOut`);
              assertClose(dcls.read(), expected.dcls, `embed_backward ${what} dcls`, 1e-6, 1e-7);
              assertClose(dpos.read(), expected.dpos, `embed_backward ${what} dpos`, 1e-6, 1e-7);
            });
          }
        }
      }
    });

    test('copy_rows leaves the gaps between strided rows alone', () => {
      const rng = new Random(115);
      for (const rows of [1, 5, 17]) {
        for (const cols of [1, 3, 48]) {
          for (const [srcGap, dstGap] of [
            [0, 0],
            [3, 0],
            [0, 5],
            [7, 2],
          ] as const) {
            withArena(engine, (arena) => {
              const srcStride = cols + srcGap,
                dstStride = cols + dstGap;
              const src = arena.input('src', randn(rng, rows * srcStride));
              const dst0 = randn(rng, rows * dstStride);
              const dst = arena.inout('dst', dst0);
              engine.run('copy_rows', dst.ptr, dstStride, src.ptr, srcStride, rows, cols);
              arena.check();
              const expected = Float32Array.from(ref.copyRows(dst0, dstStride, src.read(), srcStride, rows, cols));
              assertExact(dst.read(), expected, `copy_rows rows=${rows} cols=${cols} strides ${srcStride}→${dstStride}`);
            });
          }
        }
      }
    });

    // ── loss ───────────────────────────────────────────────────────────────────────────

    test('softmax_cross_entropy, with and without dlogits and label smoothing, as a batch or a chunk of one', () => {
      const rng = new Random(116);
      for (const B of [1, 3, 17]) {
        for (const K of [1, 2, 3, 10, 13]) {
          for (const big of [false, true]) {
            for (const smoothing of [0, 0.1]) {
              withArena(engine, (arena) => {
                // big: logits in the hundreds, where exp overflows without the max subtracted
                const logits = arena.input('logits', randn(rng, B * K, big ? 300 : 3));
                const labelData = Array.from({ length: B }, () => rng.int(K));
                const labels = arena.int32('labels', labelData);
                const probs = arena.output('probs', B * K),
                  losses = arena.output('losses', B);
                const withGrad = rng.uniform() < 0.7;
                const dlogits = withGrad ? arena.output('dlogits', B * K) : null;
                // these B images as the whole batch, or as a chunk of a batch of `norm`
                const norm = rng.uniform() < 0.5 ? B : B + 1 + rng.int(40);
                engine.run(
                  'softmax_cross_entropy',
                  probs.ptr,
                  losses.ptr,
                  dlogits?.ptr ?? 0,
                  logits.ptr,
                  labels.ptr,
                  B,
                  K,
                  smoothing,
                  norm,
                );
                arena.check();
                // smoothing arrives as a float32
                const expected = ref.softmaxCrossEntropy(logits.read(), labelData, B, K, Math.fround(smoothing), norm);
                const what = `softmax_cross_entropy B=${B} K=${K} big=${big} smoothing=${smoothing} norm=${norm}`;
                assertClose(probs.read(), expected.probs, `${what} probs`, 1e-5, 1e-7);
                // losses of logits in the hundreds are sums of terms in the hundreds: relative to those
                const lossScale = big ? 1e-3 : 1e-5;
                assertEach(losses.read(), expected.losses, `${what} losses`, 1e-5, lossScale);
                if (dlogits) assertClose(dlogits.read(), expected.dlogits, `${what} dlogits`, 1e-5, 1e-7);
              });
            }
          }
        }
      }
    });

    // ── optimizer and element-wise ─────────────────────────────────────────────────────

    test('adamw: three steps from non-zero moments', () => {
      const rng = new Random(117);
      for (const n of [1, 3, 4, 5, 17, 1000, 1003]) {
        for (const weightDecay of [0, 0.1]) {
          withArena(engine, (arena) => {
            // some gradients 0 after a history (m, v ≠ 0), some parameters never touched (g = m = v = 0);
            // never v = 0 with m ≠ 0, which AdamW cannot reach and which divides by eps alone
            const untouched = (i: number): boolean => i % 11 === 5;
            const params = arena.inout('params', randn(rng, n));
            const grads = arena.input(
              'grads',
              Float32Array.from(randn(rng, n), (g, i) => (i % 7 === 3 || untouched(i) ? 0 : g)),
            );
            const m = arena.inout(
              'm',
              Float32Array.from(randn(rng, n, 0.1), (x, i) => (untouched(i) ? 0 : x)),
            );
            const v = arena.inout(
              'v',
              Float32Array.from(randn(rng, n, 0.1), (x, i) => (untouched(i) ? 0 : x * x + 1e-4)),
            );
            for (let step = 5; step < 8; step++) {
              // the kernel takes its scalars as float32: 1 − fround(0.999) is 1.3e-5 off 0.001
              const f = Math.fround;
              const s: ref.AdamWStep = {
                lr: f(1e-2),
                beta1: f(0.9),
                beta2: f(0.999),
                eps: f(1e-8),
                weightDecay: f(weightDecay),
                bc1: f(1 - 0.9 ** step),
                bc2: f(1 - 0.999 ** step),
              };
              const before = { p: params.read(), m: m.read(), v: v.read() };
              engine.run('adamw', params.ptr, grads.ptr, m.ptr, v.ptr, n, s.lr, s.beta1, s.beta2, s.eps, s.weightDecay, s.bc1, s.bc2);
              arena.check();
              const expected = ref.adamw(before.p, grads.read(), before.m, before.v, s);
              const what = `adamw n=${n} wd=${weightDecay} step=${step}`;
              // each parameter's step (about lr) on its own, so no error is lost in the parameters'
              // size or in another's larger step; the floor is the float32 rounding of a parameter
              const got = params.read();
              const steps = Float64Array.from(got, (x, i) => x - before.p[i]!);
              const expectedSteps = expected.params.map((x, i) => x - before.p[i]!);
              assertEach(steps, expectedSteps, `${what} step`, 1e-3, 4e-7);
              // β·m and (1 − β)·g can cancel: the floors are float32's rounding of those terms
              assertEach(m.read(), expected.m, `${what} m`, 1e-6, 3e-8);
              assertEach(v.read(), expected.v, `${what} v`, 1e-6, 3e-9);
            }
          });
        }
      }
    });

    test('sum_squares: one partial per thread, even for threads without work', () => {
      const rng = new Random(118);
      const threads = engine.threads;
      for (const n of [0, 1, 3, 5, 17, 1003, 10000]) {
        withArena(engine, (arena) => {
          const x = arena.input('x', randn(rng, n));
          const partial = arena.output('partial', 2 * threads); // nt float64s
          engine.run('sum_squares', partial.ptr, x.ptr, n);
          arena.check();
          const parts = engine.f64(partial.ptr, threads);
          let total = 0;
          for (const s of parts) total += s;
          const expected = ref.sumSquares(x.read());
          assert.ok(
            Math.abs(total - expected) <= 5e-5 * expected + 1e-30,
            `sum_squares n=${n}: ${total}, expected ${expected} (partials ${Array.from(parts)})`,
          );
        });
      }
    });

    test("clip_gradients: the norm from sum_squares's partials, and x scaled only when the norm is above maxNorm", () => {
      const rng = new Random(121);
      for (const n of [1, 3, 5, 17, 1003]) {
        const data = randn(rng, n);
        const norm = Math.sqrt(ref.sumSquares(data));
        for (const maxNorm of [2 * norm, norm / 3]) {
          withArena(engine, (arena) => {
            const x = arena.inout('x', data);
            const partial = arena.output('partial', 2 * engine.sizes.partials);
            const written = arena.output('norm', 1);
            engine.run('sum_squares', partial.ptr, x.ptr, n);
            engine.run('clip_gradients', x.ptr, n, partial.ptr, maxNorm, written.ptr);
            arena.check();
            const what = `clip_gradients n=${n} maxNorm=${maxNorm === norm / 3 ? 'norm/3' : '2·norm'}`;
            assert.ok(Math.abs(written.read()[0]! - norm) <= 1e-6 * norm, `${what}: norm ${written.read()[0]}, expected ${norm}`);
            const factor = maxNorm / (norm + 1e-6);
            assertClose(x.read(), factor < 1 ? Float32Array.from(data, (v) => v * factor) : data, what, 1e-6, 0);
          });
        }
      }
    });

    test('ema and copy: the moving average in float64, rounded once; an exact copy', () => {
      const rng = new Random(122);
      for (const n of [0, 1, 3, 17, 1003]) {
        for (const decay of [0, 0.1, 0.999]) {
          withArena(engine, (arena) => {
            const a0 = randn(rng, n),
              w = randn(rng, n);
            const average = arena.inout('average', a0),
              weights = arena.input('weights', w);
            engine.run('ema', average.ptr, weights.ptr, n, decay);
            arena.check();
            assertExact(
              average.read(),
              Float32Array.from(a0, (a, i) => decay * a + (1 - decay) * w[i]!),
              `ema n=${n} decay=${decay}`,
            );
          });
        }
        withArena(engine, (arena) => {
          const data = randn(rng, n);
          const src = arena.input('src', data),
            dst = arena.output('dst', n);
          engine.run('copy', dst.ptr, src.ptr, n);
          arena.check();
          assertExact(dst.read(), data, `copy n=${n}`);
        });
      }
    });

    test('fill, scale and add (add in place on either input)', () => {
      const rng = new Random(119);
      for (const n of [0, 1, 3, 4, 17, 1003]) {
        for (const value of [0, -2.5]) {
          withArena(engine, (arena) => {
            const x = arena.output('x', n);
            engine.run('fill', x.ptr, n, value);
            arena.check();
            assertExact(x.read(), new Float32Array(n).fill(value), `fill n=${n} value=${value}`);
          });
        }
        withArena(engine, (arena) => {
          const data = randn(rng, n);
          const x = arena.inout('x', data);
          engine.run('scale', x.ptr, n, -1.5);
          arena.check();
          assertExact(x.read(), Float32Array.from(ref.scale(data, -1.5)), `scale n=${n}`);
        });
        for (const alias of ['none', 'a', 'b'] as const) {
          withArena(engine, (arena) => {
            const aData = randn(rng, n),
              bData = randn(rng, n);
            const a = alias === 'a' ? arena.inout('a', aData) : arena.input('a', aData);
            const b = alias === 'b' ? arena.inout('b', bData) : arena.input('b', bData);
            const out = alias === 'a' ? a : alias === 'b' ? b : arena.output('out', n);
            engine.run('add', out.ptr, a.ptr, b.ptr, n);
            arena.check();
            assertExact(out.read(), Float32Array.from(ref.add(aData, bData)), `add n=${n} out=${alias}`);
          });
        }
      }
    });
  });
}
