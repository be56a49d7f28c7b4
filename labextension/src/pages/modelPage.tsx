/**
 * The models list page and a model's page (main area).  The list: every model with its latest
 * version, aliases, versions and the endpoints serving it.  A model's page: its versions with
 * aliases (move, remove, set), a version's description, tags, lineage (the run it came from,
 * with params and metrics, the dataset versions it used, and its training data's statistics), files, Deploy, and Delete
 * (the server refuses a version an endpoint serves, naming the endpoint).  Controls are enabled
 * for contributors and owners; the server's refusals show verbatim.
 */

import { ReactWidget, UseSignal } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { DeployForm } from '../deployForm';
import { EndpointsModel } from '../endpointsModel';
import { KeyValues } from '../keyValues';
import { formatTime } from '../runs';
import { ENDPOINT_HEALTH_SCHEMA, MODEL_CHANGE_SCHEMA } from '../tokens';
import { ErrorBox } from './errorBox';
import { followEvents } from './live';
import { IModelSummary, ITrainingData, IVersionDetail, ModelPageModel, ModelsPageModel } from './modelPageModel';
import { IPageContext, IPageRequest } from './page';
import { DatasetLinks } from './data/links';
import { FeatureStatsTable } from './featureStats';
import { FilesTable } from './filesTable';
import { formatSize } from './run/format';

/** Endpoint names as links to their pages. */
function EndpointLinks(props: { names: string[]; context: IPageContext }): JSX.Element {
  return (
    <>
      {props.names.map(name => (
        <button
          key={name}
          className="mlws-LinkButton mlws-ServedBy"
          title={`Open endpoint ${name}`}
          onClick={event => {
            event.stopPropagation();
            props.context.open({ kind: 'endpoint', id: name });
          }}
        >
          {name}
        </button>
      ))}
    </>
  );
}

// -- the models list --------------------------------------------------------------------------

