/** A run at full size (placeholder over the sidebar's run view: the UI issue's run10 rewrites it). */

import { ReactWidget, UseSignal } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { RunModel } from '../model';
import { RunView } from '../run';
import { IPageContext, IPageRequest } from './page';
import { SweepSection } from './sweepSection';

export function createRunPage(request: IPageRequest, context: IPageContext): Widget {
  const model = new RunModel(request.id!);
  const widget = ReactWidget.create(
    <UseSignal signal={model.changed}>
      {() =>
        // TEMPORARY (sweep10, until run10's run page shows it as a "Sweep" tab): a sweep parent
        // shows its sweep section
        model.run?.source_type === 'sweep' ? (
          <div className="mlws-SweepPage">
            <h2 className="mlws-PageTitle">
              Sweep {model.run.name || model.run.id} <span className={`mlws-status-${model.run.status}`}>{model.run.status}</span>
            </h2>
            <SweepSection runId={model.run.id} context={context} />
          </div>
        ) : (
        <RunView
          model={model}
          onBack={() => context.open({ kind: 'runs' })}
          onOpen={id => context.open({ kind: 'run', id })}
          onOpenNotebook={path => context.openNotebook(path)}
        />
        )
      }
    </UseSignal>
  );
  widget.title.label = `Run ${request.id}`;
  model.changed.connect(() => {
    if (model.run) {
      widget.title.label = model.run.name || model.run.id;
    }
  });
  void model.refresh();
  return widget;
}
