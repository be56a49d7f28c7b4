/** "Submit as experiment": a form built from a notebook's parameters cell, then POST runs. */

import { Dialog, ReactWidget, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import * as React from 'react';

import { errorMessage, query, requestAPI } from './request';
import { INotebookParameters, IRun } from './tokens';

export interface ISubmission {
  experiment: string;
  parameters: Record<string, unknown>;
}

/** What a field holds: JSON when it parses (0.5, [8], "x", true), else the text as a string. */
function typed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

class SubmitForm extends ReactWidget {
  constructor(readonly spec: INotebookParameters, experiment: string) {
    super();
    this.addClass('mlws-SubmitForm');
    this.experiment = experiment;
    for (const p of spec.parameters) {
      this.defaults[p.name] = p.type === 'expression' ? p.source : JSON.stringify(p.value);
      this.values[p.name] = this.defaults[p.name];
    }
  }

  getValue(): ISubmission {
    const parameters: Record<string, unknown> = {};
    for (const p of this.spec.parameters) {
      const text = this.values[p.name];
      // an expression left as it is stays the notebook's own
      if (!(p.type === 'expression' && text === this.defaults[p.name])) {
        parameters[p.name] = typed(text);
      }
    }
    return { experiment: this.experiment, parameters };
  }

  render(): JSX.Element {
    const { spec } = this;
    return (
      <div>
        <label className="mlws-SubmitField">
          <span>experiment</span>
          <input
            className="mlws-SubmitExperiment"
            defaultValue={this.experiment}
            onChange={event => (this.experiment = event.target.value)}
          />
        </label>
        {!spec.has_parameters_cell && (
          <div className="mlws-Empty">This notebook has no cell tagged "parameters": it runs as it is.</div>
        )}
        {spec.parameters.map(p => (
          <label key={p.name} className="mlws-SubmitField">
            <span title={`${p.type}; default ${p.source}`}>{p.name}</span>
            <input
              className="mlws-SubmitParam"
              data-param={p.name}
              defaultValue={this.defaults[p.name]}
              onChange={event => (this.values[p.name] = event.target.value)}
            />
          </label>
        ))}
        <div className="mlws-Hint">Values are JSON (0.5, [64, 32], "text"); anything else is sent as text.</div>
      </div>
    );
  }

  experiment: string;
  private defaults: Record<string, string> = {};
  private values: Record<string, string> = {};
}

/**
 * Ask for the parameters of the notebook at `path` (relative to the server's folder) and submit
 * it as a run; resolves to the new run, or null when cancelled or refused (the server's message
 * is shown as it words it).
 */
export async function submitNotebook(path: string): Promise<IRun | null> {
  let spec: INotebookParameters;
  try {
    spec = await requestAPI<INotebookParameters>(`notebook-parameters${query({ notebook: path })}`);
  } catch (error) {
    await showErrorMessage('Submit as experiment', errorMessage(error));
    return null;
  }
  const stem = path.split('/').pop()?.replace(/\.ipynb$/, '') ?? 'notebook';
  const result = await showDialog<ISubmission>({
    title: `Submit ${path} as an experiment`,
    body: new SubmitForm(spec, stem),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Submit' })]
  });
  if (!result.button.accept || !result.value) {
    return null;
  }
  try {
    return await requestAPI<IRun>('runs', {
      method: 'POST',
      body: JSON.stringify({ notebook: path, experiment: result.value.experiment, parameters: result.value.parameters })
    });
  } catch (error) {
    await showErrorMessage('Submit as experiment', errorMessage(error));
    return null;
  }
}
