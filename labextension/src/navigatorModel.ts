/**
 * The navigator's state (the sidebar), apart from any view: the latest runs of the chosen
 * experiment with its primary metric, the registered models, the endpoints and their states,
 * the compute targets, the notebook VMs and how many secrets there are, the ticked runs, and the
 * Access tab.  It follows the server's live events, and this browser's changes to targets and
 * secrets (the server sends no events for those); nothing polls, except the VMs: every 30 s while
 * there are some and the page is visible, every 2 s while one of them is in a step (creating,
 * starting, stopping...: it changes on its own).
 */

import { ISignal, Signal } from '@lumino/signaling';

import { AccessModel } from './accessModel';
import { ISecret, ITarget, lastTests, localChanges, userSecrets } from './compute';
import { Later } from './later';
import { IModelSummary } from './pages/modelPageModel';
import { errorMessage, query, requestAPI } from './request';
import { primaryMetric } from './ranking';
import { BUSY_STATES, IVM } from './vms';
import { loadPrefs } from './runColumns';
import {
  ENDPOINT_HEALTH_SCHEMA,
  MODEL_CHANGE_SCHEMA,
  IEndpoint,
  IExperiment,
  IRun,
  IRunPage,
  RUN_STATUS_SCHEMA
} from './tokens';

/** Runs the navigator lists (the latest; the runs table has them all). */
export const NAV_RUNS = 15;

/** How often the VMs are fetched while one of them is in a step (ms). */
export const NAV_VM_POLL_MS = 2000;
/** How often they are fetched otherwise, while there are VMs (ms). */
export const NAV_VM_QUIET_POLL_MS = 30000;

export type NavigatorTab = 'workspace' | 'access';

/** One list of the navigator: its items, whether it is loading, and its last error verbatim. */
export interface INavList<T> {
  items: T[];
  loading: boolean;
  error: string | null;
}

const list = <T>(): INavList<T> => ({ items: [], loading: false, error: null });

export class NavigatorModel {
  readonly access = new AccessModel();
  tab: NavigatorTab = 'workspace';
  experiments: IExperiment[] = [];
  /** The experiment whose runs are listed ('' for every experiment). */
  experiment: string | null = null;
  runs: INavList<IRun> = list();
  models: INavList<IModelSummary> = list();
  endpoints: INavList<IEndpoint> = list();
  /** Compute targets, `local` first (their dots: each one's last test in this browser). */
  compute: INavList<ITarget> = list();
  /** Notebook VMs with their state and reason. */
  vms: INavList<IVM> = list();
  /** How many live secrets there are (null until fetched, or when they cannot be listed). */
  secretCount: number | null = null;
  /** Runs ticked for comparison. */
  readonly selected = new Set<string>();
  /** The workspace's name for the header (null until fetched). */
  workspaceName: string | null = null;

