/**
 * The Compute page (main area): every compute target with its type, where it runs work, who
 * created it and when, and its last test; Test (each check OK, FAIL or SKIP with the server's
 * reason), Delete (confirmed; the server's refusal verbatim, e.g. while runs are queued or running
 * on it) and a New target form that pins an ssh host's key once the user confirmed its
 * fingerprint.  With an id, one target's page: its settings (what its runs execute with, the
 * secrets it gives them), the environments built there, Test and Delete.  Readers see the
 * controls disabled, the reason in their tooltip.  The server sends no events for targets: the
 * page fetches again after its own actions and on Reload; nothing polls.
 */

import { Dialog, ReactWidget, showDialog, UseSignal } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { ICheck, ITarget, ITested, targetSecrets, targetWhere, testState } from '../compute';
import { FieldTable } from '../keyValues';
import { errorMessage, query, requestAPI } from '../request';
import { formatTime } from '../runs';
import { ComputePageModel, READER_REASON } from './computeModel';
import { NewTargetForm } from './computeForm';
import { ErrorBox } from './errorBox';
import { IPageContext, IPageRequest } from './page';
import { ByWhen } from './who';
import { VMsSection } from './vmsSection';
import { VMsModel } from './vmsModel';

const STATUS_TEXT = { ok: 'OK', fail: 'FAIL', skip: 'SKIP' } as const;

