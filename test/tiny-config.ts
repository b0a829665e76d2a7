// The training tests' model, in a module without node: imports so that pages load it too.

/** A model small enough to train for a few epochs in seconds: the training tests' model. */
export const TINY_CONFIG = Object.freeze({
  hidden_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 64,
  patch_size: 8,
});
