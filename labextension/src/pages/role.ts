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
  try {
    return (await requestAPI<IWorkspaceInfo>('workspace')).you.role;
  } catch {
    return null;
  }
}