function ModelsTable(props: { model: ModelsPageModel; context: IPageContext }): JSX.Element {
  const { model, context } = props;
  const open = (m: IModelSummary) => context.open({ kind: 'model', id: m.name });
  return (
    <div className="mlws-ModelsPage">
      <h2 className="mlws-PageTitle">Models</h2>
      <ErrorBox message={model.error} />
      {!model.loading && !model.error && model.models.length === 0 && (
        <div className="mlws-Empty">No models yet: mlws model register NAME --run RUN --artifact PATH</div>
      )}
      {model.models.length > 0 && (
        <table className="mlws-Table mlws-ModelsTable">
          <thead>
            <tr>
              <th>Model</th>
              <th>Latest</th>
              <th>Aliases</th>
              <th>Versions</th>
              <th>Served by</th>
              <th>Updated</th>
            </tr>
          </thead>
          <tbody>
            {model.models.map(m => (
              <tr key={m.name} className="mlws-ModelRow" data-model={m.name} onClick={() => open(m)}>
                <td>
                  <button
                    className="mlws-LinkButton mlws-ModelOpen"
                    onClick={event => {
                      event.stopPropagation(); // the row opens it too
                      open(m);
                    }}
                  >
                    {m.name}
                  </button>
                  {m.description ? <div className="mlws-Muted">{m.description}</div> : null}
                </td>
                <td>v{m.latest}</td>
                <td className="mlws-ModelAliases">
                  {Object.entries(m.aliases).map(([alias, version]) => (
                    <span key={alias} className="mlws-Alias">
                      @{alias} → v{version}
                    </span>
                  ))}
                </td>
                <td>{m.versions}</td>
                <td className="mlws-ModelServedBy">
                  {m.served_by.length ? <EndpointLinks names={m.served_by} context={context} /> : <span className="mlws-Muted">–</span>}
                </td>
                <td>{formatTime(m.updated_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

/**
 * A model changed (registered, a version, an alias: from any face), or an endpoint changed state or
 * deployments (not: it only served requests, which changes no model).
 */
function endpointChanged(event: { schema_id: string; [key: string]: unknown }): boolean {
  const onlyServed = Number(event.requests ?? 0) > 0 && event.state === event.previous_state;
  return event.schema_id === MODEL_CHANGE_SCHEMA || (event.schema_id === ENDPOINT_HEALTH_SCHEMA && !onlyServed);
}

export function createModelsPage(request: IPageRequest, context: IPageContext): Widget {
  const model = new ModelsPageModel();
  const widget = ReactWidget.create(
    <UseSignal signal={model.changed}>{() => <ModelsTable model={model} context={context} />}</UseSignal>
  );
  widget.title.label = 'Models';
  // the endpoints serving a model change with endpoint events
  followEvents(widget, context.events, endpointChanged, () => model.refresh());
  void model.refresh();
  return widget;
}

// -- a model's page ---------------------------------------------------------------------------

function VersionsTable(props: { model: ModelPageModel; context: IPageContext }): JSX.Element {
  const { model, context } = props;
  return (
    <table className="mlws-Table mlws-VersionsTable">
      <thead>
        <tr>
          <th>Version</th>
          <th>Aliases</th>
          <th>Created</th>
          <th>Flavor</th>
          <th>Size</th>
          <th>Served by</th>
        </tr>
      </thead>
      <tbody>
        {model.versions.map(v => (
          <tr
            key={v.version}
            className={`mlws-VersionRow${v.version === model.selected ? ' mlws-mod-selected' : ''}`}
            data-version={v.version}
            aria-current={v.version === model.selected ? 'true' : undefined}
            onClick={() => model.select(v.version)}
          >
            <td>
              <button
                className="mlws-LinkButton mlws-VersionOpen"
                onClick={event => {
                  event.stopPropagation(); // the row selects it too
                  model.select(v.version);
                }}
              >
                v{v.version}
              </button>
            </td>
            <td className="mlws-VersionAliases">
              {(v.aliases ?? []).map(a => (
                <span key={a} className="mlws-Alias">
                  @{a}
                </span>
              ))}
            </td>
            <td>{formatTime(v.created_at)}</td>
            <td>{v.flavor}</td>
            <td>{formatSize(v.size)}</td>
            <td className="mlws-VersionServedBy">
              {v.served_by.length ? <EndpointLinks names={v.served_by} context={context} /> : <span className="mlws-Muted">–</span>}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Every alias with a select to move it, a remove button, and a form to set a new one. */
function Aliases(props: { model: ModelPageModel }): JSX.Element {
  const { model } = props;
  const disabled = !model.canChange || model.busy;
  const [moves, setMoves] = React.useState<Record<string, number>>({});
  const [alias, setAlias] = React.useState('');
  const [target, setTarget] = React.useState<number | ''>('');
  const versions = model.versions.map(v => v.version);
  const add = (event: React.FormEvent) => {
    event.preventDefault();
    const version = target === '' ? model.selected : target;
    if (alias.trim() && version !== null) {
      void model.setAlias(alias.trim(), version).then(ok => ok && setAlias(''));
    }
  };
  return (
    <section className="mlws-Aliases" aria-label="Aliases">
      <h3>Aliases</h3>
      {model.aliases.length === 0 && <div className="mlws-Muted">No aliases: name a version (e.g. champion) to deploy it by name.</div>}
      <ul className="mlws-AliasList">
        {model.aliases.map(([name, version]) => {
          const chosen = moves[name] ?? version;
          return (
            <li key={name} className="mlws-AliasRow" data-alias={name} data-version={version}>
              <span className="mlws-Alias">@{name}</span> → v{version}
              <label>
                <span className="mlws-VisuallyHidden">Move @{name} to</span>
                <select
                  className="mlws-AliasTarget"
                  value={chosen}
                  disabled={disabled}
                  onChange={e => setMoves({ ...moves, [name]: Number(e.target.value) })}
                >
                  {versions.map(n => (
                    <option key={n} value={n}>
                      v{n}
                    </option>
                  ))}
                </select>
              </label>
              <button
                className="mlws-AliasMove"
                disabled={disabled || chosen === version}
                onClick={() => void model.setAlias(name, chosen)}
              >
                Move
              </button>
              <button className="mlws-AliasRemove" disabled={disabled} onClick={() => void model.removeAlias(name)}>
                Remove
              </button>
            </li>
          );
        })}
      </ul>
      <form className="mlws-AliasForm" onSubmit={add}>
        <label>
          New alias
          <input
            className="mlws-AliasName"
            value={alias}
            placeholder="e.g. staging"
            disabled={disabled}
            onChange={e => setAlias(e.target.value)}
          />
        </label>
        <label>
          for
          <select
            className="mlws-AliasNewTarget"
            value={target === '' ? model.selected ?? '' : target}
            disabled={disabled}
            onChange={e => setTarget(Number(e.target.value))}
          >
            {versions.map(n => (
              <option key={n} value={n}>
                v{n}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" className="mlws-AliasSet" disabled={disabled || !alias.trim()}>
          Set
        </button>
      </form>
    </section>
  );
}

function Description(props: { model: ModelPageModel; version: IVersionDetail }): JSX.Element {
  const { model, version } = props;
  const [text, setText] = React.useState(version.description);
  React.useEffect(() => setText(version.description), [version.description, version.version]);
  if (!model.canChange) {
    return (
      <div className="mlws-Description">
        {version.description || <span className="mlws-Muted">No description.</span>}
      </div>
    );
  }
  return (
    <div className="mlws-Description">
      <textarea
        className="mlws-DescriptionInput"
        aria-label={`Description of ${version.name}:${version.version}`}
        rows={3}
        value={text}
        placeholder="What this version is, how it was trained, what it is for"
        onChange={e => setText(e.target.value)}
      />
      <button
        className="mlws-DescriptionSave"
        disabled={model.busy || text === version.description}
        onClick={() => void model.update(version.version, { description: text })}
      >
        Save description
      </button>
    </div>
  );
}

function Tags(props: { model: ModelPageModel; version: IVersionDetail }): JSX.Element {
  const { model, version } = props;
  const [key, setKey] = React.useState('');
  const [value, setValue] = React.useState('');
  const disabled = !model.canChange || model.busy;
  const entries = Object.entries(version.tags);
  const add = (event: React.FormEvent) => {
    event.preventDefault();
    if (key.trim()) {
      void model.update(version.version, { set: { [key.trim()]: value } }).then(ok => {
        if (ok) {
          setKey('');
          setValue('');
        }
      });
    }
  };
  return (
    <div className="mlws-Tags">
      {entries.length === 0 && <span className="mlws-Muted">No tags.</span>}
      {entries.map(([k, v]) => (
        <span key={k} className="mlws-Tag" data-tag={k}>
          {k}: {v}
          {model.canChange && (
            <button
              className="mlws-TagRemove"
              aria-label={`Remove tag ${k}`}
              title={`Remove tag ${k}`}
              disabled={disabled}
              onClick={() => void model.update(version.version, { delete: [k] })}
            >
              ×
            </button>
          )}
        </span>
      ))}
      {model.canChange && (
        <form className="mlws-TagForm" onSubmit={add}>
          <input className="mlws-TagKey" aria-label="Tag name" placeholder="name" value={key} onChange={e => setKey(e.target.value)} />
          <input className="mlws-TagValue" aria-label="Tag value" placeholder="value" value={value} onChange={e => setValue(e.target.value)} />
          <button type="submit" className="mlws-TagAdd" disabled={disabled || !key.trim()}>
            Add tag
          </button>
        </form>
      )}
    </div>
  );
}

/** The dataset versions a model version was trained on, and those its run used: each opens its dataset's page. */
function Datasets(props: { version: IVersionDetail; context: IPageContext }): JSX.Element | null {
  const datasets = props.version.datasets ?? [];
  if (datasets.length === 0) {
    return null;
  }
  return (
    <div className="mlws-ModelDatasets">
      Datasets: <DatasetLinks datasets={datasets} context={props.context} />
    </div>
  );
}

function Lineage(props: { version: IVersionDetail; context: IPageContext }): JSX.Element {
  const { version, context } = props;
  const lineage = version.lineage ?? {};
  if (!version.run_id && !lineage.run_id) {
    return (
      <div className="mlws-Lineage">
        <div className="mlws-Muted">Registered from files ({version.source}), not from a run.</div>
        <Datasets version={version} context={context} />
      </div>
    );
  }
  const runId = version.run_id ?? lineage.run_id!;
  return (
    <div className="mlws-Lineage">
      <div>
        From run{' '}
        <button
          className="mlws-LinkButton mlws-LineageRun"
          title={`Open run ${runId}`}
          onClick={() => context.open({ kind: 'run', id: runId })}
        >
          {lineage.run_name || runId.slice(0, 8)}
        </button>
        {lineage.experiment ? <span className="mlws-Muted"> in experiment {lineage.experiment}</span> : null}
        <span className="mlws-Muted"> (params and metrics when it was registered)</span>
      </div>
      <Datasets version={version} context={context} />
      <div className="mlws-LineageTables">
        <div>
          <h4>Params</h4>
          <KeyValues values={lineage.params} className="mlws-LineageParams" empty="No params." />
        </div>
        <div>
          <h4>Metrics</h4>
          <KeyValues values={lineage.metrics} className="mlws-LineageMetrics" empty="No metrics." />
        </div>
      </div>
    </div>
  );
}

function TrainingData(props: { version: IVersionDetail; stats: ITrainingData | undefined }): JSX.Element {
  const { version, stats } = props;
  if (!version.training_data) {
    return (
      <div className="mlws-TrainingData mlws-Muted">
        Registered without training data: register with training_data=... (or --training-data train.csv) to see its
        statistics here and measure the drift of an endpoint's inputs.
      </div>
    );
  }
  if (!stats) {
    return <div className="mlws-TrainingData mlws-Muted">Loading the training data's statistics…</div>;
  }
  if (stats.rows === null) {
    return <div className="mlws-TrainingData mlws-Error">{stats.message}</div>;
  }
  return (
    <div className="mlws-TrainingData">
      <div className="mlws-Muted">
        {stats.rows} rows, {stats.features.length} features (statistics only: the rows are not kept)
      </div>
      <FeatureStatsTable features={stats.features} label={`Training data of ${version.name}:${version.version}`} />
    </div>
  );
}

function Files(props: { version: IVersionDetail }): JSX.Element {
  const v = props.version;
  return <FilesTable files={v.files} className="mlws-VersionFiles" label={`Files of ${v.name}:${v.version}`} />;
}

function VersionActions(props: { model: ModelPageModel; version: IVersionDetail; endpoints: EndpointsModel }): JSX.Element {
  const { model, version, endpoints } = props;
  const disabled = !model.canChange || model.busy;
  const ref = `${version.name}:${version.version}`;
  return (
    <div className="mlws-VersionActions">
      <button
        className="mlws-DeployVersion"
        disabled={disabled}
        title={`Serve ${ref} as an endpoint`}
        onClick={() => endpoints.openDeploy(ref)}
      >
        Deploy…
      </button>
      {model.confirmDelete === version.version ? (
        <span className="mlws-ConfirmDelete" role="group" aria-label={`Delete ${ref}?`}>
          Delete {ref}?{' '}
          <button className="mlws-DeleteConfirm mlws-mod-danger" disabled={disabled} onClick={() => void model.deleteVersion(version.version)}>
            Delete
          </button>
          <button className="mlws-DeleteCancel" onClick={() => model.askDelete(null)}>
            Cancel
          </button>
        </span>
      ) : (
        <button
          className="mlws-DeleteVersion"
          disabled={disabled}
          title={
            version.served_by.length
              ? `${ref} is served by ${version.served_by.join(', ')}: the workspace refuses to delete it`
              : `Delete ${ref} (its files stay if other versions share them)`
          }
          onClick={() => model.askDelete(version.version)}
        >
          Delete version
        </button>
      )}
    </div>
  );
}

function VersionDetail(props: { model: ModelPageModel; endpoints: EndpointsModel; context: IPageContext }): JSX.Element | null {
  const { model, endpoints, context } = props;
  const v = model.version;
  if (!v) {
    return null;
  }
  return (
    <section className="mlws-VersionDetail" data-version={v.version} aria-label={`Version ${v.version}`}>
      <div className="mlws-VersionHeader">
        <h3>
          {v.name}:{v.version}
        </h3>
        {(v.aliases ?? []).map(a => (
          <span key={a} className="mlws-Alias">
            @{a}
          </span>
        ))}
        {v.served_by.length > 0 && (
          <span className="mlws-Muted">
            served by <EndpointLinks names={v.served_by} context={context} />
          </span>
        )}
        <VersionActions model={model} version={v} endpoints={endpoints} />
      </div>
      <UseSignal signal={endpoints.changed}>
        {() => (
          <>
            <DeployForm key={endpoints.deploy?.model ?? 'none'} model={endpoints} />
            {endpoints.deployed && (
              <button
                className="mlws-LinkButton mlws-OpenDeployed"
                onClick={() => context.open({ kind: 'endpoint', id: endpoints.deployed!.name })}
              >
                Open endpoint {endpoints.deployed.name}
              </button>
            )}
          </>
        )}
      </UseSignal>
      <h4>Description</h4>
      <Description model={model} version={v} />
      <h4>Tags</h4>
      <Tags model={model} version={v} />
      <h4>Lineage</h4>
      <Lineage version={v} context={context} />
      <h4>Training data</h4>
      <TrainingData version={v} stats={model.training[v.version]} />
      <h4>Files</h4>
      <Files version={v} />
    </section>
  );
}

function ModelView(props: { model: ModelPageModel; endpoints: EndpointsModel; context: IPageContext }): JSX.Element {
  const { model, endpoints, context } = props;
  return (
    <div className="mlws-ModelPage" data-model={model.name}>
      <div className="mlws-PageHeader">
        <h2 className="mlws-PageTitle">Model {model.name}</h2>
        <span className="mlws-Muted">
          {model.versions.length} version{model.versions.length === 1 ? '' : 's'}
          {model.role && !model.canChange ? ` · you are a ${model.role}: changes need a contributor` : ''}
        </span>
      </div>
      <ErrorBox message={model.error} />
      <ErrorBox message={model.actionError} className="mlws-ModelActionError" />
      <div className="mlws-ModelColumns">
        <div className="mlws-ModelLeft">
          <VersionsTable model={model} context={context} />
          <Aliases model={model} />
        </div>
        <VersionDetail model={model} endpoints={endpoints} context={context} />
      </div>
    </div>
  );
}

export function createModelPage(request: IPageRequest, context: IPageContext): Widget {
  const name = request.id ?? '';
  const model = new ModelPageModel(name);
  model.selected = request.version ?? null; // a link to one version (a dataset's lineage) shows it
  const endpoints = new EndpointsModel();
  const widget = Object.assign(
    ReactWidget.create(
      <UseSignal signal={model.changed}>{() => <ModelView model={model} endpoints={endpoints} context={context} />}</UseSignal>
    ),
    {
      reopen: (again: IPageRequest): void => {
        if (again.version !== undefined) {
          model.select(again.version);
        }
      }
    }
  );
  widget.title.label = `Model ${name}`;
  // an endpoint created, deleted or moved changes "served by", and the deploy form's progress
  followEvents(widget, context.events, endpointChanged, async () => {
    await Promise.all([model.refresh(), endpoints.deploy?.endpoint ? endpoints.refresh() : Promise.resolve()]);
  });
  void model.refresh();
  return widget;
}
