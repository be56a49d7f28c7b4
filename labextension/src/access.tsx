/**
 * The "Access" tab: workspace roles (owners grant, change and revoke them here) and users' API
 * tokens (who has which, when each was made, last used and expires; never a token's value, but
 * once, when it is made; revoked here after a confirmation).
 */

import { Dialog, showDialog } from '@jupyterlab/apputils';
import * as React from 'react';

import { AccessModel, TOKEN_LIFETIMES } from './accessModel';
import { formatTime } from './runs';
import { IUserToken, ROLES, Role } from './tokens';

function RoleSelect(props: { value: Role; onChange: (role: Role) => void; label: string; disabled?: boolean }): JSX.Element {
  return (
    <select
      aria-label={props.label}
      value={props.value}
      disabled={props.disabled}
      onChange={e => props.onChange(e.target.value as Role)}
    >
      {ROLES.map(role => (
        <option key={role} value={role}>
          {role}
        </option>
      ))}
    </select>
  );
}

function GrantForm(props: { model: AccessModel }): JSX.Element {
  const { model } = props;
  const [user, setUser] = React.useState('');
  const [role, setRole] = React.useState<Role>('reader');
  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    if (await model.grant(user.trim(), role)) {
      setUser('');
    }
  };
  return (
    <form className="mlws-GrantForm" onSubmit={e => void submit(e)}>
      <input
        className="mlws-GrantUser"
        aria-label="User to grant a role"
        placeholder="user name"
        value={user}
        onChange={e => setUser(e.target.value)}
      />
      <RoleSelect value={role} onChange={setRole} label="Role to grant" />
      <button className="mlws-GrantSubmit" type="submit" disabled={model.busy || !user.trim()}>
        Grant
      </button>
    </form>
  );
}

/** Ask before revoking: a token's requests are refused from then on, for good. */
async function confirmRevoke(model: AccessModel, token: IUserToken): Promise<void> {
  const answer = await showDialog({
    title: `Revoke token ${token.id} of ${token.user}?`,
    body: 'Requests signed with it are refused from now on. This cannot be undone: its user needs a new token.',
    buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Revoke' })],
    defaultButton: 0 // Enter keeps the token
  });
  if (answer.button.accept) {
    await model.revokeToken(token.id);
  }
}

/** Ask before taking a user's role away: they lose the workspace, and their API tokens sign nothing in. */
async function confirmRevokeRole(model: AccessModel, user: string): Promise<void> {
  const answer = await showDialog({
    title: `Revoke ${user}'s role?`,
    body: `${user} can no longer use this workspace, and requests with their API tokens are refused. Granting a role again gives it back.`,
    buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Revoke role' })],
    defaultButton: 0 // Enter keeps the role
  });
  if (answer.button.accept) {
    await model.revoke(user);
  }
}

/** A token's dates: made (by whom, when another user made it), last used, expires or revoked. */
function tokenDates(token: IUserToken): string {
  const made = `made ${formatTime(token.created_at)}${token.created_by && token.created_by !== token.user ? ` by ${token.created_by}` : ''}`;
  const used = token.last_used_at ? `last used ${formatTime(token.last_used_at)}` : 'never used';
  const end =
    token.state === 'revoked'
      ? `revoked ${formatTime(token.revoked_at)}${token.revoked_by ? ` by ${token.revoked_by}` : ''}`
      : `${token.state === 'expired' ? 'expired' : 'expires'} ${formatTime(token.expires_at)}`;
  return [made, used, end].join(' · ');
}

function TokenRow(props: { model: AccessModel; token: IUserToken }): JSX.Element {
  const { model, token } = props;
  return (
    <tr data-token={token.id} data-state={token.state} className={token.state === 'active' ? '' : 'mlws-mod-ended'}>
      <td>
        <span className="mlws-TokenName">
          <code>{token.id}</code>
          {token.note ? ` ${token.note}` : ''}
        </span>
        <div className="mlws-Muted mlws-TokenDates">{tokenDates(token)}</div>
      </td>
      <td className="mlws-TokenUser">{token.user}</td>
      <td>
        {model.canRevoke(token) ? (
          <button className="mlws-RevokeToken" disabled={model.busy} onClick={() => void confirmRevoke(model, token)}>
            Revoke
          </button>
        ) : (
          <span className="mlws-Muted mlws-TokenState">{token.state}</span>
        )}
      </td>
    </tr>
  );
}

/** The value of a token just made, with Copy: shown this once. */
function NewToken(props: { model: AccessModel }): JSX.Element | null {
  const { model } = props;
  const made = model.newToken;
  if (!made) {
    return null;
  }
  return (
    <div className="mlws-NewToken" role="status">
      <div>
        Token {made.id} for <strong>{made.user}</strong>, until {formatTime(made.expires_at)}. Copy it now: it will not be
        shown again.
      </div>
      <div className="mlws-NewTokenValue">
        <input readOnly aria-label="The new token" value={made.token} onFocus={e => e.target.select()} />
        <button className="mlws-CopyToken" onClick={() => void model.copyToken()}>
          {model.copied ? 'Copied' : 'Copy'}
        </button>
        <button className="mlws-DismissToken" onClick={() => model.dismissToken()}>
          Done
        </button>
      </div>
    </div>
  );
}

