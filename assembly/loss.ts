// Softmax cross-entropy over the classifier's logits, fused with its gradient.

import { at, share } from './simd';

/**
 * For logits[B, K] and integer labels[B]: probs = softmax(logits) and the cross-entropy against
 * the target t = (1 − smoothing)·onehot(label) + smoothing/K (label smoothing; 0 = plain labels):
 * losses[b] = −Σ_k t_k·log probs[b, k], and, when dlogits ≠ 0, dlogits = (probs − t) / norm: the
 * gradient of the mean loss over `norm` images (B, or the whole batch when these B images are one
 * chunk of it). Returns nothing: the loss is read from `losses` when wanted, so that a training
 * step never waits for it. Each thread takes its share of the rows.
 */
export function softmax_cross_entropy(tid: i32, nt: i32, probs: usize, losses: usize, dlogits: usize, logits: usize, labels: usize,
                                      B: i32, K: i32, smoothing: f32, norm: i32): void {
  for (let b = share(B, tid, nt), end = share(B, tid + 1, nt); b < end; b++) {
    const row = at(logits, b * K), p = at(probs, b * K);
    let m: f32 = -Infinity;
    for (let k = 0; k < K; k++) m = max(m, load<f32>(at(row, k)));
    let sum: f32 = 0;
    for (let k = 0; k < K; k++) {
      const e = Mathf.exp(load<f32>(at(row, k)) - m);
      store<f32>(at(p, k), e);
      sum += e;
    }
    for (let k = 0; k < K; k++) store<f32>(at(p, k), load<f32>(at(p, k)) / sum);
    const label = load<i32>(labels + (<usize>b << 2));
    const logSum = m + Mathf.log(sum);
    let loss: f32 = -(<f32>1.0 - smoothing) * (load<f32>(at(row, label)) - logSum);
    if (smoothing > 0) {
      let allLogProbs: f32 = 0;
      for (let k = 0; k < K; k++) allLogProbs += load<f32>(at(row, k)) - logSum;
      loss -= smoothing / <f32>K * allLogProbs;
    }
    store<f32>(at(losses, b), loss);
    if (dlogits) {
      const d = at(dlogits, b * K);
      for (let k = 0; k < K; k++) {
        const target: f32 = (k == label ? <f32>1.0 - smoothing : <f32>0.0) + smoothing / <f32>K;
        store<f32>(at(d, k), (load<f32>(at(p, k)) - target) / <f32>norm);
      }
    }
  }
}
