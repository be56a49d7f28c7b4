/**
 * The New schedule form: name; a notebook or a pipeline of the server's folder; the cron with a
 * live preview from the server (the cron in words and the next fire times in your local time, or
 * the server's error as it words it); the time zone (yours to start with); parameters; compute
 * target; secrets; catch-up; retries; a webhook and when it is posted.  Enter submits, Escape
 * closes; a refusal (400) is shown verbatim in the form and nothing is created by it.
 */

import * as React from 'react';

import { ErrorBox } from '../errorBox';
import { BoundField } from '../textField';
import { INewSchedule, SchedulesModel } from './model';
import { browserZone, IPreview, knownZones, localTime } from './types';

/** How long typing pauses before the preview is asked for (ms). */
const PREVIEW_DELAY_MS = 300;

export interface IScheduleForm {
  name: string;
  kind: 'notebook' | 'pipeline';
  path: string;
  cron: string;
  tz: string;
  /** one `name = value` a line */
  params: string;
  compute: string;
  secrets: string[];
  catchUp: 'latest' | 'skip' | 'all';
  catchUpMax: string;
  retries: string;
  webhook: string;
  onSuccess: boolean;
  /** a pipeline's runs run every step (no reuse) */
  noReuse: boolean;
}

export const EMPTY_FORM: IScheduleForm = {
  name: '',
  kind: 'notebook',
  path: '',
  cron: '',
  tz: '',
  params: '',
  compute: '',
  secrets: [],
  catchUp: 'latest',
  catchUpMax: '3',
  retries: '0',
  webhook: '',
  onSuccess: false,
  noReuse: false
};

/** A parameter's value as `-p name value` types it: JSON when it reads as JSON (1, 0.5, true, "x", [1]), else the text. */
function typed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** `name = value` lines as params; a line without `=` is kept whole as a name (the server says what is wrong). */
export function parseParams(text: string): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const line of text.split('\n')) {
    if (!line.trim()) {
      continue;
    }
    const at = line.indexOf('=');
    const name = (at < 0 ? line : line.slice(0, at)).trim();
    params[name] = at < 0 ? '' : typed(line.slice(at + 1).trim());
  }
  return params;
}

/** The body of `POST schedules` from the form (empty fields left out: the server's defaults apply). */
export function newSchedule(form: IScheduleForm): INewSchedule {
  const body: INewSchedule = { name: form.name.trim(), cron: form.cron.trim() };
  body[form.kind] = form.path.trim();
  if (form.tz.trim()) {
    body.tz = form.tz.trim();
  }
  const params = parseParams(form.params);
  if (Object.keys(params).length > 0) {
    body.params = params;
  }
  if (form.compute) {
    body.compute = form.compute;
  }
  if (form.secrets.length > 0) {
    body.secrets = form.secrets;
  }
  if (form.catchUp !== 'latest') {
    body.catch_up = form.catchUp === 'all' ? `all:${form.catchUpMax.trim()}` : form.catchUp;
  }
  if (form.retries.trim() && form.retries.trim() !== '0') {
    // a number when it is one; else the text, which the server refuses saying why
    body.retries = /^\d+$/.test(form.retries.trim()) ? Number(form.retries.trim()) : (form.retries.trim() as any);
  }
  if (form.kind === 'pipeline' && form.noReuse) {
    body.no_reuse = true;
  }
  if (form.webhook.trim()) {
    body.notify = [{ url: form.webhook.trim(), on: form.onSuccess ? ['failure', 'success'] : ['failure'] }];
  }
  return body;
}

type PreviewState = { cron: string; tz: string; result: IPreview | { error: string } | null };

