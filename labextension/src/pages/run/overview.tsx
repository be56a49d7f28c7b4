/**
 * A run's overview: status, times and duration, the failure, its source notebook, git state
 * and environment hash, description and tags (editable by contributors), params and latest
 * metrics, and its lineage (every run and model named there opens its page).
 */

import * as React from 'react';

import { errorMessage } from '../../request';
import { KeyValues } from '../../keyValues';
import { IRun } from '../../tokens';
import { AutoMLSummary } from '../automlSummary';
import { DatasetLinks } from '../data/links';
import { IPageContext } from '../page';
import { formatDuration, formatMoment } from './format';
import { Problem } from './notes';
import { RunPageModel } from './runPageModel';
import { IRunRef } from './types';

/** A run named by a lineage: a link-like button that opens its page. */
export function RunLink(props: { run: IRunRef; context: IPageContext }): JSX.Element {
  const { run } = props;
  return (
    <span className="mlws-RunRef">
      <button className="mlws-Link mlws-RunLink" data-run-id={run.id} onClick={() => props.context.open({ kind: 'run', id: run.id })}>
        {run.name || run.id}
      </button>
      {run.status && <span className={`mlws-Status mlws-status-${run.status}`}>{run.status}</span>}
    </span>
  );
}

function Field(props: { label: string; children: React.ReactNode; className?: string }): JSX.Element {
  return (
    <div className={`mlws-Field ${props.className ?? ''}`}>
      <dt>{props.label}</dt>
      <dd>{props.children}</dd>
    </div>
  );
}

/** Seconds from start to end (or to now while it runs). */
/**
 * The source notebook's link: `open` when the source already names it (`notebook · train.ipynb ·
 * open`), else `open PATH` (where it is in the server's folder).
 */
function openNotebookLabel(path: string, sourceName: unknown): string {
  return sourceName === path || sourceName === path.split('/').pop() ? 'open' : `open ${path}`;
}

function duration(run: IRun): number | null {
  if (typeof run.duration_s === 'number') {
    return run.duration_s;
  }
  const start = typeof run.start_time === 'number' ? run.start_time : null;
  const end = typeof run.end_time === 'number' ? run.end_time : start !== null ? Date.now() : null;
  return start !== null && end !== null ? (end - start) / 1000 : null;
}

function Status(props: { model: RunPageModel; context: IPageContext }): JSX.Element {
  const run = props.model.run!;
  const git = (run.git ?? null) as { commit?: string | null; branch?: string | null; dirty?: boolean | null } | null;
  const commit = git?.commit ?? (run.git_commit as string | null | undefined);
  const branch = git?.branch ?? (run.git_branch as string | null | undefined);
  const dirty = git?.dirty ?? (run.git_dirty as boolean | null | undefined);
  const live = props.model.live;
  return (
    <section className="mlws-RunStatus" aria-label="Status">
      <dl className="mlws-Fields">
        <Field label="Status">
          <span className={`mlws-Status mlws-status-${run.status}`}>{run.status}</span>
        </Field>
        <Field label="Started">{formatMoment(run.start_time)}</Field>
        <Field label="Ended">{live ? '—' : formatMoment(run.end_time)}</Field>
        <Field label="Duration" className="mlws-Duration">
          {formatDuration(duration(run))}
          {live ? ' so far' : ''}
        </Field>
        <Field label="Source" className="mlws-Source">
          {(run.source_kind ?? run.source_type) as string}
          {run.source_name ? ` · ${run.source_name}` : ''}
          {run.notebook && (
            <>
              {' · '}
              <button className="mlws-Link mlws-OpenNotebook" title={`Open ${run.notebook}, the notebook this run came from`} onClick={() => props.context.openNotebook(run.notebook!)}>
                {openNotebookLabel(run.notebook, run.source_name)}
              </button>
            </>
          )}
        </Field>
        {run.compute && (
          <Field label="Compute" className="mlws-Compute">
            {run.compute === 'local' ? (
              'local (this machine)'
            ) : (
              <button className="mlws-Link mlws-RunCompute" title="Open this compute target's page" onClick={() => props.context.open({ kind: 'compute', id: run.compute })}>
                {run.compute}
              </button>
            )}
          </Field>
        )}
        <Field label="Git" className="mlws-Git">
          {commit || branch ? (
            <>
              <code title={commit ?? ''}>{commit ? commit.slice(0, 10) : ''}</code>
              {branch ? ` on ${branch}` : ''}
              {dirty ? <span className="mlws-Dirty"> · uncommitted changes</span> : dirty === false ? ' · clean' : ''}
            </>
          ) : (
            <span className="mlws-Muted">not in a git repository</span>
          )}
        </Field>
        <Field label="Environment" className="mlws-EnvHash">
          {run.environment_hash ? <code>{run.environment_hash as string}</code> : <span className="mlws-Muted">not recorded</span>}
        </Field>
        <Field label="Run">
          <code>{run.id}</code> · {run.experiment}
          {run.user ? ` · ${run.user}` : ''}
          {run.host ? `@${run.host}` : ''}
        </Field>
      </dl>
      {run.error && run.status === 'canceled' ? (
        // a run someone stopped did not fail: a neutral note, who or what stopped it
        <div className="mlws-Canceled">
          <h3>Canceled</h3>
          <p className="mlws-CanceledReason">{run.error}</p>
        </div>
      ) : run.error && (
        <div className="mlws-Failure">
          <h3>Failure</h3>
          <pre className="mlws-Error" role="alert">
            {run.error}
          </pre>
        </div>
      )}
    </section>
  );
}

