/**
 * The columns of the runs table (attributes, params, metrics as last/min/max, tags): how each
 * is labelled, sorted (`order_by`) and read from a run, and what a user chose for an
 * experiment (columns, the "best" metric and its direction), remembered in the browser's
 * localStorage per experiment (JupyterLab's state database is not there on the team page).
 */

import { formatNumber } from './pages/run/format';
import type { Direction } from './ranking';
import { IRun, Scalar } from './tokens';

export type ColumnKind = 'attribute' | 'param' | 'metric' | 'tag';
/** A metric column's value: its latest value, or the smallest / largest it ever was. */
export type Aggregate = 'last' | 'min' | 'max';

export interface IColumn {
  kind: ColumnKind;
  key: string;
  /** Metrics only (default "last"). */
  agg?: Aggregate;
}

/** A run as the runs table reads it: `children` and `ranges` come with `children=true` / `ranges=`. */
export interface IRunRow extends IRun {
  children?: number;
  ranges?: Record<string, { min: number | string | null; max: number | string | null }>;
}

/** The keys a column chooser offers (GET runs?keys=true). */
export interface IColumnKeys {
  params: string[];
  metrics: string[];
  tags: string[];
}

/** Attributes a column can show, in the chooser's order. */
export const ATTRIBUTES: Array<{ key: string; label: string }> = [
  { key: 'status', label: 'Status' },
  { key: 'start_time', label: 'Started' },
  { key: 'duration', label: 'Duration' },
  { key: 'end_time', label: 'Ended' },
  { key: 'user', label: 'User' },
  { key: 'source_name', label: 'Source' },
  { key: 'source_type', label: 'Source type' },
  { key: 'git_commit', label: 'Git commit' },
  { key: 'description', label: 'Description' },
  { key: 'id', label: 'Run id' }
];

export function columnId(column: IColumn): string {
  return `${column.kind}:${column.kind === 'metric' ? column.agg ?? 'last' : ''}:${column.key}`;
}

export function columnLabel(column: IColumn): string {
  if (column.kind === 'attribute') {
    return ATTRIBUTES.find(a => a.key === column.key)?.label ?? column.key;
  }
  const agg = column.kind === 'metric' && column.agg && column.agg !== 'last' ? ` (${column.agg})` : '';
  return `${column.key}${agg}`;
}

/** A key as the filter language names it: bare when it can be, else in backticks. */
export function quoteKey(key: string): string {
  return /^[A-Za-z_][\w.-]*$/.test(key) ? key : '`' + key.replace(/`/g, '``') + '`';
}

/** The column's field in the filter language (and `order_by`). */
export function columnField(column: IColumn): string {
  const key = quoteKey(column.key);
  switch (column.kind) {
    case 'attribute':
      return column.key;
    case 'param':
      return `params.${key}`;
    case 'tag':
      return `tags.${key}`;
    default:
      return column.agg && column.agg !== 'last' ? `${column.agg}(metrics.${key})` : `metrics.${key}`;
  }
}

function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) {
    return `${s}s`;
  }
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m ${s % 60}s` : `${Math.floor(m / 60)}h ${m % 60}m`;
}

export function formatTime(value: unknown): string {
  if (typeof value !== 'number') {
    return value ? String(value) : '';
  }
  const date = new Date(value);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(
    date.getHours()
  )}:${pad(date.getMinutes())}`;
}

export function formatValue(value: Scalar | undefined): string {
  if (typeof value === 'number') {
    return Number.isInteger(value) ? String(value) : value.toPrecision(4);
  }
  return value === null || value === undefined ? '' : String(value);
}

/** The raw value of a column for a run (undefined when the run lacks it). */
export function columnValue(column: IColumn, run: IRunRow): Scalar | undefined {
  switch (column.kind) {
    case 'param':
      return run.params?.[column.key];
    case 'tag':
      return run.tags?.[column.key];
    case 'metric': {
      const agg = column.agg ?? 'last';
      return agg === 'last' ? run.metrics?.[column.key] : run.ranges?.[column.key]?.[agg] ?? undefined;
    }
    default:
      if (column.key === 'duration') {
        const { start_time: start, end_time: end } = run;
        return typeof start === 'number' && typeof end === 'number' ? end - start : undefined;
      }
      return run[column.key] as Scalar | undefined;
  }
}

