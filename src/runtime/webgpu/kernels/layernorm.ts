// LayerNorm on WebGPU. Rows: a workgroup of 256 threads takes 16 rows, 16 threads to a row, each
// thread every 16th column, the row's sums by a tree in workgroup memory (two passes for the
// variance, as the WebAssembly kernel). The weight and bias gradients: GPU_PARTIALS fixed groups
// of rows, one thread per column summing its group's rows in order; layernorm_reduce adds the
// groups in order. No atomics: the same numbers every run.
import { FLAT_WORKGROUP, GPU_PARTIALS, grid, type GpuKernel } from '../prelude.js';

// Few threads to a row: fewer barriers per row (4), and rows of 48…768 floats still give each thread 3…48.
const ROWS_PER_GROUP = 16;
const LANES = 16;

const ROWS_WGSL = /* wgsl */ `
${FLAT_WORKGROUP}
var<workgroup> sums: array<f32, ${ROWS_PER_GROUP * LANES}>;
// The sum of v over the ${LANES} threads of lid's row; every thread of the workgroup must call it.
fn rowSum(lid: u32, v: f32) -> f32 {
  sums[lid] = v;
  let lane = lid % ${LANES}u;
  for (var half = ${LANES / 2}u; half > 0u; half >>= 1u) {
    workgroupBarrier();
    if (lane < half) { sums[lid] += sums[lid + half]; }
  }
  workgroupBarrier();
  let s = sums[lid - lane];
  workgroupBarrier();
  return s;
}`;

const rowGroups = (N: number): readonly [number, number] => grid(Math.ceil(N / ROWS_PER_GROUP));

export const layernorm_forward: GpuKernel = {
  args: [
    ['out', 'ptr'],
    ['mean', 'ptr'],
    ['rstd', 'ptr'],
    ['inp', 'ptr'],
    ['weight', 'ptr'],
    ['bias', 'ptr'],
    ['N', 'u32'],
    ['C', 'u32'],
    ['eps', 'f32'],
  ],
  wgsl: /* wgsl */ `${ROWS_WGSL}
@compute @workgroup_size(${ROWS_PER_GROUP * LANES})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let n = flatWorkgroup(wid, nwg) * ${ROWS_PER_GROUP}u + lid / ${LANES}u;
  let lane = lid % ${LANES}u;
  let C = args.C;
  let valid = n < args.N;
  let x = args.inp + n * C;
  var s = 0.0;
  if (valid) { for (var c = lane; c < C; c += ${LANES}u) { s += ld(x + c); } }
  let mu = rowSum(lid, s) / f32(C);
  var q = 0.0;
  if (valid) { for (var c = lane; c < C; c += ${LANES}u) { let d = ld(x + c) - mu; q += d * d; } }
  let r = 1.0 / sqrt(rowSum(lid, q) / f32(C) + args.eps);
  if (!valid) { return; }
  let y = args.out + n * C;
  for (var c = lane; c < C; c += ${LANES}u) { st(y + c, (ld(x + c) - mu) * r * ld(args.weight + c) + ld(args.bias + c)); }
  if (lane == 0u) {
    st(args.mean + n, mu);
    st(args.rstd + n, r);
  }
}`,
  dispatches: (a) => [{ entry: 'main', workgroups: rowGroups(a.N!) }],
};

/**
 * dinp += the gradient through the LayerNorm; the weight and bias gradients of group p of rows go
 * to partial + p·2C (C for the weight, then C for the bias), GPU_PARTIALS groups, for layernorm_reduce.
 */
