/**
 * The Data page (main area): the datastores (their kind and URL, never a credential: the name of
 * the secret holding them; `default` marked), with Register for contributors and owners and
 * Delete for owners (the service's rules; its refusals shown verbatim); and the datasets with
 * their latest version, size, files and when it was registered, each opening its page.
 */

import { Dialog, ReactWidget, showDialog, UseSignal } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import '../../../style/computePages.css';
import '../../../style/workflows.css';
import '../../../style/data.css';

import { ErrorBox } from '../errorBox';
import { IPageContext, IPageRequest } from '../page';
import { formatMoment, formatSize } from '../run/format';
import { FormField, SecretField } from '../textField';
import { DataModel, READER_NOTE } from './model';
import { IDatastore, INewDatastore } from './types';

type FormKey = 'name' | 'url' | 'host_key' | 'description';
const EMPTY_FORM: Record<FormKey, string> = { name: '', url: '', host_key: '', description: '' };

/** The body of `POST datastores` (empty fields left out: the server's defaults apply). */
function newDatastore(values: Record<FormKey, string>, secret: string): INewDatastore {
  const body: INewDatastore = { name: values.name.trim(), url: values.url.trim() };
  if (secret) {
    body.credentials_secret = secret;
  }
  if (values.host_key.trim()) {
    body.host_key = values.host_key.trim();
  }
  if (values.description.trim()) {
    body.description = values.description.trim();
  }
  return body;
}

/** Register a datastore: Enter submits, Escape closes; a refusal shows here, verbatim, and records nothing. */
function RegisterForm(props: { model: DataModel; onClose: () => void }): JSX.Element {
  const { model } = props;
  const [values, setValues] = React.useState(EMPTY_FORM);
  const [secret, setSecret] = React.useState('');
  const first = React.useRef<HTMLInputElement>(null);
  React.useEffect(() => first.current?.focus(), []);
  const binding = {
    values,
    set: (name: FormKey, value: string) => setValues({ ...values, [name]: value }),
    prefix: 'mlws-NewDatastore',
    disabled: model.busy
  };
  const sftp = values.url.trim().startsWith('sftp://');
  return (
    <form
      className="mlws-NewDatastoreForm"
      aria-label="Register a datastore"
      onSubmit={async e => {
        e.preventDefault();
        if (await model.register(newDatastore(values, secret))) {
          props.onClose();
        }
      }}
      onKeyDown={e => {
        if (e.key === 'Escape') {
          e.preventDefault();
          e.stopPropagation();
          props.onClose();
        }
      }}
    >
      <h3>Register a datastore</h3>
      <div className="mlws-FormRow">
        <FormField name="name" label="Name" placeholder="e.g. lake" required inputRef={first} {...binding} />
        <FormField
          name="url"
          label="URL"
          placeholder="s3://bucket/prefix"
          hint="s3://BUCKET/PREFIX[?endpoint_url=…&region=…], gs://BUCKET/PREFIX, abfs://CONTAINER/PREFIX?account_name=…, sftp://USER@HOST[:PORT]/PATH or file:///PATH (owners only); never credentials"
          required
          {...binding}
        />
        <SecretField
          label="Credentials"
          className="mlws-NewDatastore-secret"
          value={secret}
          secrets={model.secrets.map(name => ({ name }))}
          hint='The workspace secret holding the credentials (s3: {"key", "secret"} JSON; gs: a service account key; abfs: {"account_key"}; sftp: an SSH private key). Only its name is recorded'
          disabled={model.busy}
          onChange={setSecret}
        />
        {sftp && (
          <FormField
            name="host_key"
            label="Host key"
            placeholder="ssh-ed25519 AAAA…"
            hint="The host's key as ssh-keyscan prints it (checked with the host's owner); not needed when the host is pinned already"
            {...binding}
          />
        )}
        <FormField name="description" label="Description" {...binding} />
      </div>
      <p className="mlws-Muted mlws-FormNote">
        The store is reached with these credentials before anything is recorded.
      </p>
      <ErrorBox message={model.registerError} className="mlws-RegisterDatastoreError" />
      <div className="mlws-FormButtons">
        <button type="submit" className="mlws-RegisterDatastore mlws-mod-accept" disabled={model.busy}>
          {model.busy ? 'Registering…' : 'Register'}
        </button>
        <button type="button" className="mlws-CancelDatastore" onClick={props.onClose}>
          Cancel
        </button>
      </div>
    </form>
  );
}

