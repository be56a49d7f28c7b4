/** The "Access" tab: workspace roles; owners grant, change and revoke them here. */

import * as React from 'react';

import { AccessModel } from './accessModel';
import { formatTime } from './runs';
import { ROLES, Role } from './tokens';

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
                  <button className="mlws-Revoke" disabled={model.busy} onClick={() => void model.revoke(a.user)}>
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
    </div>
  );
}
