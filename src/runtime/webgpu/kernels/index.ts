// Every WGSL kernel the WebGPU engine runs, by the WebAssembly kernel's name.
import type { GpuKernelTable } from '../prelude.js';
import * as elementwise from './elementwise.js';
import { gemm, linear_backward } from './matmul.js';
import { layernorm_forward, layernorm_backward, layernorm_reduce } from './layernorm.js';
import { softmax_cross_entropy } from './loss.js';
import { adamw } from './optimizer.js';
import { attentionKernels } from './attention.js';
import { dropoutKernels } from './dropout.js';
import { embeddingKernels } from './embeddings.js';

export const GPU_KERNELS: GpuKernelTable = {
  gemm,
  linear_backward,
  layernorm_forward,
  layernorm_backward,
  layernorm_reduce,
  softmax_cross_entropy,
  adamw,
  fill: elementwise.fill,
  scale: elementwise.scale,
  add: elementwise.add,
  copy: elementwise.copy,
  ema: elementwise.ema,
  sum_squares: elementwise.sum_squares,
  clip_gradients: elementwise.clip_gradients,
  ...attentionKernels,
  ...embeddingKernels,
  ...dropoutKernels,
};
