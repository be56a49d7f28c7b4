/**
 * "Submit as experiment": a form built from a notebook's parameters cell, then POST runs; the
 * Re-run form is the same one.  The form stays open until the server accepts the submission: a
 * refusal is shown where it belongs (a parameter's value at its field, an unreachable target at
 * the compute choice), with every value kept.
 */

import { Dialog, ReactWidget, showErrorMessage } from '@jupyterlab/apputils';
import * as React from 'react';

import { errorDetails, errorMessage, query, requestAPI } from './request';
import { ComputeChoice } from './submitCompute';
import { INotebookParameters, IRun } from './tokens';

export interface ISubmission {
  experiment: string;
  /** only the fields the user changed, as typed: the server types them as `-p` does */
  parameterTexts: Record<string, string>;
  /** the fields whose "text" box is ticked: passed as they are typed, as strings (as `-r`) */
  parameterStrings: Record<string, string>;
  /** the compute target it executes on (`local` unless the form offers a choice) */
  compute: string;
}

/** The parameters of a submission as the REST API takes them (`parameter_texts`, `parameters`). */
export function submittedParameters(value: ISubmission): Record<string, unknown> {
  return {
    parameter_texts: value.parameterTexts,
    ...(Object.keys(value.parameterStrings).length ? { parameters: value.parameterStrings } : {})
  };
}

/**
 * A parameter's value as a field shows it: the text a run records for it (a string as itself,
 * `l2`; anything else as JSON or as written, `1.0`), the same in the Submit and Re-run forms.
 */
export function fieldText(p: { value: unknown; text: string }): string {
  return typeof p.value === 'string' ? p.value : p.text;
}

/** JupyterLab's dialog keeps its accept button disabled while an element in it is marked so. */
const BLOCKS_ACCEPT = 'jp-mod-error';

/**
 * A form of a notebook's parameters (and, unless `experiment` is null, its experiment).
 * `keptFrom`: what the fields left as they are keep (the notebook's defaults, or a run's values).
 * `withCompute`: also a choice of compute target (the notebook's path is `spec.notebook`).
 * `send` submits what the form holds (`submit()`, from the dialog's accept button): its refusal
 * is shown in the form, which stays open; its answer is the dialog's value.
 */
export class SubmitForm<T = IRun> extends ReactWidget {
  constructor(
    readonly spec: INotebookParameters,
    experiment: string | null,
    private readonly send: (value: ISubmission) => Promise<T>,
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

  /** What the server answered to the accepted submission (the dialog's value). */
  getValue(): T | null {
    return this.answer;
  }

  /** What the form holds: the changed fields as texts, the "text" ones as strings. */
  submission(): ISubmission {
    // a field left as it is keeps the notebook's default (recorded by the server as written,
    // so 1.0 stays a float); a changed one is sent as its text, which the server types
    const parameterTexts: Record<string, string> = {};
    const parameterStrings: Record<string, string> = {};
    for (const p of this.spec.parameters) {
      if (this.asText[p.name]) {
        parameterStrings[p.name] = this.values[p.name];
      } else if (this.values[p.name] !== this.defaults[p.name]) {
        parameterTexts[p.name] = this.values[p.name];
      }
    }
    return { experiment: this.experiment, parameterTexts, parameterStrings, compute: this.compute };
  }

  /** Whether something in the form must be settled before it can be submitted. */
  get blocked(): boolean {
    return Object.keys(this.fieldErrors).length > 0 || (this.withCompute && !this.computeReady);
  }

  /** Send the submission; true when the server took it (else its refusal is shown here). */
  async submit(): Promise<boolean> {
    this.sending = true;
    this.refusal = null;
    this.update();
    try {
      this.answer = await this.send(this.submission());
      return true;
    } catch (error) {
      const details = errorDetails(error);
      const name = typeof details?.parameter === 'string' ? details.parameter : null;
      if (name !== null && name in this.values) {
        this.fieldErrors[name] = { problem: String(details!.problem ?? errorMessage(error)), asText: details!.as_text === true };
      } else if (typeof details?.unreachable === 'string') {
        this.refusal = `${String(details.target ?? this.compute)} is unreachable: ${details.unreachable}`;
      } else {
        this.refusal = errorMessage(error);
      }
      return false;
    } finally {
      this.sending = false;
      this.update();
    }
  }

  render(): JSX.Element {
    return <FormBody form={this} />;
  }

  /** The form's body (a component, so that each render can have the dialog check what blocks it). */
  renderFields(): JSX.Element {
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
        {spec.parameters.map(p => this.renderParameter(p))}
        <div className="mlws-Hint">
          Values are read as JSON or YAML (1.0, [64, 32], "text"; anything else is text); tick "text" to pass a value
          exactly as typed. Only the values you change are sent: the others keep {this.keptFrom}.
        </div>
        {this.withCompute && (
          <ComputeChoice
            notebook={spec.notebook}
            kernel={spec.kernel}
            onChange={name => {
              this.compute = name;
              this.refusal = null;
              this.update();
            }}
            onReady={ready => {
              this.computeReady = ready;
              this.update();
            }}
          />
        )}
        {this.refusal && (
          <div className="mlws-SubmitRefusal" role="alert">
            {this.refusal}
          </div>
        )}
        {this.sending && <div className="mlws-Hint mlws-SubmitSending">Submitting…</div>}
        {this.withCompute && !this.computeReady && <span className={`${BLOCKS_ACCEPT} mlws-SubmitBlocked`} hidden />}
      </div>
    );
  }

