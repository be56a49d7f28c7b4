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

/** File names that say nothing of the model they hold (`model.pkl`, `outputs/`). */
const GENERIC_NAME = /^(model|models|output|outputs|artifact|artifacts|weights|checkpoints?|best|final|estimator|pipeline)$/i;

/**
 * The name offered for a model registered from a run's artifact: the artifact's stem (`iris.pkl`
 * -> `iris`), or the run's experiment when the stem says nothing (`model.pkl`, `outputs/`).
 * Only an offer, shown in the field: an empty name is refused by the server, never replaced.
 */
export function offeredModelName(run: IRun, path: string): string {
  const valid = (text: string) => text.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-._]+|[-._]+$/g, '').slice(0, 128);
  const stem = valid((path.split('/').pop() ?? '').replace(/\.[^.]*$/, ''));
  return stem && !GENERIC_NAME.test(stem) ? stem : valid(run.experiment) || stem;
}

/** Register a model from one of the run's artifacts (a name asked for, the new version shown). */
export async function registerFromArtifact(run: IRun, file: IRunFile): Promise<IModelVersion | null> {
  const input = document.createElement('input');
  input.className = 'mlws-RegisterName';
  input.value = offeredModelName(run, file.path);
  input.required = true; // empty: the dialog's Register button is disabled (the server refuses it too)
  input.pattern = '[A-Za-z0-9][A-Za-z0-9._\\-]{0,127}';
  input.setAttribute('aria-label', 'Model name');
  input.setAttribute('aria-describedby', 'mlws-RegisterNameHint');
  const hint = document.createElement('div');
  hint.id = 'mlws-RegisterNameHint';
  hint.className = 'mlws-Muted mlws-RegisterNameHint';
  hint.textContent = "Required: letters, digits, '.', '_' and '-'; a new name starts a model, an existing one adds a version.";
  const body = document.createElement('div');
  body.append('Model name: ', input, hint);
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
