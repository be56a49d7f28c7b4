/**
 * Runs with their params and final metrics, sortable on any column (a click or Enter on its
 * header), the best run marked: a sweep's children, or the runs of a comparison.
 */

import * as React from 'react';

import { formatValue } from '../runs';
import { IRun, Scalar } from '../tokens';
import { defaultDirection } from '../ranking';
import { Direction, numberOf } from './best';

/** A column: a param, a metric (its final value) or an attribute. */
export interface IResultColumn {
  key: string;
  label: string;
  kind: 'attribute' | 'param' | 'metric';
  value(run: IRun): Scalar | undefined;
}

export function paramColumn(key: string): IResultColumn {
  return { key: `params.${key}`, label: key, kind: 'param', value: run => run.params?.[key] };
}

export function metricColumn(key: string): IResultColumn {
  return { key: `metrics.${key}`, label: key, kind: 'metric', value: run => run.metrics?.[key] };
}

export const STATUS_COLUMN: IResultColumn = { key: 'status', label: 'Status', kind: 'attribute', value: run => run.status };

/** Compare two values: numbers as numbers, text naturally, missing ones last either way. */
function compare(a: Scalar | undefined, b: Scalar | undefined, descending: boolean): number {
  const missingA = a === undefined || a === null || a === '';
  const missingB = b === undefined || b === null || b === '';
  if (missingA || missingB) {
    return Number(missingA) - Number(missingB);
  }
  const [x, y] = [numberOf(a), numberOf(b)];
  const order =
    x !== null && y !== null ? x - y : String(a).localeCompare(String(b), undefined, { numeric: true });
  return descending ? -order : order;
}

export interface IResultsSort {
  key: string;
  descending: boolean;
}

export function ResultsTable(props: {
  runs: IRun[];
  labels: Map<string, string>;
  columns: IResultColumn[];
  best: IRun | null;
  /** What "best" means, said by the mark. */
  bestBy: { metric: string; direction: Direction };
  sort: IResultsSort;
  onSort(sort: IResultsSort): void;
  onOpen(run: IRun): void;
  className: string;
  caption: string;
}): JSX.Element {
  const { runs, columns, sort } = props;
  const column = columns.find(c => c.key === sort.key);
  const name = (run: IRun) => props.labels.get(run.id) ?? run.id;
  const rows = [...runs].sort((a, b) =>
    column ? compare(column.value(a), column.value(b), sort.descending) : compare(name(a), name(b), sort.descending)
  );
  // the best value of each metric column (by the ranked metric's direction, else by its name)
  const bestValues = new Map<string, number>();
  for (const c of columns.filter(c => c.kind === 'metric')) {
    const up = (c.label === props.bestBy.metric ? props.bestBy.direction : defaultDirection(c.label)) === 'max';
    const values = runs.map(run => numberOf(c.value(run))).filter((v): v is number => v !== null);
    if (values.length > 1) {
      bestValues.set(c.key, up ? Math.max(...values) : Math.min(...values));
    }
  }
  const header = (key: string, label: string, kind: string) => {
    const sorted = sort.key === key;
    const next = { key, descending: sorted ? !sort.descending : kind === 'metric' };
    return (
      <th key={key} className={`mlws-Col-${kind}`} aria-sort={sorted ? (sort.descending ? 'descending' : 'ascending') : 'none'}>
        <button className="mlws-SortButton" onClick={() => props.onSort(next)} title={`Sort by ${label}`}>
          {label}
          <span aria-hidden="true">{sorted ? (sort.descending ? ' ▼' : ' ▲') : ''}</span>
        </button>
      </th>
    );
  };
  const how = `best by ${props.bestBy.metric} (${props.bestBy.direction === 'max' ? 'highest' : 'lowest'})`;
  return (
    <div className={`mlws-ResultsScroll ${props.className}`}>
      <table className="mlws-Table mlws-Results">
        <caption className="mlws-VisuallyHidden">{props.caption}</caption>
        <thead>
          <tr>
            {header('name', 'Run', 'attribute')}
            {columns.map(c => header(c.key, c.label, c.kind))}
          </tr>
        </thead>
        <tbody>
          {rows.map(run => {
            const isBest = run === props.best;
            return (
              <tr key={run.id} className={isBest ? 'mlws-ResultRow mlws-Best' : 'mlws-ResultRow'} data-run-id={run.id}>
                <td>
                  <button className="mlws-Link" onClick={() => props.onOpen(run)} title={`Open run ${run.id}`}>
                    {name(run)}
                  </button>
                  {isBest && (
                    <span className="mlws-BestMark" title={how} aria-label={how}>
                      ★ best
                    </span>
                  )}
                </td>
                {columns.map(c => {
                  const value = c.value(run);
                  const top = bestValues.has(c.key) && numberOf(value) === bestValues.get(c.key);
                  const status = c.key === 'status' ? ` mlws-status-${value}` : '';
                  return (
                    <td key={c.key} className={`mlws-Col-${c.kind}${top ? ' mlws-BestCell' : ''}${status}`}>
                      {formatValue(value)}
                    </td>
                  );
                })}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
