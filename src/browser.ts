/**
 * vit-ts in a browser (or any runtime without Node's file system): the model, the engine and the
 * safetensors format, with nothing that imports `node:` modules. Serve dist/ (the kernels are
 * fetched from dist/wasm/ beside it) with the headers that make SharedArrayBuffer available
 * (Cross-Origin-Opener-Policy: same-origin, Cross-Origin-Embedder-Policy: require-corp), and run
 * the model inside a Web Worker: a page's main thread may not block in Atomics.wait. Without
 * SharedArrayBuffer (no such headers; WebKitGTK even with them) the engine runs one thread on a
 * plain memory, with the kernels built for one (dist/wasm/kernels[-relaxed]-unshared.wasm).
 *
 * ```ts
 * import { ViTForClassification, parseSafetensors, toCanonical, resolveConfig } from 'vit-ts/browser';
 * const { tensors, metadata } = parseSafetensors(new Uint8Array(await (await fetch('model.safetensors')).arrayBuffer()), 'model');
 * const config = resolveConfig(JSON.parse(metadata.config!));
 * const model = await ViTForClassification.create(config);
 * model.loadStateDict(toCanonical(tensors, config, 'model'));
 * ```
 */
export { ViTForClassification, type CreateOptions } from './model/vit.js';
export { type TokenSelection, drawKeptPatches } from './model/patch-dropout.js';
export { Random } from './random.js';
export { type ViTConfig, SEED_CONFIG, resolveConfig } from './model/config.js';
export { type Engine, type EngineOptions, type EngineSizes, type Backend, createEngine, getEngine } from './runtime/engine.js';
export { WasmEngine, type WasmEngineOptions } from './runtime/wasm-engine.js';
export { type Tensor, parseSafetensors, encodeSafetensors } from './io/safetensors-format.js';
export { toCanonical, fromCanonical, detectLayout, type Layout } from './weights/layouts.js';
export { exportOnnx } from './export/onnx.js';
export { UserError } from './errors.js';
