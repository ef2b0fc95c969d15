/**
 * Headless rendering (FIELD-NOTES: SVG in Node): vega-lite -> vega -> a View with renderer 'none'
 * -> SVG; SVG -> PNG with resvg (no canvas, no Cairo, works offline). Text widths come from
 * vega's estimate when no canvas exists, so the SVG is deterministic: the snapshot tests rely on it.
 */
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { FONT } from './charts/common.js';

export interface Compiled {
  vega: vega.Spec;
  /** vega-lite's warnings (a clean chart has none) */
  warnings: string[];
}

/** vega-lite -> vega, collecting the compiler's warnings instead of printing them. */
export function compileSpec(spec: TopLevelSpec): Compiled {
  const warnings: string[] = [];
  const logger = {
    level: () => logger,
    error: (...m: unknown[]) => {
      warnings.push(m.join(' '));
      return logger;
    },
    warn: (...m: unknown[]) => {
      warnings.push(m.join(' '));
      return logger;
    },
    info: () => logger,
    debug: () => logger,
  };
  // vega-lite's LoggerInterface is chainable with overloaded level(); the shape above is what it calls
  const out = compile(spec, { logger: logger as never });
  return { vega: out.spec, warnings };
}

/** The chart as an SVG document. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  // vega tags inline data rows in place: render a copy so the caller's spec stays as it was
  const view = new vega.View(vega.parse(compileSpec(structuredClone(spec)).vega), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** An SVG document as PNG, `scale` times its size (2: sharp on high-density screens). */
export function svgToPng(svg: string, scale = 2): Buffer {
  const r = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: FONT.split(',')[0] },
  });
  return r.render().asPng();
}
