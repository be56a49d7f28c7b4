/**
 * The endpoints list page and an endpoint's page (main area).  An endpoint's page: charts over
 * time of requests, errors and p50/p95/p99 latency per deployment; the deployments with a
 * traffic editor (blue/green; whole percents summing to 100) and a form for a new deployment;
 * a test box; drift per feature; for contributors, its keys (masked, copied to the clipboard,
 * never shown) and its log.  Live through the server's endpoint-health events; nothing polls.
 */

import { ReactWidget, UseSignal } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { EndpointsModel } from '../endpointsModel';
import { ENDPOINT_HEALTH_SCHEMA, IEndpoint } from '../tokens';
import { EndpointPageModel, IDriftDeployment, IKeys, ITimelinePoint, WINDOWS } from './endpointPageModel';
import { ErrorBox } from './errorBox';
import { followEvents } from './live';
import { IPageContext, IPageRequest } from './page';
import { ITimeSeries, SERIES_VARS, TimeChart } from './timeChart';

function ms(value: number | null | undefined): string {
  return value === null || value === undefined ? '–' : `${value < 10 ? value.toFixed(2) : Math.round(value)} ms`;
}

function StateBadge(props: { state: string }): JSX.Element {
  return <span className={`mlws-StateBadge mlws-state-${props.state}`}>{props.state}</span>;
}

function forEndpoint(name: string | null) {
  return (event: { schema_id: string; [key: string]: unknown }) =>
    event.schema_id === ENDPOINT_HEALTH_SCHEMA && (name === null || event.endpoint === name);
}

// -- the endpoints list -----------------------------------------------------------------------