export const layernorm_backward: GpuKernel = {
  args: [
    ['dinp', 'ptr'],
    ['partial', 'ptr'],
    ['dout', 'ptr'],
    ['inp', 'ptr'],
    ['weight', 'ptr'],
    ['mean', 'ptr'],
    ['rstd', 'ptr'],
    ['N', 'u32'],
    ['C', 'u32'],
  ],
  wgsl: /* wgsl */ `${ROWS_WGSL}
// Rows and columns in one dispatch (neither reads what the other writes): the first
// ⌈N / ${ROWS_PER_GROUP}⌉ workgroups take rows, the rest columns.
@compute @workgroup_size(${ROWS_PER_GROUP * LANES})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let group = flatWorkgroup(wid, nwg);
  let rowGroups = (args.N + ${ROWS_PER_GROUP - 1}u) / ${ROWS_PER_GROUP}u;
  if (group < rowGroups) {
    rows(lid, group);
  } else {
    columns(lid, group - rowGroups);
  }
}

fn rows(lid: u32, group: u32) {
  let n = group * ${ROWS_PER_GROUP}u + lid / ${LANES}u;
  let lane = lid % ${LANES}u;
  let C = args.C;
  let valid = n < args.N;
  var mu = 0.0;
  var r = 0.0;
  if (valid) { mu = ld(args.mean + n); r = ld(args.rstd + n); }
  let x = args.inp + n * C;
  let g = args.dout + n * C;
  // two row means: of dnorm = w·dout, and of dnorm·normed
  var a = 0.0;
  var b = 0.0;
  if (valid) {
    for (var c = lane; c < C; c += ${LANES}u) {
      let dnorm = ld(args.weight + c) * ld(g + c);
      a += dnorm;
      b += dnorm * ((ld(x + c) - mu) * r);
    }
  }
  let invC = 1.0 / f32(C);
  let meanA = rowSum(lid, a) * invC;
  let meanB = rowSum(lid, b) * invC;
  if (!valid) { return; }
  let dx = args.dinp + n * C;
  for (var c = lane; c < C; c += ${LANES}u) {
    let normed = (ld(x + c) - mu) * r;
    let dnorm = ld(args.weight + c) * ld(g + c);
    st(dx + c, ld(dx + c) + (dnorm - meanA - normed * meanB) * r);
  }
}

// partial[p][c] = Σ normed·dout, partial[p][C + c] = Σ dout over group p's rows, in row order;
// ${ROWS_PER_GROUP * LANES} columns of one p per workgroup
fn columns(lid: u32, group: u32) {
  let C = args.C;
  let groupsC = (C + ${ROWS_PER_GROUP * LANES - 1}u) / ${ROWS_PER_GROUP * LANES}u;
  let c = (group % groupsC) * ${ROWS_PER_GROUP * LANES}u + lid;
  let p = group / groupsC;
  if (c >= C || p >= ${GPU_PARTIALS}u) { return; }
  let rows = (args.N + ${GPU_PARTIALS - 1}u) / ${GPU_PARTIALS}u;
  var dw = 0.0;
  var db = 0.0;
  for (var n = p * rows; n < min(args.N, (p + 1u) * rows); n++) {
    let g = ld(args.dout + n * C + c);
    dw += (ld(args.inp + n * C + c) - ld(args.mean + n)) * ld(args.rstd + n) * g;
    db += g;
  }
  st(args.partial + p * 2u * C + c, dw);
  st(args.partial + p * 2u * C + C + c, db);
}`,
  dispatches: (a) => [
    { entry: 'main', workgroups: grid(Math.ceil(a.N! / ROWS_PER_GROUP) + Math.ceil(a.C! / (ROWS_PER_GROUP * LANES)) * GPU_PARTIALS) },
  ],
};

/** dweight += Σ_p partial[p][0:C], dbias += Σ_p partial[p][C:2C], p = 0 … parts − 1 in order. */
export const layernorm_reduce: GpuKernel = {
  args: [
    ['dweight', 'ptr'],
    ['dbias', 'ptr'],
    ['partial', 'ptr'],
    ['C', 'u32'],
    ['parts', 'u32'],
  ],
  wgsl: /* wgsl */ `
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  let C = args.C;
  if (c >= C) { return; }
  var dw = ld(args.dweight + c);
  var db = ld(args.dbias + c);
  for (var p = 0u; p < args.parts; p++) {
    dw += ld(args.partial + p * 2u * C + c);
    db += ld(args.partial + p * 2u * C + C + c);
  }
  st(args.dweight + c, dw);
  st(args.dbias + c, db);
}`,
  dispatches: (a) => [{ entry: 'main', workgroups: [Math.ceil(a.C! / 64)] }],
};
