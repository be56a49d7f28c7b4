/**
 * The Create VM form: name, provider (`local` first: no cloud account), size, image, region, the
 * setup and startup scripts (a file of the server's folder, or pasted text), idle shutdown, a
 * start/stop schedule in a time zone, and the secret holding the provider's credentials.  Enter
 * submits, Escape closes; the server's refusal is shown verbatim and nothing is created by it.
 */

import * as React from 'react';

import { ErrorBox } from './errorBox';
import { FormField as Field, IFormBinding, SecretField } from './textField';
import { INewVM, IScriptChoice, VMsModel } from './vmsModel';

/** Providers offered (the server refuses an unknown one, listing those it knows). */
export const PROVIDERS = ['local', 'ec2', 'gce', 'azure', 'openstack'];

/** Sizes, images and regions of the local provider. */
const LOCAL = { size: 'host', image: 'host', region: 'local' };

const EMPTY: INewVM = {
  name: '',
  provider: 'local',
  size: LOCAL.size,
  image: '',
  region: '',
  setup: { kind: 'none', value: '' },
  startup: { kind: 'none', value: '' },
  idle_shutdown: '',
  schedule: '',
  tz: '',
  credentials_secret: ''
};

type TextKey = 'name' | 'provider' | 'size' | 'image' | 'region' | 'idle_shutdown' | 'schedule' | 'tz';

function Script(props: {
  label: string;
  what: 'setup' | 'startup';
  choice: IScriptChoice;
  set: (choice: IScriptChoice) => void;
  disabled: boolean;
  hint: string;
}): JSX.Element {
  const { choice } = props;
  return (
    <div className={`mlws-FormField mlws-mod-wide mlws-NewVM-${props.what}`} role="group" aria-label={props.label}>
      <span>{props.label}</span>
      <span className="mlws-ScriptChoice">
        <select
          className={`mlws-NewVM-${props.what}-kind`}
          aria-label={`${props.label}: where it comes from`}
          value={choice.kind}
          disabled={props.disabled}
          title={props.hint}
          onChange={e => props.set({ kind: e.target.value as IScriptChoice['kind'], value: '' })}
        >
          <option value="none">none</option>
          <option value="path">a file in the server's folder</option>
          <option value="text">pasted text</option>
        </select>
        {choice.kind === 'path' && (
          <input
            className={`mlws-NewVM-${props.what}-path`}
            aria-label={`${props.label}: path in the server's folder`}
            value={choice.value}
            placeholder={`${props.what}.sh`}
            disabled={props.disabled}
            spellCheck={false}
            onChange={e => props.set({ kind: 'path', value: e.target.value })}
          />
        )}
      </span>
      {choice.kind === 'text' && (
        <textarea
          className={`mlws-NewVM-${props.what}-text`}
          aria-label={`${props.label}: its text`}
          rows={4}
          value={choice.value}
          placeholder={'echo "setting up in $HOME"\npython3 -m venv env'}
          disabled={props.disabled}
          spellCheck={false}
          onChange={e => props.set({ kind: 'text', value: e.target.value })}
        />
      )}
    </div>
  );
}

export function NewVMForm(props: { model: VMsModel; onClose: () => void }): JSX.Element {
  const { model } = props;
  const [form, setForm] = React.useState<INewVM>(EMPTY);
  const first = React.useRef<HTMLInputElement>(null);
  React.useEffect(() => first.current?.focus(), []);
  const set = (patch: Partial<INewVM>) => {
    const next = { ...form, ...patch };
    if (patch.provider !== undefined && patch.provider !== form.provider) {
      // the local provider has one size; a cloud's sizes are its own
      next.size = patch.provider === 'local' ? LOCAL.size : form.size === LOCAL.size ? '' : form.size;
    }
    setForm(next);
  };
  const disabled = model.busy;
  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    void model.create(form).then(ok => ok && props.onClose());
  };
  const common: IFormBinding<TextKey> = {
    values: form,
    set: (name, value) => set({ [name]: value }),
    prefix: 'mlws-NewVM',
    disabled
  };
  const local = form.provider.trim() === 'local';
  return (
    <form
      className="mlws-NewVMForm"
      aria-label="Create a notebook VM"
      onSubmit={submit}
      onKeyDown={e => {
        if (e.key === 'Escape') {
          e.preventDefault();
          e.stopPropagation();
          props.onClose();
        }
      }}
    >
      <h4>Create a notebook VM</h4>
      <datalist id="mlws-vm-providers">
        {PROVIDERS.map(p => (
          <option key={p} value={p} />
        ))}
      </datalist>
      <div className="mlws-FormRow">
        <Field label="Name" name="name" placeholder="e.g. box" required inputRef={first} {...common} />
        <Field
          label="Provider"
          name="provider"
          list="mlws-vm-providers"
          required
          hint="local: a sandboxed host on the server's machine (no cloud account); else a libcloud provider"
          {...common}
        />
        <Field label="Size" name="size" placeholder={local ? 'host' : 'e.g. t3.medium'} required {...common} />
        <Field label="Image" name="image" placeholder={local ? 'host' : 'e.g. ami-0abc…'} {...common} />
        <Field label="Region" name="region" placeholder={local ? 'local' : 'e.g. eu-west-1'} {...common} />
      </div>
      <div className="mlws-FormRow">
        <Script
          label="Setup script"
          what="setup"
          choice={form.setup}
          set={setup => set({ setup })}
          disabled={disabled}
          hint="Runs once, after the VM is created; its output is the setup log"
        />
        <Script
          label="Startup script"
          what="startup"
          choice={form.startup}
          set={startup => set({ startup })}
          disabled={disabled}
          hint="Runs at every start"
        />
      </div>
      <div className="mlws-FormRow">
        <Field
          label="Idle shutdown"
          name="idle_shutdown"
          placeholder="e.g. 30m (none: never)"
          hint="Stop the VM when it has been idle this long (warned 10 minutes before, with Postpone)"
          {...common}
        />
        <Field
          label="Schedule"
          name="schedule"
          placeholder="start 0 8 * * 1-5; stop 0 19 * * 1-5"
          hint="Cron expressions for starting and stopping it"
          {...common}
        />
        <Field label="Time zone" name="tz" placeholder="e.g. Europe/Berlin" hint="The schedule's IANA time zone" {...common} />
        <SecretField
          label="Credentials secret"
          className="mlws-NewVM-credentials_secret"
          value={form.credentials_secret}
          secrets={model.secrets}
          hint="The workspace secret holding the provider's credentials as JSON (the README names the fields per provider); local needs none"
          disabled={disabled}
          onChange={name => set({ credentials_secret: name })}
        />
      </div>
      <ErrorBox message={model.createError} className="mlws-CreateVMError" />
      <div className="mlws-FormButtons">
        <button type="submit" className="mlws-CreateVM mlws-mod-accept" disabled={disabled}>
          {model.busy ? 'Creating…' : 'Create VM'}
        </button>
        <button type="button" className="mlws-CancelNewVM" onClick={props.onClose}>
          Cancel
        </button>
      </div>
    </form>
  );
}
