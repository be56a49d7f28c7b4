/** The models & endpoints tab: registered models with their versions and aliases, and endpoints. */

import * as React from 'react';

import { EndpointsPanel } from './endpoints';
import { EndpointsModel } from './endpointsModel';
import { ModelsModel } from './model';
import { formatTime } from './runs';

export function ModelsList(props: { model: ModelsModel; endpoints: EndpointsModel }): JSX.Element {
  const { model, endpoints } = props;
  // endpoint states and metrics stay live through the server's endpoint-health events
  return (
    <div className="mlws-Models">
      {model.error && <div className="mlws-Error" role="alert">{model.error}</div>}
      {!model.loading && !model.error && model.models.length === 0 && (
        <div className="mlws-Empty">No models yet: mlws model register NAME --run RUN --artifact PATH</div>
      )}
      <table className="mlws-Table">
        <thead>
          <tr>
            <th>Model</th>
            <th>Latest</th>
            <th>Versions</th>
            <th>Aliases</th>
          </tr>
        </thead>
        <tbody>
          {model.models.map(m => (
            <tr key={m.name} className="mlws-ModelRow" onClick={() => void model.open(model.opened === m.name ? null : m.name)}>
              <td>{m.name}</td>
              <td>{m.latest}</td>
              <td>{m.versions}</td>
              <td>
                {Object.entries(m.aliases)
                  .map(([alias, version]) => `@${alias}→${version}`)
                  .join(' ')}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {model.opened && (
        <section className="mlws-Versions">
          <h3>{model.opened}</h3>
          <table className="mlws-Table">
            <tbody>
              {model.versions.map(v => (
                <tr key={v.version}>
                  <td>v{v.version}</td>
                  <td>{(v.aliases ?? []).map(a => `@${a}`).join(' ')}</td>
                  <td>{v.flavor ?? ''}</td>
                  <td>{v.run_id ? v.run_id.slice(0, 8) : ''}</td>
                  <td>{formatTime(v.created_at)}</td>
                  <td>
                    <button
                      className="mlws-DeployVersion"
                      title={`Serve ${v.name}:${v.version} as an endpoint`}
                      onClick={() => endpoints.openDeploy(`${v.name}:${v.version}`)}
                    >
                      Deploy
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      <EndpointsPanel model={endpoints} />
    </div>
  );
}
