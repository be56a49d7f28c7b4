/**
 * The Compute page's New target form (ssh: name, host, user, port, key secret, work folder,
 * Python, keepalive; dask: the scheduler's address; both: what runs execute with and the
 * secrets every run is given) and the check of an ssh host's key that follows it:
 * the fingerprint the host presented, to be confirmed, or a host key the user pasted instead.
 * Nothing is created before the key is accepted.
 */

import * as React from 'react';

import { ErrorBox } from './errorBox';
import { ComputePageModel, INewTarget } from './computeModel';
import { FormField as Field, IFormBinding, SecretField } from './textField';

type Fields = Record<
  'name' | 'host' | 'user' | 'port' | 'key_secret' | 'workdir' | 'python' | 'address' | 'env' | 'keepalive' | 'secrets',
  string
>;

const EMPTY: Fields = {
  name: '',
  host: '',
  user: '',
  port: '',
  key_secret: '',
  workdir: '',
  python: '',
  address: '',
  env: 'system',
  keepalive: '',
  secrets: ''
};

/** A number when the text is one; else the text, which the server refuses saying why. */
function whole(text: string): number {
  return /^\d+$/.test(text) ? Number(text) : (text as any);
}

/** The body of `POST compute` from the form's fields (empty ones left out: the defaults apply). */
export function newTarget(type: 'ssh' | 'dask', fields: Fields): INewTarget {
  const target: INewTarget = { name: fields.name.trim(), type };
  const text = (key: keyof Fields) => fields[key].trim();
  if (text('env') === 'build') {
    target.env = 'build';
  }
  const secrets = text('secrets')
    .split(/[\s,]+/)
    .filter(s => s);
  if (secrets.length) {
    target.secrets = secrets;
  }
  if (type === 'dask') {
    if (text('address')) {
      target.address = text('address');
    }
    return target;
  }
  for (const key of ['host', 'user', 'key_secret', 'workdir', 'python'] as const) {
    if (text(key)) {
      target[key] = text(key);
    }
  }
  if (text('port')) {
    target.port = whole(text('port'));
  }
  if (text('keepalive')) {
    target.keepalive = whole(text('keepalive'));
  }
  return target;
}

/** What the target's runs execute with: its Python as it is, or each run's environment built there. */
function EnvChoice(props: { type: 'ssh' | 'dask' } & IFormBinding<keyof Fields>): JSX.Element {
  const where = props.type === 'ssh' ? "the host's Python (--python)" : "the workers' Python";
  return (
    <label className="mlws-FormField">
      <span>Runs execute with</span>
      <select
        className="mlws-NewTarget-env"
        value={props.values.env}
        disabled={props.disabled}
        title="env: what runs on the target execute with"
        onChange={e => props.set('env', e.target.value)}
      >
        <option value="system">{`system: ${where} as it is`}</option>
        <option value="build">build: each run's kernel environment, built there once</option>
      </select>
    </label>
  );
}

