/** The "ML workspace" panel of the left area: a ReactWidget rendering the SidebarModel. */

import { ReactWidget, UseSignal } from '@jupyterlab/apputils';
import * as React from 'react';

import { AccessView } from './access';
import { CompareView } from './compare';
import { ModelsList } from './models';
import { CompareModel, RunModel, SidebarModel, Tab } from './model';
import { RunView } from './run';
import { RunsTable } from './runs';
import { SIDEBAR_ID } from './tokens';

/**
 * The shown page.  Each UseSignal has its own key: UseSignal connects once, on mount, so React
 * must not reuse one instance for another model's signal.
 */
function Body(props: { model: SidebarModel }): JSX.Element {
  const { model } = props;
  if (model.run) {
    const run: RunModel = model.run;
    return (
      <UseSignal key={`run-${run.runId}`} signal={run.changed}>{() => <RunView model={run} onBack={() => model.openRun(null)} onOpen={id => model.openRun(id)} onOpenNotebook={model.openNotebook} />}</UseSignal>
    );
  }
  if (model.compare) {
    const compare: CompareModel = model.compare;
    return (
      <UseSignal key={`compare-${compare.runIds.join(',')}`} signal={compare.changed}>
        {() => <CompareView model={compare} onBack={() => model.openCompare(null)} />}
      </UseSignal>
    );
  }
  if (model.tab === 'access') {
    return <UseSignal key="access" signal={model.access.changed}>{() => <AccessView model={model.access} />}</UseSignal>;
  }
  if (model.tab === 'models') {
    return <UseSignal key="models" signal={model.models.changed}>{() => <ModelsList model={model.models} endpoints={model.endpoints} />}</UseSignal>;
  }
  return (
    <UseSignal key="runs" signal={model.runs.changed}>
      {() => (
        <RunsTable model={model.runs} onOpen={run => model.openRun(run.id)} onCompare={ids => model.openCompare(ids)} />
      )}
    </UseSignal>
  );
}

function Tabs(props: { model: SidebarModel }): JSX.Element {
  const { model } = props;
  const tab = (name: Tab, label: string) => (
    <button
      className={`mlws-Tab${model.tab === name ? ' mlws-mod-active' : ''}`}
      aria-pressed={model.tab === name}
      onClick={() => model.showTab(name)}
    >
      {label}
    </button>
  );
  return (
    <div className="mlws-Tabs" role="tablist">
      {tab('runs', 'Runs')}
      {tab('models', 'Models & endpoints')}
      {tab('access', 'Access')}
      <button className="mlws-Refresh" title="Refresh" onClick={() => void model.refresh()}>
        ⟳
      </button>
    </div>
  );
}

export class Sidebar extends ReactWidget {
  constructor(readonly model: SidebarModel) {
    super();
    this.id = SIDEBAR_ID;
    this.addClass('mlws-Sidebar');
  }

  protected onAfterShow(): void {
    // fetch when shown (never at page load for users who do not open the panel); live events
    // are not followed while the panel is hidden, so what it shows is fetched again
    void this.model.refresh();
  }

  render(): JSX.Element {
    return (
      <UseSignal signal={this.model.changed}>
        {() => (
          <>
            <div className="mlws-Header">
              ML workspace{this.model.workspaceName ? ` · ${this.model.workspaceName}` : ''}
            </div>
            <Tabs model={this.model} />
            <Body model={this.model} />
          </>
        )}
      </UseSignal>
    );
  }
}
