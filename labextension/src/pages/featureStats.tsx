/**
 * Per-column statistics as a table: the drift statistics the registry computes (count, missing,
 * mean, std, min and max of a number; the most frequent values of a text), for a model version's
 * training data and for a tabular dataset version's columns (with their types).
 */

import * as React from 'react';

import { formatNumber } from './run/format';

/** One feature (column) as the server summarises it (`endpoints/drift.column_stats`). */
export interface IFeatureStats {
  name: string;
  /** `empty`: a dataset's column that holds no value */
  kind: 'numeric' | 'categorical' | 'empty';
  count: number;
  missing: number;
  mean?: number;
  std?: number;
  min?: number;
  max?: number;
  fractions?: number[] | Record<string, number>;
}

/** A statistic as logged values show numbers (4 significant digits), or a dash. */
function number(value: number | undefined): string {
  return value === undefined || value === null ? '–' : formatNumber(value);
}

/** A text column's three most frequent values with their shares: `setosa 33%, virginica 33%`. */
function categories(f: IFeatureStats): string {
  const fractions = (f.fractions ?? {}) as Record<string, number>;
  return Object.entries(fractions)
    .filter(([k]) => k !== '__other__')
    .slice(0, 3)
    .map(([k, share]) => `${k} ${Math.round(share * 100)}%`)
    .join(', ');
}

export function FeatureStatsTable(props: {
  features: IFeatureStats[];
  /** Each column's type (a dataset's schema): a Type column when given. */
  types?: Record<string, string>;
  /** The first column's heading (default "Feature"). */
  nameHeading?: string;
  label: string;
}): JSX.Element {
  const { features, types } = props;
  return (
    <table className="mlws-Table mlws-FeatureStats" aria-label={props.label}>
      <thead>
        <tr>
          <th>{props.nameHeading ?? 'Feature'}</th>
          {types && <th>Type</th>}
          <th>Kind</th>
          <th>Count</th>
          <th>Missing</th>
          <th>Mean</th>
          <th>Std</th>
          <th>Min</th>
          <th>Max</th>
        </tr>
      </thead>
      <tbody>
        {features.map(f => (
          <tr key={f.name} data-feature={f.name}>
            <td>{f.name}</td>
            {types && <td className="mlws-ColumnType">{types[f.name] ?? ''}</td>}
            <td>{f.kind}</td>
            <td>{f.count}</td>
            <td>{f.missing}</td>
            {f.kind === 'numeric' ? (
              <>
                <td>{number(f.mean)}</td>
                <td>{number(f.std)}</td>
                <td>{number(f.min)}</td>
                <td>{number(f.max)}</td>
              </>
            ) : (
              <td colSpan={4} className="mlws-TopValues">
                {f.kind === 'empty' ? <span className="mlws-Muted">no values</span> : categories(f)}
              </td>
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
