/**
 * State of the sidebar, apart from any view: the runs table (query, sort, pages), the open
 * run, and the models.  Each model fetches through `requestAPI` and emits `changed`.
 */

import { ISignal, Signal } from '@lumino/signaling';

import { AccessModel } from './accessModel';
import { EndpointsModel } from './endpointsModel';
import { FetchingModel } from './fetching';
import { IShownLog, mergeLogPart } from './logTail';
import { errorMessage, query, requestAPI } from './request';
import {
  CHART_MAX_POINTS,
  ENDPOINT_HEALTH_SCHEMA,
  IExperiment,
  ILogs,
  IMetricHistory,
  IModelVersion,
  IRun,
  IRunFile,
  IRunPage,
  IEnvironment,
  ISort,
  LIVE_REFRESH_MS,
  LOG_TAIL_BYTES,
  PAGE_SIZE,
  RUN_LOGS_SCHEMA,
  RUN_METRICS_SCHEMA,
  RUN_STATUS_SCHEMA
} from './tokens';

/** The runs table: experiment, filter, sort and server-side pages (`page_token`). */
export class RunsModel extends FetchingModel {
  /** Runs ticked for comparison (kept across pages and searches). */
  readonly selected = new Set<string>();

  toggle(runId: string): void {
    if (!this.selected.delete(runId)) {
      this.selected.add(runId);
    }
    this.emit();
  }

  experiments: IExperiment[] = [];
  experiment = '';
  filter = '';
  sort: ISort = { key: 'start_time', descending: true };
  runs: IRun[] = [];
  /** Tokens of the pages before the current one (the first page has none). */
  private _tokens: Array<string | null> = [];
  private _token: string | null = null;
  private _next: string | null = null;

  get pageNumber(): number {
    return this._tokens.length + 1;
  }

  get hasNext(): boolean {
    return this._next !== null;
  }

  get hasPrevious(): boolean {
    return this._tokens.length > 0;
  }

  /** Metric names among the shown runs: the table's extra columns. */
  get metricKeys(): string[] {
    const keys = new Set<string>();
    for (const run of this.runs) {
      Object.keys(run.metrics || {}).forEach(key => keys.add(key));
    }
    return [...keys].sort().slice(0, 4);
  }

  async refresh(): Promise<void> {
    await Promise.all([this.loadExperiments(), this.loadPage(this._token)]);
  }

  async loadExperiments(): Promise<void> {
    try {
      const reply = await requestAPI<{ experiments: IExperiment[] }>('experiments');
      this.experiments = reply.experiments;
      this.emit();
    } catch {
      // the runs request reports the same error where the user looks
    }
  }

  /** A new query (experiment, filter or sort): back to the first page. */
  async search(change: Partial<Pick<RunsModel, 'experiment' | 'filter' | 'sort'>>): Promise<void> {
    Object.assign(this, change);
    this._tokens = [];
    await this.loadPage(null);
  }

  /** Sort by a column; the same column again flips the direction. */
  async sortBy(key: string): Promise<void> {
    const descending = this.sort.key === key ? !this.sort.descending : true;
    await this.search({ sort: { key, descending } });
  }

  async nextPage(): Promise<void> {
    if (this._next !== null) {
      const previous = this._token;
      if (await this.loadPage(this._next)) {
        this._tokens.push(previous);
        this.emit();
      }
    }
  }

  async previousPage(): Promise<void> {
    if (this._tokens.length > 0) {
      const token = this._tokens[this._tokens.length - 1];
      if (await this.loadPage(token)) {
        this._tokens.pop();
        this.emit();
      }
    }
  }

  private async loadPage(token: string | null): Promise<boolean> {
    const params = query({
      filter: this.filter.trim(),
      experiment: this.experiment,
      order_by: `${this.sort.key} ${this.sort.descending ? 'DESC' : 'ASC'}`,
      max_results: PAGE_SIZE,
      page_token: token
    });
    const ok = await this.fetching(async () => {
      const ticket = this.ticket;
      const page = await requestAPI<IRunPage>(`runs${params}`);
      if (!this.stale(ticket)) {
        this.runs = page.runs;
        this._token = token;
        this._next = page.next_page_token;
      }
    });
    if (!ok) {
      this.runs = [];
      this._next = null;
    }
    return ok;
  }
}

/** One run: its record, the histories of the metrics its chart shows, a logs tail and its files. */
export class RunModel extends FetchingModel {
  constructor(readonly runId: string) {
    super();
  }

  run: IRun | null = null;
  files: IRunFile[] = [];
  /** The end of each log: at most `LOG_TAIL_BYTES` of it, and the log's size. */
  logs: Record<string, IShownLog> = {};
  /** The metrics the chart overlays (the first metric at first). */
  shown: string[] = [];
  histories: IMetricHistory[] = [];
  historyError: string | null = null;

