/**
 * State of the Secrets page, apart from any view: the secrets' names, versions, dates and who
 * changed them (live and deleted ones: `GET secrets`, `?deleted=true`), your role, the audit log
 * for owners (`GET secrets-audit`), and the actions: set a value (sent once, never kept here),
 * delete, recover, purge.  A value is never fetched: no route returns one.  The server sends no
 * events for secrets: what an action changed is fetched again, and Reload fetches everything.
 */

import { ISecret, localChanges } from '../compute';
import { ActingModel } from '../fetching';
import { errorMessage, query, requestAPI } from '../request';
import { Role } from '../tokens';
import { canChange, fetchRole } from './role';

/** One entry of the audit log: who did what to which secret, when, in which run; never a value. */
export interface IAuditEntry {
  name: string;
  action: 'set' | 'read' | 'delete' | 'recover' | 'purge' | 'expire' | 'rotate-key' | string;
  version: number | null;
  user: string;
  run_id: string | null;
  ts: number;
}

/** Audit entries the page shows at most (newest first). */
export const AUDIT_SHOWN = 200;

export const READER_REASON =
  'Setting, deleting and recovering secrets needs the contributor role (you are a reader): an owner can grant it';
export const PURGE_REASON = 'Purging a secret for good needs the owner role';

const path = (name: string) => `secrets/${encodeURIComponent(name)}`;

export class SecretsPageModel extends ActingModel {
  /** Live secrets, then deleted ones, each by name. */
  secrets: ISecret[] = [];
  role: Role | null = null;
  /** The audit log (owners), newest first; null when not fetched (not an owner). */
  audit: IAuditEntry[] | null = null;
  auditError: string | null = null;
  /** The secret whose entries the audit shows ('' for every secret). */
  auditOf = '';
  /** A secret's last refusal (e.g. purging one that is not deleted), verbatim. */
  rowErrors: Record<string, string> = {};
  /** The Set form's last refusal, verbatim (it never quotes the value). */
  setError: string | null = null;
  /** The name whose new version was just stored (the form says so). */
  stored: { name: string; version: number } | null = null;

  get canChange(): boolean {
    return canChange(this.role);
  }

  get isOwner(): boolean {
    return this.role === 'owner';
  }

  async refresh(): Promise<void> {
    await this.fetching(async () => {
      const [live, deleted, role] = await Promise.all([
        requestAPI<{ secrets: ISecret[] }>('secrets'),
        requestAPI<{ secrets: ISecret[] }>(`secrets${query({ deleted: 'true' })}`),
        this.role === null ? fetchRole() : Promise.resolve(this.role)
      ]);
      this.secrets = [...live.secrets, ...deleted.secrets];
      this.role = role;
    });
    await this.loadAudit();
  }

  /** The audit log, for owners (others are refused by the server: not asked). */
  async loadAudit(): Promise<void> {
    if (!this.isOwner) {
      this.audit = null;
      return;
    }
    try {
      const reply = await requestAPI<{ entries: IAuditEntry[] }>(
        `secrets-audit${query({ secret: this.auditOf, max_results: AUDIT_SHOWN })}`
      );
      this.audit = reply.entries;
      this.auditError = null;
    } catch (error) {
      this.auditError = errorMessage(error);
    }
    this.emit();
  }

  showAuditOf(name: string): void {
    this.auditOf = name;
    void this.loadAudit();
  }

  /**
   * Store `value` as the next version of `name` (version 1 for a new name).  The value goes in
   * this request's body and nowhere else: it is not kept, and no answer holds it.
   */
  async set(name: string, value: string): Promise<boolean> {
    this.setError = null;
    this.stored = null;
    let version = 0;
    const ok = await this.act(
      async () => {
        version = (await requestAPI<ISecret>(path(name), { method: 'PUT', body: JSON.stringify({ value }) })).version;
      },
      message => (this.setError = message)
    );
    if (ok) {
      this.stored = { name, version };
      localChanges.emit('secrets');
      this.emit();
    }
    return ok;
  }

  /** The Set form's own refusal (a field left empty), shown as the server's are. */
  refuse(message: string): void {
    this.setError = message;
    this.stored = null;
    this.emit();
  }

  remove(name: string): Promise<boolean> {
    return this.change(name, () => requestAPI(path(name), { method: 'DELETE' }));
  }

  recover(name: string): Promise<boolean> {
    return this.change(name, () => requestAPI(`${path(name)}/recover`, { method: 'POST', body: '{}' }));
  }

  purge(name: string): Promise<boolean> {
    return this.change(name, () => requestAPI(`${path(name)}${query({ purge: 'true' })}`, { method: 'DELETE' }));
  }

  private async change(name: string, work: () => Promise<unknown>): Promise<boolean> {
    delete this.rowErrors[name];
    this.stored = null;
    const ok = await this.act(work, message => (this.rowErrors[name] = message));
    if (ok) {
      localChanges.emit('secrets');
    }
    return ok;
  }
}