function EndpointsTable(props: { model: EndpointsModel; context: IPageContext }): JSX.Element {
  const { model, context } = props;
  const open = (e: IEndpoint) => context.open({ kind: 'endpoint', id: e.name });
  return (
    <div className="mlws-EndpointsPage">
      <h2 className="mlws-PageTitle">Endpoints</h2>
      <ErrorBox message={model.error} />
      {!model.loading && !model.error && model.endpoints.length === 0 && (
        <div className="mlws-Empty">No endpoints yet: open a model and deploy one of its versions.</div>
      )}
      {model.endpoints.length > 0 && (
        <table className="mlws-Table mlws-EndpointsTable">
          <thead>
            <tr>
              <th>Endpoint</th>
              <th>State</th>
              <th>Deployments (traffic)</th>
              <th>Requests, last hour</th>
              <th>Errors</th>
              <th>p95</th>
              <th>URL</th>
            </tr>
          </thead>
          <tbody>
            {model.endpoints.map(e => {
              const m = model.metrics[e.name]?.total;
              return (
                <tr key={e.name} className="mlws-EndpointRow" data-endpoint={e.name} data-state={e.state} onClick={() => open(e)}>
                  <td>
                    <button
                      className="mlws-LinkButton mlws-EndpointOpen"
                      onClick={event => {
                        event.stopPropagation(); // the row opens it too
                        open(e);
                      }}
                    >
                      {e.name}
                    </button>
                  </td>
                  <td>
                    <StateBadge state={e.state} />
                  </td>
                  <td>
                    {e.deployments.map(d => (
                      <span key={d.name} className="mlws-DeploymentShare">
                        {d.name} {d.traffic}% <span className="mlws-Muted">({d.models.join(', ')})</span>
                      </span>
                    ))}
                  </td>
                  <td>{m ? m.count : '–'}</td>
                  <td>{m ? m.errors : '–'}</td>
                  <td>{ms(m?.latency_ms.p95)}</td>
                  <td className="mlws-Url">{e.scoring_uri ?? ''}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}

export function createEndpointsPage(request: IPageRequest, context: IPageContext): Widget {
  const model = new EndpointsModel();
  const widget = ReactWidget.create(
    <UseSignal signal={model.changed}>{() => <EndpointsTable model={model} context={context} />}</UseSignal>
  );
  widget.title.label = 'Endpoints';
  followEvents(widget, context.events, forEndpoint(null), () => model.refresh());
  void model.refresh();
  return widget;
}

// -- an endpoint's page: charts ----------------------------------------------------------------

/** The three charts' series from the timeline: one colour per deployment, p50/p95/p99 dashed apart. */
function useCharts(model: EndpointPageModel) {
  const metrics = model.metrics;
  return React.useMemo(() => {
    const deployments = Object.entries(metrics?.timeline.deployments ?? {});
    const times = deployments[0]?.[1].map(p => p.t) ?? [];
    const color = (i: number) => SERIES_VARS[i % SERIES_VARS.length];
    const line = (name: string, i: number, points: ITimelinePoint[], pick: (p: ITimelinePoint) => number | null, dash?: number[]): ITimeSeries => ({
      label: name,
      values: points.map(pick),
      color: color(i),
      dash,
      sparse: dash !== undefined || name.endsWith(' p50') // latencies: none in a bucket without requests
    });
    return {
      times,
      requests: deployments.map(([d, points], i) => line(d, i, points, p => p.count)),
      errors: deployments.map(([d, points], i) => line(d, i, points, p => p.errors)),
      latency: deployments.flatMap(([d, points], i) => [
        line(`${d} p50`, i, points, p => p.p50),
        line(`${d} p95`, i, points, p => p.p95, [6, 3]),
        line(`${d} p99`, i, points, p => p.p99, [2, 3])
      ])
    };
  }, [metrics]);
}

function Charts(props: { model: EndpointPageModel }): JSX.Element {
  const { model } = props;
  const charts = useCharts(model);
  const total = model.metrics?.total;
  const bucket = model.metrics?.timeline.bucket_s;
  return (
    <section className="mlws-Card mlws-Charts" aria-label="Requests over time">
      <div className="mlws-CardHeader">
        <h3>Requests over time</h3>
        <label>
          <span className="mlws-VisuallyHidden">Window</span>
          <select className="mlws-Window" value={model.since} onChange={e => model.setWindow(Number(e.target.value))}>
            {WINDOWS.map(w => (
              <option key={w.since} value={w.since}>
                {w.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorBox message={model.metricsError} />
      {total && (
        <div className="mlws-Totals" data-count={total.count} data-errors={total.errors}>
          <span>
            <strong>{total.count}</strong> {total.count === 1 ? 'request' : 'requests'}
          </span>
          <span>
            <strong>{total.errors}</strong> {total.errors === 1 ? 'error' : 'errors'}
          </span>
          <span>p50 {ms(total.latency_ms.p50)}</span>
          <span>p95 {ms(total.latency_ms.p95)}</span>
          <span>p99 {ms(total.latency_ms.p99)}</span>
          <span className="mlws-Muted">
            {bucket ? `${bucket >= 60 ? `${bucket / 60} min` : `${bucket} s`} buckets` : ''}
            {model.metrics && !model.metrics.monitoring ? ' · monitoring is off' : ''}
          </span>
        </div>
      )}
      {charts.times.length === 0 ? (
        <div className="mlws-Empty mlws-NoRequests">No requests in this window: send some from the test box.</div>
      ) : (
        <div className="mlws-ChartRow">
          <TimeChart className="mlws-RequestsChart" title="Requests per bucket" times={charts.times} series={charts.requests} />
          <TimeChart className="mlws-ErrorsChart" title="Errors per bucket" times={charts.times} series={charts.errors} />
          <TimeChart className="mlws-LatencyChart" title="Latency p50 / p95 / p99" times={charts.times} series={charts.latency} unit="ms" />
        </div>
      )}
    </section>
  );
}

// -- deployments and traffic -----------------------------------------------------------------------

function TrafficBar(props: { shares: Array<[string, number]> }): JSX.Element {
  return (
    <div className="mlws-TrafficBar" aria-hidden="true">
      {props.shares.map(([name, share], i) =>
        share > 0 ? (
          <span
            key={name}
            className="mlws-TrafficSegment"
            style={{ width: `${share}%`, background: `var(${SERIES_VARS[i % SERIES_VARS.length]})` }}
            title={`${name} ${share}%`}
          >
            {name} {share}%
          </span>
        ) : null
      )}
    </div>
  );
}

function AddDeployment(props: { model: EndpointPageModel }): JSX.Element {
  const { model } = props;
  const deps = model.endpoint?.deployments ?? [];
  const suggested = ['blue', 'green'].find(n => !deps.some(d => d.name === n)) ?? '';
  const [name, setName] = React.useState(suggested);
  // offered: what the deployment taking the most traffic serves (its script's path in the workspace)
  const current = [...deps].sort((a, b) => b.traffic - a.traffic)[0];
  const [ref, setRef] = React.useState(current?.models[0] ?? '');
  const [script, setScript] = React.useState(current?.entry_script ?? 'score.py');
  const disabled = !model.canChange || model.busy;
  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    void model.addDeployment(name.trim(), ref.trim(), script.trim());
  };
  return (
    <details className="mlws-AddDeployment">
      <summary>Add a deployment</summary>
      <form onSubmit={submit}>
        <label>
          Name
          <input className="mlws-NewDeploymentName" value={name} disabled={disabled} onChange={e => setName(e.target.value)} />
        </label>
        <label>
          Model version
          <input className="mlws-NewDeploymentModel" value={ref} placeholder="iris:2" disabled={disabled} onChange={e => setRef(e.target.value)} />
        </label>
        <label>
          Scoring script (in the server's folder)
          <input className="mlws-NewDeploymentScript" value={script} disabled={disabled} onChange={e => setScript(e.target.value)} />
        </label>
        <button type="submit" className="mlws-NewDeploymentSubmit" disabled={disabled || !name.trim() || !ref.trim()}>
          Deploy with 0% traffic
        </button>
      </form>
    </details>
  );
}

function Deployments(props: { model: EndpointPageModel }): JSX.Element {
  const { model } = props;
  const endpoint = model.endpoint!;
  const traffic = model.traffic;
  const sum = model.trafficSum;
  const editing = model.trafficDraft !== null;
  const disabled = !model.canChange || model.busy;
  const shares = endpoint.deployments.map(d => [d.name, d.traffic] as [string, number]);
  return (
    <section className="mlws-Card mlws-Deployments" aria-label="Deployments and traffic">
      <h3>Deployments and traffic</h3>
      <TrafficBar shares={shares} />
      <form
        className="mlws-TrafficEditor"
        onSubmit={e => {
          e.preventDefault();
          void model.applyTraffic();
        }}
      >
        <table className="mlws-Table">
          <thead>
            <tr>
              <th>Deployment</th>
              <th>Model</th>
              <th>State</th>
              <th>Traffic %</th>
              <th>
                <span className="mlws-VisuallyHidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {endpoint.deployments.map((d, i) => (
              <tr key={d.name} className="mlws-DeploymentRow" data-deployment={d.name} data-traffic={d.traffic} data-state={d.state}>
                <td>
                  <span className="mlws-Swatch" style={{ background: `var(${SERIES_VARS[i % SERIES_VARS.length]})` }} /> {d.name}
                </td>
                <td>{d.models.join(', ')}</td>
                <td>
                  <StateBadge state={d.state} />
                  {d.error ? <div className="mlws-Error">{d.error}</div> : null}
                </td>
                <td>
                  <input
                    className="mlws-TrafficInput"
                    aria-label={`Traffic to ${d.name}, percent`}
                    type="number"
                    min={0}
                    max={100}
                    step={1}
                    value={traffic[d.name] ?? ''}
                    disabled={disabled}
                    onChange={e => model.setTraffic(d.name, e.target.value)}
                  />
                </td>
                <td>
                  <button
                    type="button"
                    className="mlws-RemoveDeployment"
                    disabled={disabled}
                    title={`Remove ${d.name} (it must take no traffic)`}
                    onClick={() => void model.removeDeployment(d.name)}
                  >
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <div className="mlws-TrafficFooter">
          <span className={`mlws-TrafficSum${sum === 100 ? '' : ' mlws-mod-invalid'}`} data-sum={Number.isNaN(sum) ? '' : sum}>
            Total {Number.isNaN(sum) ? '?' : sum}%{sum === 100 ? '' : ': the shares must be whole percents summing to 100'}
          </span>
          <button type="submit" className="mlws-TrafficApply" disabled={disabled || !editing || sum !== 100}>
            Apply traffic
          </button>
          <button type="button" className="mlws-TrafficReset" disabled={!editing} onClick={() => model.resetTraffic()}>
            Reset
          </button>
        </div>
      </form>
      <ErrorBox message={model.trafficError} className="mlws-TrafficError" />
      <ErrorBox message={model.deploymentError} className="mlws-DeploymentError" />
      <AddDeployment key={endpoint.deployments.map(d => d.name).join(',')} model={model} />
    </section>
  );
}

// -- test box, drift, keys, logs ---------------------------------------------------------------------

function TestBox(props: { model: EndpointPageModel }): JSX.Element {
  const { model } = props;
  const test = model.test;
  const deployments = model.endpoint?.deployments ?? [];
  return (
    <section className="mlws-Card mlws-EndpointTest" aria-label="Test">
      <h3>Test</h3>
      <textarea
        className="mlws-TestInput"
        aria-label={`JSON to send to ${model.name}`}
        rows={4}
        value={test.input}
        onChange={e => model.setTest({ input: e.target.value })}
      />
      {model.testFilled && !model.testHasExample && (
        <p className="mlws-Muted mlws-TestHint">
          Write the JSON its <code>run(data)</code> takes. (The scoring script declares no <code>input_example</code> or{' '}
          <code>input_schema</code> to start from.)
        </p>
      )}
      <div className="mlws-TestControls">
        <label>
          to{' '}
          <select className="mlws-TestDeployment" value={test.deployment} onChange={e => model.setTest({ deployment: e.target.value })}>
            <option value="">the traffic split</option>
            {deployments.map(d => (
              <option key={d.name} value={d.name}>
                {d.name}
              </option>
            ))}
          </select>
        </label>
        <button className="mlws-TestSend" disabled={test.busy || !model.canChange} onClick={() => void model.invoke()}>
          Send
        </button>
      </div>
      <ErrorBox message={test.error} className="mlws-TestError" />
      {test.output !== null && <pre className="mlws-TestOutput">{test.output}</pre>}
    </section>
  );
}

function DriftTable(props: { name: string; drift: IDriftDeployment }): JSX.Element {
  const { name, drift } = props;
  return (
    <div className="mlws-DriftDeployment" data-deployment={name} data-verdict={drift.verdict}>
      <div>
        <strong>{name}</strong> ({drift.model}): <span className={`mlws-Verdict mlws-verdict-${drift.verdict}`}>{drift.verdict}</span>
        <span className="mlws-Muted">
          {' '}
          · {drift.samples} sampled rows{drift.psi_max !== null ? ` · worst PSI ${drift.psi_max}` : ''}
        </span>
      </div>
      {drift.message && <div className="mlws-Muted mlws-DriftMessage">{drift.message}</div>}
      {drift.features.length > 0 && (
        <table className="mlws-Table mlws-DriftTable">
          <thead>
            <tr>
              <th>Feature</th>
              <th>PSI</th>
              <th>Mean shift (std)</th>
              <th>Verdict</th>
            </tr>
          </thead>
          <tbody>
            {drift.features.map(f => (
              <tr key={f.name} data-feature={f.name} data-verdict={f.verdict}>
                <td>{f.name}</td>
                <td>{f.psi ?? '–'}</td>
                <td>{f.mean_shift_std ?? '–'}</td>
                <td>
                  <span className={`mlws-Verdict mlws-verdict-${f.verdict}`}>{f.verdict}</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function Drift(props: { model: EndpointPageModel }): JSX.Element {
  const { model } = props;
  const drift = model.drift;
  return (
    <section className="mlws-Card mlws-Drift" aria-label="Drift">
      <h3>Input drift</h3>
      <div className="mlws-Muted">
        Sampled inputs against each model's training data (PSI: below 0.1 ok, below 0.25 watch, from there drift)
        {drift ? ` · sampling ${Math.round(drift.sample_rate * 100)}% of requests` : ''}
      </div>
      <ErrorBox message={model.driftError} />
      {drift && Object.entries(drift.deployments).map(([name, d]) => <DriftTable key={name} name={name} drift={d} />)}
    </section>
  );
}

function Keys(props: { model: EndpointPageModel }): JSX.Element {
  const { model } = props;
  const row = (which: keyof IKeys) => (
    <tr key={which} className="mlws-KeyRow" data-key={which}>
      <th>{which}</th>
      <td className="mlws-KeyMasked" aria-label={`${which} key, hidden`}>
        ••••••••••••••••
      </td>
      <td>
        <button className="mlws-KeyCopy" disabled={!model.keys} onClick={() => void model.copyKey(which)}>
          {model.copied === which ? 'Copied' : 'Copy'}
        </button>{' '}
        <button className="mlws-KeyRegenerate" disabled={!model.keys} onClick={() => void model.regenerateKey(which)}>
          Regenerate
        </button>
      </td>
    </tr>
  );
  return (
    <section className="mlws-Card mlws-Keys" aria-label="Keys">
      <h3>Keys</h3>
      {model.canChange ? (
        <>
          <div className="mlws-Muted">Either key authorises a call (header Authorization: Bearer KEY). They are never shown.</div>
          <table className="mlws-KeyValues">
            <tbody>{(['primary', 'secondary'] as const).map(row)}</tbody>
          </table>
        </>
      ) : (
        <div className="mlws-Muted">Keys are for contributors and owners.</div>
      )}
      <ErrorBox message={model.keysError} className="mlws-KeysError" />
    </section>
  );
}

function Logs(props: { model: EndpointPageModel }): JSX.Element {
  const { model } = props;
  const pre = React.useRef<HTMLPreElement>(null);
  React.useEffect(() => {
    const element = pre.current;
    if (element) {
      element.scrollTop = element.scrollHeight; // the newest lines in view
    }
  }, [model.logs]);
  return (
    <section className="mlws-Card mlws-EndpointLogs" aria-label="Log">
      <h3>Log</h3>
      {model.canChange ? (
        <>
          <div className="mlws-Muted">The last lines of the endpoint's log (its supervisor and workers).</div>
          <pre ref={pre} className="mlws-EndpointLog" tabIndex={0}>
            {model.logs ?? ''}
          </pre>
        </>
      ) : (
        <div className="mlws-Muted">The log is for contributors and owners (it may name server paths).</div>
      )}
      <ErrorBox message={model.logsError} className="mlws-LogsError" />
    </section>
  );
}

function EndpointView(props: { model: EndpointPageModel; context: IPageContext }): JSX.Element {
  const { model, context } = props;
  const e = model.endpoint;
  return (
    <div className="mlws-EndpointPage" data-endpoint={model.name} data-state={e?.state ?? ''}>
      <div className="mlws-PageHeader">
        <h2 className="mlws-PageTitle">Endpoint {model.name}</h2>
        {e && <StateBadge state={e.state} />}
        {e?.restarts ? <span className="mlws-Muted">{e.restarts} restarts</span> : null}
        {e?.scoring_uri && <code className="mlws-EndpointUrl">{e.scoring_uri}</code>}
        {e && (
          <span className="mlws-HeaderActions">
            {e.deployments[0]?.models.map(ref => (
              <button
                key={ref}
                className="mlws-LinkButton mlws-OpenModel"
                onClick={() => context.open({ kind: 'model', id: ref.split(/[:@]/)[0] })}
              >
                model {ref}
              </button>
            ))}
            {e.state === 'healthy' || e.state === 'creating' ? (
              <button className="mlws-EndpointStop" disabled={!model.canChange || model.busy} onClick={() => void model.startStop('stop')}>
                Stop
              </button>
            ) : (
              <button className="mlws-EndpointStart" disabled={!model.canChange || model.busy} onClick={() => void model.startStop('start')}>
                Start
              </button>
            )}
          </span>
        )}
      </div>
      <ErrorBox message={model.error} />
      <ErrorBox message={model.actionError} className="mlws-EndpointActionError" />
      {e?.state === 'failed' && e.error && <pre className="mlws-Error">{e.error}</pre>}
      {e && (
        <div className="mlws-EndpointGrid">
          <Charts model={model} />
          <Deployments model={model} />
          <TestBox model={model} />
          <Drift model={model} />
          <Keys model={model} />
          <Logs model={model} />
        </div>
      )}
    </div>
  );
}

export function createEndpointPage(request: IPageRequest, context: IPageContext): Widget {
  const name = request.id ?? '';
  const model = new EndpointPageModel(name);
  const widget = ReactWidget.create(
    <UseSignal signal={model.changed}>{() => <EndpointView model={model} context={context} />}</UseSignal>
  );
  widget.title.label = `Endpoint ${name}`;
  followEvents(widget, context.events, forEndpoint(name), () => model.refresh());
  void model.refresh();
  return widget;
}
