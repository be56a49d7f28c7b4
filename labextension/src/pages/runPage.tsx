/** A run at full size (placeholder over the sidebar's run view: the UI issue's run10 rewrites it). */

import { ReactWidget, UseSignal } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { RunModel } from '../model';
import { RunView } from '../run';
import { IPageContext, IPageRequest } from './page';

export function createRunPage(request: IPageRequest, context: IPageContext): Widget {
  const model = new RunModel(request.id!);
  const widget = ReactWidget.create(
    <UseSignal signal={model.changed}>
      {() => (
        <RunView
          model={model}
          onBack={() => context.open({ kind: 'runs' })}
          onOpen={id => context.open({ kind: 'run', id })}
          onOpenNotebook={path => context.openNotebook(path)}
        />
      )}
    </UseSignal>
  );
  widget.title.label = `Run ${request.id}`;
  model.changed.connect(() => {
    if (model.run) {
      widget.title.label = model.run.name || model.run.id;
    }
  });
  void model.refresh();
  const follow = (_: unknown, event: { schema_id: string }) => model.onServerEvent(event);
  context.events.connect(follow); // live status, points and logs (shell10: the sidebar did this)
  widget.disposed.connect(() => context.events.disconnect(follow));
  return widget;
}