  async refresh(): Promise<void> {
    await this.fetching(async () => {
      const id = encodeURIComponent(this.runId);
      const [run, files, logs] = await Promise.all([
        requestAPI<IRun>(`runs/${id}`),
        requestAPI<{ files: IRunFile[] }>(`runs/${id}/files`),
        requestAPI<ILogs>(`runs/${id}/logs${query({ tail_bytes: LOG_TAIL_BYTES })}`)
      ]);
      this.run = run;
      this.files = files.files;
      // merged into what is shown (a tail fetched meanwhile may already be further on)
      for (const [name, part] of Object.entries(logs.logs)) {
        this.logs[name] = mergeLogPart(this.logs[name], part, LOG_TAIL_BYTES);
      }
      const keys = Object.keys(run.metrics || {}).sort();
      this.shown = this.shown.filter(key => keys.includes(key));
      if (this.shown.length === 0 && keys.length > 0 && !this._chosen) {
        this.shown = [keys[0]];
      }
    });
    await this.loadHistories();
  }

  /** Show or hide a metric on the chart. */
  async toggleMetric(key: string): Promise<void> {
    this._chosen = true;
    this.shown = this.shown.includes(key) ? this.shown.filter(k => k !== key) : [...this.shown, key];
    this.emit();
    await this.loadHistories();
  }

  /** Fetch the shown metrics' histories, each downsampled by the server to `CHART_MAX_POINTS`. */
  async loadHistories(): Promise<void> {
    const keys = [...this.shown];
    const ticket = ++this._historyTicket;
    try {
      const histories = await Promise.all(
        keys.map(key =>
          requestAPI<IMetricHistory>(
            `runs/${encodeURIComponent(this.runId)}/metrics/${encodeURIComponent(key)}` +
              query({ max_points: CHART_MAX_POINTS })
          )
        )
      );
      if (ticket === this._historyTicket) {
        this.histories = histories;
        this.historyError = null;
      }
    } catch (error) {
      if (ticket === this._historyTicket) {
        this.histories = [];
        this.historyError = errorMessage(error);
      }
    }
    this.emit();
  }

  /**
   * A live tail: fetch only the new bytes of the logs whose size (from a run-logs event) grew
   * past what is shown; a new log's end.
   */
  async followLogs(sizes: Record<string, number>): Promise<void> {
    const id = encodeURIComponent(this.runId);
    const grown = Object.entries(sizes).filter(([name, size]) => size > (this.logs[name]?.size ?? 0));
    try {
      const parts = await Promise.all(
        grown.map(([name]) => {
          const known = this.logs[name];
          const from = known ? { since_bytes: known.size } : { tail_bytes: LOG_TAIL_BYTES };
          return requestAPI<ILogs>(`runs/${id}/logs${query({ name, ...from })}`).then(reply => [name, reply.logs[name]] as const);
        })
      );
      for (const [name, part] of parts) {
        this.logs[name] = mergeLogPart(this.logs[name], part, LOG_TAIL_BYTES);
      }
    } catch {
      await this.refresh(); // a log went away (the run ended and stored it): read it afresh
      return;
    }
    this.emit();
  }

  private _historyTicket = 0;
  /** Whether the user picked the metrics (then none shown stays none). */
  private _chosen = false;

  /** The last `lines` lines of each log. */
  tail(lines = 40): Array<[string, string]> {
    return Object.entries(this.logs).map(([name, part]) => {
      const all = part.text.replace(/\n$/, '').split('\n');
      return [name, all.slice(-lines).join('\n')];
    });
  }
}

/** A registered model as listed: latest version, count and aliases. */
export interface IModelSummary {
  name: string;
  description?: string;
  latest: number;
  versions: number;
  aliases: Record<string, number>;
}

/** The models tab: every model, and the versions of the one opened. */
export class ModelsModel extends FetchingModel {
  models: IModelSummary[] = [];
  opened: string | null = null;
  versions: IModelVersion[] = [];

  async refresh(): Promise<void> {
    await this.fetching(async () => {
      this.models = (await requestAPI<{ models: IModelSummary[] }>('models')).models;
    });
  }

  async open(name: string | null): Promise<void> {
    this.opened = name;
    this.versions = [];
    if (name === null) {
      this.emit();
      return;
    }
    await this.fetching(async () => {
      const reply = await requestAPI<{ versions?: IModelVersion[] } | IModelVersion[]>(
        `models/${encodeURIComponent(name)}`
      );
      this.versions = Array.isArray(reply) ? reply : reply.versions ?? [];
    });
  }
}

/** Several runs side by side: one metric overlaid, params and environments diffed. */
export class CompareModel extends FetchingModel {
  constructor(readonly runIds: string[]) {
    super();
  }

  runs: IRun[] = [];
  metric = '';
  histories: IMetricHistory[] = [];
  /** Each run's environment.json (notebook runs record one), or null. */
  environments: Array<IEnvironment | null> = [];

  /** Metric keys any of the runs has. */
  get metricKeys(): string[] {
    return [...new Set(this.runs.flatMap(run => Object.keys(run.metrics || {})))].sort();
  }

