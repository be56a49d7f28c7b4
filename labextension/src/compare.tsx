/** Compare runs: one metric overlaid (uPlot), params and environments diffed. */

import * as React from 'react';

import { MetricChart } from './chart';
import { CompareModel } from './model';
import { formatValue } from './runs';
import { IEnvironment } from './tokens';

/** Packages that are not the same in every environment that has some. */
function packageDiff(envs: Array<IEnvironment | null>): Array<[string, string[]]> {
  const parsed = envs.map(env =>
    env?.packages ? new Map(env.packages.map(p => p.split('==', 2) as [string, string])) : null
  );
  const names = new Set(parsed.flatMap(m => (m ? [...m.keys()] : [])));
  const rows: Array<[string, string[]]> = [];
  for (const name of [...names].sort()) {
    const versions = parsed.map(m => (m ? m.get(name) ?? '—' : ''));
    if (new Set(versions.filter(v => v !== '')).size > 1) {
      rows.push([name, versions]);
    }
  }
  return rows;
}

export function CompareView(props: { model: CompareModel; onBack: () => void }): JSX.Element {
  const { model } = props;
  const names = model.runs.map(run => run.name || run.id.slice(0, 8));
  const paramKeys = [...new Set(model.runs.flatMap(run => Object.keys(run.params || {})))].sort();
  const envs = model.environments;
  const pythons = envs.map(env => (env?.python ? String(env.python).split(' ')[0] : ''));
  const packages = packageDiff(envs);
  return (
    <div className="mlws-Compare">
      <div className="mlws-RunHeader">
        <button className="mlws-Back" onClick={props.onBack}>
          ‹ Runs
        </button>
      </div>
      <h3>Compare {model.runIds.length} runs</h3>
      {model.error && <div className="mlws-Error" role="alert">{model.error}</div>}
      <label>
        Metric{' '}
        <select className="mlws-CompareMetric" value={model.metric} onChange={event => void model.showMetric(event.target.value)}>
          {model.metricKeys.map(key => (
            <option key={key} value={key}>
              {key}
            </option>
          ))}
        </select>
      </label>
      <MetricChart histories={model.histories} className="mlws-CompareChart" height={200} />
      <h4>Params</h4>
      <table className="mlws-Table mlws-CompareParams">
        <thead>
          <tr>
            <th>param</th>
            {names.map((name, i) => (
              <th key={i}>{name}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {paramKeys.map(key => {
            const values = model.runs.map(run => formatValue(run.params?.[key]));
            const differs = new Set(values).size > 1;
            return (
              <tr key={key} className={differs ? 'mlws-Differs' : ''} data-param={key}>
                <td>{key}</td>
                {values.map((v, i) => (
                  <td key={i}>{v}</td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
      <h4>Environment</h4>
      {envs.every(env => env === null) ? (
        <div className="mlws-Empty">No environment recorded (notebook runs record one).</div>
      ) : (
        <table className="mlws-Table mlws-CompareEnv">
          <tbody>
            <tr className={new Set(pythons.filter(Boolean)).size > 1 ? 'mlws-Differs' : ''}>
              <td>python</td>
              {pythons.map((v, i) => (
                <td key={i}>{v || '—'}</td>
              ))}
            </tr>
            {packages.map(([name, versions]) => (
              <tr key={name} className="mlws-Differs">
                <td>{name}</td>
                {versions.map((v, i) => (
                  <td key={i}>{v || 'not recorded'}</td>
                ))}
              </tr>
            ))}
            {packages.length === 0 && (
              <tr>
                <td colSpan={names.length + 1}>same packages</td>
              </tr>
            )}
          </tbody>
        </table>
      )}
    </div>
  );
}
