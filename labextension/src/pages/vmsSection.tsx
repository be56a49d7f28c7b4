/**
 * The Compute page's Notebook VMs: every VM with its provider, size, owner, state and reason, and
 * since when; per VM the actions its state allows (Start, Stop, Restart, Delete after a confirm,
 * Open JupyterLab while it runs and only on a VM that runs JupyterLab, its log), disabled with the reason in their tooltip for anyone
 * but its owner or a workspace owner; the Create VM form; and the log of a VM, followed (and
 * scrolled to its end) while its scripts run.
 */

import { Dialog, showDialog } from '@jupyterlab/apputils';
import * as React from 'react';

import { formatTime } from '../runs';
import { canManage, IVM, manageReason, noLabReason, noNodeReason, stateKind } from '../vms';
import { ErrorBox } from './errorBox';
import { NewVMForm } from './vmForm';
import { VM_READER_REASON, VMAction, VMsModel } from './vmsModel';

/** Which action a state allows, else why not. */
const ALLOWED: Record<VMAction | 'open' | 'delete', (state: string) => boolean> = {
  start: s => s === 'stopped' || s === 'failed',
  stop: s => s === 'running' || s === 'failed',
  restart: s => s === 'running',
  open: s => s === 'running',
  delete: s => s !== 'deleting' && s !== 'deleted'
};

const LABEL = { start: 'Start', stop: 'Stop', restart: 'Restart' } as const;

export function StateDot(props: { state: string }): JSX.Element {
  return (
    <span
      className={`mlws-Dot mlws-vm-${stateKind(props.state)}`}
      role="img"
      aria-label={props.state}
      title={props.state}
    />
  );
}

async function confirmDelete(model: VMsModel, vm: IVM): Promise<void> {
  const answer = await showDialog({
    title: `Delete notebook VM ${vm.name}?`,
    body: `Its node is destroyed with everything on it (${vm.provider}); its record and history stay. This cannot be undone.`,
    buttons: [Dialog.cancelButton({ label: 'Keep it' }), Dialog.warnButton({ label: 'Delete' })],
    defaultButton: 0 // Enter keeps it
  });
  if (answer.button.accept) {
    await model.remove(vm.name);
  }
}

function VMActions(props: { model: VMsModel; vm: IVM }): JSX.Element {
  const { model, vm } = props;
  const mine = canManage(vm);
  const noNode = noNodeReason(vm); // a failed VM whose node is gone: only Delete helps
  const title = (action: keyof typeof ALLOWED, what: string) =>
    !mine
      ? manageReason(vm)
      : noNode && (action === 'start' || action === 'stop')
        ? noNode
        : ALLOWED[action](vm.state)
          ? what
          : `${vm.name} is ${vm.state}`;
  const disabled = (action: keyof typeof ALLOWED) =>
    !mine || model.busy || !ALLOWED[action](vm.state) || (noNode !== null && (action === 'start' || action === 'stop'));
  const noLab = mine && vm.jupyterlab === false; // an older server does not say: the open route answers
  return (
    <span className="mlws-VMActions">
      <button
        className="mlws-OpenVM mlws-mod-accept"
        disabled={disabled('open') || noLab}
        title={noLab ? noLabReason(vm) : title('open', `Open JupyterLab on ${vm.name} in a new browser tab`)}
        onClick={() => void model.open(vm.name)}
      >
        Open JupyterLab
      </button>
      {(['start', 'stop', 'restart'] as const).map(action => (
        <button
          key={action}
          className={`mlws-VMAction mlws-VM-${action}`}
          disabled={disabled(action)}
          title={title(action, `${LABEL[action]} ${vm.name}`)}
          onClick={() => void model.action(vm.name, action)}
        >
          {LABEL[action]}
        </button>
      ))}
      <button
        className="mlws-VMLogButton"
        disabled={!mine}
        aria-pressed={model.logOf === vm.name}
        title={mine ? `What ${vm.name}'s creation, starts and scripts printed` : manageReason(vm)}
        onClick={() => void model.showLog(model.logOf === vm.name ? null : vm.name)}
      >
        Log
      </button>
      <button
        className="mlws-DeleteVM mlws-mod-danger"
        disabled={disabled('delete')}
        title={title('delete', `Delete ${vm.name} (asks first)`)}
        onClick={() => void confirmDelete(model, vm)}
      >
        Delete
      </button>
    </span>
  );
}

