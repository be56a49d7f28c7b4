/**
 * The Secrets page (main area): every secret's name, version, dates, who set it, its state
 * (deleted ones with the day they are purged); Set (a password field or a file, sent once: the
 * page keeps no value and shows none back), Delete, Recover and, for owners, Purge; and for owners
 * the audit log: who read or changed which secret, when, in which run.  Readers see the controls
 * disabled, the reason in their tooltip.  No route returns a value.  The server sends no events
 * for secrets: the page fetches again after its own actions and on Reload; nothing polls.
 */

import { Dialog, ReactWidget, showDialog, UseSignal } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { ISecret, userSecrets, vmSecretLabel } from '../compute';
import { formatTime } from '../runs';
import { ErrorBox } from './errorBox';
import { IPageContext, IPageRequest } from './page';
import { ByWhen } from './who';
import { AUDIT_SHOWN, PURGE_REASON, READER_REASON, SecretsPageModel } from './secretsModel';

/**
 * Name, value (a password field, or a file such as a private key) and Set.  The value is read
 * from the field when sent and the field is emptied at once: no state of the page holds it.
 */
function SetForm(props: { model: SecretsPageModel; name: string; setName: (name: string) => void; valueRef: React.RefObject<HTMLInputElement> }): JSX.Element {
  const { model, name, setName, valueRef } = props;
  const fileRef = React.useRef<HTMLInputElement>(null);
  const [hasFile, setHasFile] = React.useState(false);
  const disabled = !model.canChange || model.busy;
  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    const field = valueRef.current!;
    const file = fileRef.current?.files?.[0] ?? null;
    let value = field.value;
    field.value = ''; // emptied before anything is sent
    if (fileRef.current) {
      fileRef.current.value = '';
    }
    setHasFile(false);
    if (file !== null) {
      value = await file.text();
    }
    if (!name.trim() || !value) {
      model.refuse(!name.trim() ? 'Give the secret a name, e.g. db-password' : 'Type the value, or choose a file that holds it');
      return;
    }
    const sent = model.set(name.trim(), value);
    value = '';
    if (await sent) {
      setName('');
    }
  };
  return (
    <form
      className="mlws-SecretForm"
      aria-label="Set a secret"
      title={model.canChange ? undefined : READER_REASON}
      onSubmit={event => void submit(event)}
    >
      <label className="mlws-FormField">
        <span>Name</span>
        <input
          className="mlws-SecretName"
          value={name}
          disabled={disabled}
          placeholder="e.g. db-password"
          spellCheck={false}
          autoComplete="off"
          list="mlws-secret-names"
          onChange={e => setName(e.target.value)}
        />
      </label>
      <datalist id="mlws-secret-names">
        {userSecrets(model.secrets)
          .filter(s => s.state === 'active')
          .map(s => (
            <option key={s.name} value={s.name} />
          ))}
      </datalist>
      <label className="mlws-FormField">
        <span>Value</span>
        <input
          ref={valueRef}
          type="password"
          className="mlws-SecretValue"
          disabled={disabled || hasFile}
          autoComplete="new-password"
          placeholder={hasFile ? 'from the file' : 'never shown back'}
        />
      </label>
      <label className="mlws-FormField">
        <span>or from a file</span>
        <input
          ref={fileRef}
          type="file"
          className="mlws-SecretFile"
          disabled={disabled}
          title="A file whose whole text is the value (e.g. an SSH private key)"
          onChange={e => setHasFile((e.target.files?.length ?? 0) > 0)}
        />
      </label>
      <button type="submit" className="mlws-SetSecret mlws-mod-accept" disabled={disabled} title={model.canChange ? 'Store the value as the next version' : READER_REASON}>
        Set
      </button>
      <ErrorBox message={model.setError} className="mlws-SetError" />
      {model.stored && (
        <div className="mlws-Stored" role="status">
          Stored {model.stored.name} version {model.stored.version}.
        </div>
      )}
    </form>
  );
}

function state(secret: ISecret): JSX.Element {
  if (secret.state === 'deleted') {
    return (
      <span className="mlws-SecretState mlws-mod-deleted">
        deleted by <ByWhen user={secret.deleted_by} when={secret.deleted_at} />
        <br />
        <span className="mlws-Muted">purged {formatTime(secret.purge_at)} unless recovered</span>
      </span>
    );
  }
  return <span className="mlws-SecretState">active</span>;
}

