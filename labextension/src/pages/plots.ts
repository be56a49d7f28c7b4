/**
 * Vega-Lite specs of the sweep and compare charts (drawn by JupyterLab's own Vega renderer, so
 * they cost our bundle nothing): parallel coordinates, bars of one value per run, a scatter.
 * Pure functions of the runs and the theme.
 */

import { IRun } from '../tokens';
import { Direction, metricOf, numberOf } from './best';
import { IPlotTheme, textWidth, vegaConfig } from './plotTheme';

/** The mimetype JupyterLab's vega5 extension renders Vega-Lite 5 with. */
export const VEGALITE_MIME = 'application/vnd.vegalite.v5+json';

type Spec = Record<string, unknown>;

/** One axis of values: where each value sits (0 bottom .. 1 top) and the labels to show. */
export interface IAxis {
  position(value: unknown): number | null;
  ticks: Array<{ position: number; label: string }>;
  /** Numbers spread over two orders of magnitude or more (a learning rate): a log scale. */
  log: boolean;
  numeric: boolean;
}

const MAX_TICKS = 8;

function label(n: number): string {
  return Number.isInteger(n) ? String(n) : Number(n.toPrecision(3)).toString();
}

/** An axis over numbers: linear, or log10 when all are positive and span a factor of 20 or more. */
function numericAxis(numbers: number[]): IAxis {
  const min = Math.min(...numbers);
  const max = Math.max(...numbers);
  const log = min > 0 && max / min >= 20;
  const t = (n: number) => (log ? Math.log10(n) : n);
  const at = (n: number) => (max === min ? 0.5 : (t(n) - t(min)) / (t(max) - t(min)));
  const distinct = [...new Set(numbers)].sort((a, b) => a - b);
  const shown = distinct.length <= MAX_TICKS ? distinct : [min, log ? Math.sqrt(min * max) : (min + max) / 2, max];
  return {
    position: value => {
      const n = numberOf(value);
      return n === null ? null : at(n);
    },
    ticks: shown.map(n => ({ position: at(n), label: label(n) })),
    log,
    numeric: true
  };
}

/** An axis over text: the distinct values in natural order, evenly spaced. */
function categoricalAxis(texts: string[]): IAxis {
  const order = [...new Set(texts)].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const at = (i: number) => (order.length === 1 ? 0.5 : i / (order.length - 1));
  const every = Math.ceil(order.length / (MAX_TICKS * 2));
  return {
    position: value => {
      const i = value === undefined || value === null ? -1 : order.indexOf(String(value));
      return i < 0 ? null : at(i);
    },
    ticks: order.flatMap((text, i) => (i % every === 0 ? [{ position: at(i), label: text }] : [])),
    log: false,
    numeric: false
  };
}

/** The axis of some values (missing ones left out): numeric when every present one is a number. */
export function axisOf(values: unknown[]): IAxis {
  const present = values.filter(v => v !== undefined && v !== null && v !== '');
  const numbers = present.map(numberOf);
  if (present.length > 0 && numbers.every(n => n !== null)) {
    return numericAxis(numbers as number[]);
  }
  return categoricalAxis(present.map(String));
}

/** A dimension of the parallel coordinates: a param, or the metric (the last axis). */
export interface IDimension {
  title: string;
  value(run: IRun): unknown;
}

/** The dimensions of runs: the given params, then the metric. */
export function dimensionsOf(params: string[], metric: string): IDimension[] {
  return [
    ...params.map(key => ({ title: key, value: (run: IRun) => run.params?.[key] })),
    { title: metric, value: (run: IRun) => run.metrics?.[metric] }
  ];
}

function base(theme: IPlotTheme, height: number): Spec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    width: 'container',
    height,
    autosize: { type: 'fit-x', contains: 'padding' },
    config: vegaConfig(theme)
  };
}

/** The parallel coordinates' sizes (px): its plot's height, its titles' and its values' fonts. */
const PARALLEL_HEIGHT = 280;
const TITLE_PX = 11;
const VALUE_PX = 10;
/** The room before the first axis and after the last, in steps between axes. */
const EDGE = 0.3;
/** The top of the axes' scale: room above the top values' labels. */
const TOP = 1.05;

/**
 * The ticks whose labels do not overlap (`gap`: a label's height, in the axis' units): the
 * lowest and the highest first, then each other one that keeps `gap` from all those kept.
 */
export function spacedTicks<T extends { position: number }>(ticks: T[], gap: number): T[] {
  const sorted = [...ticks].sort((a, b) => a.position - b.position);
  const order = sorted.length > 2 ? [sorted[0], sorted[sorted.length - 1], ...sorted.slice(1, -1)] : sorted;
  const kept: T[] = [];
  for (const tick of order) {
    if (kept.every(other => Math.abs(other.position - tick.position) >= gap)) {
      kept.push(tick);
    }
  }
  return kept.sort((a, b) => a.position - b.position);
}

