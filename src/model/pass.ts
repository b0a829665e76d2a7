// What a forward pass ran on, handed from forward() to backward() instead of kept in the layers'
// fields: a backward pass runs on what its own forward pass returned, whatever ran in between.

/** The shape of one pass through a Block. */
export interface Pass {
  /** Images in the pass. */
  batch: number;
  /** Tokens per image: [CLS] + every patch, or + the kept patches when patches are dropped. */
  tokens: number;
  /** Whether the Block went on with the [CLS] token alone after attention (output [batch, hidden]). */
  clsOnly: boolean;
}

/** A Block's pass: its shape, and where its input and output lie. */
export interface BlockPass extends Pass {
  input: number;
  output: number;
}
