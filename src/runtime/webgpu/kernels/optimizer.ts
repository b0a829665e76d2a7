// AdamW on WebGPU, element by element as the WebAssembly kernel (torch.optim.AdamW).
import { elementwise } from './elementwise.js';
import type { GpuKernel } from '../prelude.js';

/**
 * One AdamW step over params[n]: p ← p·(1 − lr·wd); m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
 * p ← p − (lr / bc1) · m / (√v / √bc2 + eps).
 */
export const adamw: GpuKernel = {
  args: [
    ['params', 'ptr'],
    ['grads', 'ptr'],
    ['m', 'ptr'],
    ['v', 'ptr'],
    ['n', 'u32'],
    ['lr', 'f32'],
    ['beta1', 'f32'],
    ['beta2', 'f32'],
    ['eps', 'f32'],
    ['weightDecay', 'f32'],
    ['bc1', 'f32'],
    ['bc2', 'f32'],
  ],
  wgsl: /* wgsl */ `
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let decay = 1.0 - args.lr * args.weightDecay;
  let stepSize = args.lr / args.bc1;
  let sqrtBc2 = sqrt(args.bc2);
  let stride = nwg.x * 256u;
  for (var i = gid.x; i < args.n; i += stride) {
    let g = ld(args.grads + i);
    let m = args.beta1 * ld(args.m + i) + (1.0 - args.beta1) * g;
    let v = args.beta2 * ld(args.v + i) + (1.0 - args.beta2) * (g * g);
    st(args.m + i, m);
    st(args.v + i, v);
    let denom = sqrt(v) / sqrtBc2 + args.eps;
    st(args.params + i, ld(args.params + i) * decay - stepSize * (m / denom));
  }
}`,
  dispatches: (a) => elementwise(a.n!),
};
