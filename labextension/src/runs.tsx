/** The runs table: experiment filter, search box (the filter language), sortable columns, pages. */

import * as React from 'react';

import { RunsModel } from './model';
import { IRun, Scalar } from './tokens';

interface IColumn {
  label: string;
  /** The `order_by` key, also the filter language's field. */
  key: string;
  value: (run: IRun) => Scalar | undefined;
}

const BASE_COLUMNS: IColumn[] = [
  { label: 'Run', key: 'name', value: run => run.name || run.id.slice(0, 8) },
  { label: 'Status', key: 'status', value: run => run.status },
  { label: 'Started', key: 'start_time', value: run => formatTime(run.start_time) }
];

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

function SearchBar(props: { model: RunsModel }): JSX.Element {
  const { model } = props;
  const [text, setText] = React.useState(model.filter);
  return (
    <form
      className="mlws-SearchBar"
      onSubmit={event => {
        event.preventDefault();
        void model.search({ filter: text });
      }}
    >
      <select
        className="mlws-Experiment"
        aria-label="Experiment"
        value={model.experiment}
        onChange={event => void model.search({ experiment: event.target.value })}
      >
        <option value="">All experiments</option>
        {model.experiments.map(exp => (
          <option key={exp.name} value={exp.name}>
            {exp.name} ({exp.runs})
          </option>
        ))}
      </select>
      <input
        className="mlws-Filter"
        type="search"
        aria-label="Filter runs"
        placeholder="metrics.loss < 0.1 and params.lr = '0.05'"
        value={text}
        onChange={event => setText(event.target.value)}
      />
    </form>
  );
}

export function RunsTable(props: {
  model: RunsModel;
  onOpen: (run: IRun) => void;
  onCompare: (runIds: string[]) => void;
}): JSX.Element {
  const { model } = props;
  const columns: IColumn[] = [
    ...BASE_COLUMNS,
    ...model.metricKeys.map(key => ({ label: key, key: `metrics.${key}`, value: (run: IRun) => run.metrics[key] }))
  ];
  const arrow = (key: string) => (model.sort.key === key ? (model.sort.descending ? ' ▼' : ' ▲') : '');
  return (
    <div className="mlws-Runs">
      <SearchBar model={model} />
      {model.error && <div className="mlws-Error" role="alert">{model.error}</div>}
      <div className="mlws-TableScroll">
        <table className="mlws-Table">
          <thead>
            <tr>
              <th title="Tick runs to compare them" />
              {columns.map(column => (
                <th key={column.key} title={`Sort by ${column.key}`} onClick={() => void model.sortBy(column.key)}>
                  {column.label}
                  {arrow(column.key)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {model.runs.map(run => (
              <tr key={run.id} className="mlws-RunRow" data-run-id={run.id} onClick={() => props.onOpen(run)}>
                <td onClick={event => event.stopPropagation()}>
                  <input
                    type="checkbox"
                    className="mlws-Select"
                    aria-label={`Compare ${run.name || run.id}`}
                    checked={model.selected.has(run.id)}
                    onChange={() => model.toggle(run.id)}
                  />
                </td>
                {columns.map(column => (
                  <td key={column.key} className={column.key === 'status' ? `mlws-status-${run.status}` : ''}>
                    {formatValue(column.value(run))}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
        {!model.loading && !model.error && model.runs.length === 0 && (
          <div className="mlws-Empty">No runs match.</div>
        )}
      </div>
      <div className="mlws-Pager">
        <button className="mlws-Prev" disabled={!model.hasPrevious || model.loading} onClick={() => void model.previousPage()}>
          ‹ Prev
        </button>
        <span className="mlws-PageInfo">
          page {model.pageNumber} · {model.runs.length} runs{model.loading ? ' · loading…' : ''}
        </span>
        <button className="mlws-Next" disabled={!model.hasNext || model.loading} onClick={() => void model.nextPage()}>
          Next ›
        </button>
        <button
          className="mlws-Compare-open"
          disabled={model.selected.size < 2}
          title="Tick two runs or more"
          onClick={() => props.onCompare([...model.selected])}
        >
          Compare ({model.selected.size})
        </button>
      </div>
    </div>
  );
}
