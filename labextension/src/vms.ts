/**
 * Notebook VMs as the REST API shows them (`GET vms`): their states, which of them change on
 * their own (a step under way: the page and the navigator look again while one is), who may act
 * on one, and the two routes that answer with something to do in the browser: open (a URL for a
 * new tab) and postpone (the idle stop's new earliest time).  A route the server does not have
 * yet (an older server) is named as such, never shown as a bare "Not Found".
 */

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { errorMessage, requestAPI } from './request';

export type VMState =
  | 'creating'
  | 'bootstrapping'
  | 'running'
  | 'stopping'
  | 'stopped'
  | 'starting'
  | 'failed'
  | 'orphaned'
  | 'deleting'
  | 'deleted';

/** What the idle check last decided (`GET vms/NAME`, when known). */
export interface IVMIdle {
  action: 'none' | 'warn' | 'stop';
  stop_at: number | null;
  reason: string;
  postponed_until: number | null;
}

/** One VM (`GET vms`); connection details only for its owner and workspace owners. */
export interface IVM {
  name: string;
  id: string;
  provider: string;
  size: string;
  image: string | null;
  region: string | null;
  owner: string;
  state: VMState;
  reason: string;
  created_at: number;
  created_by: string;
  /** ms since the epoch: the last change of state */
  updated_at: number;
  idle_shutdown_s: number | null;
  schedule: string | null;
  schedule_tz: string | null;
  setup_script: boolean;
  startup_script: boolean;
  /** whether it runs JupyterLab when it runs (false: `vm_jupyterlab = false`, or a provider without SSH); absent from an older server */
  jupyterlab?: boolean;
  /** present for its owner and workspace owners only */
  host_key_fingerprint?: string;
  host?: string;
  ssh_port?: number;
  ssh_user?: string;
  /** its node at the provider (null: none, e.g. destroyed by a failure); its owner's only */
  node_id?: string | null;
  idle?: IVMIdle | null;
}

/** Why a failed VM whose node is gone cannot start or stop (null: it can), as the buttons' tooltip. */
export function noNodeReason(vm: IVM): string | null {
  return vm.state === 'failed' && vm.node_id === null
    ? `${vm.name} failed and has no node any more (it was destroyed): delete it and create it again`
    : null;
}

/** The fields of the Create VM form by the CLI flags the server's refusals name (one rule). */
const FORM_FIELDS: Record<string, string> = {
  '--idle-shutdown': 'Idle shutdown',
  '--schedule': 'Schedule',
  '--tz': 'Time zone',
  '--credentials-secret': 'Credentials secret',
  '--image': 'Image',
  '--size': 'Size',
  '--region': 'Region',
  '--setup-script': 'Setup script',
  '--startup-script': 'Startup script',
  '--script-timeout': 'Script time-out',
  '--provider': 'Provider'
};

/** A refusal of `POST vms` in the form's words: "Idle shutdown is a duration ..." for "--idle-shutdown is ...". */
export function inFormWords(message: string): string {
  return message.replace(/--[a-z][a-z-]*/g, flag => FORM_FIELDS[flag] ?? flag); // else verbatim
}

/** States in which a step is under way: the VM changes on its own (jupyter_mlws/vms/states.py BUSY). */
export const BUSY_STATES: ReadonlySet<string> = new Set(['creating', 'bootstrapping', 'stopping', 'starting', 'deleting']);

/** States whose log grows with a script's output: the setup log is followed while in them. */
export const SETUP_STATES: ReadonlySet<string> = new Set(['creating', 'bootstrapping', 'starting']);

/** The dot's class for a state: 'ok' (running), 'busy', 'off' (stopped, deleted) or 'fail'. */
export function stateKind(state: string): 'ok' | 'busy' | 'off' | 'fail' {
  if (state === 'running') {
    return 'ok';
  }
  if (BUSY_STATES.has(state)) {
    return 'busy';
  }
  return state === 'failed' || state === 'orphaned' ? 'fail' : 'off';
}

/** Whether you may act on `vm`: the server shows connection details only to who may (its owner, a workspace owner). */
export function canManage(vm: IVM): boolean {
  return vm.host_key_fingerprint !== undefined;
}

/** Why a VM's controls are disabled for you (their tooltip). */
export function manageReason(vm: IVM): string {
  return `${vm.name} belongs to ${vm.owner}: only its owner or a workspace owner may start, stop, open or delete it, or read its log`;
}

/** Why Open JupyterLab is disabled for a VM that runs no JupyterLab (its tooltip; the server's 409 says the same). */
export function noLabReason(vm: IVM): string {
  return `${vm.name} runs no JupyterLab: the workspace's mlws.toml says vm_jupyterlab = false, or its provider reaches no node over SSH`;
}

/** Whether an error is the server not knowing a route (an older server), not a refusal. */
function missingRoute(error: unknown): boolean {
  const response = (error as { response?: Response }).response;
  const message = errorMessage(error).trim();
  return (
    response?.status === 404 &&
    (message === '' || message === 'Not Found' || message.startsWith('<') || message.startsWith('no API route'))
  );
}

/** The error's message, or what an older server without `route` lacks. */
export function vmErrorMessage(error: unknown, what: string): string {
  return missingRoute(error)
    ? `This server cannot ${what} yet (its jupyter_mlws has no such API route): update jupyter_mlws on the server`
    : errorMessage(error);
}

/** A URL the server gave (absolute, or relative to its base URL) as the browser opens it. */
export function absoluteUrl(url: string, settings = ServerConnection.makeSettings()): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) || url.startsWith('/')) {
    return url;
  }
  return URLExt.join(settings.baseUrl, url);
}

/** `POST vms/NAME/open`, then JupyterLab on the VM in a new tab (no `window.opener`). */
export async function openVM(name: string): Promise<void> {
  const answer = await requestAPI<{ url: string }>(`vms/${encodeURIComponent(name)}/open`, {
    method: 'POST',
    body: '{}'
  });
  window.open(absoluteUrl(answer.url), '_blank', 'noopener');
}

/** `POST vms/NAME/postpone`: the earliest time (ms) the idle check may stop it now. */
export async function postponeVM(name: string): Promise<number> {
  const answer = await requestAPI<{ postponed_until: number }>(`vms/${encodeURIComponent(name)}/postpone`, {
    method: 'POST',
    body: '{}'
  });
  return answer.postponed_until;
}

/** A time of day, HH:MM in the browser's zone, with the zone's short name ("14:32 CEST"). */
export function clock(ms: number): string {
  return new Date(ms).toLocaleTimeString([], {
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
    timeZoneName: 'short'
  });
}

/** A duration in whole minutes, as "50 min" or "2 h 5 min" (at least "1 min"). */
export function minutes(ms: number): string {
  const total = Math.max(1, Math.round(ms / 60_000));
  const hours = Math.floor(total / 60);
  return hours ? `${hours} h${total % 60 ? ` ${total % 60} min` : ''}` : `${total} min`;
}
