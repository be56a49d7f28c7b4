/**
 * The "ML workspace" panel of the left area: the navigator.  Compact lists of runs (latest
 * first, of the chosen experiment), models, endpoints and compute targets (and a Secrets row);
 * each row a status dot, a name and one key metric or where the target is.  A row opens its page in the main area (`open`); the buttons open the list
 * pages.  The Access tab stays here.
 */

import { ReactWidget, UseSignal } from '@jupyterlab/apputils';
import * as React from 'react';

import { AccessView } from './access';
import { lastTests, targetWhere, testState } from './compute';
import { stateKind } from './vms';
import { INavList, NAV_RUNS, NavigatorModel } from './navigatorModel';
import { IPageRequest } from './pages/page';
import { formatValue } from './runColumns';
import { preferredMetric } from './ranking';
import { SIDEBAR_ID } from './tokens';

type Open = (request: IPageRequest) => void;

/** A row of the navigator: a real button (Enter and Space open it; focus shows). */
function NavRow(props: {
  className: string;
  dot: string;
  dotLabel: string;
  name: string;
  detail: string;
  /** A number after the detail (a run's metric value): never cut, the name and the detail give way first. */
  value?: string;
  detailTitle?: string;
  onOpen: () => void;
  data?: Record<string, string>;
  select?: { checked: boolean; onChange: () => void };
}): JSX.Element {
  const data = Object.fromEntries(Object.entries(props.data ?? {}).map(([k, v]) => [`data-${k}`, v]));
  return (
    <li className={`mlws-NavItem ${props.className}`} {...data}>
      {props.select && (
        <input
          type="checkbox"
          className="mlws-NavSelect"
          aria-label={`Select ${props.name} to compare`}
          checked={props.select.checked}
          onChange={props.select.onChange}
        />
      )}
      <button className="mlws-NavOpen" title={`Open ${props.name} (${props.dotLabel})`} onClick={props.onOpen}>
        <span className={`mlws-Dot ${props.dot}`} role="img" aria-label={props.dotLabel} />
        <span className="mlws-NavName">{props.name}</span>
        <span className="mlws-NavDetail" title={props.detailTitle}>
          <span className="mlws-NavDetailText">{props.detail}</span>
          {props.value !== undefined && <span className="mlws-NavValue">{props.value}</span>}
        </span>
      </button>
    </li>
  );
}

function Section(props: {
  title: string;
  list: INavList<unknown>;
  empty: string;
  tools?: React.ReactNode;
  children: React.ReactNode;
}): JSX.Element {
  const { list } = props;
  return (
    <section className="mlws-NavSection" aria-label={props.title}>
      <div className="mlws-NavHeading">
        <h3>{props.title}</h3>
        {props.tools}
      </div>
      {list.error && (
        <div className="mlws-Error" role="alert">
          {list.error}
        </div>
      )}
      {!list.error && !list.loading && list.items.length === 0 && <div className="mlws-Empty">{props.empty}</div>}
      <ul className="mlws-NavList">{props.children}</ul>
    </section>
  );
}

