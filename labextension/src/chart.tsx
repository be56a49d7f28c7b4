/**
 * Metric histories drawn with uPlot (canvas; fast for many points): one series per history,
 * overlaid on the union of their steps (a run's metrics, or one metric of several runs).
 * Drag across the chart to zoom into steps; a double click zooms out.
 */

import * as React from 'react';
import uPlot from 'uplot';

import { IMetricHistory } from './tokens';

export const SERIES_COLORS = ['#1976d2', '#e65100', '#2e7d32', '#6a1b9a', '#c62828', '#00838f'];

/** A value as a number: the server sends NaN and infinities as strings (drawn as gaps). */
export function numeric(v: number | string): number | null {
  return typeof v === 'number' ? v : Number.isFinite(Number(v)) ? Number(v) : null;
}

/** uPlot wants one x array: the union of every history's steps, each history's values aligned on it. */
export function aligned(histories: IMetricHistory[]): uPlot.AlignedData {
  if (histories.length === 1) {
    return [histories[0].steps, histories[0].values.map(numeric)] as uPlot.AlignedData;
  }
  const steps = [...new Set(histories.flatMap(h => h.steps))].sort((a, b) => a - b);
  const series = histories.map(h => {
    const at = new Map<number, number | null>();
    h.steps.forEach((step, i) => at.set(step, numeric(h.values[i])));
    return steps.map(step => at.get(step) ?? null);
  });
  return [steps, ...series] as uPlot.AlignedData;
}

export function MetricChart(props: {
  histories: IMetricHistory[];
  className?: string;
  height?: number;
  /** A colour per history (e.g. the theme's, one per run); else the default cycle. */
  colors?: string[];
}): JSX.Element {
  const host = React.useRef<HTMLDivElement>(null);
  const { histories } = props;

  React.useEffect(() => {
    const element = host.current;
    if (!element || histories.length === 0) {
      return;
    }
    // canvas strokes cannot use CSS variables: resolve the theme's colours now
    const css = getComputedStyle(element);
    const color = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
    const text = color('--jp-ui-font-color1', '#333');
    const grid = color('--jp-border-color2', '#e0e0e0');
    const first = color('--jp-brand-color1', SERIES_COLORS[0]);
    const plot = new uPlot(
      {
        width: Math.max(200, element.clientWidth || 260),
        height: props.height ?? 180,
        scales: { x: { time: false } },
        legend: { show: histories.length > 1 },
        cursor: { drag: { x: true, y: false } },
        axes: [
          { stroke: text, grid: { stroke: grid } },
          { stroke: text, grid: { stroke: grid }, size: 50 }
        ],
        series: [
          { label: 'step' },
          ...histories.map((h, i) => ({
            label: h.key,
            stroke: props.colors?.[i] || (i === 0 ? first : SERIES_COLORS[i % SERIES_COLORS.length]),
            width: 1.5,
            spanGaps: histories.length > 1
          }))
        ]
      },
      aligned(histories),
      element
    );
    return () => plot.destroy();
  }, [histories, props.height, props.colors?.join()]);

  return (
    <div
      className={props.className ?? 'mlws-Chart'}
      ref={host}
      data-series={histories.length}
      data-points={histories.reduce((n, h) => n + h.steps.length, 0)}
    />
  );
}
