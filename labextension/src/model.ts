/**
 * State of the pages' views, apart from any view: a run, the models, a comparison.  Each
 * model fetches through `requestAPI` and emits `changed`.
 */

import { FetchingModel } from './fetching';
import { Later } from './later';
import { errorMessage, query, requestAPI } from './request';
import { primaryMetric } from './runColumns';
import {
  CHART_MAX_POINTS,
  ILogs,
  IMetricHistory,
  IModelVersion,
  IRun,
  IRunFile,
  IEnvironment,
  LOG_TAIL_BYTES,
  RUN_LOGS_SCHEMA,
  RUN_METRICS_SCHEMA,
  RUN_STATUS_SCHEMA
} from './tokens';

/** One run: its record, the histories of the metrics its chart shows, a logs tail and its files. */
export class RunModel extends FetchingModel {
  constructor(readonly runId: string) {
    super();
  }

  run: IRun | null = null;
  files: IRunFile[] = [];
  /** The end of each log: at most `LOG_TAIL_BYTES` of it, and the log's size. */
  logs: Record<string, { size: number; text: string }> = {};
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
      this.logs = {};
      for (const [name, part] of Object.entries(logs.logs)) {
        this.logs[name] = { size: part.size, text: part.text };
      }
      const keys = Object.keys(run.metrics || {}).sort();
      this.shown = this.shown.filter(key => keys.includes(key));
      if (this.shown.length === 0 && keys.length > 0 && !this._chosen) {
        this.shown = [primaryMetric(run.experiment, [run]) ?? keys[0]]; // the experiment's, e.g. a loss
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
        const known = this.logs[name];
        // the new bytes continue what is shown, unless the log was replaced meanwhile
        const text = known && part.offset === known.size ? known.text + part.text : part.text;
        this.logs[name] = { size: part.size, text: text.slice(-LOG_TAIL_BYTES) };
      }
    } catch {
      await this.refresh(); // a log went away (the run ended and stored it): read it afresh
      return;
    }
    this.emit();
  }

  /**
   * One of the server's live events: this run's status or points are fetched again (at most
   * once a second however many events arrive), its grown logs tailed (only the new bytes).
   */
  onServerEvent(event: { schema_id: string; [key: string]: unknown }): void {
    if (event.run_id !== this.runId) {
      return;
    }
    if (event.schema_id === RUN_STATUS_SCHEMA || event.schema_id === RUN_METRICS_SCHEMA) {
      this._later.run('run', () => this.refresh());
    } else if (event.schema_id === RUN_LOGS_SCHEMA && event.logs && typeof event.logs === 'object') {
      this._logSizes = { ...this._logSizes, ...(event.logs as Record<string, number>) };
      this._later.run('logs', () => this.followLogs(this._logSizes));
    }
  }

  private _later = new Later();
  /** The log sizes the latest run-logs events told. */
  private _logSizes: Record<string, number> = {};
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
