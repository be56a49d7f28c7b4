/**
 * The state of a run's page: its record, lineage and the reader's role, the tab shown, and
 * what the server's live events say changed (counters the sections reload on).  Events for this
 * run are debounced (at most one reload per kind and second); nothing polls.
 */

import { Event } from '@jupyterlab/services';

import { FetchingModel } from '../../fetching';
import { Later } from '../../later';
import { errorMessage, requestAPI } from '../../request';
import {
  IRun,
  RUN_LOGS_SCHEMA,
  RUN_METRICS_SCHEMA,
  RUN_STATUS_SCHEMA,
  Role
} from '../../tokens';
import { fetchAutoML, IAutoMLSearch, isAutoML } from '../automl';
import { canChange, fetchRole } from '../role';
import { LogsModel } from './logsModel';
import { DEFAULT_CHART_SETTINGS, IChartSettings, ILineage } from './types';

/** The page's tabs, in the order shown (Pipeline, Cells and Sweep only when the run has them). */
export const TABS = [
  'pipeline',
  'overview',
  'charts',
  'values',
  'artifacts',
  'logs',
  'cells',
  'snapshot',
  'environment',
  'sweep'
] as const;
export type RunTab = (typeof TABS)[number];

export const TAB_LABELS: Record<RunTab, string> = {
  pipeline: 'Pipeline',
  overview: 'Overview',
  charts: 'Charts',
  values: 'Logged values',
  artifacts: 'Artifacts',
  logs: 'Logs',
  cells: 'Cells',
  snapshot: 'Snapshot',
  environment: 'Environment',
  sweep: 'Sweep'
};

export class RunPageModel extends FetchingModel {
  constructor(readonly runId: string) {
    super();
    this.logs = new LogsModel(runId);
  }

  run: IRun | null = null;
  /** An automated-ML search's summary and leaderboard (null for another run, or until read). */
  automl: IAutoMLSearch | null = null;
  lineage: ILineage | null = null;
  lineageError: string | null = null;
  /** Your role in the workspace (null until known, or for none). */
  role: Role | null = null;

  /** Whether you may edit the run (contributors and owners: the rule of pages/role.ts). */
  get canEdit(): boolean {
    return canChange(this.role);
  }

  tab: RunTab = 'overview';
  /** Bumped when the run logged points (the charts reload). */
  metricsVersion = 0;
  /** Bumped when the run's status or record changed (sections that depend on it reload). */
  statusVersion = 0;
  /** Bumped when a log was stored after the run ended (the Logs tab lists the stored ones again). */
  storedLogsVersion = 0;
  /** The live logs' sizes from the latest run-logs events. */
  logSizes: Record<string, number> = {};
  /** The logs tab's text: followed live once the tab was first shown. */
  readonly logs: LogsModel;

  get id(): string {
    return encodeURIComponent(this.runId);
  }

  get live(): boolean {
    return this.run?.status === 'queued' || this.run?.status === 'running';
  }

  /** A tab's label: an automated-ML search's children are its leaderboard. */
  tabLabel(tab: RunTab): string {
    return tab === 'sweep' && isAutoML(this.run) ? 'Leaderboard' : TAB_LABELS[tab];
  }

  /** Whether this run is a pipeline run (its children are its steps). */
  get isPipeline(): boolean {
    return this.run?.source_type === 'pipeline';
  }

  /**
   * The tabs this run has: Pipeline for a pipeline run (its graph), Cells for session runs,
   * Sweep for another run with children.
   */
  get tabs(): RunTab[] {
    return TABS.filter(tab => {
      if (tab === 'pipeline') {
        return this.isPipeline;
      }
      if (tab === 'cells') {
        return this.run?.source_type === 'session';
      }
      if (tab === 'sweep') {
        return !this.isPipeline && (this.lineage?.child_count ?? this.lineage?.children.length ?? 0) > 0;
      }
      return true;
    });
  }

  /** The charts' smoothing, x axis, scale and overlays (kept across tabs). */
  chartSettings: IChartSettings = DEFAULT_CHART_SETTINGS;

  setChartSettings(change: Partial<IChartSettings>): void {
    this.chartSettings = { ...this.chartSettings, ...change };
    this.emit();
  }

  show(tab: RunTab): void {
    this.tab = tab;
    this._chosen = true;
    this.emit();
  }

  /** Whether the user picked a tab (else a pipeline run opens on its graph, a sweep parent on its Sweep tab). */
  private _chosen = false;

