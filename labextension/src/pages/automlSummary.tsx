/**
 * An automated-ML search in brief: what it searched, the metric and its direction, the time spent
 * against the budget (a line and a meter), the trials done, the trial the deadline stopped and
 * the model registered (its page a click away).  On the run page's overview (with a link to the
 * leaderboard) and above the leaderboard itself.
 */

import * as React from 'react';

import { budgetText, IAutoMLSearch, registered, searchLive } from './automl';
import { IPageContext } from './page';

function Item(props: { label: string; field: string; children: React.ReactNode }): JSX.Element {
  return (
    <div className="mlws-Field" data-field={props.field}>
      <dt>{props.label}</dt>
      <dd>{props.children}</dd>
    </div>
  );
}

/** The budget spent as a bar; past the budget by more than 5 %, the bar says so in red. */
function BudgetMeter(props: { search: IAutoMLSearch }): JSX.Element {
  const { time_budget_s: total, time_spent_s: spent } = props.search.budget;
  const share = total > 0 ? (spent ?? 0) / total : 0;
  return (
    <meter
      className={`mlws-BudgetMeter${share > 1.05 ? ' mlws-mod-over' : ''}`}
      min={0}
      max={total}
      value={Math.min(spent ?? 0, total)}
      aria-label={`${Math.round(share * 100)} % of the time budget used`}
    />
  );
}

function ModelLine(props: { search: IAutoMLSearch; context: IPageContext }): JSX.Element {
  const { search, context } = props;
  const model = registered(search);
  if (model) {
    return (
      <button
        className="mlws-Link mlws-AutoMLModel"
        title="Open the model's page"
        onClick={() => context.open({ kind: 'model', id: model.name, version: model.version })}
      >
        {search.model}
      </button>
    );
  }
  const text = !search.spec.register
    ? 'not registered (the search was asked not to)'
    : searchLive(search)
      ? `registered as ${search.spec.model_name} when the search ends`
      : 'none registered';
  return <span className="mlws-Muted">{text}</span>;
}

/** Why a search ended without completing, and how it goes on (as `mlws automl show` says). */
function EndedNote(props: { search: IAutoMLSearch }): JSX.Element | null {
  const { run } = props.search;
  if (!['failed', 'killed', 'canceled'].includes(run.status)) {
    return null;
  }
  const error = run.error ?? '';
  return (
    <div className="mlws-Note mlws-AutoMLEnded" role="note">
      The search {run.status}
      {error ? `: ${error}` : ''}
      {error.includes('mlws automl resume') ? null : (
        <>
          {props.search.leaderboard.length ? '. Its finished trials are kept: ' : '. '}
          <code>mlws automl resume {run.id}</code> goes on
          {props.search.leaderboard.length ? ' from them' : ''}.
        </>
      )}
    </div>
  );
}

export function AutoMLSummary(props: { search: IAutoMLSearch; context: IPageContext; children?: React.ReactNode }): JSX.Element {
  const { search, context } = props;
  const { spec, metric } = search;
  const trials = search.leaderboard.length;
  return (
    <section className="mlws-AutoMLSummary" aria-label="Automated ML">
      <dl className="mlws-Fields">
        <Item label="Searched" field="data">
          {spec.data}: predict <b>{spec.target}</b> ({spec.task})
        </Item>
        <Item label="Metric" field="metric">
          {metric ? `${metric} (${search.direction === 'max' ? 'higher' : 'lower'} is better)` : 'chosen when the data is read'}
        </Item>
        <Item label="Budget" field="budget">
          <span className="mlws-BudgetText">{budgetText(search)}</span> <BudgetMeter search={search} />
        </Item>
        <Item label="Trials" field="trials">
          {trials} done{spec.max_trials ? ` (at most ${spec.max_trials})` : ''}
        </Item>
        <Item label="Model" field="model">
          <ModelLine search={search} context={context} />
        </Item>
      </dl>
      {search.stopped && (
        <div className="mlws-Note mlws-AutoMLStopped" role="note">
          The budget&apos;s deadline stopped the search: {search.stopped}.
        </div>
      )}
      <EndedNote search={search} />
      {props.children}
    </section>
  );
}