async function confirmDelete(model: DataModel, store: IDatastore): Promise<void> {
  const answer = await showDialog({
    title: `Delete datastore ${store.name}?`,
    body: 'Its record goes; its files stay where they are. A datastore that dataset versions live in is kept.',
    buttons: [Dialog.cancelButton({ label: 'Keep it' }), Dialog.warnButton({ label: 'Delete' })]
  });
  if (answer.button.accept) {
    await model.remove(store.name);
  }
}

function Credentials(props: { store: IDatastore }): JSX.Element {
  const { store } = props;
  return (
    <>
      {store.credentials_secret ? (
        <span title="The workspace secret holding the credentials (never shown)">
          secret <code>{store.credentials_secret}</code>
        </span>
      ) : (
        <span className="mlws-Muted">{store.builtin ? "the workspace's own" : 'none'}</span>
      )}
      {store.host_key_fingerprint && (
        <div className="mlws-Muted mlws-HostKey" title="The sftp host's pinned key">
          {store.host_key_fingerprint}
        </div>
      )}
    </>
  );
}

function Datastores(props: { model: DataModel }): JSX.Element {
  const { model } = props;
  const [adding, setAdding] = React.useState(false);
  const button = React.useRef<HTMLButtonElement>(null);
  const close = () => {
    setAdding(false);
    window.requestAnimationFrame(() => button.current?.focus());
  };
  return (
    <section className="mlws-Datastores" aria-label="Datastores">
      <div className="mlws-SectionHeader">
        <h3>Datastores</h3>
        {model.canRegister ? (
          <button
            ref={button}
            className="mlws-NewDatastore mlws-mod-accept"
            disabled={adding}
            title="Add an s3, gs, abfs, sftp or file datastore"
            onClick={() => {
              model.clearForm();
              void model.loadSecrets();
              setAdding(true);
            }}
          >
            Register datastore
          </button>
        ) : (
          model.role !== null && <span className="mlws-Muted mlws-RoleNote">{READER_NOTE}</span>
        )}
      </div>
      {adding && model.canRegister && <RegisterForm model={model} onClose={close} />}
      <ErrorBox message={model.actionError} className="mlws-DatastoreError" />
      {model.datastores.length > 0 && (
        <table className="mlws-Table mlws-DatastoresTable" aria-label="Datastores">
          <thead>
            <tr>
              <th>Name</th>
              <th>Kind</th>
              <th>URL</th>
              <th>Credentials</th>
              <th>Description</th>
              <th>Registered</th>
              {model.canDelete && (
                <th>
                  <span className="mlws-VisuallyHidden">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {model.datastores.map(store => (
              <tr
                key={store.name}
                className={`mlws-DatastoreRow${model.registered === store.name ? ' mlws-mod-created' : ''}`}
                data-datastore={store.name}
              >
                <td>
                  <span className="mlws-DatastoreName">{store.name}</span>
                  {store.builtin && (
                    <span className="mlws-Badge mlws-DefaultBadge" title="The workspace's own datastore: datasets go here unless told otherwise">
                      default
                    </span>
                  )}
                </td>
                <td>{store.scheme}</td>
                <td className="mlws-DatastoreUrl" title={store.url}>
                  {store.url}
                </td>
                <td className="mlws-DatastoreCredentials">
                  <Credentials store={store} />
                </td>
                <td className="mlws-Wrap">{store.description}</td>
                <td className="mlws-Muted">
                  {store.builtin ? (
                    'built in'
                  ) : (
                    <>
                      <div>{store.created_by}</div>
                      <div>{formatMoment(store.created_at)}</div>
                    </>
                  )}
                </td>
                {model.canDelete && (
                  <td>
                    {!store.builtin && (
                      <button
                        className="mlws-DeleteDatastore mlws-mod-danger"
                        disabled={model.busy}
                        title={`Delete the record of ${store.name} (its files stay)`}
                        onClick={() => void confirmDelete(model, store)}
                      >
                        Delete
                      </button>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Datasets(props: { model: DataModel; context: IPageContext }): JSX.Element {
  const { model, context } = props;
  return (
    <section className="mlws-Datasets" aria-label="Datasets">
      <h3>Datasets</h3>
      {!model.loading && !model.error && model.datasets.length === 0 && (
        <div className="mlws-Empty mlws-NoDatasets">
          No datasets yet: <code>mlws dataset register NAME PATH</code> registers a folder or file as a version.
        </div>
      )}
      {model.datasets.length > 0 && (
        <table className="mlws-Table mlws-DatasetsTable" aria-label="Datasets">
          <thead>
            <tr>
              <th>Dataset</th>
              <th>Latest</th>
              <th>Versions</th>
              <th className="mlws-Number">Size</th>
              <th className="mlws-Number">Files</th>
              <th>Kind</th>
              <th>Datastore</th>
              <th>Updated</th>
            </tr>
          </thead>
          <tbody>
            {model.datasets.map(d => (
              <tr key={d.name} className="mlws-DatasetRow" data-dataset={d.name}>
                <td>
                  <button
                    className="mlws-Link mlws-DatasetOpen"
                    title={`Open ${d.name}: its versions, lineage and files`}
                    onClick={() => context.open({ kind: 'dataset', id: d.name })}
                  >
                    {d.name}
                  </button>
                  {d.description && <div className="mlws-Muted mlws-DatasetDescription">{d.description}</div>}
                </td>
                <td className="mlws-DatasetLatest">v{d.latest}</td>
                <td>{d.versions}</td>
                <td className="mlws-Number mlws-DatasetSize" title={`${d.size} bytes`}>
                  {formatSize(d.size)}
                </td>
                <td className="mlws-Number mlws-DatasetFiles">{d.files}</td>
                <td>{d.tabular ? 'table' : 'files'}</td>
                <td>{d.datastore}</td>
                <td className="mlws-Muted">{formatMoment(d.updated_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function DataView(props: { model: DataModel; context: IPageContext }): JSX.Element {
  const { model, context } = props;
  return (
    <div className="mlws-WorkflowPage mlws-DataPage">
      <div className="mlws-PageHeader">
        <h2 className="mlws-PageTitle">Data</h2>
        <span className="mlws-HeaderTools">
          <button className="mlws-Reload" disabled={model.loading} onClick={() => void model.refresh()}>
            Reload
          </button>
        </span>
      </div>
      <p className="mlws-Muted mlws-PageIntro">
        Datastores are where data lives: the workspace's own <code>default</code>, object stores, SFTP hosts and folders.
        A dataset is a versioned set of files in one of them, each version with the hash of its content, and the runs and
        models that used it.
      </p>
      <ErrorBox message={model.error} />
      <Datastores model={model} />
      <Datasets model={model} context={context} />
    </div>
  );
}

export function createDataPage(_request: IPageRequest, context: IPageContext): Widget {
  const model = new DataModel();
  const widget = ReactWidget.create(<UseSignal signal={model.changed}>{() => <DataView model={model} context={context} />}</UseSignal>);
  widget.addClass('mlws-DataWidget');
  widget.title.label = 'Data';
  void model.refresh();
  return widget;
}