  async refresh(): Promise<void> {
    await this.fetching(async () => {
      this.runs = await Promise.all(this.runIds.map(id => requestAPI<IRun>(`runs/${encodeURIComponent(id)}`)));
      this.environments = await Promise.all(
        this.runIds.map(id =>
          requestAPI<IEnvironment>(`runs/${encodeURIComponent(id)}/artifacts/environment.json`).catch(() => null)
        )
      );
      if (!this.metricKeys.includes(this.metric)) {
        this.metric = this.metricKeys[0] ?? '';
      }
    });
    await this.showMetric(this.metric);
  }

  async showMetric(key: string): Promise<void> {
    this.metric = key;
    await this.fetching(async () => {
      this.histories = key
        ? await Promise.all(
            this.runs
              .filter(run => key in (run.metrics || {}))
              .map(run =>
                requestAPI<IMetricHistory>(
                  `runs/${encodeURIComponent(run.id)}/metrics/${encodeURIComponent(key)}` +
                    query({ max_points: CHART_MAX_POINTS })
                ).then(history => ({ ...history, key: run.name || run.id }))
              )
          )
        : [];
    });
  }
}

export type Tab = 'runs' | 'models' | 'access';

/** The sidebar's navigation: the tab shown and the run opened, if any. */
export class SidebarModel {
  readonly runs = new RunsModel();
  readonly models = new ModelsModel();
  /** Endpoints, shown in the models tab. */
  readonly endpoints = new EndpointsModel();
  readonly access = new AccessModel();
  tab: Tab = 'runs';
  run: RunModel | null = null;
  /** Opens a notebook of the server's folder (JupyterLab's document manager); null: no link. */
  openNotebook: ((path: string) => void) | null = null;
  compare: CompareModel | null = null;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  showTab(tab: Tab): void {
    this.tab = tab;
    this.run = null;
    this.compare = null;
    this._changed.emit();
    void this.refresh();
  }

  openRun(runId: string | null): void {
    this._logSizes = {};
    this.run = runId === null ? null : new RunModel(runId);
    this.compare = null;
    this._changed.emit();
    void this.run?.refresh();
  }

  /** Compare runs (null: back to the table). */
  openCompare(runIds: string[] | null): void {
    this.compare = runIds === null ? null : new CompareModel(runIds);
    this.run = null;
    this._changed.emit();
    void this.compare?.refresh();
  }

  /** One of the server's live events (Jupyter's events stream): what it concerns is fetched again. */
  onServerEvent(event: { schema_id: string; [key: string]: unknown }): void {
    if (event.schema_id === RUN_STATUS_SCHEMA || event.schema_id === RUN_METRICS_SCHEMA) {
      if (typeof event.run_id === 'string') {
        this.onRunEvent(event.schema_id === RUN_STATUS_SCHEMA ? 'status' : 'metrics', event.run_id);
      }
    } else if (event.schema_id === RUN_LOGS_SCHEMA) {
      const run = this.run;
      if (run && run.runId === event.run_id && event.logs && typeof event.logs === 'object') {
        this._logSizes = { ...this._logSizes, ...(event.logs as Record<string, number>) };
        this._later('logs', () => run.followLogs(this._logSizes));
      }
    } else if (event.schema_id === ENDPOINT_HEALTH_SCHEMA) {
      this.onEndpointEvent();
    }
  }

  /**
   * A live event about a run (its status changed, or it logged points): what shows it is
   * fetched again, at most once a second however many events arrive.
   */
  onRunEvent(kind: 'status' | 'metrics', runId: string): void {
    if (this.run && this.run.runId === runId) {
      const run = this.run;
      this._later('run', () => run.refresh());
    } else if (!this.run && this.tab === 'runs' && kind === 'status') {
      this._later('runs', () => this.runs.refresh());
    }
  }

  /** A live event about an endpoint (health, traffic, requests served): the tab fetches again. */
  onEndpointEvent(): void {
    if (!this.run && !this.compare && this.tab === 'models') {
      this._later('endpoints', () => this.endpoints.refresh());
    }
  }

  private _later(key: string, work: () => Promise<void>): void {
    if (this._timers.has(key)) {
      return;
    }
    this._timers.set(
      key,
      window.setTimeout(() => {
        this._timers.delete(key);
        void work();
      }, LIVE_REFRESH_MS)
    );
  }

  private _timers = new Map<string, number>();
  /** The open run's log sizes, as the latest run-logs events told them. */
  private _logSizes: Record<string, number> = {};

  /** The workspace's name for the header (fetched once; null until then, or if it failed). */
  workspaceName: string | null = null;

  /** Everything shown, fetched again. */
  async refresh(): Promise<void> {
    if (this.workspaceName === null) {
      void requestAPI<{ name: string }>('workspace')
        .then(info => {
          this.workspaceName = info.name;
          this._changed.emit();
        })
        .catch(() => undefined); // the tab's own request shows what is wrong
    }
    if (this.run) {
      await this.run.refresh();
    } else if (this.tab === 'runs') {
      await this.runs.refresh();
    } else if (this.tab === 'access') {
      await this.access.refresh();
    } else {
      await Promise.all([this.models.refresh(), this.endpoints.refresh()]);
    }
  }

  private _changed = new Signal<this, void>(this);
}
