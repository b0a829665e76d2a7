import { existsSync } from 'node:fs';
import { Resvg, type ResvgRenderOptions } from '@resvg/resvg-js';

/** Where Debian/Ubuntu put DejaVu Sans; other systems fall back to whatever fonts they have. */
const DEJAVU_SANS_PATHS = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/TTF/DejaVuSans.ttf',
  '/usr/share/fonts/dejavu/DejaVuSans.ttf',
];

let cachedFontOptions: ResvgRenderOptions['font'] | undefined;

/**
 * resvg draws no text at all unless it is given fonts, and SVG from vega asks for the generic
 * `sans-serif`, which resvg maps to a family we must name. Prefer DejaVu Sans when it is there
 * (stable metrics across machines); otherwise let resvg pick the first system font.
 */
function fontOptions(): NonNullable<ResvgRenderOptions['font']> {
  if (cachedFontOptions === undefined) {
    const dejaVu = DEJAVU_SANS_PATHS.find((path) => existsSync(path));
    cachedFontOptions =
      dejaVu === undefined
        ? { loadSystemFonts: true }
        : {
            loadSystemFonts: true,
            fontFiles: [dejaVu],
            defaultFontFamily: 'DejaVu Sans',
            sansSerifFamily: 'DejaVu Sans',
          };
  }
  return cachedFontOptions;
}

export interface SvgToPngOptions {
  /** Output pixels per SVG user unit (default 1). */
  zoom?: number;
  /** CSS colour painted under the drawing; omit for a transparent background. */
  background?: string;
}

export interface RenderedPng {
  /** A Buffer, so it can go straight to sharp and fs; it is also a Uint8Array. */
  png: Buffer;
  width: number;
  height: number;
}

/** Rasterizes an SVG string to PNG bytes with system fonts loaded, so text is drawn. */
export function svgToPng(svg: string, options: SvgToPngOptions = {}): RenderedPng {
  const renderOptions: ResvgRenderOptions = { font: fontOptions() };
  if (options.background !== undefined) renderOptions.background = options.background;
  if (options.zoom !== undefined && options.zoom !== 1) {
    renderOptions.fitTo = { mode: 'zoom', value: options.zoom };
  }
  const rendered = new Resvg(svg, renderOptions).render();
  return {
    png: rendered.asPng(),
    width: rendered.width,
    height: rendered.height,
  };
}

/** Escapes text for use inside SVG element content or a double-quoted attribute. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
