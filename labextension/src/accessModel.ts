/**
 * State of the "Access" tab, apart from any view: who has which workspace role, your own, and
 * (for owners) granting, changing and revoking roles; users' API tokens as the server lets you
 * see them (an owner: everyone's; anyone else: their own), revoking one (an owner: anyone's; a
 * contributor: their own) and making one, whose value is kept here only until it is dismissed.
 * Refusals are kept verbatim.
 */

import { copyText } from './clipboard';
import { ActingModel } from './fetching';
import { errorMessage, requestAPI } from './request';
import { canChange } from './pages/role';
import { IAccess, INewUserToken, IRoleAssignment, IUserToken, Role } from './tokens';

/** The lifetimes the form offers for a new token (the server takes 1 hour to 366 days). */
export const TOKEN_LIFETIMES = [
  { value: '7d', label: '7 days' },
  { value: '30d', label: '30 days' },
  { value: '90d', label: '90 days' },
  { value: '366d', label: '366 days' }
];

export class AccessModel extends ActingModel {
  assignments: IRoleAssignment[] = [];
  you: IAccess['you'] | null = null;
  rolesEnforced = false;
  /** Users' API tokens (newest first): everyone's for an owner, else your own; never a value. */
  tokens: IUserToken[] = [];
  /** Why the tokens could not be listed, verbatim (the roles may still show). */
  tokensError: string | null = null;
  /** A token just made: shown once, until `dismissToken` (the server never shows it again). */
  newToken: INewUserToken | null = null;
  /** The last refusal of a token's revocation or making, verbatim. */
  tokenActionError: string | null = null;
  /** Whether the new token was copied (the button's feedback). */
  copied = false;

  /** Whether you may change roles: only owners may. */
  get canManage(): boolean {
    return this.you?.role === 'owner';
  }

  /** Whether you may make tokens: an owner for anyone with a role, a contributor for themselves. */
  get canMakeTokens(): boolean {
    return canChange(this.you?.role ?? null);
  }

  /** The users a new token may be for: anyone with a role (an owner), else only you. */
  get tokenUsers(): string[] {
    if (this.canManage) {
      return this.assignments.map(a => a.user);
    }
    return this.you ? [this.you.user] : [];
  }

  /** Whether you may revoke this token: an owner anyone's, a contributor their own (still active). */
  canRevoke(token: IUserToken): boolean {
    if (token.state !== 'active' || !this.you) {
      return false;
    }
    return this.canManage || (token.user === this.you.user && canChange(this.you.role));
  }

  async refresh(): Promise<void> {
    await this.fetching(async () => {
      const [reply] = await Promise.all([requestAPI<IAccess>('access'), this.loadTokens()]);
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

  /** Revoke a user's API token now: requests with it are refused from then on. */
  revokeToken(id: string): Promise<boolean> {
    return this.actOnTokens(() => requestAPI(`tokens/${encodeURIComponent(id)}`, { method: 'DELETE' }));
  }

  /** Make a token for `user`: its value is kept in `newToken` until dismissed. */
  async makeToken(user: string, expires: string, note: string): Promise<boolean> {
    this.dismissToken();
    return this.actOnTokens(async () => {
      this.newToken = await requestAPI<INewUserToken>('tokens', {
        method: 'POST',
        body: JSON.stringify({ user, expires, note })
      });
    });
  }

  async copyToken(): Promise<void> {
    if (this.newToken) {
      await copyText(this.newToken.token);
      this.copied = true;
      this.emit();
    }
  }

  /** Forget the new token's value (it cannot be shown again). */
  dismissToken(): void {
    this.newToken = null;
    this.copied = false;
    this.emit();
  }

  private actOnTokens(work: () => Promise<unknown>): Promise<boolean> {
    this.tokenActionError = null;
    return this.act(work, message => (this.tokenActionError = message));
  }

  private async loadTokens(): Promise<void> {
    try {
      this.tokens = (await requestAPI<{ tokens: IUserToken[] }>('tokens')).tokens;
      this.tokensError = null;
    } catch (error) {
      this.tokens = [];
      this.tokensError = errorMessage(error);
    }
  }
}
