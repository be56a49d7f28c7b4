/** "Submit as experiment": a form built from a notebook's parameters cell, then POST runs. */

import { Dialog, ReactWidget, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import * as React from 'react';

import { errorMessage, query, requestAPI } from './request';
import { ComputeChoice } from './submitCompute';
import { INotebookParameters, IRun } from './tokens';

export interface ISubmission {
  experiment: string;
  /** only the fields the user changed, as typed: the server types them as `-p` does */
  parameterTexts: Record<string, string>;
  /** the compute target it executes on (`local` unless the form offers a choice) */
  compute: string;
}

/**
 * A parameter's value as a field shows it: the text a run records for it (a string as itself,
 * `l2`; anything else as JSON or as written, `1.0`), the same in the Submit and Re-run forms.
 */
export function fieldText(p: { value: unknown; text: string }): string {
  return typeof p.value === 'string' ? p.value : p.text;
}

/**
 * A form of a notebook's parameters (and, unless `experiment` is null, its experiment).
 * `keptFrom`: what the fields left as they are keep (the notebook's defaults, or a run's values).
 * `withCompute`: also a choice of compute target (the notebook's path is `spec.notebook`).
 */
export class SubmitForm extends ReactWidget {
  constructor(
    readonly spec: INotebookParameters,
    experiment: string | null,
    private readonly keptFrom = "the notebook's defaults",
    private readonly withCompute = false
  ) {
    super();
    this.addClass('mlws-SubmitForm');
    this.experiment = experiment ?? '';
    this.askExperiment = experiment !== null;
    for (const p of spec.parameters) {
      this.defaults[p.name] = fieldText(p);
      this.values[p.name] = fieldText(p);
    }
  }

  getValue(): ISubmission {
    // a field left as it is keeps the notebook's default (recorded by the server as written,
    // so 1.0 stays a float); a changed one is sent as its text, which the server types
    const parameterTexts: Record<string, string> = {};
    for (const p of this.spec.parameters) {
      if (this.values[p.name] !== this.defaults[p.name]) {
        parameterTexts[p.name] = this.values[p.name];
      }
    }
    return { experiment: this.experiment, parameterTexts, compute: this.compute };
  }

  render(): JSX.Element {
    const { spec } = this;
    return (
      <div>
        {this.askExperiment && (
          <label className="mlws-SubmitField">
            <span>experiment</span>
            <input
              className="mlws-SubmitExperiment"
              defaultValue={this.experiment}
              onChange={event => (this.experiment = event.target.value)}
            />
          </label>
        )}
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
        <div className="mlws-Hint">
          Values are JSON or YAML, as with mlws run submit -p (1.0, [64, 32], "text"; anything else is
          text). Only the values you change are sent: the others keep {this.keptFrom}.
        </div>
        {this.withCompute && (
          <ComputeChoice notebook={spec.notebook} kernel={spec.kernel} onChange={name => (this.compute = name)} />
        )}
      </div>
    );
  }

  experiment: string;
  compute = 'local';
  private askExperiment: boolean;
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
    body: new SubmitForm(spec, stem, undefined, true),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Submit' })]
  });
  if (!result.button.accept || !result.value) {
    return null;
  }
  try {
    return await requestAPI<IRun>('runs', {
      method: 'POST',
      body: JSON.stringify({
        notebook: path,
        experiment: result.value.experiment,
        parameter_texts: result.value.parameterTexts,
        ...(result.value.compute !== 'local' ? { compute: result.value.compute } : {})
      })
    });
  } catch (error) {
    await showErrorMessage('Submit as experiment', errorMessage(error));
    return null;
  }
}