/** The log of the VM shown, scrolled to its end while it grows. */
function VMLog(props: { model: VMsModel }): JSX.Element | null {
  const { model } = props;
  const ref = React.useRef<HTMLPreElement>(null);
  const follow = model.logFollowed;
  React.useEffect(() => {
    // its end: where a followed log grows, and what a log just opened ends with
    if (ref.current) {
      ref.current.scrollTop = ref.current.scrollHeight;
    }
  }, [model.log, model.logOf, follow]);
  if (model.logOf === null) {
    return null;
  }
  return (
    <section className="mlws-VMLog" data-vm={model.logOf} aria-label={`Log of ${model.logOf}`}>
      <h4>
        Log of {model.logOf}{' '}
        <span className="mlws-Muted mlws-VMLogState">{follow ? '· following while its scripts run…' : ''}</span>
        <button className="mlws-LinkButton mlws-CloseVMLog" onClick={() => void model.showLog(null)}>
          hide
        </button>
      </h4>
      <ErrorBox message={model.logError} />
      <pre ref={ref} className="mlws-VMLogText" tabIndex={0}>
        {model.log || (model.logError ? '' : 'nothing logged yet')}
      </pre>
    </section>
  );
}

function VMsTable(props: { model: VMsModel }): JSX.Element {
  const { model } = props;
  return (
    <table className="mlws-Table mlws-VMsTable">
      <thead>
        <tr>
          <th>VM</th>
          <th>Provider</th>
          <th>Size</th>
          <th>Owner</th>
          <th>State</th>
          <th>Since</th>
          <th>
            <span className="mlws-VisuallyHidden">Actions</span>
          </th>
        </tr>
      </thead>
      {model.vms.map(vm => {
        const error = model.rowErrors[vm.name];
        return (
          <tbody
            key={vm.name}
            className={`mlws-VMRow${model.created === vm.name ? ' mlws-mod-created' : ''}`}
            data-vm={vm.name}
            data-state={vm.state}
          >
            <tr>
              <td className="mlws-VMName">
                <StateDot state={vm.state} /> {vm.name}
              </td>
              <td>{vm.provider}</td>
              <td>{vm.size}</td>
              <td className="mlws-VMOwner" title={vm.owner}>
                {vm.owner}
              </td>
              <td className="mlws-VMState">
                <span className={`mlws-VMStateName mlws-vm-${stateKind(vm.state)}`}>{vm.state}</span>
                {vm.reason && (
                  <div className="mlws-VMReason" title={vm.reason}>
                    {vm.reason.split('\n')[0]}
                  </div>
                )}
              </td>
              <td className="mlws-VMSince">{formatTime(vm.updated_at)}</td>
              <td>
                <VMActions model={model} vm={vm} />
              </td>
            </tr>
            {error && (
              <tr className="mlws-VMError">
                <td colSpan={7}>
                  <ErrorBox message={error} className="mlws-VMRefusal" />
                </td>
              </tr>
            )}
          </tbody>
        );
      })}
    </table>
  );
}

/** The Notebook VMs part of the Compute page. */
export function VMsSection(props: { model: VMsModel }): JSX.Element {
  const { model } = props;
  const [adding, setAdding] = React.useState(false);
  const createButton = React.useRef<HTMLButtonElement>(null);
  const close = () => {
    setAdding(false);
    window.setTimeout(() => createButton.current?.focus(), 0);
  };
  return (
    <section className="mlws-VMsSection" aria-label="Notebook VMs">
      <div className="mlws-SectionHeader">
        <h3>Notebook VMs</h3>
        <button
          ref={createButton}
          className="mlws-NewVM mlws-mod-accept"
          disabled={!model.canCreate || adding}
          title={model.canCreate ? 'Create a notebook VM (local: on this machine, no cloud account)' : VM_READER_REASON}
          onClick={() => {
            model.clearCreated();
            setAdding(true);
          }}
        >
          Create VM
        </button>
      </div>
      <p className="mlws-Muted mlws-PageIntro">
        Machines the workspace creates, reaches over SSH and stops when idle; each is also a compute target. Only a
        VM's owner or a workspace owner acts on it, opens it or reads its log.
      </p>
      <ErrorBox message={model.error} />
      <ErrorBox message={model.actionError} />
      {adding && model.canCreate && <NewVMForm model={model} onClose={close} />}
      {model.vms.length > 0 ? (
        <VMsTable model={model} />
      ) : (
        !model.loading && !model.error && <div className="mlws-Empty mlws-NoVMs">No notebook VMs yet.</div>
      )}
      <VMLog model={model} />
    </section>
  );
}
