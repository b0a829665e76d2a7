// Every WGSL kernel the WebGPU engine runs, by the WebAssembly kernel's name.
import type { GpuKernelTable } from '../prelude.js';
import * as elementwise from './elementwise.js';

export const GPU_KERNELS: GpuKernelTable = {
  fill: elementwise.fill,
  scale: elementwise.scale,
  add: elementwise.add,
  copy: elementwise.copy,
  ema: elementwise.ema,
  sum_squares: elementwise.sum_squares,
  clip_gradients: elementwise.clip_gradients,
};
