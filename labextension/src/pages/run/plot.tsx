/**
 * One chart of a run's metrics, as TensorBoard's scalars draw them: uPlot on a canvas, one or
 * several series, x as the step or the time since the first point, a linear or log y axis and
 * an exponential moving average (the raw points stay, faint, behind the smoothed line).
 * Drag across the chart to zoom into a range; a double click zooms out.  It redraws at its
 * new width when its tab is resized.
 */

import * as React from 'react';
import uPlot from 'uplot';

import { aligned, numeric, SERIES_COLORS } from '../../chart';
import { IMetricHistory } from '../../tokens';
import { useThemeName } from '../plotTheme';
import { IPlotOptions } from './types';

/** The theme's colours for series, read when drawing (a canvas cannot use CSS variables). */
const COLOR_VARIABLES = ['--jp-brand-color1', '--jp-warn-color1', '--jp-success-color1', '--jp-accent-color1', '--jp-error-color1', '--jp-info-color1'];

/**
 * TensorBoard's smoothing: an exponential moving average, debiased so that the first points
 * are not pulled towards zero; gaps (NaN, infinities) stay gaps.
 */
export function smooth(values: Array<number | null>, weight: number): Array<number | null> {
  let last = 0;
  let count = 0;
  return values.map(value => {
    if (value === null || !Number.isFinite(value)) {
      return null;
    }
    last = last * weight + (1 - weight) * value;
    count++;
    return last / (1 - Math.pow(weight, count));
  });
}

/** Seconds as an axis tick: `250ms` (points logged within a second), `1.5s`, `45s`, `3m20s`, `1h05m`. */
function tick(seconds: number): string {
  if (seconds !== 0 && Math.abs(seconds) < 1) {
    return `${Number((seconds * 1000).toPrecision(3))}ms`;
  }
  if (Math.abs(seconds) < 10 && !Number.isInteger(seconds)) {
    return `${Number(seconds.toPrecision(3))}s`;
  }
  const s = Math.round(seconds);
  if (Math.abs(s) < 60) {
    return `${s}s`;
  }
  if (Math.abs(s) < 3600) {
    return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  }
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** The histories as uPlot data: x (steps or seconds since the first point), then each series. */
export function plotData(histories: IMetricHistory[], options: IPlotOptions): uPlot.AlignedData {
  const t0 = Math.min(...histories.map(h => (h.timestamps.length ? h.timestamps[0] : Infinity)));
  const positive = (v: number | null) => (options.log && v !== null && v <= 0 ? null : v);
  const series: IMetricHistory[] = [];
  for (const h of histories) {
    const xs = options.x === 'time' ? h.timestamps.map(t => (t - t0) / 1000) : h.steps;
    const ys = h.values.map(v => positive(numeric(v)));
    series.push({ ...h, steps: xs, values: ys as number[] });
    if (options.smoothing > 0) {
      series.push({ ...h, steps: xs, values: smooth(ys, options.smoothing) as number[] });
    }
  }
  // aligned() reads a null as a gap
  return aligned(series.map(s => ({ ...s, values: s.values.map(v => (v === null ? 'nan' : v)) })));
}

export function MetricPlot(props: {
  histories: IMetricHistory[];
  options: IPlotOptions;
  height?: number;
  /** A colour per history (e.g. one per run, as the page's other charts colour it); else the theme's cycle. */
  colors?: string[];
  className?: string;
}): JSX.Element {
  const host = React.useRef<HTMLDivElement>(null);
  const { histories, options } = props;
  const height = props.height ?? 220;
  const themeName = useThemeName(); // the canvas's colours are the theme's at draw time: redraw on a change

  React.useEffect(() => {
    const element = host.current;
    if (!element || histories.length === 0) {
      return;
    }
    const css = getComputedStyle(element);
    const color = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
    const text = color('--jp-ui-font-color1', '#333');
    const grid = color('--jp-border-color2', '#e0e0e0');
    const colors = COLOR_VARIABLES.map((name, i) => color(name, SERIES_COLORS[i]));
    const series: uPlot.Series[] = [{ label: options.x === 'time' ? 'time' : 'step', value: (_u, v) => (v === null ? '' : options.x === 'time' ? tick(v) : String(v)) }];
    histories.forEach((h, i) => {
      const stroke = props.colors?.[i] || colors[i % colors.length];
      const gaps = histories.length > 1;
      if (options.smoothing > 0) {
        // the raw points, faint; their legend entry is hidden (the smoothed line names the metric)
        series.push({ label: `${h.key} (raw)`, class: 'mlws-RawSeries', stroke, width: 1, alpha: 0.3, spanGaps: gaps });
      }
      series.push({ label: h.key, stroke, width: 1.5, spanGaps: gaps });
    });
    const plot = new uPlot(
      {
        width: Math.max(200, element.clientWidth || 400),
        height,
        scales: { x: { time: false }, y: options.log ? { distr: 3, log: 10 } : {} },
        legend: { show: true, live: true },
        cursor: { drag: { x: true, y: false } },
        axes: [
          {
            stroke: text,
            grid: { stroke: grid },
            values: (_u, ticks) => {
              const labels = options.x === 'time' ? ticks.map(tick) : ticks.map(String);
              element.dataset.xTicks = labels.join(' '); // the labels drawn, for whoever reads the page
              return labels;
            }
          },
          { stroke: text, grid: { stroke: grid }, size: 60 }
        ],
        series,
        hooks: {
          // the shown x range, for whoever reads the page (a zoom changes it)
          setScale: [
            (u, key) => {
              if (key === 'x') {
                element.dataset.range = `${u.scales.x.min},${u.scales.x.max}`;
              }
            }
          ]
        }
      },
      plotData(histories, options),
      element
    );
    element.dataset.theme = themeName ?? ''; // the theme it was drawn in
    const resized = new ResizeObserver(() => {
      const width = Math.max(200, element.clientWidth);
      if (width !== plot.width) {
        plot.setSize({ width, height });
      }
    });
    resized.observe(element);
    return () => {
      resized.disconnect();
      plot.destroy();
    };
  }, [histories, options.x, options.smoothing, options.log, height, props.colors?.join(), themeName]);

  return (
    <div
      className={`mlws-Plot ${props.className ?? ''}`}
      ref={host}
      data-series={histories.length}
      data-lines={histories.length * (options.smoothing > 0 ? 2 : 1)}
      data-points={histories.reduce((n, h) => n + h.steps.length, 0)}
      data-x={options.x}
      data-log={String(options.log)}
      data-smoothing={options.smoothing}
    />
  );
}