/** A column's value as the table shows it. */
export function columnText(column: IColumn, run: IRunRow): string {
  const value = columnValue(column, run);
  if (column.kind === 'param' && typeof value === 'string') {
    return shortParam(value);
  }
  if (column.kind === 'attribute' && (column.key === 'start_time' || column.key === 'end_time')) {
    return formatTime(value);
  }
  if (column.kind === 'attribute' && column.key === 'duration') {
    return typeof value === 'number' ? formatDuration(value) : run.status === 'running' ? 'running' : '';
  }
  return formatValue(value);
}

/** A param's text as a cell shows it: a long number in 4 significant digits (`0.6766`, `1.594e-5`), anything else whole. */
export function shortParam(text: string): string {
  const n = text.length > 8 && text.trim() !== '' ? Number(text) : NaN;
  return Number.isFinite(n) ? formatNumber(n) : text;
}

/** A cell's full value when the cell shows it shortened (its tooltip), else undefined. */
export function columnTitle(column: IColumn, run: IRunRow): string | undefined {
  const value = columnValue(column, run);
  const full = value === null || value === undefined ? '' : String(value);
  return full && full !== columnText(column, run) && column.kind !== 'attribute' ? full : undefined;
}

/** What a user chose for an experiment's runs table. */
export interface IRunsPrefs {
  columns?: IColumn[];
  best?: { metric: string; direction: Direction };
  /** The last experiment the runs table showed (kept under the '' experiment's entry). */
  experiment?: string;
}

const PREFS_PREFIX = 'jupyter-mlws:runs-table:';

export function loadPrefs(experiment: string): IRunsPrefs {
  try {
    const raw = window.localStorage.getItem(PREFS_PREFIX + experiment);
    const prefs = raw ? JSON.parse(raw) : {};
    return prefs && typeof prefs === 'object' ? prefs : {};
  } catch {
    return {}; // storage disabled or a value not ours: nothing remembered
  }
}

export function savePrefs(experiment: string, change: IRunsPrefs): void {
  try {
    window.localStorage.setItem(PREFS_PREFIX + experiment, JSON.stringify({ ...loadPrefs(experiment), ...change }));
  } catch {
    // storage full or disabled: the choice lasts until the page closes
  }
}

/** The columns a table starts with: status, times, a few params and metrics. */
export function defaultColumns(keys: IColumnKeys, manyUsers = false, searchMetric: string | null = null): IColumn[] {
  // an experiment of automated-ML searches: the trials' estimator and the search's metric first
  // (its hyper-parameters differ per estimator: a column each would push the metrics away)
  const params = searchMetric ? keys.params.filter(key => key === 'estimator') : keys.params.slice(0, 4);
  const metrics = searchMetric
    ? [searchMetric, `best_${searchMetric}`, 'trials', 'train_time_s'].filter(key => keys.metrics.includes(key))
    : keys.metrics.slice(0, 4);
  return [
    { kind: 'attribute', key: 'status' },
    // on a team's workspace, who ran each run (the CLI's USER column)
    ...(manyUsers ? [{ kind: 'attribute' as const, key: 'user' }] : []),
    { kind: 'attribute', key: 'start_time' },
    { kind: 'attribute', key: 'duration' },
    ...params.map(key => ({ kind: 'param' as const, key })),
    ...metrics.map(key => ({ kind: 'metric' as const, key, agg: 'last' as const }))
  ];
}

/** Whether `runs` were started by more than one user (a team's: the User column is shown). */
export function byManyUsers(runs: IRun[]): boolean {
  return new Set(runs.map(run => run.user)).size > 1;
}

/** The keys of some runs (before the server's list of the experiment's keys arrives). */
export function keysOf(runs: IRun[]): IColumnKeys {
  const keys = (pick: (run: IRun) => object) => [...new Set(runs.flatMap(run => Object.keys(pick(run) || {})))].sort();
  return { params: keys(run => run.params), metrics: keys(run => run.metrics), tags: keys(run => run.tags) };
}