/**
 * How the axes' titles fit under them, `step` px apart: in one row when every title fits
 * between its neighbours, else in two rows taking turns (each title then has two steps).  A
 * title still too long is cut with "…" at `limit` px (its tooltip names it in full).
 */
export function titleRows(titles: string[], step: number, widthOf: (title: string) => number): { rows: 1 | 2; limit: number } {
  const widest = Math.max(...titles.map(widthOf));
  return widest <= step - 8 ? { rows: 1, limit: step - 8 } : { rows: 2, limit: Math.max(40, 2 * step - 12) };
}

/** Where the axes of parallel coordinates go and what their titles and values may take (px). */
export interface IParallelLayout {
  /** Between two axes. */
  step: number;
  rows: 1 | 2;
  /** A title's width (beyond it: "…"). */
  limit: number;
  /** A value's beside its axis, before the next one. */
  valueLimit: number;
  /** A value's beside the last axis. */
  lastValueLimit: number;
}

/**
 * The layout of parallel coordinates with `titles` in a chart `width` px wide: the axes spread
 * over the width, less what reaches past the first and the last (their titles, centred under
 * them, and the last axis' values), so that the chart, fitted to its width, has them at least
 * `step` apart.  `widthOf(title)`: a title's width as drawn.
 */
export function parallelLayout(titles: string[], width: number, widthOf: (title: string) => number): IParallelLayout {
  const slots = Math.max(1, titles.length - 1 + 2 * EDGE);
  const fit = (plot: number): IParallelLayout => {
    const step = plot / slots;
    return { step, ...titleRows(titles, step, widthOf), valueLimit: step - 10, lastValueLimit: Math.max(48, EDGE * step - 6) };
  };
  const first = fit(Math.max(40 * slots, width));
  const widest = Math.max(first.limit, 2 * first.step - 12); // in one row or two
  const past = (title: string) => Math.min(widest, widthOf(title)) / 2 - EDGE * first.step;
  const left = Math.max(0, past(titles[0]));
  const right = Math.max(0, past(titles[titles.length - 1]), 4 + first.lastValueLimit - EDGE * first.step);
  return fit(Math.max(40 * slots, width - left - right - 8));
}

/**
 * Parallel coordinates: an axis per param and one for the metric, a line per run coloured by
 * the metric (the best colour at the good end), the best run's line drawn thicker.  `width`:
 * the chart's, in px, that the axes' titles and values are fitted to (cut with "…" beyond,
 * named in full by their tooltips; values too close on an axis are left out).
 */
