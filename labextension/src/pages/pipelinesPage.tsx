/**
 * The Pipelines page (main area): every pipeline that ran here with its latest run; with an id,
 * one pipeline's page: its recent runs (each with how many steps ran, were reused, failed…) and
 * the graph of the chosen one (the latest by default), live.  Both follow the server's run-status
 * events (at most once a second, none while the tab is hidden); nothing polls.
 */

import { ReactWidget, UseSignal } from '@jupyterlab/apputils';
import { Event } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import '../../style/workflows.css';

import { FetchingModel } from '../fetching';
import { requestAPI } from '../request';
import { RUN_STATUS_SCHEMA } from '../tokens';
import { ErrorBox } from './errorBox';
import { followEvents } from './live';
import { IPageContext, IPageRequest } from './page';
import { PipelineRunModel } from './pipeline/model';
import { IPipelineRunSummary, IPipelineSummary } from './pipeline/types';
import { PipelineRunBody, stepCounts } from './pipeline/view';
import { formatDuration } from './run/format';
import { localTime } from './schedules/types';

/** Runs a pipeline's page lists (the newest). */
const RECENT_RUNS = 20;

class PipelinesModel extends FetchingModel {
  pipelines: IPipelineSummary[] = [];

  async refresh(): Promise<void> {
    await this.fetching(async () => {
      this.pipelines = (await requestAPI<{ pipelines: IPipelineSummary[] }>('pipelines')).pipelines;
    });
  }
}

class PipelineHistoryModel extends FetchingModel {
  constructor(readonly name: string) {
    super();
  }

  runs: IPipelineRunSummary[] = [];
  /** The run drawn: the latest when the page opened, then the one chosen; never replaced by a run that starts later. */
  drawn: PipelineRunModel | null = null;
  /** The latest run when the drawn one was drawn: a later one is "a newer run" to offer. */
  private _latestWhenDrawn: string | null = null;

  /** A run that started after the drawn one was drawn (the user follows theirs: it is offered, not drawn). */
  get newer(): IPipelineRunSummary | null {
    const latest = this.runs[0] ?? null;
    return latest && this.drawn && latest.id !== this.drawn.runId && latest.id !== this._latestWhenDrawn ? latest : null;
  }

  async refresh(): Promise<void> {
    await this.fetching(async () => {
      const path = `pipelines/${encodeURIComponent(this.name)}/runs?limit=${RECENT_RUNS}`;
      this.runs = (await requestAPI<{ runs: IPipelineRunSummary[] }>(path)).runs;
    });
    if (this.drawn) {
      void this.drawn.refresh();
    } else if (this.runs.length > 0) {
      this.choose(this.runs[0].id);
    }
  }

  choose(id: string): void {
    this._latestWhenDrawn = this.runs[0]?.id ?? null;
    this.drawn = new PipelineRunModel(id);
    this.emit();
    void this.drawn.refresh();
  }
}

function StatusCell(props: { status: string }): JSX.Element {
  return (
    <span>
      <span className={`mlws-Dot mlws-status-${props.status}`} role="img" aria-label={props.status} />{' '}
      <span className={`mlws-status-${props.status}`}>{props.status}</span>
    </span>
  );
}

