/** The runs table at full size (placeholder over the sidebar's table: the UI issue's shell10 rewrites it). */

import { ReactWidget, UseSignal } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { RunsModel } from '../model';
import { RunsTable } from '../runs';
import { IPageContext, IPageRequest } from './page';

export function createRunsPage(request: IPageRequest, context: IPageContext): Widget {
  const model = new RunsModel();
  const widget = ReactWidget.create(
    <UseSignal signal={model.changed}>
      {() => (
        <RunsTable
          model={model}
          onOpen={run => context.open({ kind: 'run', id: run.id })}
          onCompare={ids => context.open({ kind: 'compare', ids })}
        />
      )}
    </UseSignal>
  );
  widget.title.label = request.experiment ? `Runs · ${request.experiment}` : 'Runs';
  void (request.experiment ? model.search({ experiment: request.experiment }) : model.refresh());
  return widget;
}
