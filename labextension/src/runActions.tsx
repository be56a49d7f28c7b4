/** What a user can do to a run from its view: cancel, re-run, promote, register a model. */

import { Dialog, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { errorMessage, requestAPI } from './request';
import { IModelVersion, IRun, IRunFile } from './tokens';

/** POST to the API; a refusal is shown in a dialog as the server words it (then null). */
export async function post<T>(path: string, body: unknown = {}): Promise<T | null> {
  try {
    return await requestAPI<T>(path, { method: 'POST', body: JSON.stringify(body) });
  } catch (error) {
    await showErrorMessage('ML workspace', errorMessage(error));
    return null;
  }
}

/** Cancel (a queued or running run), Re-run (a notebook run), Promote (a session run). */
export function RunActions(props: { run: IRun; onChanged: () => void; onOpen: (runId: string) => void }): JSX.Element {
  const { run } = props;
  const id = encodeURIComponent(run.id);
  const live = run.status === 'queued' || run.status === 'running';
  const cancel = async () => {
    const answer = await showDialog({
      title: `Cancel ${run.name || run.id}?`,
      body: 'A run the workspace started is stopped, kernel included; what it logged is kept.',
      buttons: [Dialog.cancelButton({ label: 'Keep running' }), Dialog.warnButton({ label: 'Cancel run' })]
    });
    if (answer.button.accept && (await post<IRun>(`runs/${id}/cancel`))) {
      props.onChanged();
    }
  };
  const start = async (action: 'rerun' | 'promote') => {
    const created = await post<IRun>(`runs/${id}/${action}`);
    if (created) {
      props.onOpen(created.id);
    }
  };
  return (
    <div className="mlws-RunActions">
      {live && (
        <button className="mlws-CancelRun" onClick={() => void cancel()}>
          Cancel
        </button>
      )}
      {run.source_type === 'notebook' && (
        <button className="mlws-RerunRun" title="Execute again from its snapshot, parameters and kernel" onClick={() => void start('rerun')}>
          Re-run
        </button>
      )}
      {run.source_type === 'session' && (
        <button className="mlws-PromoteRun" title="Its executed cells as a notebook, run as an experiment" onClick={() => void start('promote')}>
          Promote to experiment
        </button>
      )}
    </div>
  );
}

/** Register a model from one of the run's artifacts (a name asked for, the new version shown). */
export async function registerFromArtifact(run: IRun, file: IRunFile): Promise<IModelVersion | null> {
  const input = document.createElement('input');
  input.className = 'mlws-RegisterName';
  input.value = (file.path.split('/').pop() || 'model').replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9._-]+/g, '-');
  const body = document.createElement('div');
  body.append('Model name: ', input);
  const answer = await showDialog({
    title: `Register ${file.path} as a model`,
    body: new Widget({ node: body }),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Register' })]
  });
  if (!answer.button.accept) {
    return null;
  }
  const version = await post<IModelVersion>('models', { name: input.value, run: run.id, artifact: file.path });
  if (version) {
    await showDialog({
      title: 'Registered',
      body: `${version.ref ?? `${input.value}`} from run ${run.name || run.id}`,
      buttons: [Dialog.okButton()]
    });
  }
  return version;
}
