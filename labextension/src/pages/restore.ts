/**
 * Whether the item a restored tab showed is still there: a run, model or endpoint deleted since
 * (or the tab came from another workspace's layout) is not reopened as an error tab.
 */

import { ServerConnection } from '@jupyterlab/services';

import { query, requestAPI } from '../request';
import { IExperiment, IRunPage } from '../tokens';
import { IPageRequest } from './page';

const quoted = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** Whether a request failed because what it names does not exist (a 404). */
function notFound(error: unknown): boolean {
  return error instanceof ServerConnection.ResponseError && error.response.status === 404;
}

/**
 * False when the page's item is gone (the server answers 404, an experiment is not listed, none
 * of the compared runs is there); true otherwise, also when the server cannot say (the page then shows
 * the server's error as it words it).
 */
export async function stillThere(request: IPageRequest): Promise<boolean> {
  const item = (path: string) => requestAPI(path).then(() => true);
  try {
    switch (request.kind) {
      case 'run':
        return request.id ? await item(`runs/${encodeURIComponent(request.id)}`) : false;
      case 'model':
        return request.id ? await item(`models/${encodeURIComponent(request.id)}`) : false;
      case 'endpoint':
        return request.id ? await item(`endpoints/${encodeURIComponent(request.id)}`) : false;
      case 'dataset':
        return request.id ? await item(`datasets/${encodeURIComponent(request.id)}/versions?limit=1`) : false;
      case 'pipelines':
        return request.id ? await item(`pipelines/${encodeURIComponent(request.id)}/runs?limit=1`) : true;
      case 'compare': {
        const ids = request.ids ?? [];
        const page = await requestAPI<IRunPage>(
          `runs${query({ filter: `id IN (${ids.map(quoted).join(', ')})`, max_results: ids.length })}`
        );
        return page.runs.length > 0; // some gone: the page names them beside the others
      }
      case 'runs': {
        if (!request.experiment) {
          return true;
        }
        const { experiments } = await requestAPI<{ experiments: IExperiment[] }>('experiments');
        return experiments.some(experiment => experiment.name === request.experiment);
      }
      default:
        return true;
    }
  } catch (error) {
    return !notFound(error);
  }
}
