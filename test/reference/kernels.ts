// Plain reference versions of every WebAssembly kernel: scalar loops in float64 over the same
// layouts the kernels document (assembly/*.ts), written for obviousness, not speed. The tests
// compare the SIMD kernels against these; nothing here shares code with the kernels.

/** A row-major matrix of `rows` × `cols` as a new Float64Array: m[r·cols + c] = f(r, c). */
function matrix(rows: number, cols: number, f: (r: number, c: number) => number): Float64Array {
  const m = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) m[r * cols + c] = f(r, c);
  return m;
}

/** wᵀ for w [rows, cols]: B for gemm with `transposed`. */
export function transpose(w: ArrayLike<number>, rows: number, cols: number): Float64Array {
  return matrix(cols, rows, (c, r) => w[r * cols + c]!);
}

// ── matmul ────────────────────────────────────────────────────────────────────────────────

/**
 * out[N, M] = a[N, K] · b[K, M] (+ bias[M]) (+ residual[N, M]) (+ previous out[N, M]).
 * `b` is the logical right-hand matrix: w itself, or wᵀ when gemm's `transposed` is set.
 */
export function gemm(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  bias: ArrayLike<number> | null,
  residual: ArrayLike<number> | null,
  previous: ArrayLike<number> | null,
  N: number,
  K: number,
  M: number,
): Float64Array {
  return matrix(N, M, (n, m) => {
    let s = 0;
    for (let k = 0; k < K; k++) s += a[n * K + k]! * b[k * M + m]!;
    if (bias) s += bias[m]!;
    if (residual) s += residual[n * M + m]!;
    if (previous) s += previous[n * M + m]!;
    return s;
  });
}

/** dweight[M, K] += doutᵀ[M, N] · inp[N, K]; dbias[M] += Σₙ dout[n, m]. Returns new arrays. */
export function matmulBackwardWeight(
  dweight: ArrayLike<number>,
  dbias: ArrayLike<number> | null,
  dout: ArrayLike<number>,
  inp: ArrayLike<number>,
  N: number,
  K: number,
  M: number,
): { dweight: Float64Array; dbias: Float64Array | null } {
  const dw = matrix(M, K, (m, k) => {
    let s = dweight[m * K + k]!;
    for (let n = 0; n < N; n++) s += dout[n * M + m]! * inp[n * K + k]!;
    return s;
  });
  let db: Float64Array | null = null;
  if (dbias) {
    db = new Float64Array(M);
    for (let m = 0; m < M; m++) {
      let s = dbias[m]!;
      for (let n = 0; n < N; n++) s += dout[n * M + m]!;
      db[m] = s;
    }
  }
  return { dweight: dw, dbias: db };
}

// ── layernorm ─────────────────────────────────────────────────────────────────────────────

/** nn.LayerNorm over the last dimension (biased variance, eps inside the square root). */
export function layernormForward(
  inp: ArrayLike<number>,
  weight: ArrayLike<number>,
  bias: ArrayLike<number>,
  N: number,
  C: number,
  eps: number,
): { out: Float64Array; mean: Float64Array; rstd: Float64Array } {
  const out = new Float64Array(N * C),
    mean = new Float64Array(N),
    rstd = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let sum = 0;
    for (let c = 0; c < C; c++) sum += inp[n * C + c]!;
    const mu = sum / C;
    let sq = 0;
    for (let c = 0; c < C; c++) sq += (inp[n * C + c]! - mu) ** 2;
    const s = 1 / Math.sqrt(sq / C + eps);
    for (let c = 0; c < C; c++) out[n * C + c] = (inp[n * C + c]! - mu) * s * weight[c]! + bias[c]!;
    mean[n] = mu;
    rstd[n] = s;
  }
  return { out, mean, rstd };
}

/**
 * The LayerNorm backward pass from the given mean and rstd (taken as exact):
 * dinp += rstd·(dnorm − mean(dnorm) − normed·mean(dnorm·normed)) with dnorm = weight·dout;
 * dweight += Σₙ normed·dout; dbias += Σₙ dout.
 */
