/**
 * Ids, command names and the REST API's data types: a leaf module (imports nothing of ours),
 * mirroring the server's JSON under `{base_url}mlws/api/` (see `mlws/api/openapi.json`).
 */

export const PLUGIN_ID = 'jupyter-mlws:sidebar';
export const SIDEBAR_ID = 'mlws-sidebar';

export namespace CommandIDs {
  export const openSidebar = 'mlws:open-sidebar';
  export const refresh = 'mlws:refresh';
  export const submitNotebook = 'mlws:submit-notebook';
  /** Open (or focus) a main-area page: args are an `IPageRequest` (pages/page.ts), plus `label`. */
  export const openPage = 'mlws:open-page';
  /** What the layout restorer runs: `openPage`, unless the page's item is gone. */
  export const restorePage = 'mlws:restore-page';
  /** Compare the ticked runs of the current runs table (else of the sidebar): 2 to 100 of them. */
  export const compareSelected = 'mlws:compare-selected';
}

/** `?mlws=open` in the JupyterLab URL opens the sidebar on load. */
export const OPEN_QUERY_PARAM = 'mlws';
/**
 * Whether a JupyterLab workspace is one `mlws quickstart` opens (`/lab/workspaces/mlws-<8 hex>`,
 * one per mlws workspace, quickstart.py's `lab_workspace`; `mlws` before): the sidebar, the runs
 * table of quickstart's experiment and, below it, the page of its best completed run.
 */
export function isFirstViewWorkspace(name: string): boolean {
  return /^mlws(-[0-9a-f]{8})?$/.test(name);
}
/** The experiment of quickstart's sample runs (quickstart.py's `EXPERIMENT`). */
export const QUICKSTART_EXPERIMENT = 'quickstart';
/** Live events the server extension emits on Jupyter's events stream. */
export const RUN_STATUS_SCHEMA = 'https://jupyter-mlws.org/events/run-status';
export const RUN_METRICS_SCHEMA = 'https://jupyter-mlws.org/events/run-metrics';
/** A running run's live logs grew (each log's size). */
export const RUN_LOGS_SCHEMA = 'https://jupyter-mlws.org/events/run-logs';
/** An endpoint's health, deployments or traffic changed, or it served requests. */
export const ENDPOINT_HEALTH_SCHEMA = 'https://jupyter-mlws.org/events/endpoint-health';
/** A model was registered, got a version or an alias, was edited or deleted (`model`, `change`). */
export const MODEL_CHANGE_SCHEMA = 'https://jupyter-mlws.org/events/model-change';
/** Live events refresh what shows a run at most this often (ms). */
export const LIVE_REFRESH_MS = 1000;

/** Rows per page of the runs table (the server's `max_results`). */
export const PAGE_SIZE = 50;
/** Points of a metric's history the chart asks for (the server downsamples, extremes kept). */
export const CHART_MAX_POINTS = 1000;

export type Scalar = string | number | boolean | null;

export interface IRun {
  id: string;
  name?: string | null;
  experiment: string;
  status: string;
  start_time?: number | string | null;
  end_time?: number | string | null;
  params: Record<string, Scalar>;
  metrics: Record<string, Scalar>;
  /** Points logged per metric (1: a single value). */
  metric_counts?: Record<string, number>;
  tags: Record<string, string>;
  parent_id?: string | null;
  error?: string | null;
  /** GET /runs/{id} only: the source notebook's path in the server's folder, when it is there. */
  notebook?: string | null;
  /** GET /runs/{id} only: the compute target it executes on (local by default). */
  compute?: string;
  [key: string]: unknown;
}

export interface IRunPage {
  runs: IRun[];
  next_page_token: string | null;
}

export interface IExperiment {
  name: string;
  runs: number;
  [key: string]: unknown;
}

/** A run's environment.json (notebook runs): Python, platform and installed packages. */
export interface IEnvironment {
  python?: string;
  platform?: string;
  packages?: string[];
  packages_hash?: string;
  [key: string]: unknown;
}

export interface IMetricHistory {
  key: string;
  total: number;
  downsampled: boolean;
  steps: number[];
  timestamps: number[];
  values: Array<number | string>;
}

export interface ILogPart {
  size: number;
  offset: number;
  text: string;
}

export interface ILogs {
  status: string;
  logs: Record<string, ILogPart>;
}

export interface IRunFile {
  kind: string;
  path: string;
  size?: number;
  [key: string]: unknown;
}

export interface IModelVersion {
  name: string;
  version: number;
  aliases?: string[];
  run_id?: string | null;
  flavor?: string;
  created_at?: number;
  [key: string]: unknown;
}

/** Workspace roles, from most to least allowed. */
export const ROLES = ['owner', 'contributor', 'reader'] as const;
export type Role = (typeof ROLES)[number];

export interface IRoleAssignment {
  user: string;
  role: Role;
  granted_by: string;
  granted_at: number | null;
}

/** GET mlws/api/access */
export interface IAccess {
  you: { user: string; display_name?: string; role: Role | null };
  roles_enforced: boolean;
  assignments: IRoleAssignment[];
}

/** A user's API token as `GET tokens` lists it (times in ms): never the token itself. */
export interface IUserToken {
  id: string;
  user: string;
  note: string;
  created_by: string;
  created_at: number;
  expires_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
  revoked_by: string | null;
  state: 'active' | 'expired' | 'revoked';
}

/** `POST tokens`: the new token's entry and, in this answer only, the token. */
export interface INewUserToken extends IUserToken {
  token: string;
}

/** A sort of the runs table: a column's `order_by` key and its direction. */
export interface ISort {
  key: string;
  descending: boolean;
}

export interface IEndpointDeployment {
  name: string;
  traffic: number;
  state: string;
  error?: string | null;
  models: string[];
  /** The scoring script's path in the workspace folder (its file name when it was outside). */
  entry_script?: string;
  /** A request to start a test from (the script's input_example, else from its input_schema), or null. */
  input_example?: unknown;
}

/** An endpoint as `GET mlws/api/endpoints/{name}` shows it (never its keys). */
export interface IEndpoint {
  name: string;
  state: 'creating' | 'healthy' | 'failed' | 'stopped' | string;
  error?: string | null;
  url?: string | null;
  scoring_uri?: string | null;
  workers?: number;
  restarts?: number;
  deployments: IEndpointDeployment[];
  [key: string]: unknown;
}

export interface IEndpointTotals {
  count: number;
  errors: number;
  statuses: Record<string, number>;
  latency_ms: { mean: number | null; p50: number | null; p95: number | null; p99: number | null };
}

export interface IEndpointMetrics {
  endpoint: string;
  since_s: number;
  monitoring: boolean;
  total: IEndpointTotals;
  deployments: Record<string, IEndpointTotals>;
}

/** GET notebook-parameters: a notebook's parameters cell, read by the server without running it. */
export interface INotebookParameters {
  notebook: string;
  has_parameters_cell: boolean;
  kernel: string;
  /** `text`: the default as a field shows it, JSON (1.0 stays 1.0) or an expression's source */
  parameters: Array<{ name: string; value: unknown; type: string; source: string; text: string }>;
}
