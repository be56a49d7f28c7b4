/**
 * Main-area pages: what a page is asked to show (`IPageRequest`), what it may use
 * (`IPageContext`), and the one id a request maps to (so opening the same item again focuses
 * its tab instead of opening a second one).  A leaf of the pages: imports no page.
 */

import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Event } from '@jupyterlab/services';
import { ISignal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

/** Every kind of main-area page. */
export type PageKind =
  | 'runs'
  | 'run'
  | 'compare'
  | 'models'
  | 'model'
  | 'endpoints'
  | 'endpoint'
  | 'compute'
  | 'secrets'
  | 'pipelines'
  | 'schedules'
  | 'data'
  | 'dataset';

/**
 * What to open.  `id`: a run id (run), a model name (model), an endpoint name (endpoint), a
 * compute target's name (compute: that target's page; without: every target) or a pipeline's
 * name (pipelines: its runs, the latest drawn; without: every pipeline) or a dataset's name
 * (dataset; `data`: the datastores and datasets);
 * `ids`: the run ids of a comparison (2 to 100); `experiment`: the runs table's experiment;
 * `tab`: the section a run's page opens on (e.g. 'charts'; not part of the page's key);
 * `version`: the version a dataset's or a model's page shows (not part of the key: opening
 * another version of an open page shows it there, see `IReopenable`).
 * JSON-serialisable: the layout restorer stores it and reopens the page on reload.
 */
export interface IPageRequest {
  kind: PageKind;
  id?: string;
  ids?: string[];
  experiment?: string;
  tab?: string;
  version?: number;
}

/** What a page may use besides the REST API (`requestAPI`). */
export interface IPageContext {
  /** Open a page, or focus it when it is already open. */
  open(request: IPageRequest): void;
  /** Open a notebook of the server's folder (a no-op outside JupyterLab). */
  openNotebook(path: string): void;
  /** The server's live events (run status, metrics, logs, endpoint health): nothing polls. */
  readonly events: ISignal<unknown, Event.Emission>;
  /** JupyterLab's renderers (e.g. Vega-Lite), or null on the workspace's own page. */
  readonly rendermime: IRenderMimeRegistry | null;
}

/** Builds a page's content widget; it sets its own `title.label` (and updates it as it loads). */
export type PageFactory = (request: IPageRequest, context: IPageContext) => Widget;

/**
 * A page that shows what a request for its item asks when it is opened again while open (a
 * dataset's page asked for another version selects it), rather than only being focused.
 */
export interface IReopenable {
  reopen(request: IPageRequest): void;
}

/** Tell an open page (when it is an `IReopenable`) what it was asked for again. */
export function reopen(page: Widget, request: IPageRequest): void {
  const target = page as Widget & Partial<IReopenable>;
  if (typeof target.reopen === 'function') {
    target.reopen(request);
  }
}

/** The one key of the page a request opens: the same item always gives the same key. */
export function pageKey(request: IPageRequest): string {
  const key = request.ids ? [...request.ids].sort().join(',') : request.id ?? request.experiment ?? '';
  return `${request.kind}:${key}`;
}

/**
 * Whether the page showing `shown` is the one `request` asks for: the same key, or any runs table
 * for a runs table of no experiment in particular (the palette's "Runs table": the one open).
 */
export function sameItem(shown: IPageRequest, request: IPageRequest): boolean {
  if (request.kind === 'runs' && request.experiment === undefined) {
    return shown.kind === 'runs';
  }
  return pageKey(shown) === pageKey(request);
}

/** The request a command's args carry, or null when they are not one. */
export function asPageRequest(args: any): IPageRequest | null {
  const kinds: PageKind[] = [
    'runs',
    'run',
    'compare',
    'models',
    'model',
    'endpoints',
    'endpoint',
    'compute',
    'secrets',
    'pipelines',
    'schedules',
    'data',
    'dataset'
  ];
  if (!args || !kinds.includes(args.kind)) {
    return null;
  }
  const request: IPageRequest = { kind: args.kind };
  if (typeof args.id === 'string') {
    request.id = args.id;
  }
  if (Array.isArray(args.ids)) {
    request.ids = args.ids.filter((id: unknown) => typeof id === 'string');
  }
  if (typeof args.experiment === 'string') {
    request.experiment = args.experiment;
  }
  if (typeof args.tab === 'string') {
    request.tab = args.tab;
  }
  if (Number.isInteger(args.version) && args.version > 0) {
    request.version = args.version;
  }
  return request;
}
