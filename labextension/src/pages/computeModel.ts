/**
 * State of the Compute page, apart from any view: the targets (`GET compute`), your role, the
 * secrets a new ssh target may take its key from, each target's last test, and the actions:
 * test, delete, and create, following the REST API's pin flow for ssh hosts (the first POST
 * without a pin answers 400 with the host key's fingerprint in `details`; the user confirms it,
 * and the POST is sent again with `host_key_fingerprint`, or with a `host_key` they paste).
 * The server's refusals are kept verbatim.  The server sends no events for targets: what an
 * action changed is fetched again, and Reload fetches everything.
 */

import { lastTests, localChanges, ISecret, ITarget, ITestReport, ITested, userSecrets } from '../compute';
import { ActingModel } from '../fetching';
import { errorDetails, errorMessage, requestAPI } from '../request';
import { Role } from '../tokens';
import { canChange, fetchRole } from './role';

/** What the New target form sends (empty fields are left out: the server's defaults apply). */
export interface INewTarget {
  name: string;
  type: 'ssh' | 'dask';
  host?: string;
  user?: string;
  port?: number;
  key_secret?: string;
  workdir?: string;
  python?: string;
  /** ssh and dask: what runs execute with (the target's Python as it is, or each run's built) */
  env?: 'system' | 'build';
  /** ssh: seconds between keepalives on a run's connection */
  keepalive?: number;
  address?: string;
  /** secrets every run on it is given: ['NAME', 'NAME=ENVVAR'] */
  secrets?: string[];
}

/** An ssh host's key waiting for the user's confirmation (the first POST's `details`). */
export interface IHostKeyCheck {
  target: INewTarget;
  host: string;
  key_type: string;
  fingerprint: string;
  /** the server's whole message, verbatim */
  message: string;
}

/** Why a reader's controls are disabled (their tooltip). */
export const READER_REASON =
  'Creating, testing and deleting compute targets needs the contributor role (you are a reader): an owner can grant it';

export class ComputePageModel extends ActingModel {
  targets: ITarget[] = [];
  /** The live secrets (a new ssh target's key comes from one); names only. */
  secrets: ISecret[] = [];
  role: Role | null = null;
  /** Targets being tested now. */
  readonly testing = new Set<string>();
  /** Targets tested from this page (their checks show at once). */
  readonly testedHere = new Set<string>();
  /** A target's last refusal (a delete while runs are queued or running), verbatim. */
  rowErrors: Record<string, string> = {};
  /** The ssh host key shown for confirmation, or null. */
  hostKey: IHostKeyCheck | null = null;
  /** The New target form's last refusal, verbatim. */
  createError: string | null = null;
  /** The target just created (the form closes and its row is marked). */
  created: string | null = null;

  constructor() {
    super();
    lastTests.changed.connect(this.onTests, this);
  }

  dispose(): void {
    lastTests.changed.disconnect(this.onTests, this);
  }

  private onTests(): void {
    this.emit();
  }

  get canChange(): boolean {
    return canChange(this.role);
  }

  target(name: string): ITarget | null {
    return this.targets.find(t => t.name === name) ?? null;
  }

  tested(target: ITarget): ITested | null {
    return lastTests.of(target);
  }

  async refresh(): Promise<void> {
    await this.fetching(async () => {
      const [targets, secrets, role] = await Promise.all([
        requestAPI<{ targets: ITarget[] }>('compute'),
        requestAPI<{ secrets: ISecret[] }>('secrets').catch(() => ({ secrets: [] as ISecret[] })),
        this.role === null ? fetchRole() : Promise.resolve(this.role)
      ]);
      this.targets = targets.targets;
      this.secrets = userSecrets(secrets.secrets);
      this.role = role;
    });
  }

  /** Check `name` step by step; the report becomes its last test. */
  async test(name: string): Promise<void> {
    const target = this.target(name);
    if (!target || this.testing.has(name)) {
      return;
    }
    this.testing.add(name);
    delete this.rowErrors[name];
    this.emit();
    try {
      const report = await requestAPI<ITestReport>(`compute/${encodeURIComponent(name)}/test`, {
        method: 'POST',
        body: '{}'
      });
      this.testedHere.add(name);
      lastTests.record(target, report);
    } catch (error) {
      this.rowErrors[name] = errorMessage(error);
    }
    this.testing.delete(name);
    this.emit();
  }

  /** Delete `name` (confirmed by the view); a refusal stays on its row. */
  async remove(name: string): Promise<boolean> {
    delete this.rowErrors[name];
    const ok = await this.act(
      () => requestAPI(`compute/${encodeURIComponent(name)}`, { method: 'DELETE' }),
      message => (this.rowErrors[name] = message)
    );
    if (ok) {
      lastTests.forget(name);
      localChanges.emit('compute');
    }
    return ok;
  }

  /**
   * Create a target.  An ssh host whose key nobody pinned yet answers with its fingerprint:
   * `hostKey` holds it for the user to confirm (`confirmHostKey`) or replace (`pinHostKey`).
   * True when the target was created.
   */
  create(target: INewTarget): Promise<boolean> {
    this.hostKey = null;
    return this.post(target, {});
  }

  /** The fingerprint shown matches the host's: create the target with that key pinned. */
  confirmHostKey(): Promise<boolean> {
    const check = this.hostKey;
    return check ? this.post(check.target, { host_key_fingerprint: check.fingerprint }) : Promise.resolve(false);
  }

  /** Pin a host key the user checked ('ssh-ed25519 AAAA...') instead of the one presented. */
  pinHostKey(hostKey: string): Promise<boolean> {
    const check = this.hostKey;
    return check ? this.post(check.target, { host_key: hostKey.trim() }) : Promise.resolve(false);
  }

  cancelHostKey(): void {
    this.hostKey = null;
    this.createError = null;
    this.emit();
  }

  clearCreated(): void {
    this.created = null;
    this.createError = null;
    this.emit();
  }

  private async post(target: INewTarget, pin: Record<string, string>): Promise<boolean> {
    this.createError = null;
    const refusal: { details: Record<string, unknown> | null } = { details: null };
    const ok = await this.act(
      async () => {
        try {
          await requestAPI<ITarget>('compute', { method: 'POST', body: JSON.stringify({ ...target, ...pin }) });
        } catch (error) {
          refusal.details = errorDetails(error);
          throw error;
        }
      },
      message => (this.createError = message)
    );
    const pinned = Object.keys(pin).length > 0;
    const details = refusal.details;
    if (ok) {
      this.hostKey = null;
      this.created = target.name;
      localChanges.emit('compute');
    } else if (!pinned && details && typeof details.fingerprint === 'string') {
      // nothing was created: the host's key, for the user to check
      this.hostKey = {
        target,
        host: String(details.host ?? target.host ?? ''),
        key_type: String(details.key_type ?? ''),
        fingerprint: details.fingerprint,
        message: this.createError ?? ''
      };
      this.createError = null;
    } else if (!pinned) {
      this.hostKey = null;
    }
    this.emit();
    return ok;
  }
}
