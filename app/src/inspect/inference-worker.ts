// The inspect views' inference worker: its own engine and model, off the page's main thread
// (which may not block in Atomics.wait). Requests run one at a time, in the order they came.
import { BatchMaker } from '../../../src/data/augment.js';
import type { ImageSet } from '../../../src/data/cifar10.js';
import { UserError } from '../../../src/errors.js';
import { MAX_IMAGE_PIXELS, type RgbImage, rawToRgb, resizeRgb } from '../../../src/pixels.js';
import { DEFAULT_TOP_K, namedClasses, runModel, topClasses } from '../../../src/predictions.js';
import { clsAttentionRows, clsRowsShape } from '../../../src/model/cls-attention.js';
import { numPatches } from '../../../src/model/config.js';
import { ViTForClassification } from '../../../src/model/vit.js';
import { Random } from '../../../src/random.js';
import type { Engine } from '../../../src/runtime/engine.js';
import { startEngine } from '../engine.js';
import { imageSize } from './image-header.js';
import type { AttentionRows, ModelPayload, RequestMessage, Requests, ResponseMessage } from './protocol.js';

/** Images per forward pass: bounds the memory the attention probabilities take. */
const BATCH = 32;
/** The picture Classify draws is at most this many pixels on its longer side. */
const DISPLAY_SIDE = 320;

interface Loaded {
  model: ViTForClassification;
  payload: ModelPayload;
  labels: string[];
}

let engine: Engine | undefined;
let loaded: Loaded | undefined;
let testSet: ImageSet | undefined;

function current(): Loaded {
  if (!loaded) throw new UserError('no model yet: train one or open one in the Model tab');
  return loaded;
}

function testImages(): ImageSet {
  if (!testSet) throw new UserError('no test images yet');
  return testSet;
}

async function start({ threads }: Requests['start']['request']): Promise<Requests['start']['result']> {
  engine ??= await startEngine(threads);
  return { engine: engine.description };
}

async function load({ model: payload }: Requests['load']['request']): Promise<Requests['load']['result']> {
  if (!engine) throw new Error('the inference worker got a model before its start request');
  const model = await ViTForClassification.create(payload.config, { engine });
  try {
    model.loadStateDict(new Map(payload.params));
  } catch (e) {
    model.release();
    throw e;
  }
  loaded?.model.release();
  const labels = namedClasses(model.config);
  loaded = { model, payload, labels };
  return { labels };
}

/** What turns test images into the model's input as `vit eval` and `vit attention` prepare them. */
function testImageMaker(model: ViTForClassification, { mean, std }: ModelPayload['normalization']): BatchMaker {
  // Without augmentation the generator is never drawn from.
  return new BatchMaker(model.config.image_size, model.config.num_channels, { mean: [...mean], std: [...std] }, new Random(0));
}

/** Softmax of each row of `logits` [count, classes], written into `out` at row `first`. */
function softmaxRows(logits: Float32Array, count: number, classes: number, out: Float32Array, first: number): void {
  for (let i = 0; i < count; i++) {
    const row = logits.subarray(i * classes, (i + 1) * classes);
    const max = row.reduce((a, b) => Math.max(a, b), -Infinity);
    let total = 0;
    for (let c = 0; c < classes; c++) total += Math.exp(row[c]! - max);
    for (let c = 0; c < classes; c++) out[(first + i) * classes + c] = Math.exp(row[c]! - max) / total;
  }
}

async function evaluate(): Promise<Requests['evaluate']['result']> {
  const { model, payload } = current();
  const set = testImages();
  const classes = model.config.num_classes;
  const order = Uint32Array.from({ length: set.count }, (_, i) => i);
  const probabilities = new Float32Array(set.count * classes);
  const maker = testImageMaker(model, payload.normalization);
  for (let start = 0; start < set.count; start += BATCH) {
    const count = Math.min(BATCH, set.count - start);
    maker.fill(model.imageBuffer(count), set, order, start, count, false);
    softmaxRows(await model.infer(count), count, classes, probabilities, start);
  }
  return { probabilities, classes };
}

const gridSide = (model: ViTForClassification): number => Math.round(Math.sqrt(numPatches(model.config)));