/** A test's checks, each with OK, FAIL or SKIP and the server's reason. */
export function Checks(props: { checks: ICheck[]; target: string }): JSX.Element {
  return (
    <table className="mlws-Table mlws-Checks" aria-label={`Checks of ${props.target}`}>
      <thead>
        <tr>
          <th>Check</th>
          <th>Result</th>
          <th>Why</th>
        </tr>
      </thead>
      <tbody>
        {props.checks.map(c => (
          <tr key={c.check} className="mlws-Check" data-check={c.check} data-status={c.status}>
            <td>{c.title}</td>
            <td>
              <span className={`mlws-CheckStatus mlws-check-${c.status}`}>{STATUS_TEXT[c.status] ?? c.status}</span>
            </td>
            <td className="mlws-CheckDetail">{c.detail}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The last test in a few words: OK, or the first failed check; when. */
function LastTest(props: { tested: ITested | null; testing: boolean }): JSX.Element {
  const { tested } = props;
  if (props.testing) {
    return <span className="mlws-Muted">testing…</span>;
  }
  if (tested === null) {
    return <span className="mlws-Muted">not tested</span>;
  }
  const failed = tested.report.checks.find(c => c.status === 'fail');
  return (
    <span className={`mlws-LastTest mlws-check-${tested.report.ok ? 'ok' : 'fail'}`} title={failed?.detail}>
      {tested.report.ok ? 'OK' : `FAIL: ${failed?.title ?? 'a check'}`}
      <span className="mlws-Muted"> · {formatTime(tested.at)}</span>
    </span>
  );
}

function Dot(props: { tested: ITested | null }): JSX.Element {
  const state = testState(props.tested);
  const label = { ok: 'last test passed', fail: 'last test failed', untested: 'not tested' }[state];
  return <span className={`mlws-Dot mlws-test-${state}`} role="img" aria-label={label} title={label} />;
}

async function confirmDelete(model: ComputePageModel, target: ITarget): Promise<boolean> {
  const answer = await showDialog({
    title: `Delete compute target ${target.name}?`,
    body:
      'Runs recorded on it keep its name. Its pinned host key is forgotten, unless another target pins the same host. ' +
      'A target with queued or running runs cannot be deleted.',
    buttons: [Dialog.cancelButton({ label: 'Keep it' }), Dialog.warnButton({ label: 'Delete' })]
  });
  return answer.button.accept ? model.remove(target.name) : false;
}

/** Test and Delete for one target (disabled for readers, with the reason; local is built in). */
function TargetActions(props: { model: ComputePageModel; target: ITarget; onDeleted?: () => void }): JSX.Element {
  const { model, target } = props;
  const reader = !model.canChange;
  const testing = model.testing.has(target.name);
  return (
    <span className="mlws-TargetActions">
      <button
        className="mlws-TestTarget"
        disabled={reader || testing}
        title={reader ? READER_REASON : `Check ${target.name} step by step`}
        onClick={() => void model.test(target.name)}
      >
        {testing ? 'Testing…' : 'Test'}
      </button>
      <button
        className="mlws-DeleteTarget mlws-mod-danger"
        disabled={reader || target.builtin || model.busy}
        title={reader ? READER_REASON : target.builtin ? 'The local target is built in' : `Delete ${target.name}`}
        onClick={() => void confirmDelete(model, target).then(ok => ok && props.onDeleted?.())}
      >
        Delete
      </button>
    </span>
  );
}

function created(target: ITarget): React.ReactNode {
  return target.builtin ? 'built in' : <ByWhen user={target.created_by} when={target.created_at} />;
}

function TargetsTable(props: { model: ComputePageModel; context: IPageContext }): JSX.Element {
  const { model, context } = props;
  const [open, setOpen] = React.useState<Record<string, boolean>>({});
  return (
    <table className="mlws-Table mlws-TargetsTable">
      <thead>
        <tr>
          <th>Target</th>
          <th>Type</th>
          <th>Host or address</th>
          <th>Created</th>
          <th>Last test</th>
          <th>
            <span className="mlws-VisuallyHidden">Actions</span>
          </th>
        </tr>
      </thead>
      {model.targets.filter(target => target.type !== 'vm').map(target => { // VMs: their own part
        const tested = model.tested(target);
        const shown = open[target.name] ?? (tested !== null && (model.testedHere.has(target.name) || !tested.report.ok));
        const error = model.rowErrors[target.name];
        return (
          <tbody
            key={target.name}
            className={`mlws-TargetRow${model.created === target.name ? ' mlws-mod-created' : ''}`}
            data-target={target.name}
            data-type={target.type}
          >
            <tr>
              <td>
                <Dot tested={tested} />{' '}
                <button
                  className="mlws-LinkButton mlws-TargetOpen"
                  title={`Open ${target.name}'s page`}
                  onClick={() => context.open({ kind: 'compute', id: target.name })}
                >
                  {target.name}
                </button>
              </td>
              <td>{target.type}</td>
              <td className="mlws-TargetWhere">{targetWhere(target)}</td>
              <td className="mlws-TargetCreated">{created(target)}</td>
              <td className="mlws-TargetLastTest">
                <LastTest tested={tested} testing={model.testing.has(target.name)} />
                {tested && (
                  <button
                    className="mlws-LinkButton mlws-ToggleChecks"
                    aria-expanded={shown}
                    onClick={() => setOpen({ ...open, [target.name]: !shown })}
                  >
                    {shown ? 'hide checks' : 'checks'}
                  </button>
                )}
              </td>
              <td>
                <TargetActions
                  model={model}
                  target={target}
                />
              </td>
            </tr>
            {error && (
              <tr className="mlws-TargetError">
                <td colSpan={6}>
                  <ErrorBox message={error} className="mlws-TargetRefusal" />
                </td>
              </tr>
            )}
            {tested && shown && (
              <tr className="mlws-TargetChecks">
                <td colSpan={6}>
                  <Checks checks={tested.report.checks} target={target.name} />
                </td>
              </tr>
            )}
          </tbody>
        );
      })}
    </table>
  );
}

function Header(props: {
  model: ComputePageModel;
  title: string;
  children?: React.ReactNode;
  /** what else Reload fetches (the notebook VMs) */
  reload?: () => void;
}): JSX.Element {
  const { model } = props;
  return (
    <div className="mlws-PageHeader">
      <h2 className="mlws-PageTitle">{props.title}</h2>
      <span className="mlws-Muted mlws-RoleNote">
        {model.role && !model.canChange ? `you are a ${model.role}: changes need a contributor` : ''}
      </span>
      <span className="mlws-HeaderTools">
        {props.children}
        <button
          className="mlws-Reload"
          title="Fetch the targets again (changes made elsewhere show after a reload)"
          disabled={model.loading}
          onClick={() => {
            void model.refresh();
            props.reload?.();
          }}
        >
          Reload
        </button>
      </span>
    </div>
  );
}

function ComputeView(props: { model: ComputePageModel; vms: VMsModel; context: IPageContext }): JSX.Element {
  const { model, context } = props;
  const [adding, setAdding] = React.useState(false);
  const close = () => {
    model.cancelHostKey();
    setAdding(false);
  };
  return (
    <div className="mlws-ComputePage">
      <Header model={model} title="Compute" reload={() => void props.vms.refresh()}>
        <button
          className="mlws-NewTarget mlws-mod-accept"
          disabled={!model.canChange || adding}
          title={model.canChange ? 'Add an SSH host or a Dask scheduler' : READER_REASON}
          onClick={() => {
            model.clearCreated();
            setAdding(true);
          }}
        >
          New target
        </button>
        <button className="mlws-OpenSecrets" onClick={() => context.open({ kind: 'secrets' })}>
          Secrets
        </button>
      </Header>
      <p className="mlws-Muted mlws-PageIntro">
        Where runs execute: <code>local</code> is this machine; SSH hosts and Dask schedulers are added by name. A test
        checks a target step by step; its result stays in this browser.
      </p>
      <ErrorBox message={model.error} />
      {adding && model.canChange && <NewTargetForm model={model} onClose={close} />}
      {model.targets.length > 0 && <TargetsTable model={model} context={context} />}
      <UseSignal signal={props.vms.changed}>{() => <VMsSection model={props.vms} />}</UseSignal>
    </div>
  );
}

/** What a target's runs execute with, in words (its `env` setting). */
export function envText(t: ITarget): string {
  if (t.type === 'local') {
    return "this server's Python, or an environment built here (mlws env build)";
  }
  const own = t.type === 'dask' ? "the workers' own Python" : `the host's Python (${t.python ?? 'python3'})`;
  if (t.env === 'build') {
    return t.type === 'dask'
      ? "build: each run's kernel environment, built on the worker's machine the first time and reused"
      : "build: each run's kernel environment, built on the host the first time and reused";
  }
  return `system: ${own} as it is`;
}

/** One target's settings, as `GET compute/NAME` shows them (never a private key). */
function Settings(props: { target: ITarget }): JSX.Element {
  const t = props.target;
  const rows: Array<[string, React.ReactNode]> = [
    ['Type', t.type],
    ['Where', targetWhere(t)]
  ];
  if (t.type === 'ssh') {
    rows.push(
      ['Host', t.host],
      ['Port', String(t.port ?? '')],
      ['User', t.user],
      ['Key secret', t.key_secret ?? <span className="mlws-Muted">none</span>],
      ['Host key', <code key="fp">{t.host_key_fingerprint ?? ''}</code>],
      ['Work folder', t.workdir],
      ['Python', t.python],
      ['Keepalive', t.keepalive ? `${t.keepalive} s` : '']
    );
  }
  if (t.type === 'dask') {
    rows.push(['Scheduler', t.address]);
  }
  rows.push(['Runs execute with', envText(t)]);
  if (!t.builtin) {
    rows.push(['Secrets for its runs', targetSecrets(t) || <span className="mlws-Muted">none</span>]);
  }
  rows.push(['Created', created(t)]);
  return <FieldTable rows={rows} className="mlws-TargetSettings" />;
}

/** An environment built on a target, as `GET environments?compute=NAME` lists it. */
interface IBuiltEnvironment {
  short_hash: string;
  state: string;
  python: string | null;
  packages: number;
  local: string[];
  error: string | null;
  last_used_at: number | null;
}

/** The environments built on a target (from the workspace's records: the target is not asked). */
function TargetEnvironments(props: { target: ITarget }): JSX.Element {
  const { target } = props;
  const [rows, setRows] = React.useState<IBuiltEnvironment[] | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const builds = target.type === 'local' || (target.type === 'ssh' && target.env === 'build');
  React.useEffect(() => {
    if (builds) {
      requestAPI<{ environments: IBuiltEnvironment[] }>(`environments${query({ compute: target.name })}`)
        .then(answer => setRows(answer.environments))
        .catch(e => setError(errorMessage(e)));
    }
  }, [target.name, builds]);
  let note: string;
  if (target.type === 'dask') {
    note =
      target.env === 'build'
        ? "Each run builds its environment on its worker's machine the first time (its worker.log says so); they are not listed here."
        : "Runs use the workers' own Python: nothing is built.";
  } else if (!builds) {
    note = `Runs use the host's Python as it is: nothing is built (mlws env diff --compute ${target.name} compares it with a kernel's).`;
  } else {
    note = rows !== null && rows.length === 0 ? 'None yet: the first run that needs one builds it.' : '';
  }
  return (
    <section className="mlws-TargetEnvironments" aria-label={`Environments on ${target.name}`}>
      <h3>Environments</h3>
      <ErrorBox message={error} />
      {note && <p className="mlws-Muted mlws-TargetEnvNote">{note}</p>}
      {rows !== null && rows.length > 0 && (
        <table className="mlws-Table mlws-TargetEnvTable">
          <thead>
            <tr>
              <th>Hash</th>
              <th>State</th>
              <th>Python</th>
              <th>Packages</th>
              <th>Last used</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(r => (
              <tr key={r.short_hash} data-hash={r.short_hash} title={r.error ?? undefined}>
                <td>
                  <code>{r.short_hash}</code>
                </td>
                <td>{r.state}</td>
                <td>{r.python ?? ''}</td>
                <td>{r.packages + r.local.length}</td>
                <td>{r.last_used_at ? formatTime(r.last_used_at) : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function TargetView(props: { model: ComputePageModel; name: string; context: IPageContext }): JSX.Element {
  const { model, name, context } = props;
  const target = model.target(name);
  const [deleted, setDeleted] = React.useState(false);
  const all = (
    <button className="mlws-LinkButton mlws-AllTargets" onClick={() => context.open({ kind: 'compute' })}>
      All targets
    </button>
  );
  if (target === null) {
    return (
      <div className="mlws-ComputePage mlws-TargetPage" data-target={name}>
        <Header model={model} title={`Compute target ${name}`} />
        <ErrorBox message={model.error} />
        {!model.loading && !model.error && (
          <div className="mlws-Empty">
            {deleted ? `${name} was deleted.` : `There is no compute target ${name}.`} {all}
          </div>
        )}
      </div>
    );
  }
  const tested = model.tested(target);
  return (
    <div className="mlws-ComputePage mlws-TargetPage" data-target={name}>
      <Header model={model} title={`Compute target ${name}`}>
        <TargetActions model={model} target={target} onDeleted={() => setDeleted(true)} />
      </Header>
      <ErrorBox message={model.error} />
      <ErrorBox message={model.rowErrors[name] ?? null} className="mlws-TargetRefusal" />
      <Settings target={target} />
      {target.type !== 'vm' && <TargetEnvironments target={target} />}
      <h3>
        <Dot tested={tested} /> Last test
      </h3>
      <div className="mlws-TargetLastTest">
        <LastTest tested={tested} testing={model.testing.has(name)} />
      </div>
      {tested && <Checks checks={tested.report.checks} target={name} />}
      <p>{all}</p>
    </div>
  );
}

export function createComputePage(request: IPageRequest, context: IPageContext): Widget {
  const model = new ComputePageModel();
  const vms = new VMsModel();
  const name = request.id;
  const widget = ReactWidget.create(
    <UseSignal signal={model.changed}>
      {() => (name ? <TargetView model={model} name={name} context={context} /> : <ComputeView model={model} vms={vms} context={context} />)}
    </UseSignal>
  );
  widget.addClass('mlws-ComputeWidget');
  widget.title.label = name ? `Compute ${name}` : 'Compute';
  widget.disposed.connect(() => {
    model.dispose();
    vms.dispose();
  });
  void model.refresh();
  if (!name) {
    void vms.refresh();
  }
  return widget;
}
