/** The deploy form for a model version (on the model's page), with the new endpoint's progress. */

import * as React from 'react';

import { EndpointsModel } from './endpointsModel';

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
