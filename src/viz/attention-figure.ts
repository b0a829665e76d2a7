import { extname } from 'node:path';
import sharp from 'sharp';
import { UserError } from '../errors.js';
import { writeFileAtomicAsync } from '../io/atomic.js';
import { type AttentionOnImage, TITLE_COLOURS, overlayAttention } from './attention-map.js';
import { escapeXml, svgToPng } from './svg-to-png.js';

/** One picture of the attention figure: an image, its [CLS] token's attention to the patches, a title. */
export interface AttentionItem extends AttentionOnImage {
  /** Drawn above the pair, e.g. `gt: cat / pred: dog`. */
  title: string;
  /** true → green title, false → red; leave undefined when there is no ground truth. */
  correct?: boolean;
}

export interface AttentionFigureOptions {
  /** Items per row (default: 5, or fewer when there are fewer items). */
  columns?: number;
  /** Integer zoom for every image (default: per item, the least that makes its longer side ≥ 128 px). */
  scale?: number;
  /** Opacity of the colour map over the image (default 0.5, as in the seed notebook). */
  alpha?: number;
}

export const DEFAULT_COLUMNS = 5;
/** Small images are zoomed until their longer side is at least this many pixels. */
export const MIN_PANEL_SIDE = 128;

const MARGIN = 12;
const PANEL_GAP = 6;
const CELL_GAP_X = 20;
const CELL_GAP_Y = 10;
const TITLE_HEIGHT = 24;
const TITLE_FONT_SIZE = 14;
const MIN_TITLE_FONT_SIZE = 8;
/** DejaVu Sans averages about 0.6 em per character; used to shrink titles that would overflow. */
const AVERAGE_CHAR_WIDTH_EM = 0.62;

/** A rectangle in figure pixels. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface ItemLayout {
  scale: number;
  title: Box;
  /** The plain image, zoomed. */
  image: Box;
  /** The image with the attention map over it, zoomed. */
  overlay: Box;
}

export interface AttentionFigureLayout {
  width: number;
  height: number;
  columns: number;
  rows: number;
  items: ItemLayout[];
}

