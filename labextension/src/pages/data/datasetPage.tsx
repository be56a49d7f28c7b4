/**
 * A dataset's page (main area): its versions, newest first and a page at a time, each with its
 * size, file count, content hash, who registered it and when, and the run that made it; the
 * version shown (the latest, or the one a link asked for) with its lineage (the run that made it
 * and the runs and model versions that used it, each opening its page), a tabular version's
 * schema and column statistics, and its files a page at a time.
 */

import { ReactWidget, UseSignal } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import '../../../style/workflows.css';
import '../../../style/data.css';

import { FieldTable } from '../../keyValues';
import { ErrorBox } from '../errorBox';
import { FeatureStatsTable } from '../featureStats';
import { FilesTable } from '../filesTable';
import { IPageContext, IPageRequest } from '../page';
import { formatMoment, formatSize } from '../run/format';
import { RunLink } from '../run/overview';
import { DatasetModel, FILES_PAGE, VERSIONS_PAGE } from './model';
import { Pager } from './pager';
import { IDatasetShown, IDatasetVersion } from './types';

/** A size as `3.4 KB`, its bytes in the tooltip. */
function Size(props: { bytes: number }): JSX.Element {
  return <span title={`${props.bytes.toLocaleString('en-US')} bytes`}>{formatSize(props.bytes)}</span>;
}

function Aliases(props: { aliases: string[] }): JSX.Element {
  return (
    <>
      {props.aliases.map(a => (
        <span key={a} className="mlws-Badge mlws-DatasetAlias">
          @{a}
        </span>
      ))}
    </>
  );
}