export function layernormBackward(
  dinp: ArrayLike<number>,
  dweight: ArrayLike<number>,
  dbias: ArrayLike<number>,
  dout: ArrayLike<number>,
  inp: ArrayLike<number>,
  weight: ArrayLike<number>,
  mean: ArrayLike<number>,
  rstd: ArrayLike<number>,
  N: number,
  C: number,
): { dinp: Float64Array; dweight: Float64Array; dbias: Float64Array } {
  const dx = Float64Array.from(dinp),
    dw = Float64Array.from(dweight),
    db = Float64Array.from(dbias);
  for (let n = 0; n < N; n++) {
    const normed = (c: number): number => (inp[n * C + c]! - mean[n]!) * rstd[n]!;
    let meanA = 0,
      meanB = 0;
    for (let c = 0; c < C; c++) {
      const dnorm = weight[c]! * dout[n * C + c]!;
      meanA += dnorm / C;
      meanB += (dnorm * normed(c)) / C;
    }
    for (let c = 0; c < C; c++) {
      const g = dout[n * C + c]!;
      dx[n * C + c]! += (weight[c]! * g - meanA - normed(c) * meanB) * rstd[n]!;
      dw[c]! += normed(c) * g;
      db[c]! += g;
    }
  }
  return { dinp: dx, dweight: dw, dbias: db };
}

// ── dropout's random numbers ──────────────────────────────────────────────────────────────

/** assembly/simd.ts uniformAt: a hash of (seed, index) as a float in [0, 1), in u32 arithmetic. */
export function uniformAt(seed: number, index: number): number {
  let h = (Math.imul(index >>> 0, 0x9e3779b1) + (seed >>> 0)) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h = (h ^ (h >>> 13)) >>> 0;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  return (h >>> 8) / 16777216;
}

/** 0 (dropped) or 1/(1 − p) (kept) for element `index` of stream `seed`; p is an f32 in the kernels. */
export function dropMultiplier(seed: number, index: number, p: number): number {
  const pf = Math.fround(p);
  return uniformAt(seed, index) < pf ? 0 : 1 / (1 - pf);
}

/** out[i] = inp[i] · dropMultiplier(seed, i, p). */
export function dropout(inp: ArrayLike<number>, p: number, seed: number): Float64Array {
  return Float64Array.from({ length: inp.length }, (_, i) => inp[i]! * dropMultiplier(seed, i, p));
}

// ── attention ─────────────────────────────────────────────────────────────────────────────

/** qkv[b, t, part·C + h·hs + d]: part 0 queries, 1 keys, 2 values. */
const qkvIndex = (b: number, t: number, part: number, h: number, d: number, T: number, C: number, hs: number): number =>
  (b * T + t) * 3 * C + part * C + h * hs + d;

/**
 * out[B, T, C] = Σⱼ P[i, j]·M[i, j]·V[j] per head with P = softmax(Q·Kᵀ/√hs) and M the dropout
 * multipliers of index (bh·T + i)·T + j; att[B, NH, T, T] = P (before dropout). Only query rows
 * i < queries are computed; the others stay 0.
 */
export function attentionForward(
  qkv: ArrayLike<number>,
  B: number,
  T: number,
  C: number,
  NH: number,
  p: number,
  seed: number,
  queries = T,
): { out: Float64Array; att: Float64Array } {
  const hs = C / NH;
  const out = new Float64Array(B * T * C),
    att = new Float64Array(B * NH * T * T);
  const scores = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      const bh = b * NH + h;
      for (let i = 0; i < queries; i++) {
        let max = -Infinity;
        for (let j = 0; j < T; j++) {
          let s = 0;
          for (let d = 0; d < hs; d++) s += qkv[qkvIndex(b, i, 0, h, d, T, C, hs)]! * qkv[qkvIndex(b, j, 1, h, d, T, C, hs)]!;
          scores[j] = s / Math.sqrt(hs);
          max = Math.max(max, scores[j]!);
        }
        let sum = 0;
        for (let j = 0; j < T; j++) sum += Math.exp(scores[j]! - max);
        for (let j = 0; j < T; j++) {
          const prob = Math.exp(scores[j]! - max) / sum;
          att[(bh * T + i) * T + j] = prob;
          const w = p > 0 ? prob * dropMultiplier(seed, (bh * T + i) * T + j, p) : prob;
          for (let d = 0; d < hs; d++) out[(b * T + i) * C + h * hs + d]! += w * qkv[qkvIndex(b, j, 2, h, d, T, C, hs)]!;
        }
      }
    }
  }
  return { out, att };
}

/**
 * The gradient of attentionForward with respect to qkv, given dout and the probabilities P:
 * dV[j] = Σᵢ P·M[i, j]·dout[i]; dP[i, j] = M[i, j]·dout[i]·V[j];
 * dS[i, j] = P[i, j]·(dP[i, j] − Σₖ P[i, k]·dP[i, k]); dQ[i] = Σⱼ dS[i, j]·K[j]/√hs; dK[j] = Σᵢ dS[i, j]·Q[i]/√hs.
 * Only query rows i < queries count (the rows attentionForward computed); dQ of the others is 0.
 */
