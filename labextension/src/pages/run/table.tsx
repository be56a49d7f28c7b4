/** A table whose columns sort on a click (or Enter) on their heading: numbers as numbers. */

import * as React from 'react';

import { formatNumber } from './format';

function compare(a: unknown, b: unknown): number {
  const x = typeof a === 'number' ? a : Number(a);
  const y = typeof b === 'number' ? b : Number(b);
  if (a !== '' && b !== '' && a !== null && b !== null && Number.isFinite(x) && Number.isFinite(y)) {
    return x - y;
  }
  return String(a ?? '').localeCompare(String(b ?? ''));
}

/** A cell's text: numbers in 4 significant digits as everywhere else (the full value in its title). */
function cell(value: unknown): string {
  if (value === null || value === undefined) {
    return '';
  }
  if (typeof value === 'number') {
    return formatNumber(value);
  }
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** The full value of a number shown shorter, else nothing. */
function fullValue(value: unknown): string | undefined {
  return typeof value === 'number' && formatNumber(value) !== String(value) ? String(value) : undefined;
}

export function SortableTable(props: { header: string[]; rows: unknown[][]; className?: string; caption?: string }): JSX.Element {
  const [sort, setSort] = React.useState<{ column: number; descending: boolean } | null>(null);
  const rows = React.useMemo(() => {
    if (sort === null) {
      return props.rows;
    }
    const sorted = [...props.rows].sort((a, b) => compare(a[sort.column], b[sort.column]));
    return sort.descending ? sorted.reverse() : sorted;
  }, [props.rows, sort]);
  return (
    <div className="mlws-TableScroll mlws-DataScroll">
      <table className={`mlws-DataTable ${props.className ?? ''}`}>
        {props.caption && <caption>{props.caption}</caption>}
        <thead>
          <tr>
            {props.header.map((name, i) => {
              const sorted = sort?.column === i;
              return (
                <th key={i} aria-sort={sorted ? (sort!.descending ? 'descending' : 'ascending') : 'none'}>
                  <button
                    className="mlws-SortButton"
                    onClick={() => setSort({ column: i, descending: sorted ? !sort!.descending : false })}
                  >
                    {name}
                    <span aria-hidden="true">{sorted ? (sort!.descending ? ' ▼' : ' ▲') : ''}</span>
                  </button>
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, r) => (
            <tr key={r}>
              {props.header.map((_, c) => (
                <td key={c} title={fullValue(row[c])}>
                  {cell(row[c])}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
