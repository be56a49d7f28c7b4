/** Run actions the run page shares: POST with the server's refusal shown, and registering a model from an artifact. */

import { Dialog, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

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