  constructor() {
    // targets and secrets send no server events: what this browser changed is fetched again
    localChanges.connect((_, what) => {
      if (this.tab === 'workspace') {
        void (what === 'compute' ? Promise.all([this.loadCompute(), this.loadVMs()]) : this.loadSecretCount());
      }
    });
    lastTests.changed.connect(() => this.emit());
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The metric shown beside each run: the experiment's primary one. */
  get metric(): string | null {
    return primaryMetric(this.experiment ?? '', this.runs.items);
  }

  showTab(tab: NavigatorTab): void {
    this.tab = tab;
    this.emit();
    void this.refresh();
  }

  toggleSelect(runId: string): void {
    if (!this.selected.delete(runId)) {
      this.selected.add(runId);
    }
    this.emit();
  }

  async chooseExperiment(name: string): Promise<void> {
    this.experiment = name;
    this.emit();
    await this.loadRuns();
  }

  /** Everything shown, fetched again. */
  async refresh(): Promise<void> {
    if (this.workspaceName === null) {
      void requestAPI<{ name: string }>('workspace')
        .then(info => {
          this.workspaceName = info.name;
          this.emit();
        })
        .catch(() => undefined); // the lists' own requests show what is wrong
    }
    if (this.tab === 'access') {
      await this.access.refresh();
      return;
    }
    await Promise.all([
      this.loadExperiments().then(() => this.loadRuns()),
      this.loadModels(),
      this.loadEndpoints(),
      this.loadCompute(),
      this.loadVMs(),
      this.loadSecretCount()
    ]);
  }

  /** One of the server's live events: what it concerns is fetched again, at most once a second. */
  onServerEvent(event: { schema_id: string; [key: string]: unknown }): void {
    if (this.tab !== 'workspace') {
      return;
    }
    if (event.schema_id === RUN_STATUS_SCHEMA) {
      this._later.run('runs', () => this.loadExperiments().then(() => this.loadRuns()));
    } else if (event.schema_id === ENDPOINT_HEALTH_SCHEMA) {
      this._later.run('endpoints', () => this.loadEndpoints());
    } else if (event.schema_id === MODEL_CHANGE_SCHEMA) {
      this._later.run('models', () => this.loadModels());
    }
  }

  private async loadExperiments(): Promise<void> {
    try {
      this.experiments = (await requestAPI<{ experiments: IExperiment[] }>('experiments')).experiments;
    } catch {
      return; // the runs request says what is wrong
    }
    if (this.experiment === null || (this.experiment && !this.experiments.some(e => e.name === this.experiment))) {
      // the runs table's last experiment, else the one with the latest run
      const last = loadPrefs('').experiment;
      const latest = [...this.experiments].sort((a, b) => Number(b.last_run ?? 0) - Number(a.last_run ?? 0))[0];
      this.experiment = last !== undefined && this.experiments.some(e => e.name === last) ? last : latest?.name ?? '';
    }
  }

  private async loadRuns(): Promise<void> {
    const params = query({
      experiment: this.experiment ?? '',
      filter: 'parent_id IS NULL',
      order_by: 'start_time DESC',
      max_results: NAV_RUNS
    });
    await this.load(this.runs, async () => (await requestAPI<IRunPage>(`runs${params}`)).runs);
  }

  private async loadModels(): Promise<void> {
    await this.load(this.models, async () => (await requestAPI<{ models: IModelSummary[] }>('models')).models);
  }

  private async loadEndpoints(): Promise<void> {
    await this.load(this.endpoints, async () => (await requestAPI<{ endpoints: IEndpoint[] }>('endpoints')).endpoints);
  }

  private async loadCompute(): Promise<void> {
    await this.load(this.compute, async () => (await requestAPI<{ targets: ITarget[] }>('compute')).targets);
  }

  /** The VMs; looked at again in VM_POLL_MS while one is in a step, and only then. */
  private async loadVMs(): Promise<void> {
    await this.load(this.vms, async () => (await requestAPI<{ vms: IVM[] }>('vms')).vms);
    window.clearTimeout(this._vmTimer);
    if (this.vms.items.some(vm => BUSY_STATES.has(vm.state))) {
      this._vmTimer = window.setTimeout(() => this.tab === 'workspace' && void this.loadVMs(), NAV_VM_POLL_MS);
    } else if (this.vms.items.length > 0) {
      // a scheduled start or an idle stop changes a VM with nobody acting here
      this._vmTimer = window.setTimeout(
        () => this.tab === 'workspace' && document.visibilityState === 'visible' && void this.loadVMs(),
        NAV_VM_QUIET_POLL_MS
      );
    }
  }

  private async loadSecretCount(): Promise<void> {
    try {
      this.secretCount = userSecrets((await requestAPI<{ secrets: ISecret[] }>('secrets')).secrets).length;
    } catch {
      this.secretCount = null; // the Secrets page says why
    }
    this.emit();
  }

  private async load<T>(target: INavList<T>, fetch: () => Promise<T[]>): Promise<void> {
    target.loading = true;
    this.emit();
    try {
      target.items = await fetch();
      target.error = null;
    } catch (error) {
      target.error = errorMessage(error);
    }
    target.loading = false;
    this.emit();
  }

  private emit(): void {
    this._changed.emit();
  }

  private _later = new Later();
  private _vmTimer = 0;
  private _changed = new Signal<this, void>(this);
}