function PipelinesList(props: { model: PipelinesModel; context: IPageContext }): JSX.Element {
  const { model, context } = props;
  return (
    <div className="mlws-WorkflowPage mlws-PipelinesPage">
      <div className="mlws-PageHeader">
        <h2 className="mlws-PageTitle">Pipelines</h2>
        <span className="mlws-HeaderTools">
          <button className="mlws-Button mlws-Reload" disabled={model.loading} onClick={() => void model.refresh()}>
            Reload
          </button>
        </span>
      </div>
      <p className="mlws-Muted mlws-PageIntro">
        Every pipeline that ran in this workspace (<code>mlws pipeline run pipeline.yaml</code>), with its latest run.
        A pipeline opens its runs and the graph of the latest.
      </p>
      <ErrorBox message={model.error} />
      {!model.loading && !model.error && model.pipelines.length === 0 && (
        <div className="mlws-Empty">No pipeline has run here yet: see Pipelines in the README.</div>
      )}
      {model.pipelines.length > 0 && (
        <table className="mlws-Table mlws-PipelinesTable">
          <thead>
            <tr>
              <th>Pipeline</th>
              <th>Runs</th>
              <th>Latest run</th>
              <th>Started</th>
            </tr>
          </thead>
          <tbody>
            {model.pipelines.map(p => (
              <tr key={p.name} className="mlws-PipelineRow" data-pipeline={p.name}>
                <td>
                  <button
                    className="mlws-Link mlws-PipelineOpen"
                    title={`The runs of ${p.name}, the latest drawn`}
                    onClick={() => context.open({ kind: 'pipelines', id: p.name })}
                  >
                    {p.name}
                  </button>
                </td>
                <td>{p.runs}</td>
                <td>
                  <StatusCell status={p.last_status} />{' '}
                  <button className="mlws-Link mlws-PipelineLastRun" onClick={() => context.open({ kind: 'run', id: p.last_run })}>
                    {p.last_run.slice(0, 8)}
                  </button>
                </td>
                <td className="mlws-Muted">{localTime(p.last_start)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function duration(run: IPipelineRunSummary): string {
  return run.start_time !== null && run.end_time !== null ? formatDuration((run.end_time - run.start_time) / 1000) : '';
}

function PipelineHistory(props: { model: PipelineHistoryModel; context: IPageContext }): JSX.Element {
  const { model, context } = props;
  const drawn = model.drawn?.runId ?? null;
  return (
    <div className="mlws-WorkflowPage mlws-PipelinesPage" data-pipeline={model.name}>
      <div className="mlws-PageHeader">
        <h2 className="mlws-PageTitle">Pipeline {model.name}</h2>
        <span className="mlws-HeaderTools">
          <button className="mlws-Button mlws-AllPipelines" onClick={() => context.open({ kind: 'pipelines' })}>
            All pipelines
          </button>
          <button className="mlws-Button mlws-Reload" disabled={model.loading} onClick={() => void model.refresh()}>
            Reload
          </button>
        </span>
      </div>
      <ErrorBox message={model.error} />
      {model.runs.length > 0 && (
        <div className="mlws-PipelineRunsScroll">
          <table className="mlws-Table mlws-PipelineRuns" aria-label={`Runs of ${model.name}`}>
            <thead>
              <tr>
                <th>Run</th>
                <th>Status</th>
                <th>Steps</th>
                <th>Started</th>
                <th>Took</th>
                <th>
                  <span className="mlws-VisuallyHidden">Graph</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {model.runs.map(run => (
                <tr
                  key={run.id}
                  className={`mlws-PipelineRunRow${run.id === drawn ? ' mlws-mod-drawn' : ''}`}
                  data-run-id={run.id}
                  aria-current={run.id === drawn ? 'true' : undefined}
                >
                  <td>
                    <button className="mlws-Link mlws-PipelineRunOpen" title="Open the run's page" onClick={() => context.open({ kind: 'run', id: run.id })}>
                      {run.id.slice(0, 8)}
                    </button>
                  </td>
                  <td>
                    <StatusCell status={run.status} />
                  </td>
                  <td>{stepCounts(run.states)}</td>
                  <td className="mlws-Muted">{localTime(run.start_time)}</td>
                  <td className="mlws-Muted">{duration(run)}</td>
                  <td>
                    <button
                      className="mlws-Button mlws-DrawRun"
                      disabled={run.id === drawn}
                      title="Draw this run's graph below"
                      onClick={() => model.choose(run.id)}
                    >
                      {run.id === drawn ? 'drawn below' : 'Draw'}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {model.newer && (
        <div className="mlws-NewerRun" role="status">
          A newer run, {model.newer.id.slice(0, 8)}, started ({model.newer.status}):{' '}
          <button className="mlws-Link mlws-DrawNewer" onClick={() => model.choose(model.newer!.id)}>
            draw it
          </button>
        </div>
      )}
      {model.drawn && (
        <section className="mlws-PipelineDrawn" aria-label={`Run ${model.drawn.runId}`}>
          <h3>
            Run {model.drawn.runId.slice(0, 8)}
            {model.drawn.runId === model.runs[0]?.id ? ' (the latest)' : ''}
          </h3>
          <UseSignal key={model.drawn.runId} signal={model.drawn.changed}>
            {() => <PipelineRunBody model={model.drawn!} context={context} />}
          </UseSignal>
        </section>
      )}
    </div>
  );
}

/** A run-status event of a parent run (a pipeline run starts or ends: the list changes). */
function parentRunChanged(event: Event.Emission): boolean {
  return event.schema_id === RUN_STATUS_SCHEMA && !event.parent_id;
}

export function createPipelinesPage(request: IPageRequest, context: IPageContext): Widget {
  const name = request.id;
  if (!name) {
    const model = new PipelinesModel();
    const widget = ReactWidget.create(
      <UseSignal signal={model.changed}>{() => <PipelinesList model={model} context={context} />}</UseSignal>
    );
    widget.title.label = 'Pipelines';
    followEvents(widget, context.events, parentRunChanged, () => model.refresh());
    void model.refresh();
    return widget;
  }
  const model = new PipelineHistoryModel(name);
  const widget = ReactWidget.create(
    <UseSignal signal={model.changed}>{() => <PipelineHistory model={model} context={context} />}</UseSignal>
  );
  widget.title.label = `Pipeline ${name}`;
  // a run of this pipeline, or one of its steps (their experiment is the pipeline's name)
  followEvents(
    widget,
    context.events,
    event => event.schema_id === RUN_STATUS_SCHEMA && event.experiment === name,
    () => model.refresh()
  );
  void model.refresh();
  return widget;
}
