// Softmax cross-entropy over the classifier's logits on WebGPU, one thread per image.
import { MATH_WGSL } from './math.js';
import type { GpuKernel } from '../prelude.js';

/**
 * probs = softmax(logits[B, K]); losses[b] = the cross-entropy against (1 − smoothing)·onehot(label)
 * + smoothing/K; dlogits = (probs − target) / norm when dlogits ≠ 0. labels are int32. The mean
 * loss is read from `losses` by whoever needs it: nothing waits here.
 */
export const softmax_cross_entropy: GpuKernel = {
  args: [
    ['probs', 'ptr'],
    ['losses', 'ptr'],
    ['dlogits', 'ptr'],
    ['logits', 'ptr'],
    ['labels', 'ptr'],
    ['B', 'u32'],
    ['K', 'u32'],
    ['smoothing', 'f32'],
    ['norm', 'u32'],
  ],
  wgsl: /* wgsl */ `${MATH_WGSL}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let b = gid.x;
  if (b >= args.B) { return; }
  let K = args.K;
  let row = args.logits + b * K;
  let p = args.probs + b * K;
  var m = ld(row);
  for (var k = 1u; k < K; k++) { m = max(m, ld(row + k)); }
  var sum = 0.0;
  for (var k = 0u; k < K; k++) {
    let e = vexp(ld(row + k) - m);
    st(p + k, e);
    sum += e;
  }
  for (var k = 0u; k < K; k++) { st(p + k, ld(p + k) / sum); }
  let label = u32(ldi(args.labels + b));
  let logSum = m + log(sum);
  let smoothing = args.smoothing;
  var loss = -(1.0 - smoothing) * (ld(row + label) - logSum);
  if (smoothing > 0.0) {
    var all = 0.0;
    for (var k = 0u; k < K; k++) { all += ld(row + k) - logSum; }
    loss -= smoothing / f32(K) * all;
  }
  st(args.losses + b, loss);
  if (args.dlogits != 0u) {
    let d = args.dlogits + b * K;
    let norm = f32(args.norm);
    for (var k = 0u; k < K; k++) {
      let t = select(0.0, 1.0 - smoothing, k == label) + smoothing / f32(K);
      st(d + k, (ld(p + k) - t) / norm);
    }
  }
}`,
  dispatches: (a) => [{ entry: 'main', workgroups: [Math.ceil(a.B! / 64)] }],
};