export function parallelSpec(
  runs: IRun[],
  labels: Map<string, string>,
  dims: IDimension[],
  metric: string,
  direction: Direction,
  best: IRun | null,
  theme: IPlotTheme,
  width: number
): Spec {
  const axes = dims.map(dim => axisOf(runs.map(dim.value)));
  const titles = dims.map(dim => dim.title);
  const drawn = best ? [...runs.filter(run => run !== best), best] : runs; // the best on top
  const lines = drawn.flatMap(run =>
    dims.flatMap((dim, i) => {
      const position = axes[i].position(dim.value(run));
      return position === null
        ? []
        : [{ run: run.id, name: labels.get(run.id), dim: dim.title, order: i, position, score: metricOf(run, metric), best: run === best }];
    })
  );
  // the space between two axes, and what the titles and the values may take of it
  const layout = parallelLayout(titles, width, title => textWidth(title, theme.font, TITLE_PX, true));
  const { rows, limit } = layout;
  const gap = (VALUE_PX + 3) / (PARALLEL_HEIGHT / TOP);
  const values = axes.map((axis, i) => spacedTicks(axis.ticks, gap).map(tick => ({ dim: titles[i], ...tick })));
  const x = { field: 'dim', type: 'nominal', sort: titles, scale: { type: 'point', padding: EDGE }, axis: null };
  const domain = [0, TOP];
  const y = { field: 'position', type: 'quantitative', axis: null, scale: { domain } };
  const bottom = { datum: 0, type: 'quantitative', axis: null, scale: { domain } };
  const range = direction === 'max' ? [theme.other, theme.best] : [theme.best, theme.other];
  // beside the axis and just above the value, off the lines that end there; cut before the next axis
  const valueLayer = (ticks: object[], room: number) => ({
    data: { values: ticks },
    mark: { type: 'text', align: 'left', baseline: 'bottom', dx: 4, dy: -2, fontSize: VALUE_PX, color: theme.muted, limit: room },
    encoding: { x, y, text: { field: 'label' }, tooltip: { field: 'label', type: 'nominal' } }
  });
  // under the axes, in one row or two taking turns
  const titleLayer = (row: number) => ({
    name: `mlws_titles_${row}`,
    data: { values: titles.filter((_, i) => i % rows === row).map(dim => ({ dim })) },
    mark: {
      type: 'text',
      align: 'center',
      baseline: 'top',
      dy: 6 + row * (TITLE_PX + 5),
      fontSize: TITLE_PX,
      fontWeight: 'bold',
      color: theme.text,
      limit
    },
    encoding: { x, y: bottom, text: { field: 'dim' }, tooltip: { field: 'dim', type: 'nominal' } }
  });
  return {
    ...base(theme, PARALLEL_HEIGHT),
    description: `Parallel coordinates of ${runs.length} runs: ${titles.join(', ')}`,
    layer: [
      {
        data: { values: titles.map(dim => ({ dim })) },
        mark: { type: 'rule', color: theme.border },
        encoding: { x, y: bottom, y2: { datum: 1 } }
      },
      {
        data: { values: lines },
        mark: { type: 'line', opacity: 0.85, interpolate: 'linear' },
        encoding: {
          x,
          y,
          detail: { field: 'run', type: 'nominal' },
          order: { field: 'order', type: 'quantitative' },
          // the legend above: the axes keep the whole width
          color: { field: 'score', type: 'quantitative', title: metric, scale: { range }, legend: { orient: 'top', gradientLength: 200 } },
          strokeWidth: { condition: { test: 'datum.best', value: 4 }, value: 1.5 },
          tooltip: [{ field: 'name', title: 'run' }, { field: 'score', title: metric }]
        }
      },
      valueLayer(values.slice(0, -1).flat(), layout.valueLimit),
      valueLayer(values[values.length - 1], layout.lastValueLimit),
      ...Array.from({ length: rows }, (_, row) => titleLayer(row))
    ]
  };
}

/** One value per run as horizontal bars, best first, the best in the best colour, values shown. */
export function barsSpec(
  runs: IRun[],
  labels: Map<string, string>,
  metric: string,
  direction: Direction,
  best: IRun | null,
  theme: IPlotTheme
): Spec {
  const values = runs.flatMap(run => {
    const value = metricOf(run, metric);
    return value === null ? [] : [{ run: run.id, name: labels.get(run.id), value, best: run === best }];
  });
  const sign = direction === 'max' ? -1 : 1;
  const order = [...values].sort((a, b) => sign * (a.value - b.value)).map(v => v.name);
  const y = { field: 'name', type: 'nominal', title: null, sort: order, axis: { labelLimit: 220 } };
  // a few short labels that never run into each other ("0.000.05" was the field report)
  const x = { field: 'value', type: 'quantitative', title: metric, axis: { format: '~g', tickCount: 4, labelOverlap: 'greedy', labelFlush: true } };
  return {
    ...base(theme, Math.max(60, values.length * 24)),
    description: `${metric} of ${values.length} runs as bars`,
    data: { values },
    encoding: { y, x },
    layer: [
      {
        mark: { type: 'bar', cornerRadiusEnd: 2 },
        encoding: {
          color: { condition: { test: 'datum.best', value: theme.best }, value: theme.other },
          tooltip: [{ field: 'name', title: 'run' }, { field: 'value', title: metric, format: '.4~g' }]
        }
      },
      {
        mark: { type: 'text', align: 'left', dx: 4, color: theme.text },
        encoding: { text: { field: 'value', type: 'quantitative', format: '.4~g' } }
      }
    ]
  };
}

/** A param with at most this many values is drawn in columns, one per value. */
const MAX_COLUMNS = 12;
/** Room kept around the scatter's points (px): none sits on the plot's edge. */
const SCATTER_PAD = 14;
/** What the x axis' title says under the param when runs share a value. */
export const SPREAD_NOTE = '(overlapping runs set side by side)';
export const DARKER_NOTE = '(overlapping points look darker)';
/** The scatter's plot height and its points' diameter (px; size 90 is their area). */
const SCATTER_HEIGHT = 280;
const POINT_PX = 11;

/**
 * Sideways offsets (px) that set apart the points of one column where they would overlap, as
 * a beeswarm: each point (in the order given) takes the place nearest the column's middle that
 * is `diameter` px from every point placed before it, at most `half` px to either side (past
 * that, the place where it overlaps least).  `ys`: the points' heights in px.
 */
