/**
 * Chart colours from JupyterLab's theme (its CSS variables, read at draw time: a canvas or a
 * Vega spec cannot use `var(...)`), so that charts follow the light and dark themes.
 */

import * as React from 'react';

/** The theme's colours a chart uses. */
export interface IPlotTheme {
  font: string;
  text: string;
  muted: string;
  grid: string;
  border: string;
  /** The best run's colour. */
  best: string;
  /** A run that is not the best. */
  other: string;
  /** Series colours, cycled: one per run. */
  series: string[];
}

/** The theme's colours for series: every hue at its main level first, then the others. */
const SERIES_VARIABLES = [1, 2, 0, 3].flatMap(level =>
  ['brand', 'accent', 'warn', 'success', 'error', 'info'].map(hue => `--jp-${hue}-color${level}`)
);

/** The theme's colours as computed for `element` (JupyterLab sets them on the document). */
export function plotTheme(element: Element = document.body): IPlotTheme {
  const css = getComputedStyle(element);
  const get = (name: string) => css.getPropertyValue(name).trim();
  const text = get('--jp-ui-font-color1') || 'currentColor';
  const series = [...new Set(SERIES_VARIABLES.map(get).filter(Boolean))]; // themes reuse some colours
  return {
    font: get('--jp-ui-font-family') || 'sans-serif',
    text,
    muted: get('--jp-ui-font-color2') || text,
    grid: get('--jp-border-color2') || text,
    border: get('--jp-border-color1') || text,
    best: series[0] || text,
    other: get('--jp-layout-color4') || get('--jp-border-color1') || text,
    series: series.length ? series : [text]
  };
}

let measuring: CanvasRenderingContext2D | null = null;

/** How wide `text` is drawn in `font` at `size` px (bold or not), in px: to fit a chart's labels before it is drawn. */
export function textWidth(text: string, font: string, size: number, bold = false): number {
  measuring = measuring ?? document.createElement('canvas').getContext('2d');
  if (!measuring) {
    return text.length * size * 0.6; // about, where there is no canvas
  }
  measuring.font = `${bold ? 'bold ' : ''}${size}px ${font}`;
  return measuring.measureText(text).width;
}

/** A Vega-Lite `config` in the theme's colours (transparent background, theme font). */
export function vegaConfig(theme: IPlotTheme): Record<string, unknown> {
  const axis = {
    labelColor: theme.text,
    titleColor: theme.text,
    gridColor: theme.grid,
    domainColor: theme.border,
    tickColor: theme.border,
    labelFont: theme.font,
    titleFont: theme.font,
    labelFontSize: 11,
    titleFontSize: 12
  };
  return {
    background: 'transparent',
    font: theme.font,
    view: { stroke: null },
    axis,
    legend: { labelColor: theme.text, titleColor: theme.text, labelFont: theme.font, titleFont: theme.font },
    title: { color: theme.text, font: theme.font },
    text: { color: theme.text, font: theme.font },
    range: { category: theme.series }
  };
}

/** JupyterLab's theme's name, changing with it: a chart that depends on it redraws in the new colours. */
export function useThemeName(): string | undefined {
  const [name, setName] = React.useState(document.body.dataset.jpThemeName);
  React.useEffect(() => {
    const observer = new MutationObserver(() => setName(document.body.dataset.jpThemeName));
    observer.observe(document.body, { attributes: true, attributeFilter: ['data-jp-theme-name'] });
    return () => observer.disconnect();
  }, []);
  return name;
}