function checkItem(item: AttentionItem, index: number): void {
  const name = `attention item ${index} ("${item.title}")`;
  for (const [key, value] of [
    ['width', item.width],
    ['height', item.height],
    ['gridSize', item.gridSize],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name}: ${key} must be a positive integer, got ${value}`);
  }
  if (item.image.length !== item.width * item.height * 3) {
    throw new RangeError(
      `${name}: image has ${item.image.length} bytes, expected ${item.width}×${item.height}×3 = ${item.width * item.height * 3}`,
    );
  }
  if (item.attention.length !== item.gridSize * item.gridSize) {
    throw new RangeError(`${name}: attention has ${item.attention.length} values, expected ${item.gridSize}×${item.gridSize}`);
  }
  if (!item.attention.every(Number.isFinite)) throw new RangeError(`${name}: attention has non-finite values`);
}

function checkOptions(options: AttentionFigureOptions): void {
  const { columns, scale, alpha } = options;
  if (columns !== undefined && (!Number.isInteger(columns) || columns < 1)) {
    throw new UserError(`columns must be a positive integer, got ${columns}`);
  }
  if (scale !== undefined && (!Number.isInteger(scale) || scale < 1)) {
    throw new UserError(`scale must be a positive integer, got ${scale}`);
  }
  if (alpha !== undefined && !(alpha >= 0 && alpha <= 1)) {
    throw new UserError(`alpha must be within [0, 1], got ${alpha}`);
  }
}

function defaultScale(width: number, height: number): number {
  return Math.max(1, Math.ceil(MIN_PANEL_SIDE / Math.max(width, height)));
}

/**
 * Where everything goes: items fill rows left to right; every cell is as large as the largest
 * zoomed image, with its title on top and the plain image left of the overlay.
 */
export function layoutAttentionFigure(items: readonly AttentionItem[], options: AttentionFigureOptions = {}): AttentionFigureLayout {
  if (items.length === 0) throw new UserError('no images to draw in the attention figure');
  checkOptions(options);
  items.forEach(checkItem);
  const columns = Math.min(options.columns ?? DEFAULT_COLUMNS, items.length);
  const rows = Math.ceil(items.length / columns);
  const scales = items.map((item) => options.scale ?? defaultScale(item.width, item.height));
  const panelWidth = Math.max(...items.map((item, index) => item.width * scales[index]!));
  const panelHeight = Math.max(...items.map((item, index) => item.height * scales[index]!));
  const cellWidth = 2 * panelWidth + PANEL_GAP;
  const cellHeight = TITLE_HEIGHT + panelHeight;
  const itemLayouts = items.map((item, index): ItemLayout => {
    const cellX = MARGIN + (index % columns) * (cellWidth + CELL_GAP_X);
    const cellY = MARGIN + Math.floor(index / columns) * (cellHeight + CELL_GAP_Y);
    const scale = scales[index]!;
    const width = item.width * scale;
    const height = item.height * scale;
    // Centre smaller images inside their panel slot.
    const offsetX = Math.floor((panelWidth - width) / 2);
    const offsetY = cellY + TITLE_HEIGHT + Math.floor((panelHeight - height) / 2);
    return {
      scale,
      title: { x: cellX, y: cellY, width: cellWidth, height: TITLE_HEIGHT },
      image: { x: cellX + offsetX, y: offsetY, width, height },
      overlay: { x: cellX + panelWidth + PANEL_GAP + offsetX, y: offsetY, width, height },
    };
  });
  return {
    width: 2 * MARGIN + columns * cellWidth + (columns - 1) * CELL_GAP_X,
    height: 2 * MARGIN + rows * cellHeight + (rows - 1) * CELL_GAP_Y,
    columns,
    rows,
    items: itemLayouts,
  };
}

/** Copies RGB `source` into the RGB `canvas` at `box`, each source pixel as a scale × scale block. */
function blitNearest(canvas: Uint8Array, canvasWidth: number, source: Uint8Array, sourceWidth: number, box: Box, scale: number): void {
  for (let y = 0; y < box.height; y++) {
    const sourceRow = Math.floor(y / scale) * sourceWidth;
    const canvasRow = (box.y + y) * canvasWidth + box.x;
    for (let x = 0; x < box.width; x++) {
      const from = (sourceRow + Math.floor(x / scale)) * 3;
      const to = (canvasRow + x) * 3;
      canvas[to] = source[from]!;
      canvas[to + 1] = source[from + 1]!;
      canvas[to + 2] = source[from + 2]!;
    }
  }
}

function titleColour(correct: boolean | undefined): string {
  if (correct === true) return TITLE_COLOURS.correct;
  if (correct === false) return TITLE_COLOURS.wrong;
  return TITLE_COLOURS.unknown;
}

/** All titles as one transparent SVG the size of the figure. */
function titlesSvg(items: readonly AttentionItem[], layout: AttentionFigureLayout): string {
  const texts = items.map((item, index) => {
    const box = layout.items[index]!.title;
    // Shrink long titles to fit their cell instead of letting them run into the neighbour.
    const fittingSize = box.width / (AVERAGE_CHAR_WIDTH_EM * Math.max(1, item.title.length));
    const fontSize = Math.max(MIN_TITLE_FONT_SIZE, Math.min(TITLE_FONT_SIZE, Math.floor(fittingSize)));
    const baseline = box.y + box.height - 7;
    return (
      `<text x="${box.x + box.width / 2}" y="${baseline}" text-anchor="middle" font-family="sans-serif" ` +
      `font-size="${fontSize}" fill="${titleColour(item.correct)}">${escapeXml(item.title)}</text>`
    );
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${layout.width}" height="${layout.height}" ` +
    `viewBox="0 0 ${layout.width} ${layout.height}">${texts.join('')}</svg>`
  );
}

/**
 * The seed notebook's attention figure as PNG bytes: for each item, its title above the image
 * and the image with the [CLS] attention map over it, items in rows of `columns`.
 */
export async function renderAttentionFigure(items: readonly AttentionItem[], options: AttentionFigureOptions = {}): Promise<Uint8Array> {
  const layout = layoutAttentionFigure(items, options);
  const canvas = new Uint8Array(layout.width * layout.height * 3).fill(255);
  items.forEach((item, index) => {
    const { image, overlay, scale } = layout.items[index]!;
    blitNearest(canvas, layout.width, item.image, item.width, image, scale);
    blitNearest(canvas, layout.width, overlayAttention(item, options.alpha), item.width, overlay, scale);
  });
  const titles = svgToPng(titlesSvg(items, layout)).png;
  const png = await sharp(canvas, { raw: { width: layout.width, height: layout.height, channels: 3 } })
    .composite([{ input: titles, top: 0, left: 0 }])
    .png()
    .toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

/** Renders the attention figure and writes it to `outPath`, which must end in .png. */
export async function writeAttentionFigure(
  items: readonly AttentionItem[],
  outPath: string,
  options: AttentionFigureOptions = {},
): Promise<void> {
  if (extname(outPath).toLowerCase() !== '.png') {
    throw new UserError(`${outPath}: the attention figure is written as PNG; use a .png file name`);
  }
  await writeFileAtomicAsync(outPath, await renderAttentionFigure(items, options));
}