function Description(props: { model: RunPageModel }): JSX.Element {
  const { model } = props;
  const text = (model.run?.description as string) ?? '';
  const [draft, setDraft] = React.useState<string | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const save = async () => {
    try {
      await model.saveDescription(draft ?? '');
      setDraft(null);
      setError(null);
    } catch (e) {
      setError(errorMessage(e));
    }
  };
  return (
    <section className="mlws-Description">
      <h3>Description</h3>
      {draft === null ? (
        <>
          {text ? <p className="mlws-DescriptionText">{text}</p> : <div className="mlws-Empty">none</div>}
          {model.canEdit && (
            <button className="mlws-Button mlws-EditDescription" onClick={() => setDraft(text)}>
              Edit description
            </button>
          )}
        </>
      ) : (
        <form
          onSubmit={event => {
            event.preventDefault();
            void save();
          }}
        >
          <textarea
            className="mlws-DescriptionInput"
            aria-label="Description"
            value={draft}
            rows={4}
            autoFocus
            onChange={event => setDraft(event.target.value)}
          />
          <div className="mlws-FormButtons">
            <button type="submit" className="mlws-Button mlws-mod-accept mlws-SaveDescription">
              Save
            </button>
            <button type="button" className="mlws-Button" onClick={() => (setDraft(null), setError(null))}>
              Cancel
            </button>
          </div>
        </form>
      )}
      <Problem error={error} />
    </section>
  );
}

function Tags(props: { model: RunPageModel }): JSX.Element {
  const { model } = props;
  const tags = model.run?.tags ?? {};
  const [key, setKey] = React.useState('');
  const [value, setValue] = React.useState('');
  const [error, setError] = React.useState<string | null>(null);
  const change = async (set: Record<string, string>, remove: string[]) => {
    try {
      await model.saveTags(set, remove);
      setError(null);
      return true;
    } catch (e) {
      setError(errorMessage(e));
      return false;
    }
  };
  return (
    <section className="mlws-Tags">
      <h3>Tags</h3>
      <ul className="mlws-TagList">
        {Object.entries(tags).map(([k, v]) => (
          <li key={k} className="mlws-Tag" data-tag={k}>
            <span className="mlws-TagText" title={v !== '' ? `${k}=${v}` : k}>
              {k}
              {v !== '' ? `=${v}` : ''}
            </span>
            {model.canEdit && (
              <button className="mlws-TagRemove" aria-label={`Remove tag ${k}`} title={`Remove tag ${k}`} onClick={() => void change({}, [k])}>
                ×
              </button>
            )}
          </li>
        ))}
        {Object.keys(tags).length === 0 && <li className="mlws-Muted">none</li>}
      </ul>
      {model.canEdit && (
        <form
          className="mlws-TagForm"
          onSubmit={async event => {
            event.preventDefault();
            if (key.trim() && (await change({ [key.trim()]: value }, []))) {
              setKey('');
              setValue('');
            }
          }}
        >
          <input className="mlws-TagKey" aria-label="Tag" placeholder="tag" value={key} onChange={e => setKey(e.target.value)} />
          <input className="mlws-TagValue" aria-label="Value" placeholder="value" value={value} onChange={e => setValue(e.target.value)} />
          <button type="submit" className="mlws-Button mlws-AddTag">
            Add tag
          </button>
        </form>
      )}
      <Problem error={error} />
    </section>
  );
}

