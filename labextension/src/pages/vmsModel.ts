/**
 * State of the Compute page's Notebook VMs, apart from any view: the VMs (`GET vms`), your role,
 * the secrets a VM's provider credentials may come from, and the actions (create, start, stop,
 * restart, delete, open).  The server sends no events for VMs: while one is in a step (creating,
 * bootstrapping, starting, stopping, deleting) the list is fetched again every
 * `VM_POLL_MS`; when none is, every `VM_QUIET_POLL_MS` while the browser tab is visible.  A VM's setup log is followed the same way while its
 * scripts run (`vms/NAME/logs`), and fetched once more when they end.  Refusals are verbatim.
 */

import { Contents, ContentsManager } from '@jupyterlab/services';

import { ISecret, localChanges, userSecrets } from '../compute';
import { ActingModel } from '../fetching';
import { requestAPI } from '../request';
import { Role } from '../tokens';
import { BUSY_STATES, inFormWords, IVM, openVM, SETUP_STATES, vmErrorMessage } from '../vms';
import { canChange, fetchRole } from './role';

/** How often the list (and a followed log) is fetched while a VM is in a step. */
export const VM_POLL_MS = 1500;
/** How often the list is fetched otherwise, while the page is visible (a scheduled start or an
 * idle stop changes a VM with nobody acting here). */
export const VM_QUIET_POLL_MS = 15000;

/** A script as the form gives it: none, a file of the server's folder, or pasted text. */
export interface IScriptChoice {
  kind: 'none' | 'path' | 'text';
  value: string;
}

/** The form's fields; `POST vms` takes the scripts as text (a path is read here first). */
export interface INewVM {
  name: string;
  provider: string;
  size: string;
  image: string;
  region: string;
  setup: IScriptChoice;
  startup: IScriptChoice;
  idle_shutdown: string;
  schedule: string;
  tz: string;
  credentials_secret: string;
}

export type VMAction = 'start' | 'stop' | 'restart';

/** Why a reader cannot create a VM (the button's tooltip). */
export const VM_READER_REASON =
  'Creating a notebook VM needs the contributor role (you are a reader): an owner can grant it';

/** A script's text: pasted, or read from the server's folder (the Contents API); null for none. */
export async function scriptText(
  choice: IScriptChoice,
  what: string,
  contents: Pick<Contents.IManager, 'get'> = new ContentsManager()
): Promise<string | null> {
  if (choice.kind === 'none') {
    return null;
  }
  if (choice.kind === 'text') {
    return choice.value;
  }
  const path = choice.value.trim().replace(/^\/+/, '');
  if (!path) {
    throw new Error(`the ${what}: give a path in the server's folder, e.g. setup.sh`);
  }
  let model: Contents.IModel;
  try {
    model = await contents.get(path, { type: 'file', format: 'text', content: true });
  } catch {
    throw new Error(`the ${what} ${path}: no such file in the server's folder (paths are relative to it)`);
  }
  if (typeof model.content !== 'string') {
    throw new Error(`the ${what} ${path} is not a text file`);
  }
  return model.content;
}

/** The body of `POST vms` (empty fields left out: the server's defaults apply). */
export async function createBody(form: INewVM, read = scriptText): Promise<Record<string, unknown>> {
  const body: Record<string, unknown> = { name: form.name.trim(), provider: form.provider.trim() };
  for (const key of ['size', 'image', 'region', 'idle_shutdown', 'schedule', 'tz', 'credentials_secret'] as const) {
    if (form[key].trim()) {
      body[key] = form[key].trim();
    }
  }
  const setup = await read(form.setup, 'setup script');
  const startup = await read(form.startup, 'startup script');
  if (setup !== null) {
    body.setup_script = setup;
  }
  if (startup !== null) {
    body.startup_script = startup;
  }
  return body;
}

export class VMsModel extends ActingModel {
  vms: IVM[] = [];
  secrets: ISecret[] = [];
  role: Role | null = null;
  /** The Create form's last refusal, verbatim. */
  createError: string | null = null;
  /** The VM just created (its row is marked and its setup log shown). */
  created: string | null = null;
  /** A VM's last refusal (an action, open), verbatim. */
  rowErrors: Record<string, string> = {};
  /** The log of the VM whose log is shown, and its name. */
  logOf: string | null = null;
  log = '';
  logError: string | null = null;

