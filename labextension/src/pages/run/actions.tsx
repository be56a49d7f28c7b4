/**
 * What a user can do to a run from its page: cancel it, re-run it with changed parameters (the
 * submit form, filled with the run's params), promote a session run, register a model from one
 * of its artifacts.  The server decides who may; its refusal is shown as it words it.
 */

import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { requestAPI } from '../../request';
import { post, registerFromArtifact } from '../../runActions';
import { ISubmission, SubmitForm, submitInDialog, submittedParameters } from '../../submit';
import { INotebookParameters, IRun, IRunFile } from '../../tokens';
import { IPageContext } from '../page';
import { RunPageModel } from './runPageModel';

async function cancel(model: RunPageModel): Promise<void> {
  const run = model.run!;
  const answer = await showDialog({
    title: `Cancel ${run.name || run.id}?`,
    body: 'A run the workspace started is stopped, kernel included; what it logged is kept.',
    buttons: [Dialog.cancelButton({ label: 'Keep running' }), Dialog.warnButton({ label: 'Cancel run' })]
  });
  if (answer.button.accept && (await post<IRun>(`runs/${model.id}/cancel`))) {
    await model.loadRun();
  }
}

/** The run's params as the submit form's fields (each starts as the value this run had). */
function rerunSpec(run: IRun): INotebookParameters {
  return {
    notebook: String(run.source_name ?? ''),
    has_parameters_cell: true,
    kernel: '',
    parameters: Object.entries(run.params || {}).map(([name, value]) => {
      const text = String(value ?? '');
      return { name, value, type: 'as this run had it', source: text, text };
    })
  };
}

async function rerun(model: RunPageModel, context: IPageContext): Promise<void> {
  const run = model.run!;
  const send = (value: ISubmission) =>
    requestAPI<IRun>(`runs/${model.id}/rerun`, { method: 'POST', body: JSON.stringify(submittedParameters(value)) });
  const form = new SubmitForm(rerunSpec(run), null, send, "this run's values");
  const created = await submitInDialog(form, `Re-run ${run.name || run.id}`, 'Re-run');
  if (created) {
    void model.loadLineage();
    context.open({ kind: 'run', id: created.id });
  }
}

/** "Promote to experiment": a session run's cells as a notebook, run as an experiment. */
export function PromoteButton(props: { model: RunPageModel; context: IPageContext }): JSX.Element {
  const { model, context } = props;
  const promote = async () => {
    const created = await post<IRun>(`runs/${model.id}/promote`);
    if (created) {
      void model.loadLineage();
      context.open({ kind: 'run', id: created.id });
    }
  };
  return (
    <button className="mlws-Button mlws-PromoteRun" title="Its executed cells as a notebook, run as an experiment" onClick={() => void promote()}>
      Promote to experiment
    </button>
  );
}

/** Choose one of the run's artifacts (or folders), then name the model. */
async function registerModel(model: RunPageModel, context: IPageContext): Promise<void> {
  const files = await requestAPI<{ files: IRunFile[] }>(`runs/${model.id}/files?kind=artifact`).then(
    reply => reply.files,
    () => [] as IRunFile[]
  );
  const folders = [...new Set(files.filter(f => f.path.includes('/')).map(f => f.path.split('/')[0]))];
  const choices = [...folders.map(f => `${f}/`), ...files.map(f => f.path)];
  if (choices.length === 0) {
    await showDialog({ title: 'Register a model', body: 'This run stored no artifacts to register.', buttons: [Dialog.okButton()] });
    return;
  }
  const select = document.createElement('select');
  select.className = 'mlws-RegisterChoice';
  select.setAttribute('aria-label', 'Artifact');
  for (const choice of choices) {
    select.append(new Option(choice, choice.replace(/\/$/, '')));
  }
  const body = document.createElement('label');
  body.append('Artifact or folder: ', select);
  const answer = await showDialog({
    title: 'Register a model from this run',
    body: new Widget({ node: body }),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Next' })]
  });
  if (answer.button.accept) {
    const version = await registerFromArtifact(model.run!, { kind: 'artifact', path: select.value });
    if (version) {
      void model.loadLineage();
      context.open({ kind: 'model', id: version.name });
    }
  }
}

/** The page's action bar (a session run's Promote is on its Cells tab). */
export function RunActionBar(props: { model: RunPageModel; context: IPageContext }): JSX.Element {
  const { model, context } = props;
  const run = model.run!;
  return (
    <div className="mlws-RunActionBar" role="toolbar" aria-label="Run actions">
      {model.live && (
        <button className="mlws-Button mlws-mod-warn mlws-CancelRun" onClick={() => void cancel(model)}>
          Cancel
        </button>
      )}
      {run.source_type === 'notebook' && (
        <button className="mlws-Button mlws-RerunRun" title="Execute again from its snapshot, with the parameters you choose" onClick={() => void rerun(model, context)}>
          Re-run…
        </button>
      )}
      <button className="mlws-Button mlws-RegisterModel" onClick={() => void registerModel(model, context)}>
        Register model…
      </button>
      <button className="mlws-Button mlws-Reload" title="Fetch everything again" onClick={() => void model.refresh()}>
        Reload
      </button>
    </div>
  );
}
