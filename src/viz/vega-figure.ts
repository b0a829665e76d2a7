// A vega-lite figure rendered headless (no canvas, no DOM) to SVG or PNG, and written by its file's extension.
import { extname } from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { UserError } from '../errors.js';
import { writeFileAtomicAsync } from '../io/atomic.js';
import { svgToPng } from './svg-to-png.js';

/** Output pixels per SVG unit in the PNG: a figure ~950 units wide becomes ~1900 px. */
export const FIGURE_PNG_ZOOM = 2;

export async function renderSpecSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The figure as PNG bytes on white. */
export async function renderSpecPng(spec: TopLevelSpec): Promise<Uint8Array> {
  return svgToPng(await renderSpecSvg(spec), { zoom: FIGURE_PNG_ZOOM, background: 'white' }).png;
}

/** Refuses an output path that is neither .png nor .svg, before any time goes into rendering. */
export function checkFigurePath(outPath: string): void {
  const extension = extname(outPath).toLowerCase();
  if (extension !== '.png' && extension !== '.svg') {
    throw new UserError(`${outPath}: unsupported figure type "${extension || '(none)'}"; use .png or .svg`);
  }
}

/** Writes the figure to `outPath`, as PNG or SVG according to its extension. */
export async function writeFigure(spec: TopLevelSpec, outPath: string): Promise<void> {
  checkFigurePath(outPath);
  const png = extname(outPath).toLowerCase() === '.png';
  await writeFileAtomicAsync(outPath, png ? await renderSpecPng(spec) : await renderSpecSvg(spec));
}
