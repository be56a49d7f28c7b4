/** Compare runs at full size (placeholder over the sidebar's compare view: sweep10 rewrites it). */

import { ReactWidget, UseSignal } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { CompareView } from '../compare';
import { CompareModel } from '../model';
import { IPageContext, IPageRequest } from './page';

export function createComparePage(request: IPageRequest, context: IPageContext): Widget {
  const model = new CompareModel(request.ids ?? []);
  const widget = ReactWidget.create(
    <UseSignal signal={model.changed}>
      {() => <CompareView model={model} onBack={() => context.open({ kind: 'runs' })} />}
    </UseSignal>
  );
  widget.title.label = `Compare ${model.runIds.length} runs`;
  void model.refresh();
  return widget;
}
