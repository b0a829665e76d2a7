// ONNX Runtime for the tests that check vit-ts's ONNX export: onnxruntime-web's WebAssembly build, which runs
// in Node with no native binary and no install-time download (its .wasm is found beside the module).
// One thread: the tests compare values, and the suite already runs two test files at once on the cores.
import { env } from 'onnxruntime-web';

env.wasm.numThreads = 1;

export { InferenceSession, Tensor } from 'onnxruntime-web';
