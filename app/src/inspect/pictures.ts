// Drawing the pictures the views show: RGB bytes on a canvas, and the attention figure's panels
// (the image, and the image under its [CLS] attention map) with the CLI's overlay code.
import type { RgbImage } from '../../../src/pixels.js';
import { CIFAR10_SIZE, type ImageSet } from '../../../src/data/cifar10.js';
import { overlayAttention } from '../../../src/viz/attention-map.js';

/** A canvas holding `image`; `label` is what a screen reader says. */
export function rgbCanvas(image: RgbImage, label: string): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = image.width;
  canvas.height = image.height;
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', label);
  const rgba = new ImageData(image.width, image.height);
  for (let p = 0; p < image.width * image.height; p++) {
    rgba.data[p * 4] = image.data[p * 3]!;
    rgba.data[p * 4 + 1] = image.data[p * 3 + 1]!;
    rgba.data[p * 4 + 2] = image.data[p * 3 + 2]!;
    rgba.data[p * 4 + 3] = 255;
  }
  canvas.getContext('2d')!.putImageData(rgba, 0, 0);
  return canvas;
}

/** `image` with the attention map over it, as `vit attention` draws it. */
export function overlayCanvas(image: RgbImage, attention: Float32Array, gridSize: number, label: string): HTMLCanvasElement {
  const data = overlayAttention({ image: image.data, width: image.width, height: image.height, attention, gridSize });
  return rgbCanvas({ data, width: image.width, height: image.height }, label);
}

/** Test image `index` of the set, from its R, G, B planes to interleaved RGB bytes. */
export function testImage(set: ImageSet, index: number): RgbImage {
  const plane = CIFAR10_SIZE * CIFAR10_SIZE;
  const planes = set.images.subarray(index * 3 * plane, (index + 1) * 3 * plane);
  const data = new Uint8Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    data[p * 3] = planes[p]!;
    data[p * 3 + 1] = planes[plane + p]!;
    data[p * 3 + 2] = planes[2 * plane + p]!;
  }
  return { data, width: CIFAR10_SIZE, height: CIFAR10_SIZE };
}
