/**
 * A sweep parent's section of its run page (the "Sweep" tab): the grid, the children, the best
 * one, parallel coordinates and a scatter.  The view loads on first use (its own chunk), so
 * JupyterLab's start does not pay for it.
 */

import * as React from 'react';

import { IPageContext } from './page';

const SweepView = React.lazy(() => import('./sweepView'));

export function SweepSection(props: { runId: string; context: IPageContext }): JSX.Element {
  return (
    <React.Suspense fallback={<div className="mlws-Muted">Loading the sweep…</div>}>
      <SweepView runId={props.runId} context={props.context} />
    </React.Suspense>
  );
}
