// A model as one .safetensors file: its parameters in a layout's names (the seed's by default) and
// its config in the metadata, so the file alone is enough to load it. Bytes only: Node writes them
// (weights/files.ts), the page offers them as a download.
import { encodeSafetensors } from '../io/safetensors-format.js';
import type { ViTConfig } from '../model/config.js';
import { type Layout, fromCanonical } from './layouts.js';

export interface ModelFileOptions {
  /** 'seed' (the default) is the seed article's state_dict, readable by its PyTorch code. */
  layout?: Layout;
  metadata?: Record<string, string>;
}

/** The safetensors bytes of a model given as its config and canonical parameters. */
export function encodeModelFile(config: ViTConfig, params: Map<string, Float32Array>, options: ModelFileOptions = {}): Uint8Array {
  return encodeSafetensors(fromCanonical(params, config, options.layout ?? 'seed'), modelMetadata(config, options.metadata));
}

/** The metadata of a model file: the config, beside `extra`. */
export function modelMetadata(config: ViTConfig, extra: Record<string, string> = {}): Record<string, string> {
  // transformers refuses safetensors files without a "format" entry.
  return { format: 'pt', ...extra, config: JSON.stringify(config) };
}
