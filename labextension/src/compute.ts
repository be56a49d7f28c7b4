/**
 * Compute targets and secrets as the navigator and their pages share them: the REST API's types
 * (`GET compute`, `POST compute/NAME/test`, `GET secrets`), how a target's place is written, the
 * last test of each target (kept in this browser: the server keeps no test results), and the
 * changes this browser made (the server sends no events for targets and secrets: what changed
 * here is fetched again, nothing polls).  Small: the navigator loads it at start.
 */

import { ServerConnection } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

/** A compute target as `GET compute` lists it (never a private key). */
export interface ITarget {
  name: string;
  type: 'local' | 'ssh' | 'dask' | string;
  builtin: boolean;
  /** ms since the epoch; null for `local` */
  created_at: number | null;
  created_by: string;
  host?: string;
  user?: string;
  port?: number;
  workdir?: string;
  python?: string;
  /** ssh and dask: 'system' (runs use the target's Python as it is) or 'build' */
  env?: 'system' | 'build' | string;
  /** ssh: seconds between keepalives on a run's connection */
  keepalive?: number;
  /** the workspace secret holding the private key */
  key_secret?: string | null;
  host_key?: string;
  host_key_fingerprint?: string;
  /** dask: the scheduler, tcp://HOST:PORT */
  address?: string;
  /** the secrets it gives every run: {ENVVAR: NAME} (names only) */
  secrets?: Record<string, string>;
}

/** One check of a target's test, as the server words it. */
export interface ICheck {
  check: string;
  title: string;
  status: 'ok' | 'fail' | 'skip';
  detail: string;
}

/** `POST compute/NAME/test`: `ok` when no check failed. */
export interface ITestReport {
  target: string;
  type: string;
  ok: boolean;
  checks: ICheck[];
}

/** A target's last test in this browser: the report, when (ms), and the target it was of. */
export interface ITested {
  report: ITestReport;
  at: number;
  /** the tested target's `created_at`: a target created again under the name is untested */
  created_at: number | null;
}

/** A secret as `GET secrets` lists it: names, versions and dates, never a value. */
export interface ISecret {
  name: string;
  version: number;
  state: 'active' | 'deleted';
  created_at: number;
  created_by: string;
  updated_at: number;
  updated_by: string;
  deleted_at: number | null;
  deleted_by: string | null;
  /** when a deleted secret is purged for good (ms) */
  purge_at: number | null;
  /** the notebook VM whose own secret it is (its login key, its JupyterLab's token), else null;
   * absent from a server that does not say (then `VM_SECRET` tells) */
  vm?: string | null;
}

/** The workspace's own secrets of its notebook VMs: `mlws-vm-ID` (a VM's login key) and
 * `mlws-vm-ID-lab` (its JupyterLab's token), made and deleted with the VM (jupyter_mlws/vms/steps.py,
 * lab.py). Never a user's pick: pickers and counts leave them out; the Secrets page marks them.
 * Only for a server whose listing has no `vm` field: the field, where given, decides. */
export const VM_SECRET = /^mlws-vm-[0-9a-f]{16}(-lab)?$/;

/** Whether a secret is a notebook VM's own: its `vm` field, else (an older server) its name. */
export function isVMSecret(secret: { name: string; vm?: string | null }): boolean {
  return secret.vm !== undefined ? secret.vm !== null : VM_SECRET.test(secret.name);
}

/** What the Secrets page says of a VM's own secret (`VM vm-a's own`), or null for a user's. */
export function vmSecretLabel(secret: { name: string; vm?: string | null }): string | null {
  if (!isVMSecret(secret)) {
    return null;
  }
  return secret.vm ? `VM ${secret.vm}'s own` : "a notebook VM's own";
}

/** `secrets` without the VMs' own (`isVMSecret`): what a user picks from, and counts. */
export function userSecrets<T extends { name: string; vm?: string | null }>(secrets: T[]): T[] {
  return secrets.filter(secret => !isVMSecret(secret));
}

/** Where a target runs work: `user@host:port`, the scheduler's address, or this machine. */
export function targetWhere(target: ITarget): string {
  if (target.type === 'ssh') {
    const port = target.port && target.port !== 22 ? `:${target.port}` : '';
    return `${target.user ?? ''}@${target.host ?? ''}${port}`;
  }
  if (target.type === 'dask') {
    return target.address ?? '';
  }
  return target.type === 'local' ? 'this machine' : '';
}

/** The secrets a target gives every run, as `NAME as ENVVAR, ...` (empty: none). */
export function targetSecrets(target: ITarget | undefined): string {
  return Object.entries(target?.secrets ?? {})
    .map(([env, name]) => `${name} as ${env}`)
    .join(', ');
}

/** A target's state from its last test: 'ok', 'fail' or 'untested' (the dot's class and label). */
export function testState(tested: ITested | null): 'ok' | 'fail' | 'untested' {
  return tested === null ? 'untested' : tested.report.ok ? 'ok' : 'fail';
}

/** The last test of each target, kept in this browser's storage per server. */
class TestResults {
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The last test of `target`, or null (never tested here, or tested before it was created again). */
  of(target: ITarget): ITested | null {
    const tested = this.load()[target.name];
    return tested && tested.created_at === target.created_at ? tested : null;
  }

  record(target: ITarget, report: ITestReport): void {
    this.save({ ...this.load(), [target.name]: { report, at: Date.now(), created_at: target.created_at } });
  }

  forget(name: string): void {
    const all = this.load();
    delete all[name];
    this.save(all);
  }

  private get key(): string {
    return `mlws-compute-tests:${ServerConnection.makeSettings().baseUrl}`;
  }

  private load(): Record<string, ITested> {
    if (this._all === null) {
      try {
        this._all = JSON.parse(window.localStorage.getItem(this.key) ?? '{}') ?? {};
      } catch {
        this._all = {};
      }
    }
    return { ...this._all };
  }

  private save(all: Record<string, ITested>): void {
    this._all = all;
    try {
      window.localStorage.setItem(this.key, JSON.stringify(all));
    } catch {
      // storage full or refused: kept until the page is closed
    }
    this._changed.emit();
  }

  private _all: Record<string, ITested> | null = null;
  private _changed = new Signal<this, void>(this);
}

export const lastTests = new TestResults();

/** What this browser changed: 'compute' (a target created or deleted) or 'secrets'. */
export const localChanges = new Signal<unknown, 'compute' | 'secrets'>({});
