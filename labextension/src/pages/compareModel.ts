/**
 * Runs compared side by side (2 to 100): their records (one search), environments, the
 * histories of one metric with many steps (overlaid), and the metric that ranks them.
 */

import { FetchingModel } from '../fetching';
import { query, requestAPI } from '../request';
import { CHART_MAX_POINTS, IEnvironment, IMetricHistory, IRun, IRunPage } from '../tokens';
import { bestBy, bestRun, chooseBest, Direction, sharedExperiment } from '../ranking';
import { metricKeys } from './best';

/** The most runs a comparison shows. */
export const COMPARE_MAX_RUNS = 100;

export class ComparisonModel extends FetchingModel {
  constructor(runIds: string[]) {
    super();
    this.runIds = [...new Set(runIds)].slice(0, COMPARE_MAX_RUNS);
    this.dropped = new Set(runIds).size - this.runIds.length;
  }

  readonly runIds: string[];
  /** Ids asked for beyond `COMPARE_MAX_RUNS`, left out. */
  readonly dropped: number;
  runs: IRun[] = [];
  /** Asked-for ids the workspace does not have. */
  missing: string[] = [];
  /** Each run's environment.json (notebook runs record one), or null. */
  environments: Array<IEnvironment | null> = [];
  /** The metric the overlay shows (one with many steps), and its histories, one per run. */
  stepped = '';
  histories: IMetricHistory[] = [];
  /** The metric that ranks the runs (the bars, the table's best). */
  metric = '';
  direction: Direction = 'max';

  get metrics(): string[] {
    return metricKeys(this.runs);
  }

  /** Metrics some run logged at more than one step: overlaid over steps. */
  get steppedMetrics(): string[] {
    return this.metrics.filter(key => this.runs.some(run => (run.metric_counts?.[key] ?? 1) > 1));
  }

  /** Metrics every run logged once at most: bars, never lone dots at step 0. */
  get singleMetrics(): string[] {
    const stepped = this.steppedMetrics;
    return this.metrics.filter(key => !stepped.includes(key));
  }

  get best(): IRun | null {
    return bestRun(this.runs, this.metric, this.direction);
  }

  async refresh(): Promise<void> {
    await this.fetching(async () => {
      const quoted = this.runIds.map(id => `'${id.replace(/'/g, "''")}'`).join(', ');
      const [page, environments] = await Promise.all([
        requestAPI<IRunPage>(`runs${query({ filter: `id IN (${quoted})`, max_results: COMPARE_MAX_RUNS })}`),
        Promise.all(this.runIds.map(id => this.environment(id)))
      ]);
      const byId = new Map(page.runs.map(run => [run.id, run]));
      this.runs = this.runIds.flatMap(id => (byId.has(id) ? [byId.get(id)!] : []));
      this.missing = this.runIds.filter(id => !byId.has(id));
      this.environments = this.runIds.flatMap((id, i) => (byId.has(id) ? [environments[i]] : []));
      if (!this.metrics.includes(this.metric)) {
        // the experiment's remembered choice, else the preferred of the metrics the bars can show
        const by = bestBy(sharedExperiment(this.runs), this.singleMetrics.length ? this.singleMetrics : this.metrics);
        this.metric = by?.metric ?? '';
        this.direction = by?.direction ?? 'max';
      }
      if (!this.steppedMetrics.includes(this.stepped)) {
        // the metric the runs are ranked by when it has steps, else the one the ranking rule prefers
        const stepped = this.steppedMetrics;
        this.stepped = stepped.includes(this.metric) ? this.metric : bestBy(sharedExperiment(this.runs), stepped)?.metric ?? '';
      }
    });
    await this.showStepped(this.stepped);
  }

  /**
   * A run's environment.json, fetched once per run (live events refresh the rest) and only when
   * its files list one (no 404 for a run without); null when it has none or it cannot be read.
   */
  private environment(id: string): Promise<IEnvironment | null> {
    let asked = this._environments.get(id);
    if (!asked) {
      const run = `runs/${encodeURIComponent(id)}`;
      asked = requestAPI<{ files: Array<{ path: string }> }>(`${run}/files${query({ kind: 'artifact' })}`)
        .then(listed =>
          listed.files.some(file => file.path === 'environment.json')
            ? requestAPI<IEnvironment>(`${run}/artifacts/environment.json`)
            : null
        )
        .catch(() => null)
        .then(environment => {
          if (environment === null) {
            this._environments.delete(id); // none yet: a live run may record one later
          }
          return environment;
        });
      this._environments.set(id, asked);
    }
    return asked;
  }

  private _environments = new Map<string, Promise<IEnvironment | null>>();

  /** Rank by a metric (in its own direction unless one is given), remembered for the runs' experiment. */
  rankBy(metric: string, direction?: Direction): void {
    const chosen = chooseBest(sharedExperiment(this.runs), metric, direction);
    this.metric = chosen.metric;
    this.direction = chosen.direction;
    this.emit();
  }

  /** Overlay another metric: each run's history, downsampled by the server (extremes kept). */
  async showStepped(key: string): Promise<void> {
    this.stepped = key;
    await this.fetching(async () => {
      const ticket = this.ticket;
      const runs = this.runs.filter(run => key in (run.metrics || {}));
      const histories = await Promise.all(
        runs.map(run =>
          requestAPI<IMetricHistory>(
            `runs/${encodeURIComponent(run.id)}/metrics/${encodeURIComponent(key)}${query({ max_points: CHART_MAX_POINTS })}`
          )
        )
      );
      if (!this.stale(ticket)) {
        this.histories = histories.map((history, i) => ({ ...history, key: runs[i].id }));
      }
    });
  }
}