async function confirm(title: string, body: string, label: string): Promise<boolean> {
  const answer = await showDialog({ title, body, buttons: [Dialog.cancelButton(), Dialog.warnButton({ label })] });
  return answer.button.accept;
}

/** New version and Delete for a live secret; Recover and Purge (owners) for a deleted one. */
function SecretActions(props: { model: SecretsPageModel; secret: ISecret; newVersion: (name: string) => void }): JSX.Element {
  const { model, secret } = props;
  const disabled = !model.canChange || model.busy;
  const why = model.canChange ? undefined : READER_REASON;
  return (
    <span className="mlws-SecretActions">
      {secret.state === 'active' ? (
        <>
          <button className="mlws-NewVersion" disabled={disabled} title={why ?? `Set a new version of ${secret.name}`} onClick={() => props.newVersion(secret.name)}>
            New version
          </button>
          <button
            className="mlws-DeleteSecret mlws-mod-danger"
            disabled={disabled}
            title={why ?? `Delete ${secret.name} (recoverable until it is purged)`}
            onClick={() =>
              void confirm(
                `Delete secret ${secret.name}?`,
                'It can be recovered, every version with it, until its retention ends (7 days by default); then it is purged. Runs given it fail meanwhile.',
                'Delete'
              ).then(ok => ok && model.remove(secret.name))
            }
          >
            Delete
          </button>
        </>
      ) : (
        <>
          <button className="mlws-RecoverSecret" disabled={disabled} title={why ?? `Bring ${secret.name} back`} onClick={() => void model.recover(secret.name)}>
            Recover
          </button>
          <button
            className="mlws-PurgeSecret mlws-mod-danger"
            disabled={!model.isOwner || model.busy}
            title={model.isOwner ? `Remove ${secret.name} and every version for good` : PURGE_REASON}
            onClick={() =>
              void confirm(`Purge secret ${secret.name}?`, 'Every version is removed for good: this cannot be undone.', 'Purge').then(
                ok => ok && model.purge(secret.name)
              )
            }
          >
            Purge
          </button>
        </>
      )}
    </span>
  );
}

function SecretsTable(props: { model: SecretsPageModel; newVersion: (name: string) => void }): JSX.Element {
  const { model } = props;
  return (
    <table className="mlws-Table mlws-SecretsTable">
      <thead>
        <tr>
          <th>Secret</th>
          <th>Version</th>
          <th>Created</th>
          <th>Updated</th>
          <th>State</th>
          <th>
            <span className="mlws-VisuallyHidden">Actions</span>
          </th>
        </tr>
      </thead>
      {model.secrets.map(s => (
        <tbody key={`${s.state}:${s.name}`} className="mlws-SecretRow" data-secret={s.name} data-state={s.state}>
          <tr>
            <td className="mlws-SecretRowName">
              {s.name}
              {vmSecretLabel(s) && (
                <span className="mlws-Muted mlws-SecretOwnerVM" title="Made and deleted with its VM: not for runs or targets">
                  {' '}
                  · {vmSecretLabel(s)}
                </span>
              )}
            </td>
            <td className="mlws-SecretVersion">{s.version}</td>
            <td>
              <ByWhen user={s.created_by} when={s.created_at} />
            </td>
            <td>
              <ByWhen user={s.updated_by} when={s.updated_at} />
            </td>
            <td>{state(s)}</td>
            <td>
              <SecretActions model={model} secret={s} newVersion={props.newVersion} />
            </td>
          </tr>
          {model.rowErrors[s.name] && (
            <tr>
              <td colSpan={6}>
                <ErrorBox message={model.rowErrors[s.name]} className="mlws-SecretRefusal" />
              </td>
            </tr>
          )}
        </tbody>
      ))}
    </table>
  );
}

