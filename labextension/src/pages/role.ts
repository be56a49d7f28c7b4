/**
 * Your workspace role, as the server sees it (`GET workspace`): pages enable their controls
 * for contributors and owners only.  The server decides in the end: a refusal it sends anyway
 * (a role changed meanwhile) is shown verbatim where the control is.
 */

import { requestAPI } from '../request';
import { Role } from '../tokens';

interface IWorkspaceInfo {
  you: { user: string; role: Role | null };
  roles_enforced: boolean;
}

/** Whether a role may change the workspace (contributors and owners). */
export function canChange(role: Role | null): boolean {
  return role === 'owner' || role === 'contributor';
}

/** Your role in the workspace, or null when you have none (or the server could not say). */
export async function fetchRole(): Promise<Role | null> {
  return (await fetchYou()).role;
}

/** Who you are (your user name: what a record's `owner` names) and your role; nulls when the server could not say. */
export async function fetchYou(): Promise<{ user: string | null; role: Role | null }> {
  try {
    return (await requestAPI<IWorkspaceInfo>('workspace')).you;
  } catch {
    return { user: null, role: null };
  }
}
