// The messages between the inspect views and their inference worker: one request kind per job,
// each answered once, by id, with its result or an error line.
import type { Normalization, RgbImage } from '../../../src/pixels.js';
import type { Classification } from '../../../src/predictions.js';
import type { ClsRowsShape } from '../../../src/model/cls-attention.js';
import type { ViTConfig } from '../../../src/model/config.js';

/** A model as the worker receives it (the parameters are copied, so the page keeps its own). */
export interface ModelPayload {
  config: ViTConfig;
  params: [string, Float32Array][];
  normalization: Normalization;
}

/** CIFAR-10 images as ImageSet holds them: count × (R, G, B planes of 32×32), one label byte each. */
export interface TestSetPayload {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

/** Every block's and head's [CLS] attention rows, [images, layers, heads, patches]. */
export interface AttentionRows {
  rows: Float32Array;
  shape: ClsRowsShape;
  /** Side of the patch grid. */
  gridSize: number;
}

export interface Requests {
  /** Starts the worker's engine on `threads` threads; the first request. */
  start: { request: { threads: number }; result: { engine: string } };
  /** Makes `model` the one the later requests run. */
  load: { request: { model: ModelPayload }; result: { labels: string[] } };
  /** The test images `evaluate` and `attention` refer to. */
  testImages: { request: { set: TestSetPayload }; result: { count: number } };
  /** Softmax probabilities of every test image, [count, classes]. */
  evaluate: { request: Record<string, never>; result: { probabilities: Float32Array; classes: number } };
  /** Probabilities and attention rows of the test images at `indices`. */
  attention: { request: { indices: number[] }; result: AttentionRows & { probabilities: Float32Array } };
  /**
   * Decodes an image file, classifies it as `vit predict` does (top 5) and returns its attention
   * rows and the picture at display size.
   */
  classify: { request: { image: Blob; name: string }; result: AttentionRows & { top: Classification[]; picture: RgbImage } };
}

export type RequestKind = keyof Requests;

export type RequestMessage = { [K in RequestKind]: { id: number; kind: K } & Requests[K]['request'] }[RequestKind];

export type ResponseMessage =
  { id: number; ok: true; result: Requests[RequestKind]['result'] } | { id: number; ok: false; message: string };