function TokenForm(props: { model: AccessModel }): JSX.Element {
  const { model } = props;
  const users = model.tokenUsers;
  const [user, setUser] = React.useState('');
  const [expires, setExpires] = React.useState('90d');
  const [note, setNote] = React.useState('');
  const chosen = users.includes(user) ? user : users.includes(model.you?.user ?? '') ? model.you!.user : users[0] ?? '';
  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    if (await model.makeToken(chosen, expires, note.trim())) {
      setNote('');
    }
  };
  return (
    <form className="mlws-TokenForm" onSubmit={e => void submit(e)}>
      {model.canManage ? (
        <select aria-label="User the token is for" className="mlws-TokenFor" value={chosen} onChange={e => setUser(e.target.value)}>
          {users.map(u => (
            <option key={u} value={u}>
              {u}
            </option>
          ))}
        </select>
      ) : null}
      <select aria-label="Token lifetime" className="mlws-TokenExpires" value={expires} onChange={e => setExpires(e.target.value)}>
        {TOKEN_LIFETIMES.map(l => (
          <option key={l.value} value={l.value}>
            {l.label}
          </option>
        ))}
      </select>
      <input className="mlws-TokenNote" aria-label="Note (what the token is for)" placeholder="note, e.g. laptop" value={note} onChange={e => setNote(e.target.value)} />
      <button className="mlws-MakeToken" type="submit" disabled={model.busy || !chosen}>
        New token
      </button>
    </form>
  );
}

function TokensSection(props: { model: AccessModel }): JSX.Element {
  const { model } = props;
  return (
    <section className="mlws-TokensSection" aria-label="API tokens">
      <h3 className="mlws-AccessHeading">API tokens</h3>
      <div className="mlws-Muted mlws-TokensNote">
        {model.canManage ? "Every user's tokens" : 'Your tokens'} for the workspace's API (
        <code>Authorization: token mlws_user_…</code>). A token's value is shown once, when it is made.
      </div>
      {model.tokensError && (
        <div className="mlws-Error mlws-TokensError" role="alert">
          {model.tokensError}
        </div>
      )}
      {model.tokens.length > 0 ? (
        <table className="mlws-Table mlws-Tokens">
          <thead>
            <tr>
              <th>Token</th>
              <th>User</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {model.tokens.map(t => (
              <TokenRow key={t.id} model={model} token={t} />
            ))}
          </tbody>
        </table>
      ) : (
        !model.tokensError && <div className="mlws-Muted mlws-NoTokens">No tokens yet.</div>
      )}
      {model.tokenActionError && (
        <div className="mlws-Error mlws-TokenActionError" role="alert">
          {model.tokenActionError}
        </div>
      )}
      <NewToken model={model} />
      {model.canMakeTokens && <TokenForm model={model} />}
    </section>
  );
}

export function AccessView(props: { model: AccessModel }): JSX.Element {
  const { model } = props;
  const manage = model.canManage;
  return (
    <div className="mlws-Access">
      {model.error && <div className="mlws-Error" role="alert">{model.error}</div>}
      {model.you && (
        <div className="mlws-You">
          You are <strong>{model.you.display_name || model.you.user}</strong>
          {model.you.display_name && model.you.display_name !== model.you.user ? ` (${model.you.user})` : ''}:{' '}
          {model.you.role ?? 'no role'}.
        </div>
      )}
      {!model.rolesEnforced && model.you && (
        <div className="mlws-Muted mlws-RolesNote">
          Roles are not enforced on this server: every signed-in user acts as owner. A team server
          turns them on with c.MlwsApp.enforce_roles = True.
        </div>
      )}
      <table className="mlws-Table mlws-Roles">
        <thead>
          <tr>
            <th>User</th>
            <th>Role</th>
            {manage && <th />}
          </tr>
        </thead>
        <tbody>
          {model.assignments.map(a => (
            <tr key={a.user} data-user={a.user}>
              <td>
                {a.user}
                {/* who granted it and when, under the name: the table fits the sidebar's width */}
                <div className="mlws-Muted mlws-Granted">
                  {[a.granted_by && `by ${a.granted_by}`, a.granted_at && `since ${formatTime(a.granted_at)}`].filter(Boolean).join(' · ')}
                </div>
              </td>
              <td>
                {manage ? (
                  <RoleSelect
                    value={a.role}
                    label={`Role of ${a.user}`}
                    disabled={model.busy}
                    onChange={role => void model.grant(a.user, role)}
                  />
                ) : (
                  a.role
                )}
              </td>
              {manage && (
                <td>
                  <button className="mlws-Revoke" disabled={model.busy} onClick={() => void confirmRevokeRole(model, a.user)}>
                    Revoke
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {model.actionError && (
        <div className="mlws-Error mlws-AccessError" role="alert">
          {model.actionError}
        </div>
      )}
      {manage ? (
        <GrantForm model={model} />
      ) : (
        model.you && <div className="mlws-Muted">Only an owner can change roles.</div>
      )}
      {model.you && <TokensSection model={model} />}
    </div>
  );
}
