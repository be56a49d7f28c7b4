/** The one place that maps a page kind to the module that builds it. */

import { Widget } from '@lumino/widgets';

import { createComparePage } from './comparePage';
import { lazyPage } from './lazyPage';
import { IPageContext, IPageRequest, PageFactory, PageKind } from './page';
import { createRunPage } from './runPage';
import { createRunsPage } from './runsPage';

const FACTORIES: Record<PageKind, PageFactory> = {
  runs: createRunsPage,
  run: createRunPage,
  compare: createComparePage,
  // models and endpoints: their modules load when first opened (chunks of their own)
  models: lazyPage(() => import('./modelPage').then(m => m.createModelsPage), () => 'Models'),
  model: lazyPage(() => import('./modelPage').then(m => m.createModelPage), r => `Model ${r.id ?? ''}`),
  endpoints: lazyPage(() => import('./endpointPage').then(m => m.createEndpointsPage), () => 'Endpoints'),
  endpoint: lazyPage(() => import('./endpointPage').then(m => m.createEndpointPage), r => `Endpoint ${r.id ?? ''}`),
  // compute and secrets: one module for both (loaded when either is first opened)
  compute: lazyPage(() => import('./computePages').then(m => m.createComputePage), r => (r.id ? `Compute ${r.id}` : 'Compute')),
  secrets: lazyPage(() => import('./computePages').then(m => m.createSecretsPage), () => 'Secrets'),
  pipelines: lazyPage(() => import('./pipelinesPage').then(m => m.createPipelinesPage), r => (r.id ? `Pipeline ${r.id}` : 'Pipelines')),
  schedules: lazyPage(() => import('./schedules/page').then(m => m.createSchedulesPage), () => 'Schedules'),
  // the Data page and a dataset's page: one module for both
  data: lazyPage(() => import('./data/pages').then(m => m.createDataPage), () => 'Data'),
  dataset: lazyPage(() => import('./data/pages').then(m => m.createDatasetPage), r => `Dataset ${r.id ?? ''}`)
};

export function createPage(request: IPageRequest, context: IPageContext): Widget {
  return FACTORIES[request.kind](request, context);
}