function Runs(props: { model: NavigatorModel; open: Open }): JSX.Element {
  const { model, open } = props;
  const metric = model.metric;
  const selected = [...model.selected];
  const tools = (
    <select
      className="mlws-NavExperiment"
      aria-label="Experiment"
      value={model.experiment ?? ''}
      onChange={event => void model.chooseExperiment(event.target.value)}
    >
      <option value="">All experiments</option>
      {model.experiments.map(exp => (
        <option key={exp.name} value={exp.name}>
          {exp.name}
        </option>
      ))}
    </select>
  );
  return (
    <Section title="Runs" list={model.runs} empty="No runs yet: mlws quickstart runs a sample" tools={tools}>
      {model.runs.items.map(run => {
        // the experiment's metric; a run without it (a search by another metric beside it)
        // shows its own preferred one rather than nothing
        const key =
          metric && run.metrics?.[metric] !== undefined ? metric : preferredMetric(Object.keys(run.metrics || {}));
        const value = key ? run.metrics?.[key] : undefined;
        return (
          <NavRow
            key={run.id}
            className="mlws-NavRun"
            data={{ 'run-id': run.id, status: run.status }}
            dot={`mlws-status-${run.status}`}
            dotLabel={run.status}
            name={run.name || run.id.slice(0, 8)}
            detail={value === undefined ? '' : key ?? ''}
            value={value === undefined ? undefined : formatValue(value)}
            detailTitle={value === undefined ? undefined : `${key} ${formatValue(value)}`}
            onOpen={() => open({ kind: 'run', id: run.id })}
            select={{ checked: model.selected.has(run.id), onChange: () => model.toggleSelect(run.id) }}
          />
        );
      })}
      {model.runs.items.length >= NAV_RUNS && (
        <li className="mlws-NavMore">
          <button className="mlws-Button mlws-NavMoreButton" onClick={() => open({ kind: 'runs' })}>
            All runs in the runs table ›
          </button>
        </li>
      )}
      {selected.length > 0 && (
        <li className="mlws-NavCompare">
          <button
            className="mlws-Button mlws-NavCompareButton"
            disabled={selected.length < 2}
            title={selected.length < 2 ? 'Tick two runs or more' : 'Compare the ticked runs'}
            onClick={() => open({ kind: 'compare', ids: selected })}
          >
            Compare {selected.length} runs
          </button>
        </li>
      )}
    </Section>
  );
}

function Models(props: { model: NavigatorModel; open: Open }): JSX.Element {
  const { model, open } = props;
  return (
    <Section title="Models" list={model.models} empty="No models registered">
      {model.models.items.map(m => {
        const aliases = Object.keys(m.aliases ?? {}).map(alias => `@${alias}`);
        return (
          <NavRow
            key={m.name}
            className="mlws-NavModel"
            data={{ model: m.name }}
            dot="mlws-mod-model"
            dotLabel={`${m.versions} versions`}
            name={m.name}
            detail={[`v${m.latest}`, ...aliases].join(' ')}
            onOpen={() => open({ kind: 'model', id: m.name })}
          />
        );
      })}
    </Section>
  );
}

function Endpoints(props: { model: NavigatorModel; open: Open }): JSX.Element {
  const { model, open } = props;
  return (
    <Section title="Endpoints" list={model.endpoints} empty="No endpoints">
      {model.endpoints.items.map(e => (
        <NavRow
          key={e.name}
          className="mlws-NavEndpoint"
          data={{ endpoint: e.name, state: e.state }}
          dot={`mlws-state-${e.state}`}
          dotLabel={e.state}
          name={e.name}
          detail={e.state}
          onOpen={() => open({ kind: 'endpoint', id: e.name })}
        />
      ))}
    </Section>
  );
}

const TEST_LABEL = { ok: 'last test passed', fail: 'last test failed', untested: 'not tested' };

