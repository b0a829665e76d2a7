// The kernels' signatures, as the model calls them through Engine.run() on either engine (the
// WebAssembly kernels in assembly/, the WGSL ones in runtime/webgpu/kernels/). Pointers are byte
// offsets into the engine's memory; 0 means "absent" for optional inputs. Arguments that only the
// WebAssembly threads need (gemm's `packed` and `scratch`, attention's `scratch`: sized by
// Engine.sizes, 0 floats on WebGPU) are ignored by the WebGPU engine.

/**
 * What gemm's epilogue does with the MLP's GELU (assembly/activations.ts has the same numbers): a
 * forward mode also stores GELU(out) in the GELU buffer; a backward mode multiplies out by GELU' at
 * the pre-activation held there. One pass and one dispatch fewer than a separate GELU kernel.
 */
export const GELU_MODES = { none: 0, tanhForward: 1, erfForward: 2, tanhBackward: 3, erfBackward: 4 } as const;
export type GeluMode = (typeof GELU_MODES)[keyof typeof GELU_MODES];

/** Every kernel; on WebAssembly each splits its work between threads (the dispatcher adds (tid, nt) in front). */
export interface Kernels {
  gemm(
    out: number,
    a: number,
    w: number,
    transposed: number,
    packed: number,
    scratch: number,
    bias: number,
    residual: number,
    gelu: GeluMode,
    geluBuffer: number,
    N: number,
    K: number,
    M: number,
    accumulate: number,
  ): void;
  linear_backward(
    dweight: number,
    dbias: number,
    dinp: number,
    dout: number,
    inp: number,
    w: number,
    packed: number,
    scratch: number,
    gelu: GeluMode,
    preActivation: number,
    N: number,
    K: number,
    M: number,
    accumulate: number,
  ): void;
  layernorm_forward(
    out: number,
    mean: number,
    rstd: number,
    inp: number,
    weight: number,
    bias: number,
    N: number,
    C: number,
    eps: number,
  ): void;
  layernorm_backward(
    dinp: number,
    partial: number,
    dout: number,
    inp: number,
    weight: number,
    mean: number,
    rstd: number,
    N: number,
    C: number,
  ): void;
  attention_forward(
    out: number,
    att: number,
    qkv: number,
    scratch: number,
    B: number,
    T: number,
    C: number,
    NH: number,
    queries: number,
    dropout: number,
    seed: number,
  ): void;
  attention_backward(
    dqkv: number,
    dout: number,
    qkv: number,
    att: number,
    scratch: number,
    B: number,
    T: number,
    C: number,
    NH: number,
    queries: number,
    dropout: number,
    seed: number,
  ): void;
  dropout(out: number, inp: number, n: number, p: number, seed: number): void;
  patchify(patches: number, images: number, B: number, Ch: number, H: number, W: number, p: number): void;
  embed_forward(x: number, patchOut: number, cls: number, pos: number, B: number, T: number, C: number): void;
  embed_backward(dpatchOut: number, dcls: number, dpos: number, dx: number, B: number, T: number, C: number): void;
  copy_rows(dst: number, dstStride: number, src: number, srcStride: number, rows: number, cols: number): void;
  gather_tokens(dst: number, src: number, kept: number, B: number, T: number, K: number, C: number): void;
  scatter_tokens(dst: number, src: number, kept: number, B: number, T: number, K: number, C: number): void;
  adamw(
    params: number,
    grads: number,
    m: number,
    v: number,
    n: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    bc1: number,
    bc2: number,
  ): void;
  /** Each part's sum of squares of x (one per thread on WebAssembly, Engine.sizes.partials of them). */
  sum_squares(partial: number, x: number, n: number): void;
  /** Sums sum_squares's partials in a fixed order, writes the norm to `norm` (one float), scales x by min(1, maxNorm / (norm + 1e-6)). */
  clip_gradients(x: number, n: number, partial: number, maxNorm: number, norm: number): void;
  /** The weights' moving average: average = decay·average + (1 − decay)·weights. */
  ema(average: number, weights: number, n: number, decay: number): void;
  copy(dst: number, src: number, n: number): void;
  fill(x: number, n: number, value: number): void;
  scale(x: number, n: number, factor: number): void;
  add(out: number, a: number, b: number, n: number): void;
  /** dweight += Σ partial[t][0:C], dbias += Σ partial[t][C:2C] over the `parts` (Engine.sizes.partials) rows layernorm_backward wrote. */
  layernorm_reduce(dweight: number, dbias: number, partial: number, C: number, parts: number): void;
  /** Per-image losses[B], probs, and (when dlogits ≠ 0) d(mean loss over `norm` images)/d(logits); nothing returned. */
  softmax_cross_entropy(
    probs: number,
    losses: number,
    dlogits: number,
    logits: number,
    labels: number,
    B: number,
    K: number,
    smoothing: number,
    norm: number,
  ): void;
}

export type KernelName = keyof Kernels;

/** Index of each kernel in the WebAssembly dispatch protocol; workers look kernels up by this order. */
export const KERNEL_NAMES: readonly KernelName[] = [
  'gemm',
  'linear_backward',
  'layernorm_forward',
  'layernorm_backward',
  'attention_forward',
  'attention_backward',
  'dropout',
  'patchify',
  'embed_forward',
  'embed_backward',
  'copy_rows',
  'adamw',
  'sum_squares',
  'fill',
  'scale',
  'add',
  'gather_tokens',
  'scatter_tokens',
  'clip_gradients',
  'ema',
  'copy',
  'layernorm_reduce',
  'softmax_cross_entropy',
];

/** The WebAssembly module's sizing functions, called on the calling thread: floats of one thread's working memory. */
export interface WasmSizing {
  gemm_scratch_floats(K: number): number;
  gemm_packed_floats(K: number, M: number): number;
  attention_scratch_floats(T: number, hs: number): number;
}

/** The most arguments any kernel takes after (tid, nt). */
export const MAX_KERNEL_ARGS = 14;

export type KernelFunction = (tid: number, nt: number, ...args: number[]) => void;

/** Runs thread `tid`'s share of `kernel` with its arguments, each of the MAX_KERNEL_ARGS named (a spread call is slower). */
export function callKernel(kernel: KernelFunction, tid: number, nt: number, args: ArrayLike<number>): void {
  kernel(
    tid,
    nt,
    args[0]!,
    args[1]!,
    args[2]!,
    args[3]!,
    args[4]!,
    args[5]!,
    args[6]!,
    args[7]!,
    args[8]!,
    args[9]!,
    args[10]!,
    args[11]!,
    args[12]!,
    args[13]!,
  );
}
