/**
 * State of the "Access" tab, apart from any view: who has which workspace role, your own, and
 * (for owners) granting, changing and revoking roles.  Refusals are kept verbatim.
 */

import { ActingModel } from './fetching';
import { requestAPI } from './request';
import { IAccess, IRoleAssignment, Role } from './tokens';

export class AccessModel extends ActingModel {
  assignments: IRoleAssignment[] = [];
  you: IAccess['you'] | null = null;
  rolesEnforced = false;

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
    return this.act(() =>
      requestAPI(`access/${encodeURIComponent(user)}`, { method: 'PUT', body: JSON.stringify({ role }) })
    );
  }

  /** Take `user`'s role away (the last owner never). */
  revoke(user: string): Promise<boolean> {
    return this.act(() => requestAPI(`access/${encodeURIComponent(user)}`, { method: 'DELETE' }));
  }

}