function Compute(props: { model: NavigatorModel; open: Open }): JSX.Element {
  const { model, open } = props;
  const count = model.secretCount;
  return (
    <Section title="Compute" list={model.compute} empty="">
      {model.compute.items.filter(t => t.type !== 'vm').map(t => {
        const state = testState(lastTests.of(t));
        return (
          <NavRow
            key={t.name}
            className="mlws-NavTarget"
            data={{ target: t.name, type: t.type }}
            dot={`mlws-test-${state}`}
            dotLabel={TEST_LABEL[state]}
            name={t.name}
            detail={t.type === 'local' ? 'this machine' : t.type === 'dask' ? `dask ${(t.address ?? '').replace(/^\w+:\/\//, '')}` : targetWhere(t)}
            detailTitle={`${t.type} ${targetWhere(t)}`}
            onOpen={() => open({ kind: 'compute', id: t.name })}
          />
        );
      })}
      {model.vms.items.map(vm => (
        <NavRow
          key={`vm:${vm.name}`}
          className="mlws-NavVM"
          data={{ vm: vm.name, state: vm.state }}
          dot={`mlws-vm-${stateKind(vm.state)}`}
          dotLabel={vm.state}
          name={vm.name}
          detail={`vm ${vm.state}${vm.reason ? `: ${vm.reason}` : ''}`}
          detailTitle={`notebook VM (${vm.provider}, ${vm.owner}): ${vm.state}${vm.reason ? `: ${vm.reason}` : ''}`}
          onOpen={() => open({ kind: 'compute' })}
        />
      ))}
      <NavRow
        className="mlws-NavSecrets"
        dot="mlws-mod-secret"
        dotLabel="the workspace's key vault"
        name="Secrets"
        detail={count === null ? '' : `${count} secret${count === 1 ? '' : 's'}`}
        onOpen={() => open({ kind: 'secrets' })}
      />
    </Section>
  );
}

function Navigator(props: { model: NavigatorModel; open: Open }): JSX.Element {
  const { open } = props;
  return (
    <div className="mlws-Navigator">
      <div className="mlws-NavPages" role="group" aria-label="Pages">
        <button
          className="mlws-Button mlws-OpenRunsTable"
          title="The runs table of the experiment chosen below"
          onClick={() => open({ kind: 'runs', experiment: props.model.experiment ?? undefined })}
        >
          Runs table
        </button>
        <button className="mlws-Button mlws-OpenModels" onClick={() => open({ kind: 'models' })}>
          Models
        </button>
        <button className="mlws-Button mlws-OpenEndpoints" onClick={() => open({ kind: 'endpoints' })}>
          Endpoints
        </button>
        <button className="mlws-Button mlws-OpenCompute" onClick={() => open({ kind: 'compute' })}>
          Compute
        </button>
        <button className="mlws-Button mlws-OpenPipelines" onClick={() => open({ kind: 'pipelines' })}>
          Pipelines
        </button>
        <button className="mlws-Button mlws-OpenSchedules" onClick={() => open({ kind: 'schedules' })}>
          Schedules
        </button>
        <button
          className="mlws-Button mlws-OpenData"
          title="Datastores, and datasets with their versions and lineage"
          onClick={() => open({ kind: 'data' })}
        >
          Data
        </button>
      </div>
      <Runs {...props} />
      <Models {...props} />
      <Endpoints {...props} />
      <Compute {...props} />
    </div>
  );
}

function Tabs(props: { model: NavigatorModel }): JSX.Element {
  const { model } = props;
  const tab = (name: 'workspace' | 'access', label: string) => (
    <button
      className={`mlws-Tab${model.tab === name ? ' mlws-mod-active' : ''}`}
      aria-pressed={model.tab === name}
      onClick={() => model.showTab(name)}
    >
      {label}
    </button>
  );
  return (
    <div className="mlws-Tabs">
      {tab('workspace', 'Workspace')}
      {tab('access', 'Access')}
      <button className="mlws-Refresh" title="Refresh" aria-label="Refresh" onClick={() => void model.refresh()}>
        ⟳
      </button>
    </div>
  );
}

export class Sidebar extends ReactWidget {
  constructor(
    readonly model: NavigatorModel,
    private readonly open: Open
  ) {
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
            <div className="mlws-Header">ML workspace{this.model.workspaceName ? ` · ${this.model.workspaceName}` : ''}</div>
            <Tabs model={this.model} />
            {this.model.tab === 'access' ? (
              <UseSignal key="access" signal={this.model.access.changed}>
                {() => <AccessView model={this.model.access} />}
              </UseSignal>
            ) : (
              <Navigator model={this.model} open={this.open} />
            )}
          </>
        )}
      </UseSignal>
    );
  }
}