export function attentionBackward(
  dout: ArrayLike<number>,
  qkv: ArrayLike<number>,
  att: ArrayLike<number>,
  B: number,
  T: number,
  C: number,
  NH: number,
  p: number,
  seed: number,
  queries = T,
): Float64Array {
  const hs = C / NH;
  const dqkv = new Float64Array(B * T * 3 * C);
  const dP = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      const bh = b * NH + h;
      for (let i = 0; i < queries; i++) {
        const P = (j: number): number => att[(bh * T + i) * T + j]!;
        const mult = (j: number): number => (p > 0 ? dropMultiplier(seed, (bh * T + i) * T + j, p) : 1);
        const g = (d: number): number => dout[(b * T + i) * C + h * hs + d]!;
        let dot = 0;
        for (let j = 0; j < T; j++) {
          let s = 0;
          for (let d = 0; d < hs; d++) s += g(d) * qkv[qkvIndex(b, j, 2, h, d, T, C, hs)]!;
          dP[j] = mult(j) * s;
          dot += P(j) * dP[j]!;
          for (let d = 0; d < hs; d++) dqkv[qkvIndex(b, j, 2, h, d, T, C, hs)]! += P(j) * mult(j) * g(d);
        }
        for (let j = 0; j < T; j++) {
          const dS = (P(j) * (dP[j]! - dot)) / Math.sqrt(hs);
          for (let d = 0; d < hs; d++) {
            dqkv[qkvIndex(b, i, 0, h, d, T, C, hs)]! += dS * qkv[qkvIndex(b, j, 1, h, d, T, C, hs)]!;
            dqkv[qkvIndex(b, j, 1, h, d, T, C, hs)]! += dS * qkv[qkvIndex(b, i, 0, h, d, T, C, hs)]!;
          }
        }
      }
    }
  }
  return dqkv;
}

// ── activations ───────────────────────────────────────────────────────────────────────────

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** The seed's NewGELU: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export function geluTanh(x: number): number {
  return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x ** 3)));
}

/** d geluTanh / dx. */
export function geluTanhSlope(x: number): number {
  const t = Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x ** 3));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
}

/** erf to about 1e-14: its Maclaurin series below 3, erfc's continued fraction above. */
export function erf(x: number): number {
  const a = Math.abs(x);
  let y: number;
  if (a < 3) {
    let term = a,
      sum = a;
    for (let n = 1; n < 200 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= (-a * a) / n;
      sum += term / (2 * n + 1);
    }
    y = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    // erfc(a) = e^{−a²}/√π · 1/(a + ½/(a + 1/(a + (3/2)/(a + …)))), evaluated from the bottom up
    let f = a;
    for (let k = 200; k >= 1; k--) f = a + k / 2 / f;
    y = 1 - Math.exp(-a * a) / (Math.sqrt(Math.PI) * f);
  }
  return x < 0 ? -y : y;
}

/** Exact GELU: x·Φ(x) = 0.5·x·(1 + erf(x/√2)). */
export function geluErf(x: number): number {
  return 0.5 * x * (1 + erf(x / Math.SQRT2));
}

/** d geluErf / dx = Φ(x) + x·φ(x). */
export function geluErfSlope(x: number): number {
  return 0.5 * (1 + erf(x / Math.SQRT2)) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI);
}

// ── embeddings ────────────────────────────────────────────────────────────────────────────

/** patches[b·P + py·G + px, (c·p + ky)·p + kx] = images[b, c, py·p + ky, px·p + kx]. */
export function patchify(images: ArrayLike<number>, B: number, Ch: number, H: number, W: number, p: number): Float64Array {
  const G = W / p,
    P = (H / p) * G,
    K = Ch * p * p;
  const out = new Float64Array(B * P * K);
  for (let b = 0; b < B; b++) {
    for (let py = 0; py < H / p; py++) {
      for (let px = 0; px < G; px++) {
        for (let c = 0; c < Ch; c++) {
          for (let ky = 0; ky < p; ky++) {
            for (let kx = 0; kx < p; kx++) {
              out[(b * P + py * G + px) * K + (c * p + ky) * p + kx] = images[((b * Ch + c) * H + py * p + ky) * W + px * p + kx]!;
            }
          }
        }
      }
    }
  }
  return out;
}

/** x[b, 0] = cls + pos[0]; x[b, t] = patchOut[b·(T−1) + t − 1] + pos[t]. */
export function embedForward(
  patchOut: ArrayLike<number>,
  cls: ArrayLike<number>,
  pos: ArrayLike<number>,
  B: number,
  T: number,
  C: number,
): Float64Array {
  const x = new Float64Array(B * T * C);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let c = 0; c < C; c++) {
        const src = t === 0 ? cls[c]! : patchOut[(b * (T - 1) + t - 1) * C + c]!;
        x[(b * T + t) * C + c] = src + pos[t * C + c]!;
      }
    }
  }
  return x;
}

