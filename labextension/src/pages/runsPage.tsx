/**
 * The runs table at full size: an experiment's runs with the columns the user chose (params,
 * metrics as last/min/max, tags, attributes), sorted and filtered by the server (the SDK's
 * filter language; its errors verbatim, caret included), paged on the server; children nested
 * under their parent; the best run by a metric marked; ticked runs lead to compare.
 */

import { ReactWidget, UseSignal } from '@jupyterlab/apputils';
import { Message } from '@lumino/messaging';
import * as React from 'react';

import { ColumnChooser } from '../runColumnChooser';
import { columnField, columnId, columnLabel, columnText, columnTitle, IColumn, IRunRow } from '../runColumns';
import { COMPARE_MAX, RunsTableModel } from '../runsTableModel';
import { Later } from '../later';
import { RUN_STATUS_SCHEMA } from '../tokens';
import { IPageContext, IPageRequest } from './page';

/** A status as a coloured dot and its word (the word is never cut: the column fits it). */
export function StatusDot(props: { status: string }): JSX.Element {
  return <span className={`mlws-Dot mlws-status-${props.status}`} role="img" aria-label={props.status} title={props.status} />;
}

function Toolbar(props: { model: RunsTableModel }): JSX.Element {
  const { model } = props;
  const [text, setText] = React.useState(model.filter);
  const [choosing, setChoosing] = React.useState(false);
  return (
    <div className="mlws-RunsToolbar">
      <form
        className="mlws-RunsSearch"
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
          aria-label="Filter runs (the SDK's filter language)"
          placeholder="metrics.loss < 0.1 and params.lr = '0.05'"
          value={text}
          onChange={event => setText(event.target.value)}
        />
        <button type="submit" className="mlws-Button">
          Filter
        </button>
      </form>
      <label className="mlws-Nested" title="Show child runs (sweeps) under their parent">
        <input type="checkbox" checked={model.nested} onChange={() => void model.search({ nested: !model.nested })} /> Nest
        children
      </label>
      <button className="mlws-Button mlws-ColumnsButton" aria-expanded={choosing} onClick={() => setChoosing(!choosing)}>
        Columns…
      </button>
      <BestPicker model={model} />
      {choosing && <ColumnChooser model={model} onClose={() => setChoosing(false)} />}
    </div>
  );
}

/** "3 runs" on the page, and how many child runs its expanded rows show besides ("1 run + 6 children shown"). */
function pageCount(model: RunsTableModel): string {
  const children = [...model.expanded.values()].reduce((n, rows) => n + rows.runs.length, 0);
  const runs = `${model.runs.length} run${model.runs.length === 1 ? '' : 's'}`;
  return children ? `${runs} + ${children} ${children === 1 ? 'child' : 'children'} shown` : runs;
}

/** "Best by [metric] [lowest|highest]: run (value)". */
function BestPicker(props: { model: RunsTableModel }): JSX.Element | null {
  const { model } = props;
  const best = model.best;
  const keys = model.metricKeys;
  if (!best || keys.length === 0) {
    return null;
  }
  const value = best.run?.metrics?.[best.metric];
  return (
    <div className="mlws-BestPicker">
      <label>
        Best by{' '}
        <select className="mlws-BestMetric" value={best.metric} onChange={event => void model.setBest(event.target.value)}>
          {keys.map(key => (
            <option key={key} value={key}>
              {key}
            </option>
          ))}
        </select>
      </label>{' '}
      <button
        className="mlws-Button mlws-BestDirection"
        title="Switch between lowest and highest is best"
        onClick={() => void model.setBest(best.metric, best.direction === 'min' ? 'max' : 'min')}
      >
        {best.direction === 'min' ? 'lowest' : 'highest'}
      </button>
      <span className="mlws-BestRun" data-run-id={best.run?.id ?? ''}>
        {model.error ? null : best.run ? (
          <>
            {' '}★ {best.run.name || best.run.id} ({best.metric} = {typeof value === 'number' ? value.toPrecision(4) : String(value)})
          </>
        ) : best.error && !model.error ? (
          <span className="mlws-Muted"> {best.error}</span>
        ) : (
          <span className="mlws-Muted"> no run has {best.metric}</span>
        )}
      </span>
    </div>
  );
}