export function swarm(ys: number[], half: number, diameter: number): number[] {
  const placed: Array<[number, number]> = [];
  const room = Math.max(0, Math.floor(half / diameter));
  const places = [0, ...Array.from({ length: room }, (_, i) => [(i + 1) * diameter, -(i + 1) * diameter]).flat()];
  return ys.map(y => {
    const nearest = (x: number) => Math.min(Infinity, ...placed.map(([px, py]) => Math.hypot(px - x, py - y)));
    const free = places.find(x => nearest(x) >= diameter - 0.5);
    const x = free ?? places.reduce((a, b) => (nearest(b) > nearest(a) ? b : a));
    placed.push([x, y]);
    return x;
  });
}

/**
 * A param (x) against a metric (y), a point per run, the best run's point in the best colour.
 * A param of few values (or text) has a column per value, and runs of one value that would hide
 * each other are set side by side in its column (its axis title then says so); a param of
 * many numbers has a number axis (log for a span of 20 times or more), its points see-through.  Points keep a margin
 * from the plot's edges.  `width`: the chart's, in px (the columns' labels are fitted to it).
 */
export function scatterSpec(
  runs: IRun[],
  labels: Map<string, string>,
  param: string,
  metric: string,
  best: IRun | null,
  theme: IPlotTheme,
  width: number
): Spec {
  const axis = axisOf(runs.map(run => run.params?.[param]));
  const points = runs.flatMap(run => {
    const y = metricOf(run, metric);
    const raw = run.params?.[param];
    const x = axis.numeric ? numberOf(raw) : raw;
    return y === null || x === null || x === undefined ? [] : [{ name: labels.get(run.id), x, y, best: run === best, offset: 0 }];
  });
  const byValue = new Map<string, typeof points>();
  points.forEach(point => byValue.set(String(point.x), [...(byValue.get(String(point.x)) ?? []), point]));
  const columns = !axis.numeric || byValue.size <= MAX_COLUMNS;
  const tooltip = [{ field: 'name', title: 'run' }, { field: 'x', title: param }, { field: 'y', title: metric, format: '.4~g' }];
  const plot = Math.max(60, width - 70); // about: the chart less its y axis
  let x: Spec;
  let xOffset: Spec | undefined;
  if (columns) {
    // a column per value, in the values' order; where runs of one value would hide each other,
    // they move apart across its column (a beeswarm: the metric, y, stays exact)
    const ys = points.map(point => point.y);
    const [low, high] = [Math.min(...ys), Math.max(...ys)];
    const heightOf = (y: number) => (high > low ? ((y - low) / (high - low)) * (SCATTER_HEIGHT - 2 * SCATTER_PAD) : 0);
    const half = (0.85 * plot) / (2 * byValue.size); // half a column, less the gap between columns
    byValue.forEach(group => {
      const sorted = [...group].sort((a, b) => a.y - b.y);
      swarm(sorted.map(point => heightOf(point.y)), half - POINT_PX / 2, POINT_PX).forEach((x, i) => (sorted[i].offset = x / half));
    });
    const order = [...byValue.keys()].sort((a, b) => (axis.numeric ? Number(a) - Number(b) : a.localeCompare(b, undefined, { numeric: true })));
    x = {
      field: 'x',
      type: 'ordinal',
      sort: axis.numeric ? order.map(Number) : order,
      title: points.some(point => point.offset !== 0) ? [param, SPREAD_NOTE] : param,
      scale: { paddingInner: 0.15, paddingOuter: 0.1 },
      axis: { labelAngle: 0, labelLimit: Math.max(30, plot / order.length - 6), titleLimit: plot, grid: false }
    };
    xOffset = { field: 'offset', type: 'quantitative', scale: { domain: [-1, 1] } };
  } else {
    x = {
      field: 'x',
      type: 'quantitative',
      title: points.length > byValue.size ? [param, DARKER_NOTE] : param, // some runs share a value
      scale: axis.log ? { type: 'log', padding: SCATTER_PAD, nice: false } : { zero: false, padding: SCATTER_PAD, nice: false },
      axis: { titleLimit: plot }
    };
  }
  return {
    ...base(theme, SCATTER_HEIGHT),
    description: `${metric} against ${param} for ${points.length} runs`,
    data: { values: points },
    mark: { type: 'point', filled: true, size: 90, opacity: 0.7 },
    encoding: {
      x,
      ...(xOffset ? { xOffset } : {}),
      y: { field: 'y', type: 'quantitative', title: metric, scale: { zero: false, padding: SCATTER_PAD } },
      color: { condition: { test: 'datum.best', value: theme.best }, value: theme.other },
      size: { condition: { test: 'datum.best', value: 200 }, value: 90 },
      tooltip
    }
  };
}