  /** Until the user picks a tab: a pipeline run's page shows its graph, a sweep parent's its sweep. */
  private pickTab(): void {
    if (this._chosen || !this.run) {
      return;
    }
    if (this.isPipeline) {
      this.tab = 'pipeline';
    } else if (this.tabs.includes('sweep')) {
      this.tab = 'sweep';
    }
  }

  async refresh(): Promise<void> {
    await Promise.all([this.loadRun(), this.loadLineage(), this.loadRole()]);
  }

  /**
   * Fetch the run's record.  Several fetches may be under way (the page's first, a status
   * event's, a metrics event's) and the server may answer them out of order: only the newest
   * one's answer is kept, never an older record over a newer one (a page left "running" after
   * the run ended).
   */
  async loadRun(): Promise<void> {
    const mine = ++this.runAsked;
    await this.fetching(async () => {
      const run = await requestAPI<IRun>(`runs/${this.id}`);
      if (mine === this.runAsked) {
        this.run = run;
        this.pickTab();
      }
    });
    await this.loadAutoML();
  }

  /** An automated-ML search's summary (the budget line, the trials done, the model). */
  async loadAutoML(): Promise<void> {
    if (!isAutoML(this.run)) {
      return;
    }
    const mine = ++this.automlAsked;
    try {
      const search = await fetchAutoML(this.runId);
      if (mine === this.automlAsked) {
        this.automl = search;
        this.emit();
      }
    } catch {
      // the overview shows the run without it; the leaderboard tab says what went wrong
    }
  }

  private automlAsked = 0;

  async loadLineage(): Promise<void> {
    const mine = ++this.lineageAsked;
    try {
      const lineage = await requestAPI<ILineage>(`runs/${this.id}/lineage`);
      if (mine === this.lineageAsked) {
        this.lineage = lineage;
        this.lineageError = null;
        this.pickTab(); // a sweep parent's page is first of all its children
      }
    } catch (error) {
      if (mine === this.lineageAsked) {
        this.lineageError = errorMessage(error);
      }
    }
    this.emit();
  }

  private runAsked = 0;
  private lineageAsked = 0;

  private async loadRole(): Promise<void> {
    this.role = await fetchRole();
    this.emit();
  }

  /** PATCH the run (`{"description": ...}`); the server's refusal is thrown as it words it. */
  async saveDescription(description: string): Promise<void> {
    const reply = await requestAPI<Partial<IRun> | null>(`runs/${this.id}`, {
      method: 'PATCH',
      body: JSON.stringify({ description })
    });
    this.run = { ...this.run!, ...(reply ?? {}), description };
    this.emit();
  }

  /** Set and delete tags in one request; the server's refusal is thrown as it words it. */
  async saveTags(set: Record<string, string>, remove: string[]): Promise<void> {
    const reply = await requestAPI<{ tags: Record<string, string> }>(`runs/${this.id}/tags`, {
      method: 'PATCH',
      body: JSON.stringify({ set, delete: remove })
    });
    this.run = { ...this.run!, tags: reply.tags };
    this.emit();
  }

  /** One of the server's live events: what concerns this run (or its children) reloads, debounced. */
  onEvent(event: Event.Emission): void {
    const runId = event.run_id;
    if (event.schema_id === RUN_STATUS_SCHEMA) {
      if (runId === this.runId) {
        this.later('status', async () => {
          await Promise.all([this.loadRun(), this.loadLineage()]);
          this.statusVersion++;
          this.emit();
          if (this.logs.loaded) {
            await this.logs.follow(null); // every log again: an ended run's are stored, some new
          }
        });
      } else if (event.parent_id === this.runId) {
        this.later('lineage', () => Promise.all([this.loadLineage(), this.loadAutoML()]).then(() => undefined));
      }
    } else if (event.schema_id === RUN_METRICS_SCHEMA && runId === this.runId) {
      this.later('metrics', async () => {
        await this.loadRun();
        this.metricsVersion++;
        this.emit();
      });
    } else if (event.schema_id === RUN_LOGS_SCHEMA && runId === this.runId && event.logs) {
      // a live log grew, or (the run ended) its target stored a log of its own after the end
      this.logSizes = { ...this.logSizes, ...(event.logs as Record<string, number>) };
      this.later('logs', async () => {
        if (this.logs.loaded) {
          await this.logs.follow(this.logSizes);
        }
        if (!this.live) {
          this.storedLogsVersion++; // a stored log: its download link
          this.emit();
        }
      });
    }
  }

  private later(key: string, work: () => Promise<void>): void {
    if (!this.disposed) {
      this._later.run(key, work);
    }
  }

  dispose(): void {
    this.disposed = true;
    this._later.clear();
  }

  private disposed = false;
  private _later = new Later();
}
