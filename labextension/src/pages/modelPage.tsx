/** Models at full size (placeholders over the sidebar's models tab: models10 rewrites them). */

import { ReactWidget, UseSignal } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { EndpointsModel } from '../endpointsModel';
import { ModelsModel } from '../model';
import { ModelsList } from '../models';
import { ENDPOINT_HEALTH_SCHEMA } from '../tokens';
import { followEvents } from './live';
import { IPageContext, IPageRequest } from './page';

export function createModelsPage(request: IPageRequest, context: IPageContext): Widget {
  const models = new ModelsModel();
  const endpoints = new EndpointsModel();
  const widget = ReactWidget.create(
    <UseSignal signal={models.changed}>{() => <ModelsList model={models} endpoints={endpoints} />}</UseSignal>
  );
  widget.title.label = 'Models';
  void models.refresh();
  void endpoints.refresh();
  followEvents(widget, context, e => e.schema_id === ENDPOINT_HEALTH_SCHEMA, () => endpoints.refresh());
  return widget;
}

export function createModelPage(request: IPageRequest, context: IPageContext): Widget {
  const widget = createModelsPage(request, context);
  widget.title.label = `Model ${request.id}`;
  return widget;
}