function HeaderCell(props: { model: RunsTableModel; column: IColumn }): JSX.Element {
  const { model, column } = props;
  const field = columnField(column);
  const sorted = model.sort.key === field;
  const label = columnLabel(column);
  return (
    <th
      aria-sort={sorted ? (model.sort.descending ? 'descending' : 'ascending') : 'none'}
      className={`mlws-col-${column.kind}`}
      data-column={columnId(column)}
    >
      <button className="mlws-SortButton" title={`Sort by ${field}`} onClick={() => void model.sortBy(column)}>
        {label}
        {sorted ? (model.sort.descending ? ' ▼' : ' ▲') : ''}
      </button>
    </th>
  );
}

interface IRowProps {
  model: RunsTableModel;
  run: IRunRow;
  depth: number;
  columns: IColumn[];
  onOpen: (run: IRunRow) => void;
}

/** One run, and its children below it when expanded. */
function RunRows(props: IRowProps): JSX.Element {
  const { model, run, depth, columns } = props;
  const expanded = model.expanded.get(run.id);
  const best = model.best?.run;
  const isBest = best?.id === run.id;
  const holdsBest = !isBest && best?.parent_id === run.id;
  const name = run.name || run.id.slice(0, 8);
  const count = run.children ?? 0;
  const classes = ['mlws-RunRow', isBest ? 'mlws-mod-best' : '', depth > 0 ? 'mlws-mod-child' : ''].join(' ');
  return (
    <>
      <tr
        className={classes}
        data-run-id={run.id}
        data-depth={depth}
        tabIndex={0}
        aria-label={`${name}, ${run.status}${isBest ? ', best run' : ''}`}
        onClick={() => props.onOpen(run)}
        onKeyDown={event => {
          if (event.key === 'Enter' && event.target === event.currentTarget) {
            props.onOpen(run);
          }
        }}
      >
        <td className="mlws-SelectCell" onClick={event => event.stopPropagation()}>
          <input
            type="checkbox"
            className="mlws-Select"
            aria-label={`Select ${name} to compare`}
            checked={model.selected.has(run.id)}
            onChange={() => model.toggleSelect(run.id)}
          />
        </td>
        <td className="mlws-NameCell" style={{ paddingLeft: `${6 + depth * 18}px` }}>
          {count > 0 ? (
            <button
              className="mlws-Expand"
              aria-expanded={expanded !== undefined}
              aria-label={`${expanded ? 'Hide' : 'Show'} the ${count} child runs of ${name}`}
              onClick={event => {
                event.stopPropagation();
                void model.toggleExpand(run.id);
              }}
            >
              {expanded ? '▾' : '▸'} <span className="mlws-ChildCount">{count}</span>
            </button>
          ) : (
            <span className="mlws-ExpandSpace" />
          )}
          <span className="mlws-RunName" title={run.id}>
            {name}
          </span>
          {isBest && (
            <span className="mlws-BestMark" title={`Best by ${model.best!.metric} (${model.best!.direction === 'min' ? 'lowest' : 'highest'})`}>
              ★ best
            </span>
          )}
          {holdsBest && (
            <span className="mlws-BestMark mlws-mod-inside" title="The best run is one of its children">
              ★ in children
            </span>
          )}
        </td>
        {columns.map(column => (
          <td key={columnId(column)} className={`mlws-col-${column.kind}`} title={columnTitle(column, run)}>
            {column.kind === 'attribute' && column.key === 'status' && <StatusDot status={run.status} />}
            {columnText(column, run)}
          </td>
        ))}
      </tr>
      {expanded && (
        <>
          {expanded.runs.map(child => (
            <RunRows key={child.id} {...props} run={child} depth={depth + 1} />
          ))}
          {(expanded.loading || expanded.error || expanded.next) && (
            <tr className="mlws-ChildrenInfo">
              <td />
              <td colSpan={columns.length + 1} style={{ paddingLeft: `${24 + depth * 18}px` }}>
                {expanded.loading && <span className="mlws-Muted">loading…</span>}
                {expanded.error && <span className="mlws-Error">{expanded.error}</span>}
                {expanded.next && !expanded.loading && (
                  <button className="mlws-Button mlws-MoreChildren" onClick={() => void model.moreChildren(run.id)}>
                    More children
                  </button>
                )}
              </td>
            </tr>
          )}
        </>
      )}
    </>
  );
}