export function NewTargetForm(props: { model: ComputePageModel; onClose: () => void }): JSX.Element {
  const { model } = props;
  const [type, setType] = React.useState<'ssh' | 'dask'>('ssh');
  const [fields, setFields] = React.useState<Fields>(EMPTY);
  const set = (name: keyof Fields, value: string) => setFields({ ...fields, [name]: value });
  const disabled = model.busy || model.hostKey !== null;
  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    void model.create(newTarget(type, fields)).then(ok => ok && props.onClose());
  };
  const common: IFormBinding<keyof Fields> = { values: fields, set, prefix: 'mlws-NewTarget', disabled };
  return (
    <form className="mlws-NewTargetForm" aria-label="New compute target" onSubmit={submit}>
      <h3>New compute target</h3>
      <div className="mlws-FormRow">
        <label className="mlws-FormField">
          <span>Type</span>
          <select
            className="mlws-NewTarget-type"
            value={type}
            disabled={disabled}
            onChange={e => setType(e.target.value as 'ssh' | 'dask')}
          >
            <option value="ssh">ssh: a host reachable by SSH</option>
            <option value="dask">dask: a Dask scheduler</option>
          </select>
        </label>
        <Field label="Name" name="name" placeholder="e.g. gpu1" required {...common} />
      </div>
      {type === 'ssh' ? (
        <>
          <div className="mlws-FormRow">
            <Field label="Host" name="host" placeholder="gpu1.example.org" required {...common} />
            <Field label="User" name="user" placeholder="the login on the host" required {...common} />
            <Field label="Port" name="port" placeholder="22" inputMode="numeric" {...common} />
          </div>
          <div className="mlws-FormRow">
            <SecretField
              label="Key secret"
              className="mlws-NewTarget-key_secret"
              value={fields.key_secret}
              secrets={model.secrets}
              hint="The workspace secret holding the private key (Secrets page; mlws secret set NAME --stdin < KEY)"
              disabled={disabled}
              onChange={name => set('key_secret', name)}
            />
            <Field
              label="Work folder"
              name="workdir"
              placeholder="mlws-work"
              hint="Where runs work on the host: relative to the login folder, or absolute"
              {...common}
            />
            <Field label="Python" name="python" placeholder="python3" hint="The interpreter on the host" {...common} />
          </div>
          <div className="mlws-FormRow">
            <EnvChoice type="ssh" {...common} />
            <Field
              label="Keepalive (s)"
              name="keepalive"
              placeholder="10"
              inputMode="numeric"
              hint="Seconds between keepalives on a run's connection: a host that answers none of 3 is lost, failing its run"
              {...common}
            />
          </div>
        </>
      ) : (
        <div className="mlws-FormRow">
          <Field
            label="Address"
            name="address"
            placeholder="tcp://scheduler.example.org:8786"
            hint="The scheduler's address, as dask scheduler prints it"
            required
            {...common}
          />
          <EnvChoice type="dask" {...common} />
        </div>
      )}
      <div className="mlws-FormRow">
        <Field
          label="Secrets for its runs"
          name="secrets"
          placeholder="e.g. hf-token=HF_TOKEN, db-password"
          hint="Workspace secrets every run on this target is given as environment variables: NAME or NAME=ENVVAR, comma-separated (names only are kept)"
          {...common}
        />
      </div>
      {model.hostKey === null && <ErrorBox message={model.createError} className="mlws-CreateError" />}
      {model.hostKey === null && (
        <div className="mlws-FormButtons">
          <button type="submit" className="mlws-CreateTarget mlws-mod-accept" disabled={disabled}>
            {type === 'ssh' ? 'Fetch the host key…' : 'Create'}
          </button>
          <button type="button" className="mlws-CancelNewTarget" onClick={props.onClose}>
            Cancel
          </button>
        </div>
      )}
      {model.hostKey !== null && <HostKeyCheck model={model} onDone={props.onClose} />}
    </form>
  );
}

/** The host's key as the server fetched it: confirm its fingerprint, or pin a key you checked. */
function HostKeyCheck(props: { model: ComputePageModel; onDone: () => void }): JSX.Element {
  const { model } = props;
  const check = model.hostKey!;
  const [pasted, setPasted] = React.useState('');
  const confirm = React.useRef<HTMLButtonElement>(null);
  React.useEffect(() => confirm.current?.focus(), [check.fingerprint]);
  const done = (ok: boolean) => ok && props.onDone();
  return (
    <section className="mlws-HostKeyCheck" role="group" aria-label="Check the host's key">
      <h4>Check the host's key</h4>
      <p>
        The host <code>{check.host}</code> presents {check.key_type ? `an ${check.key_type}` : 'a'} key with the
        fingerprint
      </p>
      <p>
        <code className="mlws-Fingerprint">{check.fingerprint}</code>
      </p>
      <p className="mlws-Muted">
        Compare it with what <code>ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub</code> prints on the host (or ask
        its administrator). Nothing is created until you accept it; from then on the host must present this key.
      </p>
      <ErrorBox message={model.createError} className="mlws-CreateError" />
      <div className="mlws-FormButtons">
        <button
          ref={confirm}
          type="button"
          className="mlws-ConfirmHostKey mlws-mod-accept"
          disabled={model.busy}
          onClick={() => void model.confirmHostKey().then(done)}
        >
          The fingerprint matches: create {check.target.name}
        </button>
        <button type="button" className="mlws-RejectHostKey" disabled={model.busy} onClick={() => model.cancelHostKey()}>
          Cancel
        </button>
      </div>
      <details className="mlws-PasteHostKey">
        <summary>Or pin a host key you checked</summary>
        <label className="mlws-FormField mlws-mod-wide">
          <span>Host key</span>
          <textarea
            className="mlws-HostKeyInput"
            rows={2}
            value={pasted}
            spellCheck={false}
            placeholder="ssh-ed25519 AAAA… (the host's public key line, e.g. from /etc/ssh/ssh_host_ed25519_key.pub)"
            onChange={e => setPasted(e.target.value)}
          />
        </label>
        <button
          type="button"
          className="mlws-PinHostKey"
          disabled={model.busy || !pasted.trim()}
          onClick={() => void model.pinHostKey(pasted).then(done)}
        >
          Pin this key and create {check.target.name}
        </button>
      </details>
    </section>
  );
}
