/**
 * Vega-Lite specs of the sweep and compare charts (drawn by JupyterLab's own Vega renderer, so
 * they cost our bundle nothing): parallel coordinates, bars of one value per run, a scatter.
 * Pure functions of the runs and the theme.
 */

import { IRun } from '../tokens';
import { Direction, metricOf, numberOf } from './best';
import { IPlotTheme, vegaConfig } from './plotTheme';

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
    ticks: order.flatMap((text, i) => (i % every === 0 ? [{ position: at(i), label: text.slice(0, 24) }] : [])),
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

/**
 * Parallel coordinates: an axis per param and one for the metric, a line per run coloured by
 * the metric (the best colour at the good end), the best run's line drawn thicker.
 */
export function parallelSpec(
  runs: IRun[],
  labels: Map<string, string>,
  dims: IDimension[],
  metric: string,
  direction: Direction,
  best: IRun | null,
  theme: IPlotTheme
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
  const ticks = axes.flatMap((axis, i) => axis.ticks.map(tick => ({ dim: titles[i], ...tick })));
  const x = { field: 'dim', type: 'nominal', sort: titles, scale: { padding: 0.3 }, axis: { title: null, labelAngle: 0, orient: 'bottom', domain: false, ticks: false, labelFontWeight: 'bold', labelLimit: 160 } };
  const domain = [0, 1.05]; // room above the top values' labels
  const y = { field: 'position', type: 'quantitative', axis: null, scale: { domain } };
  const range = direction === 'max' ? [theme.other, theme.best] : [theme.best, theme.other];
  return {
    ...base(theme, 320),
    description: `Parallel coordinates of ${runs.length} runs: ${titles.join(', ')}`,
    layer: [
      {
        data: { values: titles.map(dim => ({ dim })) },
        mark: { type: 'rule', color: theme.border },
        encoding: { x, y: { datum: 0, type: 'quantitative', axis: null, scale: { domain } }, y2: { datum: 1 } }
      },
      {
        data: { values: lines },
        mark: { type: 'line', opacity: 0.85, interpolate: 'linear' },
        encoding: {
          x,
          y,
          detail: { field: 'run', type: 'nominal' },
          order: { field: 'order', type: 'quantitative' },
          color: { field: 'score', type: 'quantitative', title: metric, scale: { range } },
          strokeWidth: { condition: { test: 'datum.best', value: 4 }, value: 1.5 },
          tooltip: [{ field: 'name', title: 'run' }, { field: 'score', title: metric }]
        }
      },
      {
        data: { values: ticks },
        // beside the axis and just above the value, off the lines that end there
        mark: { type: 'text', align: 'left', baseline: 'bottom', dx: 4, dy: -2, fontSize: 10, color: theme.muted },
        encoding: { x, y, text: { field: 'label' } }
      }
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
  const x = { field: 'value', type: 'quantitative', title: metric };
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

/** A param (x) against a metric (y), a point per run, the best run's point in the best colour. */
export function scatterSpec(
  runs: IRun[],
  labels: Map<string, string>,
  param: string,
  metric: string,
  best: IRun | null,
  theme: IPlotTheme
): Spec {
  const axis = axisOf(runs.map(run => run.params?.[param]));
  const values = runs.flatMap(run => {
    const y = metricOf(run, metric);
    const raw = run.params?.[param];
    const x = axis.numeric ? numberOf(raw) : raw;
    return y === null || x === null || x === undefined ? [] : [{ name: labels.get(run.id), x, y, best: run === best }];
  });
  const x = axis.numeric
    ? { field: 'x', type: 'quantitative', title: param, scale: axis.log ? { type: 'log' } : { zero: false } }
    : { field: 'x', type: 'ordinal', title: param, axis: { labelAngle: 0 } };
  return {
    ...base(theme, 280),
    description: `${metric} against ${param} for ${values.length} runs`,
    data: { values },
    mark: { type: 'point', filled: true, size: 90, opacity: 0.9 },
    encoding: {
      x,
      y: { field: 'y', type: 'quantitative', title: metric, scale: { zero: false } },
      color: { condition: { test: 'datum.best', value: theme.best }, value: theme.other },
      size: { condition: { test: 'datum.best', value: 200 }, value: 90 },
      tooltip: [{ field: 'name', title: 'run' }, { field: 'x', title: param }, { field: 'y', title: metric, format: '.4~g' }]
    }
  };
}
