/**
 * Endpoints in the "Models & endpoints" tab: the deploy form for a model version (with the
 * start's progress), and each endpoint's state, URL, traffic split, live metrics and test box.
 */

import { UseSignal } from '@jupyterlab/apputils';
import * as React from 'react';

import { EndpointsModel } from './endpointsModel';
import { IEndpoint, IEndpointMetrics } from './tokens';

function ms(value: number | null | undefined): string {
  return value === null || value === undefined ? '–' : `${value} ms`;
}

/** The deploy form for `model.deploy.model`, and what became of the endpoint it created. */
export function DeployForm(props: { model: EndpointsModel }): JSX.Element | null {
  const { model } = props;
  const deploy = model.deploy;
  const [name, setName] = React.useState(() => (deploy ? deploy.model.split(/[:@]/)[0] : ''));
  const [script, setScript] = React.useState('score.py');
  const [workers, setWorkers] = React.useState('1');
  if (!deploy) {
    return null;
  }
  const created = model.deployed;
  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    void model.submitDeploy({ name: name.trim(), script: script.trim(), workers: Number(workers) });
  };
  return (
    <form className="mlws-DeployForm" onSubmit={submit}>
      <h3>Deploy {deploy.model}</h3>
      <label>
        Endpoint name
        <input className="mlws-DeployName" value={name} onChange={e => setName(e.target.value)} />
      </label>
      <label>
        Scoring script (in the server's folder)
        <input className="mlws-DeployScript" value={script} onChange={e => setScript(e.target.value)} />
      </label>
      <label>
        Workers
        <input
          className="mlws-DeployWorkers"
          type="number"
          min={1}
          max={64}
          value={workers}
          onChange={e => setWorkers(e.target.value)}
        />
      </label>
      <div className="mlws-FormButtons">
        <button type="submit" className="mlws-DeploySubmit" disabled={deploy.submitting}>
          Deploy
        </button>
        <button type="button" className="mlws-DeployCancel" onClick={() => model.openDeploy(null)}>
          Close
        </button>
      </div>
      {deploy.error && (
        <div className="mlws-Error" role="alert">
          {deploy.error}
        </div>
      )}
      {deploy.submitting && <div className="mlws-DeployProgress mlws-Muted">sending…</div>}
      {created && (
        <div className={`mlws-DeployProgress mlws-state-${created.state}`} data-state={created.state}>
          {created.name}: {created.state}
          {created.state === 'creating' && ' (starting the workers and loading the model…)'}
          {created.state === 'healthy' && created.scoring_uri ? ` at ${created.scoring_uri}` : ''}
          {created.state === 'failed' && created.error && <pre className="mlws-Error">{created.error}</pre>}
        </div>
      )}
    </form>
  );
}

function Metrics(props: { metrics: IEndpointMetrics | undefined }): JSX.Element {
  const m = props.metrics;
  if (!m) {
    return <div className="mlws-Muted">no metrics yet</div>;
  }
  const t = m.total;
  return (
    <div className="mlws-EndpointMetrics" data-count={t.count}>
      <span className="mlws-MetricCount">{t.count} requests</span> · <span className="mlws-MetricErrors">{t.errors} errors</span>{' '}
      · p50 {ms(t.latency_ms.p50)} · p95 {ms(t.latency_ms.p95)} · p99 {ms(t.latency_ms.p99)}
      <span className="mlws-Muted"> (last {Math.round(m.since_s / 60)} min{m.monitoring ? '' : ', monitoring off'})</span>
    </div>
  );
}

function TestBox(props: { model: EndpointsModel; name: string }): JSX.Element {
  const { model, name } = props;
  const box = model.testBox(name);
  return (
    <details className="mlws-TestBox">
      <summary>Test</summary>
      <textarea
        className="mlws-TestInput"
        aria-label={`JSON to send to ${name}`}
        rows={3}
        value={box.input}
        onChange={e => model.setTestInput(name, e.target.value)}
      />
      <button className="mlws-TestSend" disabled={box.busy} onClick={() => void model.invoke(name)}>
        Send
      </button>
      {box.error && (
        <div className="mlws-Error" role="alert">
          {box.error}
        </div>
      )}
      {box.output !== null && <pre className="mlws-TestOutput">{box.output}</pre>}
    </details>
  );
}

function EndpointCard(props: { model: EndpointsModel; endpoint: IEndpoint }): JSX.Element {
  const { model, endpoint: e } = props;
  return (
    <li className="mlws-Endpoint" data-endpoint={e.name} data-state={e.state}>
      <div className="mlws-EndpointHeader">
        <strong>{e.name}</strong> <span className={`mlws-EndpointState mlws-state-${e.state}`}>{e.state}</span>
        {e.restarts ? <span className="mlws-Muted"> · {e.restarts} restarts</span> : null}
        <span className="mlws-EndpointActions">
          {e.state === 'healthy' || e.state === 'creating' ? (
            <button onClick={() => void model.act(e.name, 'stop')}>Stop</button>
          ) : (
            <button onClick={() => void model.act(e.name, 'start')}>Start</button>
          )}
        </span>
      </div>
      {e.scoring_uri && <div className="mlws-EndpointUrl">{e.scoring_uri}</div>}
      <div className="mlws-Traffic">
        {e.deployments.map(d => (
          <span key={d.name} className="mlws-TrafficShare" title={`${d.models.join(', ')} · ${d.state}`}>
            {d.name} {d.traffic}% <span className="mlws-Muted">({d.models.join(', ')})</span>
          </span>
        ))}
      </div>
      {e.state === 'failed' && e.error && <pre className="mlws-Error">{e.error}</pre>}
      {e.state === 'healthy' && (
        <>
          <Metrics metrics={model.metrics[e.name]} />
          <TestBox model={model} name={e.name} />
        </>
      )}
    </li>
  );
}

/** Every endpoint, refreshed while shown. */
export function EndpointsList(props: { model: EndpointsModel }): JSX.Element {
  const { model } = props;
  return (
    <section className="mlws-Endpoints">
      <h3>Endpoints</h3>
      {model.error && (
        <div className="mlws-Error" role="alert">
          {model.error}
        </div>
      )}
      {model.actionError && (
        <div className="mlws-Error" role="alert">
          {model.actionError}
        </div>
      )}
      {!model.error && model.endpoints.length === 0 && (
        <div className="mlws-Empty">No endpoints yet: open a model and deploy one of its versions</div>
      )}
      <ul className="mlws-EndpointList">
        {model.endpoints.map(e => (
          <EndpointCard key={e.name} model={model} endpoint={e} />
        ))}
      </ul>
    </section>
  );
}

/** The deploy form and the endpoints list, re-rendered on the endpoints model's changes. */
export function EndpointsPanel(props: { model: EndpointsModel }): JSX.Element {
  const { model } = props;
  return (
    <UseSignal signal={model.changed}>
      {() => (
        <>
          <DeployForm key={model.deploy?.model ?? 'none'} model={model} />
          <EndpointsList model={model} />
        </>
      )}
    </UseSignal>
  );
}