function RunList(props: { label: string; runs: IRunRef[]; context: IPageContext; more?: number; className: string }): JSX.Element | null {
  if (props.runs.length === 0) {
    return null;
  }
  return (
    <Field label={props.label} className={props.className}>
      <ul className="mlws-InlineList">
        {props.runs.map(run => (
          <li key={run.id}>
            <RunLink run={run} context={props.context} />
          </li>
        ))}
        {props.more ? <li className="mlws-Muted">and {props.more} more</li> : null}
      </ul>
    </Field>
  );
}

function Lineage(props: { model: RunPageModel; context: IPageContext }): JSX.Element {
  const { model, context } = props;
  const lineage = model.lineage;
  const one = (run: IRunRef | null) => (run ? [run] : []);
  const children = lineage?.children ?? [];
  const empty =
    lineage &&
    !lineage.parent &&
    children.length === 0 &&
    !lineage.rerun_of &&
    lineage.reruns.length === 0 &&
    !lineage.promoted_from &&
    lineage.promoted_to.length === 0 &&
    lineage.models.length === 0 &&
    (lineage.datasets ?? []).length === 0;
  return (
    <section className="mlws-Lineage">
      <h3>Lineage</h3>
      <Problem error={model.lineageError} />
      {empty && <div className="mlws-Empty">no parent, children, re-runs, promotions, models or datasets</div>}
      {lineage && (
        <dl className="mlws-Fields">
          <RunList label="Parent" className="mlws-Parent" runs={one(lineage.parent)} context={context} />
          <RunList
            label={`Children (${lineage.child_count ?? children.length})`}
            className="mlws-Children"
            runs={children}
            more={(lineage.child_count ?? children.length) - children.length}
            context={context}
          />
          <RunList label="Re-run of" className="mlws-RerunOf" runs={one(lineage.rerun_of)} context={context} />
          <RunList label="Re-runs" className="mlws-Reruns" runs={lineage.reruns} context={context} />
          <RunList label="Promoted from" className="mlws-PromotedFrom" runs={one(lineage.promoted_from)} context={context} />
          <RunList label="Promoted to" className="mlws-PromotedTo" runs={lineage.promoted_to} context={context} />
          {lineage.models.length > 0 && (
            <Field label="Models" className="mlws-LineageModels">
              <ul className="mlws-InlineList">
                {lineage.models.map(m => (
                  <li key={`${m.name}:${m.version}`}>
                    <button className="mlws-Link mlws-ModelLink" onClick={() => context.open({ kind: 'model', id: m.name })}>
                      {m.name}:{m.version}
                    </button>
                  </li>
                ))}
              </ul>
            </Field>
          )}
          {(lineage.datasets ?? []).length > 0 && (
            <Field label="Datasets" className="mlws-RunDatasets">
              <DatasetLinks datasets={lineage.datasets!} context={context} />
            </Field>
          )}
        </dl>
      )}
    </section>
  );
}

/** An automated-ML search's summary, and the way to its leaderboard. */
function AutoMLSection(props: { model: RunPageModel; context: IPageContext }): JSX.Element | null {
  const { model, context } = props;
  if (!model.automl) {
    return null;
  }
  return (
    <div className="mlws-AutoMLSection">
      <h3>Automated ML</h3>
      <AutoMLSummary search={model.automl} context={context}>
        {model.tabs.includes('sweep') && (
          <button className="mlws-Link mlws-OpenLeaderboard" onClick={() => model.show('sweep')}>
            Open the leaderboard ({model.automl.leaderboard.length} trials)
          </button>
        )}
      </AutoMLSummary>
    </div>
  );
}

export function Overview(props: { model: RunPageModel; context: IPageContext }): JSX.Element {
  const { model, context } = props;
  const run = model.run!;
  return (
    <div className="mlws-Overview">
      <Status model={model} context={context} />
      <AutoMLSection model={model} context={context} />
      <div className="mlws-Columns">
        <div>
          <Description model={model} />
          <Tags model={model} />
          <Lineage model={model} context={context} />
        </div>
        <div>
          <KeyValues title="Params" values={run.params} className="mlws-Params" />
          <KeyValues title="Latest metrics" values={run.metrics} className="mlws-Metrics" />
        </div>
      </div>
    </div>
  );
}
