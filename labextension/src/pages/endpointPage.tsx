/** Endpoints at full size (placeholders over the sidebar's endpoints panel: models10 rewrites them). */

import { ReactWidget } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { EndpointsPanel } from '../endpoints';
import { EndpointsModel } from '../endpointsModel';
import { ENDPOINT_HEALTH_SCHEMA } from '../tokens';
import { followEvents } from './live';
import { IPageContext, IPageRequest } from './page';

export function createEndpointsPage(request: IPageRequest, context: IPageContext): Widget {
  const model = new EndpointsModel();
  const widget = ReactWidget.create(<EndpointsPanel model={model} />);
  widget.title.label = 'Endpoints';
  void model.refresh();
  followEvents(widget, context, e => e.schema_id === ENDPOINT_HEALTH_SCHEMA, () => model.refresh());
  return widget;
}

export function createEndpointPage(request: IPageRequest, context: IPageContext): Widget {
  const widget = createEndpointsPage(request, context);
  widget.title.label = `Endpoint ${request.id}`;
  return widget;
}