async function attention({ indices }: Requests['attention']['request']): Promise<Requests['attention']['result']> {
  const { model, payload } = current();
  const set = testImages();
  for (const i of indices)
    if (!(Number.isInteger(i) && i >= 0 && i < set.count)) throw new RangeError(`test image ${i} is outside 0…${set.count - 1}`);
  const shape = clsRowsShape(model);
  const classes = model.config.num_classes;
  const perImage = shape.layers * shape.heads * shape.patches;
  const rows = new Float32Array(indices.length * perImage);
  const probabilities = new Float32Array(indices.length * classes);
  const maker = testImageMaker(model, payload.normalization);
  for (let start = 0; start < indices.length; start += BATCH) {
    const count = Math.min(BATCH, indices.length - start);
    maker.fill(model.imageBuffer(count), set, indices, start, count, false);
    model.forward(count);
    softmaxRows(await model.readLogits(), count, classes, probabilities, start);
    rows.set(await clsAttentionRows(model, count), start * perImage);
  }
  return { rows, shape, gridSize: gridSide(model), probabilities };
}

const FORMATS = 'expected a PNG, JPEG, WebP, GIF or BMP';

/**
 * The browser's own decoder, without colour conversion or premultiplied alpha, to RGB bytes; the
 * size in the file's header is checked first, as `vit predict` checks it, so nothing huge is decoded.
 */
async function decode(image: Blob, name: string): Promise<RgbImage> {
  const size = await imageSize(image);
  if (size === null) throw new UserError(`${name}: cannot decode the image; ${FORMATS}`);
  if (size.width * size.height > MAX_IMAGE_PIXELS) {
    throw new UserError(
      `${name}: ${size.width}×${size.height} is ${((size.width * size.height) / 1e6).toFixed(0)} megapixels, ` +
        `more than the ${MAX_IMAGE_PIXELS / 1e6} this decodes; scale it down first`,
    );
  }
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(image, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch {
    throw new UserError(`${name}: cannot decode the image; ${FORMATS}`);
  }
  const { width, height } = bitmap;
  const context = new OffscreenCanvas(width, height).getContext('2d');
  if (!context) throw new Error('no 2D canvas in this worker');
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  return rawToRgb({ data: context.getImageData(0, 0, width, height).data, width, height, channels: 4 }, name);
}

async function classify({ image, name }: Requests['classify']['request']): Promise<Requests['classify']['result']> {
  const { model, payload, labels } = current();
  const decoded = await decode(image, name);
  const size = model.config.image_size;
  // What `vit predict` does after decoding: PIL's bilinear resize, the model's normalization, softmax.
  const logits = await runModel(model, [resizeRgb(decoded, size, size)], payload.normalization);
  const top = topClasses(logits, labels, Math.min(DEFAULT_TOP_K, labels.length));
  const rows: AttentionRows = { rows: await clsAttentionRows(model, 1), shape: clsRowsShape(model), gridSize: gridSide(model) };
  const scale = Math.min(1, DISPLAY_SIDE / Math.max(decoded.width, decoded.height));
  const picture = resizeRgb(decoded, Math.max(1, Math.round(decoded.width * scale)), Math.max(1, Math.round(decoded.height * scale)));
  return { ...rows, top, picture };
}

function setTestImages({ set }: Requests['testImages']['request']): Requests['testImages']['result'] {
  testSet = { ...set, classNames: [] };
  return { count: set.count };
}

async function handle(message: RequestMessage): Promise<Requests[RequestMessage['kind']]['result']> {
  switch (message.kind) {
    case 'start':
      return start(message);
    case 'load':
      return load(message);
    case 'testImages':
      return setTestImages(message);
    case 'evaluate':
      return evaluate();
    case 'attention':
      return attention(message);
    case 'classify':
      return classify(message);
  }
}

/** Transferable buffers of a result, so that large arrays move instead of being copied. */
function buffersOf(result: object): ArrayBuffer[] {
  return Object.values(result).flatMap((value) => {
    if (ArrayBuffer.isView(value) && value.buffer instanceof ArrayBuffer) return [value.buffer];
    if (
      value !== null &&
      typeof value === 'object' &&
      'data' in value &&
      ArrayBuffer.isView(value.data) &&
      value.data.buffer instanceof ArrayBuffer
    )
      return [value.data.buffer];
    return [];
  });
}

let queue: Promise<void> = Promise.resolve();

self.onmessage = (event: MessageEvent<RequestMessage>) => {
  const message = event.data;
  queue = queue.then(async () => {
    let response: ResponseMessage;
    try {
      response = { id: message.id, ok: true, result: await handle(message) };
    } catch (e) {
      response = { id: message.id, ok: false, message: e instanceof Error ? e.message : String(e) };
    }
    postMessage(response, response.ok ? buffersOf(response.result) : []);
  });
};