function Audit(props: { model: SecretsPageModel; context: IPageContext }): JSX.Element {
  const { model, context } = props;
  if (!model.isOwner) {
    return <div className="mlws-Muted mlws-AuditNote">The audit log (who read which secret, when, from which run) is for owners.</div>;
  }
  const names = [...new Set(model.secrets.map(s => s.name))].sort();
  return (
    <section className="mlws-SecretsAudit" aria-label="Audit log">
      <div className="mlws-AuditHeading">
        <h3>Audit log</h3>
        <label>
          <span className="mlws-VisuallyHidden">Secret</span>
          <select className="mlws-AuditOf" value={model.auditOf} onChange={e => model.showAuditOf(e.target.value)}>
            <option value="">every secret</option>
            {names.map(n => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <span className="mlws-Muted">the latest {AUDIT_SHOWN} entries; values never appear</span>
      </div>
      <ErrorBox message={model.auditError} />
      {model.audit && model.audit.length === 0 && <div className="mlws-Empty">Nothing yet.</div>}
      {model.audit && model.audit.length > 0 && (
        <table className="mlws-Table mlws-AuditTable">
          <thead>
            <tr>
              <th>When</th>
              <th>Secret</th>
              <th>Action</th>
              <th>Version</th>
              <th>Who</th>
              <th>Run</th>
            </tr>
          </thead>
          <tbody>
            {model.audit.map((e, i) => (
              <tr key={i} className="mlws-AuditEntry" data-action={e.action} data-secret={e.name}>
                <td>{formatTime(e.ts)}</td>
                <td>{e.name || <span className="mlws-Muted">every secret</span>}</td>
                <td>{e.action}</td>
                <td>{e.version ?? ''}</td>
                <td>
                  {e.user ? (
                    <span className="mlws-Who" title={e.user}>
                      {e.user}
                    </span>
                  ) : (
                    <span className="mlws-Muted">the workspace</span>
                  )}
                </td>
                <td>
                  {e.run_id ? (
                    <button className="mlws-LinkButton mlws-AuditRun" onClick={() => context.open({ kind: 'run', id: e.run_id! })}>
                      {e.run_id.slice(0, 8)}
                    </button>
                  ) : (
                    ''
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function SecretsView(props: { model: SecretsPageModel; context: IPageContext }): JSX.Element {
  const { model, context } = props;
  const [name, setName] = React.useState('');
  const valueRef = React.useRef<HTMLInputElement>(null);
  const newVersion = (secret: string) => {
    setName(secret);
    valueRef.current?.focus();
  };
  return (
    <div className="mlws-SecretsPage">
      <div className="mlws-PageHeader">
        <h2 className="mlws-PageTitle">Secrets</h2>
        <span className="mlws-Muted mlws-RoleNote">
          {model.role && !model.canChange ? `you are a ${model.role}: changes need a contributor` : ''}
        </span>
        <span className="mlws-HeaderTools">
          <button className="mlws-OpenCompute" onClick={() => context.open({ kind: 'compute' })}>
            Compute
          </button>
          <button className="mlws-Reload" title="Fetch the secrets again (changes made elsewhere show after a reload)" disabled={model.loading} onClick={() => void model.refresh()}>
            Reload
          </button>
        </span>
      </div>
      <p className="mlws-Muted mlws-PageIntro">
        Named, versioned values encrypted at rest in the workspace's vault, given to runs as environment variables
        (<code>--secret NAME</code>). No page and no API shows a value: set one here, read it from code with{' '}
        <code>mlws.get_secret(NAME)</code>.
      </p>
      <ErrorBox message={model.error} />
      <SetForm model={model} name={name} setName={setName} valueRef={valueRef} />
      {!model.loading && !model.error && model.secrets.length === 0 && <div className="mlws-Empty">No secrets yet.</div>}
      {model.secrets.length > 0 && <SecretsTable model={model} newVersion={newVersion} />}
      <Audit model={model} context={context} />
    </div>
  );
}

export function createSecretsPage(request: IPageRequest, context: IPageContext): Widget {
  const model = new SecretsPageModel();
  const widget = ReactWidget.create(
    <UseSignal signal={model.changed}>{() => <SecretsView model={model} context={context} />}</UseSignal>
  );
  widget.addClass('mlws-SecretsWidget');
  widget.title.label = 'Secrets';
  void model.refresh();
  return widget;
}
