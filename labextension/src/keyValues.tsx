/** Keys and values (a run's params or metrics) as a two-column table, sorted by key. */

import * as React from 'react';

import { formatValue } from './runs';
import { Scalar } from './tokens';

export function KeyValues(props: { title: string; values: Record<string, Scalar>; className: string }): JSX.Element {
  const entries = Object.entries(props.values || {}).sort(([a], [b]) => a.localeCompare(b));
  return (
    <section className={props.className}>
      <h3>{props.title}</h3>
      {entries.length === 0 ? (
        <div className="mlws-Empty">none</div>
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
