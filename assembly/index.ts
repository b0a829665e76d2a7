// Every kernel the JavaScript side dispatches. Each takes (tid, nt) first and does thread tid's
// share of the work out of nt; pointers are byte offsets into the one shared memory.
export { gemm, gemm_scratch_floats, gemm_packed_floats, linear_backward } from './matmul';
export { layernorm_forward, layernorm_backward, layernorm_reduce } from './layernorm';
export { attention_forward, attention_backward, attention_scratch_floats } from './attention';
export { dropout } from './activations';
export { patchify, embed_forward, embed_backward, copy_rows, gather_tokens, scatter_tokens } from './embeddings';
export { softmax_cross_entropy } from './loss';
export { adamw } from './optimizer';
export { fill, scale, add, copy, sum_squares, clip_gradients, ema } from './elementwise';
