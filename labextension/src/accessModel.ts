/**
 * State of the "Access" tab, apart from any view: who has which workspace role, your own, and
 * (for owners) granting, changing and revoking roles.  Refusals are kept verbatim.
 */

import { FetchingModel } from './fetching';
import { errorMessage, requestAPI } from './request';
import { IAccess, IRoleAssignment, Role } from './tokens';

export class AccessModel extends FetchingModel {
  assignments: IRoleAssignment[] = [];
  you: IAccess['you'] | null = null;
  rolesEnforced = false;
  /** The last grant/revoke refusal (e.g. removing the last owner), verbatim. */
  actionError: string | null = null;
  busy = false;

  /** Whether you may change roles: only owners may. */
  get canManage(): boolean {
    return this.you?.role === 'owner';
  }

  async refresh(): Promise<void> {
    await this.fetching(async () => {
      const reply = await requestAPI<IAccess>('access');
      this.assignments = reply.assignments;
      this.you = reply.you;
      this.rolesEnforced = reply.roles_enforced;
    });
  }

  /** Give `user` a role (a new user, or another role for one who has one). */
  grant(user: string, role: Role): Promise<boolean> {
    return this._act(() =>
      requestAPI(`access/${encodeURIComponent(user)}`, { method: 'PUT', body: JSON.stringify({ role }) })
    );
  }

  /** Take `user`'s role away (the last owner never). */
  revoke(user: string): Promise<boolean> {
    return this._act(() => requestAPI(`access/${encodeURIComponent(user)}`, { method: 'DELETE' }));
  }

  private async _act(work: () => Promise<unknown>): Promise<boolean> {
    this.busy = true;
    this.actionError = null;
    this.emit();
    let ok = true;
    try {
      await work();
    } catch (error) {
      this.actionError = errorMessage(error);
      ok = false;
    }
    this.busy = false;
    await this.refresh();
    return ok;
  }
}