export function RunsTableView(props: { model: RunsTableModel; context: IPageContext }): JSX.Element {
  const { model, context } = props;
  const columns = model.columns;
  const selected = [...model.selected];
  const canCompare = selected.length >= 2 && selected.length <= COMPARE_MAX;
  return (
    <div className="mlws-RunsPage">
      <Toolbar model={model} />
      {model.error && (
        <pre className="mlws-Error mlws-RunsError" role="alert">
          {model.error}
        </pre>
      )}
      <div className="mlws-RunsScroll">
        <table className="mlws-RunsTable">
          <thead>
            <tr>
              <th className="mlws-SelectCell" title="Tick runs to compare them" />
              <th className="mlws-NameCell" aria-sort={model.sort.key === 'name' ? (model.sort.descending ? 'descending' : 'ascending') : 'none'}>
                <button className="mlws-SortButton" title="Sort by name" onClick={() => void model.sortBy({ kind: 'attribute', key: 'name' })}>
                  Run{model.sort.key === 'name' ? (model.sort.descending ? ' ▼' : ' ▲') : ''}
                </button>
              </th>
              {columns.map(column => (
                <HeaderCell key={columnId(column)} model={model} column={column} />
              ))}
            </tr>
          </thead>
          <tbody>
            {model.runs.map(run => (
              <RunRows key={run.id} model={model} run={run} depth={0} columns={columns} onOpen={row => context.open({ kind: 'run', id: row.id })} />
            ))}
          </tbody>
        </table>
        {!model.loading && !model.error && model.runs.length === 0 && (
          <div className="mlws-Empty">
            {model.nested && model.filter.trim()
              ? "No top-level run matches: untick 'Nest children' to search child runs too."
              : 'No runs match.'}
          </div>
        )}
      </div>
      <div className="mlws-Pager">
        <button className="mlws-Button mlws-Prev" disabled={!model.hasPrevious || model.loading} onClick={() => void model.previousPage()}>
          ‹ Prev
        </button>
        {/* while the filter (or the server) refuses, only its error speaks: no "0 runs" */}
        <span className="mlws-PageInfo">
          {model.error ? '' : `page ${model.pageNumber} · ${pageCount(model)}`}
          {model.loading ? (model.error ? 'loading…' : ' · loading…') : ''}
        </span>
        <button className="mlws-Button mlws-Next" disabled={!model.hasNext || model.loading} onClick={() => void model.nextPage()}>
          Next ›
        </button>
        <span className="mlws-PagerSpace" />
        {selected.length > 0 && (
          <button className="mlws-Button mlws-ClearSelection" onClick={() => model.clearSelection()}>
            Clear
          </button>
        )}
        <button
          className="mlws-Button mlws-mod-accept mlws-Compare-open"
          disabled={!canCompare}
          title={canCompare ? 'Compare the ticked runs' : `Tick 2 to ${COMPARE_MAX} runs`}
          onClick={() => context.open({ kind: 'compare', ids: selected })}
        >
          Compare selected ({selected.length})
        </button>
      </div>
    </div>
  );
}

/** The runs table page: its model is public, for the "Compare selected runs" command. */
export class RunsPageWidget extends ReactWidget {
  constructor(
    readonly model: RunsTableModel,
    private readonly context: IPageContext
  ) {
    super();
    this.addClass('mlws-RunsPageWidget');
    context.events.connect(this.onEvent, this);
    model.changed.connect(() => {
      // the request names the experiment shown (chosen, or resolved from none): the same table is
      // found again by it, and the layout restorer reopens this experiment, not the latest one
      const request: IPageRequest | undefined = (this as any).mlwsRequest;
      if (request && model.resolved && request.experiment !== model.experiment) {
        (this as any).mlwsRequest = { ...request, experiment: model.experiment };
      }
      this.title.label = model.experiment ? `Runs · ${model.experiment}` : 'Runs';
    });
  }

  render(): JSX.Element {
    return <UseSignal signal={this.model.changed}>{() => <RunsTableView model={this.model} context={this.context} />}</UseSignal>;
  }

  dispose(): void {
    this.context.events.disconnect(this.onEvent, this);
    this._later.clear();
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    if (this._stale) {
      this._stale = false;
      void this.model.refresh();
    }
  }

  /** A run started or changed status: the page is fetched again (at most once a second; when shown). */
  private onEvent(_: unknown, event: { schema_id: string }): void {
    if (event.schema_id !== RUN_STATUS_SCHEMA) {
      return;
    }
    if (!this.isVisible) {
      this._stale = true;
      return;
    }
    this._later.run('page', () => this.model.refresh());
  }

  private _stale = false;
  private _later = new Later();
}

export function createRunsPage(request: IPageRequest, context: IPageContext): RunsPageWidget {
  const widget = new RunsPageWidget(new RunsTableModel(request.experiment), context);
  widget.title.label = request.experiment ? `Runs · ${request.experiment}` : 'Runs';
  void widget.model.refresh();
  return widget;
}