function VersionsTable(props: { model: DatasetModel; context: IPageContext }): JSX.Element {
  const { model, context } = props;
  const versions = model.versions;
  return (
    <>
      <table className="mlws-Table mlws-DatasetVersions" aria-label={`Versions of ${model.name}`}>
        <thead>
          <tr>
            <th>Version</th>
            <th className="mlws-Number">Size</th>
            <th className="mlws-Number">Files</th>
            <th>Content hash</th>
            <th>Datastore</th>
            <th>Created by</th>
            <th>Created</th>
            <th>Made by run</th>
          </tr>
        </thead>
        <tbody>
          {versions.rows.map((v: IDatasetVersion) => {
            const shown = v.version === model.selected;
            return (
              <tr
                key={v.version}
                className={`mlws-DatasetVersionRow${shown ? ' mlws-mod-selected' : ''}`}
                data-version={v.version}
                aria-current={shown ? 'true' : undefined}
              >
                <td>
                  <button
                    className="mlws-Link mlws-VersionOpen"
                    title={`Show ${v.ref}: its lineage${v.tabular ? ', schema, statistics' : ''} and files`}
                    onClick={() => void model.select(v.version)}
                  >
                    v{v.version}
                  </button>
                  {versions.offset === 0 && v === versions.rows[0] && <span className="mlws-Muted"> latest</span>}
                  <Aliases aliases={v.aliases} />
                </td>
                <td className="mlws-Number">
                  <Size bytes={v.size} />
                </td>
                <td className="mlws-Number">{v.files}</td>
                <td className="mlws-Hash" title={v.root_hash}>
                  {v.root_hash.slice(0, 12)}
                </td>
                <td>{v.datastore}</td>
                <td>{v.created_by}</td>
                <td className="mlws-Muted">{formatMoment(v.created_at)}</td>
                <td>{v.run_id ? <RunLink run={{ id: v.run_id, name: v.run_id.slice(0, 8) }} context={context} /> : <span className="mlws-Muted">none</span>}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <Pager
        page={versions}
        size={VERSIONS_PAGE}
        noun="versions"
        label={`Versions of ${model.name}`}
        busy={model.loading}
        onPage={offset => void model.pageVersions(offset)}
      />
    </>
  );
}

/** The runs and model versions a version is linked with, each opening its page. */
function Lineage(props: { shown: IDatasetShown; context: IPageContext }): JSX.Element {
  const { shown, context } = props;
  const { runs, run_count, models, model_count } = shown.used_by;
  const maker = runs.find(r => r.how === 'output');
  const users = runs.filter(r => r.how !== 'output');
  const more = (count: number, listed: number) =>
    count > listed ? <li className="mlws-Muted">and {count - listed} more</li> : null;
  const rows: Array<[string, React.ReactNode]> = [
    ['Made by', maker ? <RunLink run={maker} context={context} /> : <span className="mlws-Muted">registered from files, not by a run</span>],
    [
      'Used by runs',
      users.length === 0 ? (
        <span className="mlws-Muted">none yet</span>
      ) : (
        <ul className="mlws-InlineList mlws-DatasetUsers">
          {users.map(r => (
            <li key={`${r.id} ${r.how}`} data-run-id={r.id} data-how={r.how}>
              <RunLink run={r} context={context} /> <span className="mlws-Muted">({r.how})</span>
            </li>
          ))}
          {more(run_count - (maker ? 1 : 0), users.length)}
        </ul>
      )
    ],
    [
      'Models',
      models.length === 0 ? (
        <span className="mlws-Muted">none yet</span>
      ) : (
        <ul className="mlws-InlineList mlws-DatasetModels">
          {models.map(m => (
            <li key={`${m.name}:${m.version}`} data-model={`${m.name}:${m.version}`}>
              <button
                className="mlws-Link mlws-ModelLink"
                title={`Open model ${m.name} on version ${m.version}`}
                onClick={() => context.open({ kind: 'model', id: m.name, version: m.version })}
              >
                {m.name}:{m.version}
              </button>{' '}
              <span className="mlws-Muted">({m.how === 'training' ? 'trained on it' : "its run's data"})</span>
            </li>
          ))}
          {more(model_count, models.length)}
        </ul>
      )
    ]
  ];
  return <FieldTable rows={rows} className="mlws-DatasetLineage" />;
}

function Schema(props: { shown: IDatasetShown }): JSX.Element | null {
  const stats = props.shown.stats;
  if (!stats) {
    return null;
  }
  const types = Object.fromEntries(stats.columns.map(c => [c.name, c.type]));
  return (
    <section className="mlws-DatasetSchema" aria-label="Schema and statistics">
      <h3>Schema and statistics</h3>
      <div className="mlws-Muted mlws-SchemaSummary">
        {stats.rows.toLocaleString('en-US')} rows, {stats.columns.length} columns ({stats.format}); statistics recorded when it was
        registered
      </div>
      <FeatureStatsTable features={stats.features} types={types} nameHeading="Column" label={`Columns of ${props.shown.ref}`} />
    </section>
  );
}

function VersionDetail(props: { model: DatasetModel; context: IPageContext }): JSX.Element | null {
  const { model, context } = props;
  const shown = model.shown;
  if (model.selected === null) {
    return null;
  }
  const ref = `${model.name}:${model.selected}`;
  if (!shown) {
    return (
      <section className="mlws-DatasetVersion" aria-label={`Version ${ref}`}>
        <h3>{ref}</h3>
        {model.shownError ? <ErrorBox message={model.shownError} /> : <div className="mlws-Muted">Loading…</div>}
      </section>
    );
  }
  const tags = Object.entries(shown.tags);
  const fields: Array<[string, React.ReactNode]> = [
    ['Content hash', <code key="hash" className="mlws-RootHash">{shown.root_hash}</code>],
    ['Size', <Size key="size" bytes={shown.size} />],
    ['Files', shown.files],
    ['Datastore', shown.datastore],
    ['Source', shown.source || <span className="mlws-Muted">none</span>],
    ['Created', `${formatMoment(shown.created_at)} by ${shown.created_by}`],
    ['Description', shown.description || <span className="mlws-Muted">none</span>],
    ['Tags', tags.length ? tags.map(([k, v]) => (v ? `${k}=${v}` : k)).join(', ') : <span className="mlws-Muted">none</span>]
  ];
  return (
    <section className="mlws-DatasetVersion" data-version={shown.version} aria-label={`Version ${shown.ref}`}>
      <h3>
        {shown.ref} <Aliases aliases={shown.aliases} />
        {shown.tabular && <span className="mlws-Badge">table</span>}
      </h3>
      <div className="mlws-DatasetColumns">
        <div>
          <h4>Version</h4>
          <FieldTable rows={fields} className="mlws-DatasetFields" />
        </div>
        <div>
          <h4>Lineage</h4>
          <Lineage shown={shown} context={context} />
        </div>
      </div>
      <Schema shown={shown} />
      <section className="mlws-DatasetFilesSection" aria-label={`Files of ${shown.ref}`}>
        <h3>Files</h3>
        <ErrorBox message={model.filesError} />
        <FilesTable files={model.files.rows} className="mlws-DatasetFiles" label={`Files of ${shown.ref}`} />
        <Pager page={model.files} size={FILES_PAGE} noun="files" label={`Files of ${shown.ref}`} onPage={offset => void model.pageFiles(offset)} />
      </section>
    </section>
  );
}

function DatasetView(props: { model: DatasetModel; context: IPageContext }): JSX.Element {
  const { model, context } = props;
  const total = model.versions.total;
  return (
    <div className="mlws-WorkflowPage mlws-DataPage mlws-DatasetPage" data-dataset={model.name}>
      <div className="mlws-PageHeader">
        <h2 className="mlws-PageTitle">Dataset {model.name}</h2>
        <span className="mlws-Muted">{total ? `${total} version${total === 1 ? '' : 's'}` : ''}</span>
        <span className="mlws-HeaderTools">
          <button className="mlws-AllData" onClick={() => context.open({ kind: 'data' })}>
            All data
          </button>
          <button className="mlws-Reload" disabled={model.loading} onClick={() => void model.refresh()}>
            Reload
          </button>
        </span>
      </div>
      <ErrorBox message={model.error} />
      {model.versions.rows.length > 0 && <VersionsTable model={model} context={context} />}
      <VersionDetail model={model} context={context} />
    </div>
  );
}

export function createDatasetPage(request: IPageRequest, context: IPageContext): Widget {
  const name = request.id ?? '';
  const model = new DatasetModel(name, request.version ?? null);
  const widget = Object.assign(
    ReactWidget.create(<UseSignal signal={model.changed}>{() => <DatasetView model={model} context={context} />}</UseSignal>),
    {
      reopen: (again: IPageRequest): void => {
        if (again.version !== undefined) {
          void model.select(again.version);
        }
      }
    }
  );
  widget.addClass('mlws-DatasetWidget');
  widget.title.label = `Dataset ${name}`;
  void model.refresh();
  return widget;
}
