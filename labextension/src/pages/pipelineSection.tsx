/**
 * A pipeline run's section of its run page (the "Pipeline" tab): its graph with each step's live
 * state and why it ran or was reused.  The view loads on first use (its own chunk), so
 * JupyterLab's start does not pay for it.
 */

import * as React from 'react';

import { IPageContext } from './page';

const PipelineRunView = React.lazy(() => import('./pipeline/view'));

export function PipelineSection(props: { runId: string; context: IPageContext }): JSX.Element {
  return (
    <React.Suspense fallback={<div className="mlws-Muted">Loading the pipeline…</div>}>
      <PipelineRunView runId={props.runId} context={props.context} />
    </React.Suspense>
  );
}
