/**
 * The compare page (2 to 100 runs, `request.ids`).  Its view loads on first use (a chunk of its
 * own), so JupyterLab's start does not pay for it.
 */

import { ReactWidget } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { IPageContext, IPageRequest } from './page';

const CompareView = React.lazy(() => import('./compareView'));

export function createComparePage(request: IPageRequest, context: IPageContext): Widget {
  const ids = [...new Set(request.ids ?? [])];
  // the tab names the runs once they are loaded (two comparisons are told apart)
  const retitle = (label: string, caption: string) => {
    widget.title.label = label;
    widget.title.caption = caption;
  };
  const widget = ReactWidget.create(
    <React.Suspense fallback={<div className="mlws-Muted">Loading…</div>}>
      <CompareView ids={ids} context={context} onTitle={retitle} />
    </React.Suspense>
  );
  widget.title.label = `Compare ${ids.length} runs`;
  return widget;
}
