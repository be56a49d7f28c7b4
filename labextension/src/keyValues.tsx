/**
 * Keys and values (a run's params or metrics, a model version's lineage) as a two-column table,
 * sorted by key; `empty` (default "none") where there are none.  `FieldTable`: labelled fields
 * in the order given, their values any content (a target's or a schedule's settings).
 */

import * as React from 'react';

import { formatValue } from './runs';
import { Scalar } from './tokens';

export function KeyValues(props: {
  values: Record<string, Scalar> | undefined;
  className: string;
  /** A heading above the table (none: the caller heads it). */
  title?: string;
  empty?: string;
}): JSX.Element {
  const entries = Object.entries(props.values || {}).sort(([a], [b]) => a.localeCompare(b));
  return (
    <section className={props.className}>
      {props.title && <h3>{props.title}</h3>}
      {entries.length === 0 ? (
        <div className="mlws-Empty">{props.empty ?? 'none'}</div>
      ) : (
        <table className="mlws-KeyValues">
          <tbody>
            {entries.map(([key, value]) => (
              <tr key={key} data-key={key}>
                <th scope="row">{key}</th>
                <td>{formatValue(value)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** Labelled fields in the order given (each row's `data-key` is its label), values any content. */
export function FieldTable(props: { rows: Array<[string, React.ReactNode]>; className: string }): JSX.Element {
  return (
    <table className={`mlws-KeyValues ${props.className}`}>
      <tbody>
        {props.rows.map(([key, value]) => (
          <tr key={key} data-key={key}>
            <th scope="row">{key}</th>
            <td>{value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
