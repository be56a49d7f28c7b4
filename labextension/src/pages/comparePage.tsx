/**
 * The compare page (2 to 100 runs, `request.ids`).  Its view loads on first use (a chunk of its
 * own), so JupyterLab's start does not pay for it; the runs' live events reload it.
 */

import { ReactWidget } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { ComparisonModel } from './compareModel';
import { followRuns } from './follow';
import { IPageContext, IPageRequest } from './page';

const CompareView = React.lazy(() => import('./compareView'));

export function createComparePage(request: IPageRequest, context: IPageContext): Widget {
  const model = new ComparisonModel(request.ids ?? []);
  const widget = ReactWidget.create(
    <React.Suspense fallback={<div className="mlws-Muted">Loading…</div>}>
      <CompareView model={model} context={context} />
    </React.Suspense>
  );
  widget.addClass('mlws-ComparePageWidget');
  widget.title.label = `Compare ${model.runIds.length} runs`;
  const stop = followRuns(context.events, runId => model.runIds.includes(runId), () => void model.refresh());
  widget.disposed.connect(stop);
  void model.refresh();
  return widget;
}
