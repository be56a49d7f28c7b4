/** One run: status, params, metrics, a metric chart, the logs tail and files with download links. */

import * as React from 'react';

import { MetricChart } from './chart';
import { KeyValues } from './keyValues';
import { RunModel } from './model';
import { apiUrl } from './request';
import { formatTime } from './runs';
import { RunActions, registerFromArtifact } from './runActions';
import { IRunFile } from './tokens';

function fileUrl(runId: string, file: IRunFile): string {
  const path = file.path.split('/').map(encodeURIComponent).join('/');
  const kind = file.kind === 'artifact' ? '' : `?kind=${encodeURIComponent(file.kind)}`;
  return apiUrl(`runs/${encodeURIComponent(runId)}/artifacts/${path}${kind}`);
}

function FileLink(props: { runId: string; file: IRunFile; label?: string }): JSX.Element {
  const { file } = props;
  return (
    <>
      <a href={fileUrl(props.runId, file)} download={file.path.split('/').pop()} target="_blank" rel="noopener noreferrer">
        {props.label ?? file.path}
      </a>
      <span className="mlws-Muted">{typeof file.size === 'number' ? ` · ${file.size} B` : ''}</span>
    </>
  );
}

/** The snapshot as a folder tree: one collapsible level per folder. */
function SnapshotTree(props: { runId: string; files: IRunFile[]; depth: number }): JSX.Element {
  const folders = new Map<string, IRunFile[]>();
  const here: IRunFile[] = [];
  for (const file of props.files) {
    const parts = file.path.split('/');
    if (parts.length > props.depth + 1) {
      const name = parts[props.depth];
      folders.set(name, [...(folders.get(name) ?? []), file]);
    } else {
      here.push(file);
    }
  }
  return (
    <ul>
      {[...folders.entries()].sort().map(([name, files]) => (
        <li key={`d/${name}`}>
          <details>
            <summary>{name}/</summary>
            <SnapshotTree runId={props.runId} files={files} depth={props.depth + 1} />
          </details>
        </li>
      ))}
      {here.map(file => (
        <li key={file.path}>
          <FileLink runId={props.runId} file={file} label={file.path.split('/').pop()} />
        </li>
      ))}
    </ul>
  );
}

function Files(props: { model: RunModel }): JSX.Element {
  const { model } = props;
  const runId = model.runId;
  // logs are shown above; artifacts download (and register as a model); the snapshot is a tree
  const artifacts = model.files.filter(f => f.kind === 'artifact');
  const snapshot = model.files.filter(f => f.kind === 'snapshot');
  return (
    <section className="mlws-Files">
      <h3>Files</h3>
      {artifacts.length === 0 && <div className="mlws-Empty">no artifacts</div>}
      <ul>
        {artifacts.map(file => (
          <li key={file.path} data-path={file.path}>
            <FileLink runId={runId} file={file} />{' '}
            {model.run && (
              <button className="mlws-RegisterArtifact" title="Register as a model" onClick={() => void registerFromArtifact(model.run!, file)}>
                register
              </button>
            )}
          </li>
        ))}
      </ul>
      {snapshot.length > 0 && (
        <details className="mlws-Snapshot">
          <summary>Snapshot of the source ({snapshot.length} files)</summary>
          <SnapshotTree runId={runId} files={snapshot} depth={0} />
        </details>
      )}
    </section>
  );
}

function Chart(props: { model: RunModel }): JSX.Element | null {
  const { model } = props;
  const keys = Object.keys(model.run?.metrics || {}).sort();
  if (keys.length === 0) {
    return null;
  }
  const histories = model.histories.filter(h => model.shown.includes(h.key));
  return (
    <section className="mlws-Metric">
      <h3>Chart</h3>
      <div className="mlws-MetricToggles" role="group" aria-label="Metrics on the chart">
        {keys.map(key => (
          <button
            key={key}
            className={`mlws-MetricToggle${model.shown.includes(key) ? ' mlws-mod-active' : ''}`}
            aria-pressed={model.shown.includes(key)}
            data-metric={key}
            onClick={() => void model.toggleMetric(key)}
          >
            {key}
          </button>
        ))}
      </div>
      {model.historyError && <div className="mlws-Error" role="alert">{model.historyError}</div>}
      {histories.length > 0 && (
        <>
          <MetricChart histories={histories} />
          <div className="mlws-Muted mlws-ChartInfo">
            {histories
              .map(h => `${histories.length > 1 ? `${h.key}: ` : ''}${h.total} points${h.downsampled ? `, ${h.steps.length} shown` : ''}`)
              .join(' · ')}
          </div>
        </>
      )}
    </section>
  );
}

export function RunView(props: {
  model: RunModel;
  onBack: () => void;
  onOpen: (runId: string) => void;
  onOpenNotebook?: ((path: string) => void) | null;
}): JSX.Element {
  const { model, onOpenNotebook } = props;
  const run = model.run;
  return (
    <div className="mlws-RunView" data-run-id={model.runId}>
      <div className="mlws-RunHeader">
        <button className="mlws-Back" onClick={props.onBack}>
          ‹ Runs
        </button>
        <button className="mlws-Reload" onClick={() => void model.refresh()}>
          Reload
        </button>
      </div>
      {model.error && <div className="mlws-Error" role="alert">{model.error}</div>}
      {run && (
        <>
          <h2 className="mlws-RunTitle">{run.name || run.id}</h2>
          <div className="mlws-RunMeta">
            <span className={`mlws-Status mlws-status-${run.status}`}>{run.status}</span> · {run.experiment} ·{' '}
            {run.id} · {formatTime(run.start_time)}
          </div>
          {run.notebook && onOpenNotebook && (
            <div className="mlws-Source">
              <button className="mlws-OpenNotebook" title="Open the notebook this run came from" onClick={() => onOpenNotebook(run.notebook!)}>
                Open notebook
              </button>{' '}
              <span className="mlws-Muted">{run.notebook}</span>
            </div>
          )}
          <RunActions run={run} onChanged={() => void model.refresh()} onOpen={props.onOpen} />
          {run.error && <pre className="mlws-Error">{run.error}</pre>}
          <KeyValues title="Params" values={run.params} className="mlws-Params" />
          <KeyValues title="Metrics" values={run.metrics} className="mlws-Metrics" />
          <Chart model={model} />
          <section className="mlws-Logs">
            <h3>Logs</h3>
            {model.tail().length === 0 && <div className="mlws-Empty">none</div>}
            {model.tail().map(([name, text]) => {
              const stored = model.files.find(f => f.kind === 'log' && f.path === name);
              return (
                <details key={name} open>
                  <summary>
                    {name}
                    {stored && (
                      <>
                        {' '}
                        <FileLink runId={model.runId} file={stored} label="download" />
                      </>
                    )}
                  </summary>
                  <pre>{text}</pre>
                </details>
              );
            })}
          </section>
          <Files model={model} />
        </>
      )}
    </div>
  );
}
