/**
 * The idle warning: the server's `vm-idle-warning` event (a VM's idle check will stop it soon)
 * becomes a JupyterLab notification, one short sentence that fits it: "VM NAME stops at HH:MM ZONE
 * (idle 50 min)." (the browser's time and zone) with the action "Postpone 1 h" (the reason, in
 * full, is the VM's `idle` in `GET vms/NAME` and `mlws vm show`), shown once per VM and stop time however often the event comes, and only to
 * who may postpone it (the VM's owner, a workspace owner: the server shows them its connection
 * details); everyone else's feed carries the event too, and it is left alone there.  A warning
 * shown is dismissed once its VM no longer runs (looked at every `WARNING_CHECK_MS`).
 */

import { Notification } from '@jupyterlab/apputils';
import { Event } from '@jupyterlab/services';
import { ISignal } from '@lumino/signaling';

import { requestAPI } from './request';
import { canManage, clock, IVM, minutes, postponeVM, vmErrorMessage } from './vms';

export const VM_IDLE_WARNING_SCHEMA = 'https://jupyter-mlws.org/events/vm-idle-warning';

interface IIdleWarning {
  name: string;
  stop_at: number;
  /** since when it is idle (ms; absent when not known) */
  idle_since?: number;
  reason: string;
}

function isWarning(event: Event.Emission): event is Event.Emission & IIdleWarning {
  return (
    event.schema_id === VM_IDLE_WARNING_SCHEMA && typeof event.name === 'string' && typeof event.stop_at === 'number'
  );
}

/** The notification's text: "VM gpu-1 stops at 14:32 CEST (idle 50 min)." */
export function warningText(event: IIdleWarning, now: number = Date.now()): string {
  const since = typeof event.idle_since === 'number' ? ` (idle ${minutes(now - event.idle_since)})` : '';
  return `VM ${event.name} stops at ${clock(event.stop_at)}${since}.`;
}

async function postpone(name: string): Promise<void> {
  try {
    const until = await postponeVM(name);
    Notification.success(`VM ${name} is not stopped for being idle before ${clock(until)}`, { autoClose: 5000 });
  } catch (error) {
    Notification.error(`VM ${name} could not be postponed: ${vmErrorMessage(error, 'postpone an idle stop')}`, {
      autoClose: false
    });
  }
}

/** Show each idle warning of `events` once (per VM and stop time) while this page lives. */
export function followIdleWarnings(events: ISignal<unknown, Event.Emission>): void {
  const shown = new Set<string>();
  events.connect((_, event) => {
    if (!isWarning(event)) {
      return;
    }
    const key = `${event.name}@${event.stop_at}`;
    if (shown.has(key)) {
      return;
    }
    shown.add(key);
    void requestAPI<IVM>(`vms/${encodeURIComponent(event.name)}`)
      .then(vm => canManage(vm) && show(event))
      .catch(() => undefined); // gone, or not yours to see: nothing to postpone
  });
}

/** How often a shown warning looks whether its VM still runs (ms). */
export const WARNING_CHECK_MS = 20000;

/** Dismiss warning `id` once VM `name` no longer runs (stopped for being idle, or by anyone;
 * deleted): its Postpone would fail.  Stops looking when the warning is gone. */
function dismissWhenStopped(id: string, name: string): void {
  const look = async (): Promise<void> => {
    if (!Notification.manager.has(id)) {
      return;
    }
    let running = true;
    try {
      running = (await requestAPI<IVM>(`vms/${encodeURIComponent(name)}`)).state === 'running';
    } catch (error) {
      running = (error as { response?: Response }).response?.status !== 404; // deleted: it stopped
    }
    if (running) {
      window.setTimeout(() => void look(), WARNING_CHECK_MS);
    } else {
      Notification.dismiss(id);
    }
  };
  window.setTimeout(() => void look(), WARNING_CHECK_MS);
}

function show(event: IIdleWarning): void {
  const id = Notification.warning(warningText(event), {
    autoClose: false,
    actions: [
      {
        label: 'Postpone 1 h',
        caption: `Keep VM ${event.name} running for another hour at least`,
        callback: () => void postpone(event.name)
      }
    ]
  });
  dismissWhenStopped(id, event.name);
}