  get canCreate(): boolean {
    return canChange(this.role);
  }

  vm(name: string): IVM | null {
    return this.vms.find(v => v.name === name) ?? null;
  }

  dispose(): void {
    this.disposed = true;
    window.clearTimeout(this.timer);
  }

  async refresh(): Promise<void> {
    await this.fetching(async () => {
      const [vms, secrets, role] = await Promise.all([
        requestAPI<{ vms: IVM[] }>('vms'),
        requestAPI<{ secrets: ISecret[] }>('secrets').catch(() => ({ secrets: [] as ISecret[] })),
        this.role === null ? fetchRole() : Promise.resolve(this.role)
      ]);
      this.vms = vms.vms;
      this.secrets = userSecrets(secrets.secrets);
      this.role = role;
    });
    if (this.logOf !== null) {
      await this.loadLog();
    }
    this.schedule();
  }

  /** Show `name`'s log (followed while its scripts run), or hide it with null. */
  async showLog(name: string | null): Promise<void> {
    this.logOf = name;
    this.log = '';
    this.logError = null;
    this.emit();
    if (name !== null) {
      await this.loadLog();
    }
  }

  async create(form: INewVM): Promise<boolean> {
    this.createError = null;
    let name = '';
    const ok = await this.act(
      async () => {
        const body = await createBody(form);
        name = String(body.name);
        await requestAPI<IVM>('vms', { method: 'POST', body: JSON.stringify(body) });
      },
      message => (this.createError = inFormWords(message))
    );
    if (ok) {
      this.created = name;
      localChanges.emit('compute');
      await this.showLog(name);
      this.schedule();
    }
    return ok;
  }

  async action(name: string, action: VMAction): Promise<boolean> {
    delete this.rowErrors[name];
    const ok = await this.act(
      () => requestAPI(`vms/${encodeURIComponent(name)}/${action}`, { method: 'POST', body: '{}' }),
      message => (this.rowErrors[name] = message)
    );
    if (ok) {
      localChanges.emit('compute');
      if (action !== 'stop') {
        await this.showLog(name); // what its startup script prints, followed
      }
      await this.refresh();
    }
    return ok;
  }

  async remove(name: string): Promise<boolean> {
    delete this.rowErrors[name];
    const ok = await this.act(
      () => requestAPI(`vms/${encodeURIComponent(name)}`, { method: 'DELETE' }),
      message => (this.rowErrors[name] = message)
    );
    if (ok) {
      localChanges.emit('compute');
      if (this.logOf === name) {
        await this.showLog(null);
      }
      await this.refresh();
    }
    return ok;
  }

  /** JupyterLab on the VM in a new tab; a refusal (not running, not yours) stays on its row. */
  async open(name: string): Promise<void> {
    delete this.rowErrors[name];
    this.emit();
    try {
      await openVM(name);
    } catch (error) {
      this.rowErrors[name] = vmErrorMessage(error, 'open JupyterLab on a VM');
    }
    this.emit();
  }

  clearCreated(): void {
    this.created = null;
    this.createError = null;
    this.emit();
  }

  private async loadLog(): Promise<void> {
    const name = this.logOf;
    if (name === null) {
      return;
    }
    try {
      const answer = await requestAPI<{ log: string }>(`vms/${encodeURIComponent(name)}/logs`);
      if (this.logOf === name) {
        this.log = answer.log;
        this.logError = null;
      }
    } catch (error) {
      if (this.logOf === name) {
        this.logError = vmErrorMessage(error, 'show a VM log');
      }
    }
    this.emit();
  }

  /** Look again soon while a VM is in a step, else now and then while the page is visible. */
  private schedule(): void {
    window.clearTimeout(this.timer);
    if (this.disposed) {
      return;
    }
    const busy = this.vms.some(v => BUSY_STATES.has(v.state));
    this.timer = window.setTimeout(
      () => (busy || document.visibilityState === 'visible' ? void this.refresh() : this.schedule()),
      busy ? VM_POLL_MS : VM_QUIET_POLL_MS
    );
  }

  /** Whether the shown log still grows (its VM runs a script). */
  get logFollowed(): boolean {
    const vm = this.logOf === null ? null : this.vm(this.logOf);
    return vm !== null && SETUP_STATES.has(vm.state);
  }

  private timer = 0;
  private disposed = false;
}
