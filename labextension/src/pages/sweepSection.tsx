/** A sweep parent's section on its run page (placeholder: its children, each opening its page). */

import * as React from 'react';

import { requestAPI } from '../request';
import { IPageContext } from './page';

export function SweepSection(props: { runId: string; context: IPageContext }): JSX.Element {
  const [children, setChildren] = React.useState<Array<{ id: string; name?: string | null }>>([]);
  React.useEffect(() => {
    void requestAPI<{ children: Array<{ id: string; name?: string | null }> }>(`runs/${encodeURIComponent(props.runId)}/lineage`)
      .then(reply => setChildren(reply.children))
      .catch(() => setChildren([]));
  }, [props.runId]);
  return (
    <ul className="mlws-SweepChildren">
      {children.map(child => (
        <li key={child.id}>
          <button className="mlws-Link" onClick={() => props.context.open({ kind: 'run', id: child.id })}>
            {child.name || child.id}
          </button>
        </li>
      ))}
    </ul>
  );
}
