// AdamW as torch.optim.AdamW computes it, over one contiguous block of parameters.

import { share, at } from './simd';

/**
 * One AdamW step for params[n] with grads[n] and moments m[n], v[n]:
 * p ← p − lr·wd·p; m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
 * p ← p − (lr / bc1) · m / (√v / √bc2 + eps), with bc1 = 1 − β1^t and bc2 = 1 − β2^t.
 */
export function adamw(tid: i32, nt: i32, params: usize, grads: usize, m: usize, v: usize, n: i32,
                      lr: f32, beta1: f32, beta2: f32, eps: f32, weightDecay: f32, bc1: f32, bc2: f32): void {
  const start = share(n >> 2, tid, nt) << 2;
  const end = tid == nt - 1 ? n : share(n >> 2, tid + 1, nt) << 2;
  const decay = f32x4.splat(1 - lr * weightDecay);
  const b1 = f32x4.splat(beta1), b2 = f32x4.splat(beta2);
  const c1 = f32x4.splat(1 - beta1), c2 = f32x4.splat(1 - beta2);
  const stepSize = f32x4.splat(lr / bc1);
  const sqrtBc2 = f32x4.splat(Mathf.sqrt(bc2));
  const veps = f32x4.splat(eps);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const g = v128.load(at(grads, i));
    const mi = f32x4.add(f32x4.mul(b1, v128.load(at(m, i))), f32x4.mul(c1, g));
    const vi = f32x4.add(f32x4.mul(b2, v128.load(at(v, i))), f32x4.mul(c2, f32x4.mul(g, g)));
    v128.store(at(m, i), mi);
    v128.store(at(v, i), vi);
    const denom = f32x4.add(f32x4.div(f32x4.sqrt(vi), sqrtBc2), veps);
    const p = f32x4.mul(v128.load(at(params, i)), decay);
    v128.store(at(params, i), f32x4.sub(p, f32x4.mul(stepSize, f32x4.div(mi, denom))));
  }
  for (; i < end; i++) {
    const g = load<f32>(at(grads, i));
    const mi = beta1 * load<f32>(at(m, i)) + (1 - beta1) * g;
    const vi = beta2 * load<f32>(at(v, i)) + (1 - beta2) * g * g;
    store<f32>(at(m, i), mi);
    store<f32>(at(v, i), vi);
    const p = load<f32>(at(params, i)) * (1 - lr * weightDecay);
    store<f32>(at(params, i), p - (lr / bc1) * mi / (Mathf.sqrt(vi) / Mathf.sqrt(bc2) + eps));
  }
}