/** dpatchOut[b·(T−1) + t − 1] = dx[b, t] (t ≥ 1); dcls += Σ_b dx[b, 0]; dpos[t] += Σ_b dx[b, t]. */
export function embedBackward(
  dcls: ArrayLike<number>,
  dpos: ArrayLike<number>,
  dx: ArrayLike<number>,
  B: number,
  T: number,
  C: number,
): { dpatchOut: Float64Array; dcls: Float64Array; dpos: Float64Array } {
  const dpatchOut = new Float64Array(B * (T - 1) * C),
    dc = Float64Array.from(dcls),
    dp = Float64Array.from(dpos);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let c = 0; c < C; c++) {
        const g = dx[(b * T + t) * C + c]!;
        dp[t * C + c]! += g;
        if (t === 0) dc[c]! += g;
        else dpatchOut[(b * (T - 1) + t - 1) * C + c] = g;
      }
    }
  }
  return { dpatchOut, dcls: dc, dpos: dp };
}

/** dst (a copy of `dst`) with dst[r·dstStride + c] = src[r·srcStride + c] for r < rows, c < cols. */
export function copyRows(
  dst: ArrayLike<number>,
  dstStride: number,
  src: ArrayLike<number>,
  srcStride: number,
  rows: number,
  cols: number,
): Float64Array {
  const out = Float64Array.from(dst);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * dstStride + c] = src[r * srcStride + c]!;
  return out;
}

// ── loss ──────────────────────────────────────────────────────────────────────────────────

/**
 * probs = softmax(logits); with the target t = (1 − smoothing)·onehot(label) + smoothing/K,
 * losses[b] = −Σₖ t[k]·log probs[b, k] and dlogits = (probs − t)/norm (norm: the images the
 * mean is over, B or a whole batch of which these B are a chunk); the mean loss of these B.
 */
export function softmaxCrossEntropy(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  B: number,
  K: number,
  smoothing = 0,
  norm = B,
): { probs: Float64Array; losses: Float64Array; dlogits: Float64Array; mean: number } {
  const probs = new Float64Array(B * K),
    losses = new Float64Array(B),
    dlogits = new Float64Array(B * K);
  let total = 0;
  for (let b = 0; b < B; b++) {
    let max = -Infinity;
    for (let k = 0; k < K; k++) max = Math.max(max, logits[b * K + k]!);
    let sum = 0;
    for (let k = 0; k < K; k++) sum += Math.exp(logits[b * K + k]! - max);
    let loss = 0;
    for (let k = 0; k < K; k++) {
      const logProb = logits[b * K + k]! - max - Math.log(sum);
      const target = (k === labels[b] ? 1 - smoothing : 0) + smoothing / K;
      probs[b * K + k] = Math.exp(logProb);
      dlogits[b * K + k] = (probs[b * K + k]! - target) / norm;
      loss -= target * logProb;
    }
    losses[b] = loss;
    total += loss;
  }
  return { probs, losses, dlogits, mean: total / B };
}

// ── optimizer and element-wise ────────────────────────────────────────────────────────────

export interface AdamWStep {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  bc1: number;
  bc2: number;
}

/** One torch.optim.AdamW step, as documented in assembly/optimizer.ts. Returns new arrays. */
export function adamw(
  params: ArrayLike<number>,
  grads: ArrayLike<number>,
  m: ArrayLike<number>,
  v: ArrayLike<number>,
  s: AdamWStep,
): { params: Float64Array; m: Float64Array; v: Float64Array } {
  const n = params.length;
  const p1 = new Float64Array(n),
    m1 = new Float64Array(n),
    v1 = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const g = grads[i]!;
    m1[i] = s.beta1 * m[i]! + (1 - s.beta1) * g;
    v1[i] = s.beta2 * v[i]! + (1 - s.beta2) * g * g;
    const decayed = params[i]! * (1 - s.lr * s.weightDecay);
    p1[i] = decayed - ((s.lr / s.bc1) * m1[i]!) / (Math.sqrt(v1[i]!) / Math.sqrt(s.bc2) + s.eps);
  }
  return { params: p1, m: m1, v: v1 };
}

export function sumSquares(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return s;
}

export function scale(x: ArrayLike<number>, factor: number): Float64Array {
  return Float64Array.from({ length: x.length }, (_, i) => x[i]! * factor);
}

export function add(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: a.length }, (_, i) => a[i]! + b[i]!);
}
