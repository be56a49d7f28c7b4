/**
 * A run at full size, in tabs: Overview, Charts, Logged values, Artifacts, Logs, Cells (session
 * runs), Snapshot, Environment, Sweep (a run with children) and, first, Pipeline (a pipeline
 * run's graph), with its actions above them.
 * A tab loads what it shows when first opened; the server's live events for this run (status,
 * metrics, logs) update it, debounced; nothing polls.
 */

import { ReactWidget, UseSignal } from '@jupyterlab/apputils';
import { Event } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { IPageContext, IPageRequest } from './page';
import { RunActionBar } from './run/actions';
import { Artifacts } from './run/artifacts';
import { Cells } from './run/cells';
import { Charts } from './run/charts';
import { Environment } from './run/environment';
import { Logs } from './run/logs';
import { Overview } from './run/overview';
import { RunPageModel, RunTab, TABS } from './run/runPageModel';
import { Snapshot } from './run/snapshot';
import { LoggedValues } from './run/values';
import { PipelineSection } from './pipelineSection';
import { SweepSection } from './sweepSection';

function TabBar(props: { model: RunPageModel }): JSX.Element {
  const { model } = props;
  const tabs = model.tabs;
  const refs = React.useRef<Record<string, HTMLButtonElement | null>>({});
  // arrow keys move between tabs, as in any tab list
  const onKeyDown = (event: React.KeyboardEvent) => {
    const step = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
    if (step) {
      const next = tabs[(tabs.indexOf(model.tab) + step + tabs.length) % tabs.length];
      model.show(next);
      refs.current[next]?.focus();
      event.preventDefault();
    }
  };
  return (
    <div className="mlws-RunTabs" role="tablist" aria-label="Run sections" onKeyDown={onKeyDown}>
      {tabs.map(tab => (
        <button
          key={tab}
          ref={el => (refs.current[tab] = el)}
          role="tab"
          id={`mlws-tab-${model.runId}-${tab}`}
          className={`mlws-RunTab${model.tab === tab ? ' mlws-mod-active' : ''}`}
          data-tab={tab}
          aria-selected={model.tab === tab}
          tabIndex={model.tab === tab ? 0 : -1}
          onClick={() => model.show(tab)}
        >
          {model.tabLabel(tab)}
        </button>
      ))}
    </div>
  );
}

function Section(props: { tab: RunTab; model: RunPageModel; context: IPageContext }): JSX.Element {
  const { tab, model, context } = props;
  switch (tab) {
    case 'charts':
      return <Charts model={model} />;
    case 'values':
      return <LoggedValues model={model} />;
    case 'artifacts':
      return <Artifacts model={model} context={context} />;
    case 'logs':
      return <Logs model={model} />;
    case 'cells':
      return <Cells model={model} context={context} />;
    case 'snapshot':
      return <Snapshot model={model} />;
    case 'environment':
      return <Environment model={model} context={context} />;
    case 'sweep':
      return <SweepSection runId={model.runId} context={context} />;
    case 'pipeline':
      return <PipelineSection runId={model.runId} context={context} />;
    default:
      return <Overview model={model} context={context} />;
  }
}

export function RunPageView(props: { model: RunPageModel; context: IPageContext }): JSX.Element {
  const { model, context } = props;
  const run = model.run;
  // a tab the run turned out not to have (no cells, no children) shows the overview
  const tab = model.tabs.includes(model.tab) ? model.tab : 'overview';
  return (
    <div className="mlws-RunPage" data-run-id={model.runId}>
      {model.error && (
        <div className="mlws-Error" role="alert">
          {model.error}
        </div>
      )}
      {run && (
        <>
          <header className="mlws-RunPageHeader">
            <h2 className="mlws-RunTitle">{run.name || run.id}</h2>
            <span className={`mlws-Status mlws-status-${run.status}`}>{run.status}</span>
            <span className="mlws-Muted">
              {run.experiment} · {run.id}
              {model.role && !model.canEdit ? ` · you are a ${model.role}: changes need a contributor` : ''}
            </span>
            <RunActionBar model={model} context={context} />
          </header>
          <TabBar model={model} />
          <div className="mlws-RunSection" role="tabpanel" aria-labelledby={`mlws-tab-${model.runId}-${tab}`} data-tab={tab}>
            <Section tab={tab} model={model} context={context} />
          </div>
        </>
      )}
    </div>
  );
}

export function createRunPage(request: IPageRequest, context: IPageContext): Widget {
  const model = new RunPageModel(request.id!);
  if (TABS.includes(request.tab as RunTab)) {
    model.show(request.tab as RunTab); // a tab the run turns out not to have shows the overview
  }
  const widget = ReactWidget.create(
    <UseSignal signal={model.changed}>{() => <RunPageView model={model} context={context} />}</UseSignal>
  );
  widget.addClass('mlws-RunPageWidget');
  widget.title.label = `Run ${request.id}`;
  model.changed.connect(() => {
    if (model.run) {
      widget.title.label = model.run.name || model.run.id;
      widget.title.caption = `Run ${model.run.id} of ${model.run.experiment}: ${model.run.status}`;
    }
  });
  const onEvent = (_: unknown, event: Event.Emission) => model.onEvent(event);
  context.events.connect(onEvent);
  widget.disposed.connect(() => {
    context.events.disconnect(onEvent);
    model.dispose();
  });
  void model.refresh();
  return widget;
}
