/** One run: status, params, metrics, a metric chart, the logs tail and files with download links. */

import * as React from 'react';

import { MetricChart } from './chart';
import { RunModel } from './model';
import { apiUrl } from './request';
import { formatTime, formatValue } from './runs';
import { IRunFile, Scalar } from './tokens';

function KeyValues(props: { title: string; values: Record<string, Scalar>; className: string }): JSX.Element {
  const entries = Object.entries(props.values || {});
  return (
    <section className={props.className}>
      <h3>{props.title}</h3>
      {entries.length === 0 ? (
        <div className="mlws-Empty">none</div>
      ) : (
        <table className="mlws-KeyValues">
          <tbody>
            {entries.map(([key, value]) => (
              <tr key={key}>
                <th>{key}</th>
                <td>{formatValue(value)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function fileUrl(runId: string, file: IRunFile): string {
  const path = file.path.split('/').map(encodeURIComponent).join('/');
  const kind = file.kind === 'artifact' ? '' : `?kind=${encodeURIComponent(file.kind)}`;
  return apiUrl(`runs/${encodeURIComponent(runId)}/artifacts/${path}${kind}`);
}

function Files(props: { model: RunModel }): JSX.Element {
  const runId = props.model.runId;
  // logs are shown above; artifacts and snapshot files download
  const files = props.model.files.filter(f => f.kind !== 'log');
  return (
    <section className="mlws-Files">
      <h3>Files</h3>
      {files.length === 0 && <div className="mlws-Empty">none</div>}
      <ul>
        {files.map(file => (
          <li key={`${file.kind}/${file.path}`}>
            <a href={fileUrl(runId, file)} download={file.path.split('/').pop()} target="_blank" rel="noopener noreferrer">
              {file.path}
            </a>
            <span className="mlws-Muted">
              {' '}
              {file.kind}
              {typeof file.size === 'number' ? ` · ${file.size} B` : ''}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Chart(props: { model: RunModel }): JSX.Element | null {
  const { model } = props;
  const keys = Object.keys(model.run?.metrics || {}).sort();
  if (keys.length === 0) {
    return null;
  }
  return (
    <section className="mlws-Metric">
      <h3>
        Chart{' '}
        <select aria-label="Metric" value={model.metric} onChange={event => void model.showMetric(event.target.value)}>
          {keys.map(key => (
            <option key={key} value={key}>
              {key}
            </option>
          ))}
        </select>
      </h3>
      {model.historyError && <div className="mlws-Error" role="alert">{model.historyError}</div>}
      {model.history && model.history.key === model.metric && (
        <>
          <MetricChart history={model.history} />
          <div className="mlws-Muted mlws-ChartInfo">
            {model.history.total} points{model.history.downsampled ? `, ${model.history.steps.length} shown` : ''}
          </div>
        </>
      )}
    </section>
  );
}

export function RunView(props: { model: RunModel; onBack: () => void }): JSX.Element {
  const { model } = props;
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
          {run.error && <pre className="mlws-Error">{run.error}</pre>}
          <KeyValues title="Params" values={run.params} className="mlws-Params" />
          <KeyValues title="Metrics" values={run.metrics} className="mlws-Metrics" />
          <Chart model={model} />
          <section className="mlws-Logs">
            <h3>Logs</h3>
            {model.tail().length === 0 && <div className="mlws-Empty">none</div>}
            {model.tail().map(([name, text]) => (
              <details key={name} open>
                <summary>{name}</summary>
                <pre>{text}</pre>
              </details>
            ))}
          </section>
          <Files model={model} />
        </>
      )}
    </div>
  );
}