/** The cron in words and the next fire times (your local time), or why the server refuses it. */
function Preview(props: { state: PreviewState }): JSX.Element {
  const { result, cron } = props.state;
  if (!cron.trim()) {
    return <div className="mlws-CronPreview mlws-Muted">e.g. <code>0 6 * * 1-5</code>: at 06:00, Monday to Friday</div>;
  }
  if (result === null) {
    return <div className="mlws-CronPreview mlws-Muted">…</div>;
  }
  if ('error' in result) {
    return (
      <div className="mlws-CronPreview mlws-CronError" role="alert">
        {result.error}
      </div>
    );
  }
  return (
    <div className="mlws-CronPreview" aria-live="polite">
      <div className="mlws-CronWords">{result.description}</div>
      <ol className="mlws-FireTimes" aria-label="Next fire times">
        {result.next.map(iso => (
          <li key={iso} title={iso}>
            {localTime(iso)}
          </li>
        ))}
      </ol>
    </div>
  );
}

/** Ask for the preview of `cron` in `tz` once typing pauses; the latest answer wins. */
function usePreview(model: SchedulesModel, cron: string, tz: string): PreviewState {
  const [state, setState] = React.useState<PreviewState>({ cron, tz, result: null });
  React.useEffect(() => {
    if (!cron.trim()) {
      setState({ cron, tz, result: null });
      return;
    }
    let current = true;
    setState(old => ({ cron, tz, result: old.cron === cron && old.tz === tz ? old.result : null }));
    const timer = window.setTimeout(() => {
      void model.preview(cron.trim(), tz.trim()).then(result => current && setState({ cron, tz, result }));
    }, PREVIEW_DELAY_MS);
    return () => {
      current = false;
      window.clearTimeout(timer);
    };
  }, [model, cron, tz]);
  return state;
}

