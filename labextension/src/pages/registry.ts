/** The one place that maps a page kind to the module that builds it. */

import { Widget } from '@lumino/widgets';

import { createComparePage } from './comparePage';
import { createEndpointPage, createEndpointsPage } from './endpointPage';
import { createModelPage, createModelsPage } from './modelPage';
import { IPageContext, IPageRequest, PageFactory, PageKind } from './page';
import { createRunPage } from './runPage';
import { createRunsPage } from './runsPage';

const FACTORIES: Record<PageKind, PageFactory> = {
  runs: createRunsPage,
  run: createRunPage,
  compare: createComparePage,
  models: createModelsPage,
  model: createModelPage,
  endpoints: createEndpointsPage,
  endpoint: createEndpointPage
};

export function createPage(request: IPageRequest, context: IPageContext): Widget {
  return FACTORIES[request.kind](request, context);
}