  private renderParameter(p: INotebookParameters['parameters'][number]): JSX.Element {
    const error = this.fieldErrors[p.name];
    const errorId = `mlws-SubmitParamError-${this.key}-${p.name}`;
    const edited = () => {
      if (this.fieldErrors[p.name]) {
        delete this.fieldErrors[p.name];
        this.update();
      }
    };
    return (
      <React.Fragment key={p.name}>
        <div className="mlws-SubmitField">
          <span title={`${p.type}; default ${p.source}`}>{p.name}</span>
          <input
            className={`mlws-SubmitParam${error ? ` ${BLOCKS_ACCEPT}` : ''}`}
            data-param={p.name}
            aria-label={p.name}
            defaultValue={this.defaults[p.name]}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? errorId : undefined}
            onChange={event => {
              this.values[p.name] = event.target.value;
              edited();
            }}
          />
          <label className="mlws-SubmitAsText" title="Pass the value exactly as typed, as a string (not read as JSON or YAML)">
            <input
              type="checkbox"
              data-param={p.name}
              checked={this.asText[p.name] ?? false}
              onChange={event => {
                this.asText[p.name] = event.target.checked;
                edited();
                this.update();
              }}
            />
            text
          </label>
        </div>
        {error && (
          <div className="mlws-SubmitParamError" id={errorId} role="alert" data-param={p.name}>
            {p.name}: {error.problem}.{' '}
            {error.asText ? 'Correct it, or tick "text" to pass it exactly as typed.' : 'Correct it.'}
          </div>
        )}
      </React.Fragment>
    );
  }

  experiment: string;
  compute = 'local';
  private askExperiment: boolean;
  private defaults: Record<string, string> = {};
  private values: Record<string, string> = {};
  private asText: Record<string, boolean> = {};
  private fieldErrors: Record<string, { problem: string; asText: boolean }> = {};
  /** whether the compute choice lets the form submit (its drift answered, or chosen) */
  private computeReady = true;
  private refusal: string | null = null;
  private sending = false;
  private answer: T | null = null;
  private readonly key = ++forms;
}

let forms = 0;

function FormBody<T>(props: { form: SubmitForm<T> }): JSX.Element {
  const node = React.useRef<HTMLDivElement>(null);
  // JupyterLab's dialog checks what blocks its accept button on input events: say it changed
  React.useEffect(() => {
    node.current?.dispatchEvent(new Event('input', { bubbles: true }));
  });
  return <div ref={node}>{props.form.renderFields()}</div>;
}

/** A dialog whose accept button submits its form, and closes only once the server took it. */
class SubmitDialog<T> extends Dialog<T | null> {
  constructor(
    private readonly form: SubmitForm<T>,
    title: string,
    label: string
  ) {
    super({ title, body: form, buttons: [Dialog.cancelButton(), Dialog.okButton({ label })] });
  }

  resolve(index?: number): void {
    if ((index ?? 1) !== 1 || this.taken) {
      super.resolve(index);
      return;
    }
    if (this.pending || this.form.blocked) {
      return; // sent already, or (Enter) something must be settled first
    }
    this.pending = true;
    void this.form.submit().then(ok => {
      this.pending = false;
      if (ok && !this.isDisposed) {
        this.taken = true;
        super.resolve(1);
      }
    });
  }

  private pending = false;
  private taken = false;
}

/** Show `form` in a dialog until it is submitted (its answer) or cancelled (null). */
export async function submitInDialog<T>(form: SubmitForm<T>, title: string, label: string): Promise<T | null> {
  const result = await new SubmitDialog(form, title, label).launch();
  return result.button.accept ? result.value : null;
}

/**
 * Ask for the parameters of the notebook at `path` (relative to the server's folder) and submit
 * it as a run; resolves to the new run, or null when cancelled (a refusal is shown in the form,
 * which stays open).
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
  const send = (value: ISubmission) =>
    requestAPI<IRun>('runs', {
      method: 'POST',
      body: JSON.stringify({
        notebook: path,
        experiment: value.experiment,
        ...submittedParameters(value),
        ...(value.compute !== 'local' ? { compute: value.compute } : {}),
        env_check: true // as mlws run submit: a target that cannot be reached is refused
      })
    });
  return submitInDialog(new SubmitForm(spec, stem, send, undefined, true), `Submit ${path} as an experiment`, 'Submit');
}