export function NewScheduleForm(props: { model: SchedulesModel; onClose: () => void }): JSX.Element {
  const { model } = props;
  const [form, setForm] = React.useState<IScheduleForm>({ ...EMPTY_FORM, tz: browserZone() });
  const set = (patch: Partial<IScheduleForm>) => {
    setForm({ ...form, ...patch });
    if (model.createError) {
      model.clearForm(); // a refusal is of what was sent: an edit makes it stale
    }
  };
  const first = React.useRef<HTMLInputElement>(null);
  React.useEffect(() => first.current?.focus(), []);
  const zones = React.useMemo(knownZones, []);
  const preview = usePreview(model, form.cron, form.tz);
  const disabled = model.busy;
  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    void model.create(newSchedule(form)).then(ok => ok && props.onClose());
  };
  const common = { form, set, disabled, prefix: 'mlws-NewSchedule' };
  const Field = BoundField<IScheduleForm>;
  const toggleSecret = (name: string) =>
    set({ secrets: form.secrets.includes(name) ? form.secrets.filter(s => s !== name) : [...form.secrets, name] });
  return (
    <form
      className="mlws-NewScheduleForm"
      aria-label="New schedule"
      onSubmit={submit}
      onKeyDown={e => {
        if (e.key === 'Escape') {
          e.preventDefault();
          e.stopPropagation();
          props.onClose();
        }
      }}
    >
      <h3>New schedule</h3>
      <div className="mlws-FormRow">
        <Field name="name" label="Name" placeholder="e.g. nightly-train" required inputRef={first} {...common} />
        <label className="mlws-FormField">
          <span>Runs</span>
          <select className="mlws-NewSchedule-kind" value={form.kind} disabled={disabled} onChange={e => set({ kind: e.target.value as IScheduleForm['kind'] })}>
            <option value="notebook">a notebook</option>
            <option value="pipeline">a pipeline</option>
          </select>
        </label>
        <Field
          name="path"
          label={form.kind === 'notebook' ? 'Notebook' : 'Pipeline'}
          placeholder={form.kind === 'notebook' ? 'folder/train.ipynb' : 'folder/pipeline.yaml'}
          hint="A path in the server's folder. The schedule keeps a snapshot of it: later edits of the file do not change the schedule"
          required
          {...common}
        />
        {form.kind === 'pipeline' && (
          <label
            className="mlws-Check mlws-NewSchedule-noReuseField"
            title="Unchecked: a step whose code, parameters, inputs, declared deps and environment are unchanged is reused (files it reads but does not declare in deps are not hashed)"
          >
            <input className="mlws-NewSchedule-noReuse" type="checkbox" checked={form.noReuse} disabled={disabled} onChange={() => set({ noReuse: !form.noReuse })} /> Run every step (no reuse)
          </label>
        )}
      </div>
      <div className="mlws-FormRow mlws-CronRow">
        <Field
          name="cron"
          label="Cron"
          placeholder="minute hour day month weekday"
          hint="Five fields: minute hour day-of-month month day-of-week, e.g. 0 6 * * 1-5"
          required
          {...common}
        />
        <Field
          name="tz"
          label="Time zone"
          placeholder="the server's"
          hint="The IANA zone the cron is read in (yours to start with); empty: the server's"
          list="mlws-schedule-zones"
          {...common}
        />
        <datalist id="mlws-schedule-zones">
          {zones.map(zone => (
            <option key={zone} value={zone} />
          ))}
        </datalist>
        <Preview state={preview} />
      </div>
      <div className="mlws-FormRow">
        <label className="mlws-FormField mlws-NewSchedule-paramsField">
          <span>Parameters</span>
          <textarea
            className="mlws-NewSchedule-params"
            rows={3}
            value={form.params}
            placeholder={'lr = 0.01\nepochs = 20'}
            title="One name = value a line; a value that reads as JSON (1, 0.5, true, [1, 2]) keeps its type, else it is text"
            spellCheck={false}
            disabled={disabled}
            onChange={e => set({ params: e.target.value })}
          />
        </label>
        <label className="mlws-FormField">
          <span>Compute target</span>
          <select className="mlws-NewSchedule-compute" value={form.compute} disabled={disabled} onChange={e => set({ compute: e.target.value })}>
            <option value="">local (this machine)</option>
            {model.targets
              .filter(name => name !== 'local')
              .map(name => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
          </select>
        </label>
        <fieldset className="mlws-FormField mlws-NewSchedule-secrets" disabled={disabled}>
          <legend>Secrets</legend>
          {model.secrets.length === 0 && <span className="mlws-Muted">none in the workspace</span>}
          {model.secrets.map(name => (
            <label key={name} className="mlws-Check">
              <input type="checkbox" checked={form.secrets.includes(name)} onChange={() => toggleSecret(name)} /> {name}
            </label>
          ))}
        </fieldset>
      </div>
      <div className="mlws-FormRow">
        <label className="mlws-FormField">
          <span>After downtime</span>
          <select
            className="mlws-NewSchedule-catchUp"
            value={form.catchUp}
            disabled={disabled}
            title="What runs for the fire times missed while no scheduler ran"
            onChange={e => set({ catchUp: e.target.value as IScheduleForm['catchUp'] })}
          >
            <option value="latest">one run for the missed times (latest)</option>
            <option value="skip">skip the missed times</option>
            <option value="all">a run for each, up to…</option>
          </select>
        </label>
        {form.catchUp === 'all' && (
          <Field name="catchUpMax" label="Runs at most" inputMode="numeric" {...common} />
        )}
        <Field
          name="retries"
          label="Retries"
          inputMode="numeric"
          hint="How often a failed run is tried again, waiting longer each time"
          {...common}
        />
        <Field
          name="webhook"
          label="Webhook URL"
          placeholder="https://hooks.example.org/…"
          hint="Posted the run's id, status and link (never a secret)"
          {...common}
        />
        <fieldset className="mlws-FormField mlws-NewSchedule-on" disabled={disabled || !form.webhook.trim()}>
          <legend>Post the webhook</legend>
          <label className="mlws-Check">
            <input type="checkbox" checked disabled /> on failure
          </label>
          <label className="mlws-Check">
            <input className="mlws-NewSchedule-onSuccess" type="checkbox" checked={form.onSuccess} onChange={() => set({ onSuccess: !form.onSuccess })} /> on success
          </label>
        </fieldset>
      </div>
      <ErrorBox message={model.createError} className="mlws-CreateScheduleError" />
      <div className="mlws-FormButtons">
        <button type="submit" className="mlws-CreateSchedule mlws-mod-accept" disabled={disabled}>
          {model.busy ? 'Creating…' : 'Create schedule'}
        </button>
        <button type="button" className="mlws-CancelNewSchedule" onClick={props.onClose}>
          Cancel
        </button>
      </div>
    </form>
  );
}
