/**
 * A sweep: its parent run, its grid and its children (paged from the runs search API with
 * `parent_id = 'PARENT'`), and which child is best by a chosen metric and direction.
 *
 * An automated-ML search is a sweep too (a child run per trial): it is ranked at first by the
 * search's own metric and direction, its best trial and each trial's rank the service's
 * leaderboard (`GET automl/RUN`), not worked out here.
 */

import { Event } from '@jupyterlab/services';
import { ISignal } from '@lumino/signaling';

import { FetchingModel } from '../fetching';
import { query, requestAPI } from '../request';
import { IRun, IRunPage, Scalar } from '../tokens';
import { BEST_TIE_BREAK, bestBy, bestRun, chooseBest, Direction, directionOf } from '../ranking';
import { fetchAutoML, IAutoMLSearch, isAutoML, searchBestBy } from './automl';
import { metricKeys, paramDiffers, paramKeys } from './best';
import { followRuns } from './follow';

/** Children drawn at most: a larger sweep shows its first ones, and its best child of all. */
export const SWEEP_MAX_CHILDREN = 1000;
/** Children per request. */
const PAGE = 500;

/** A sweep's grid: each param's values, as recorded on the parent (or read off the children). */
export interface ISweepGrid {
  params: Array<[string, Scalar[]]>;
  /** False: the parent's `grid` tag is missing or cut, so the values are the children's. */
  recorded: boolean;
}

/** A filter string literal (quotes doubled). */
function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** The `grid` tag `mlws run submit --grid` records on the parent: `{"lr": [0.1, 0.01], ...}`. */
function recordedGrid(parent: IRun | null): ISweepGrid | null {
  try {
    const grid = JSON.parse(parent?.tags?.grid ?? '');
    if (grid && typeof grid === 'object' && !Array.isArray(grid)) {
      const params = Object.entries(grid).filter((entry): entry is [string, Scalar[]] => Array.isArray(entry[1]));
      return { params, recorded: true };
    }
  } catch {
    // not recorded, or cut at the tag's length: read it off the children
  }
  return null;
}

export class SweepModel extends FetchingModel {
  constructor(readonly parentId: string) {
    super();
  }

  parent: IRun | null = null;
  children: IRun[] = [];
  /** Whether the sweep has more children than `SWEEP_MAX_CHILDREN`. */
  more = false;
  /** The best child of all when it is not among those loaded (a sweep with more children). */
  bestBeyond: IRun | null = null;
  metric = '';
  direction: Direction = 'max';
  /** An automated-ML search's leaderboard and summary (null for another sweep). */
  automl: IAutoMLSearch | null = null;
  private _chosen = false;

  /** Whether the children are ranked as the automated-ML search ranks its trials. */
  get bySearch(): boolean {
    const search = this.automl;
    return search !== null && search.metric === this.metric && search.direction === this.direction;
  }

  /** A trial's rank on the search's leaderboard (1: the best), by child run id. */
  get ranks(): Map<string, number> {
    return new Map((this.automl?.leaderboard ?? []).map(row => [row.run_id, row.rank]));
  }

  get metrics(): string[] {
    return metricKeys(this.children);
  }

  get grid(): ISweepGrid {
    const recorded = recordedGrid(this.parent);
    if (recorded) {
      return recorded;
    }
    const params = paramKeys(this.children)
      .filter(key => paramDiffers(this.children, key))
      .map((key): [string, Scalar[]] => [key, [...new Set(this.children.map(run => run.params[key]))]]);
    return { params, recorded: false };
  }

  /** The grid's params, then any other param that varies across the children. */
  get varying(): string[] {
    const grid = this.grid.params.map(([key]) => key);
    const others = paramKeys(this.children).filter(key => !grid.includes(key) && paramDiffers(this.children, key));
    return [...grid, ...others];
  }

  /**
   * The params the charts draw: the varying ones; for an automated-ML search, the
   * hyper-parameters of the best trial's estimator (each estimator has its own, and two may
   * share a name with other meanings: sgd's learning_rate is a schedule's name, xgboost's a
   * number), drawn for that estimator's trials only ({@link chartRuns}).
   */
  get chartParams(): string[] {
    if (!this.automl) {
      return this.varying;
    }
    const same = this.chartRuns;
    // in the search's order (FLAML's: n_estimators, num_leaves, ...), else by name
    const config = this.automl.leaderboard.find(row => row.run_id === this.best?.id)?.config;
    const keys = config ? Object.keys(config) : paramKeys(same);
    return keys.filter(key => key !== 'estimator' && paramDiffers(same, key));
  }

  /** The estimator whose trials the charts of a search draw: the best trial's. */
  get chartEstimator(): string | null {
    const estimator = this.automl ? this.best?.params?.estimator : undefined;
    return estimator === undefined || estimator === null ? null : String(estimator);
  }

  /** The runs the charts draw: every child (and the best beyond them); a search's best estimator's trials. */
  get chartRuns(): IRun[] {
    const best = this.best;
    const all = best && !this.children.includes(best) ? [...this.children, best] : this.children;
    const estimator = this.chartEstimator;
    return estimator === null ? all : all.filter(run => String(run.params?.estimator) === estimator);
  }

  get best(): IRun | null {
    if (this.bySearch) {
      const id = this.automl!.best?.run_id;
      return (id && (this.children.find(run => run.id === id) ?? this.bestBeyond)) || null;
    }
    return this.bestBeyond ?? bestRun(this.children, this.metric, this.direction);
  }

  async refresh(): Promise<void> {
    await this.fetching(async () => {
      const ticket = this.ticket;
      const parent = await requestAPI<IRun>(`runs/${encodeURIComponent(this.parentId)}`);
      const children: IRun[] = [];
      let token: string | null = null;
      do {
        const page: IRunPage = await requestAPI<IRunPage>(
          `runs${query({
            filter: `parent_id = ${literal(parent.id)}`,
            order_by: 'start_time ASC',
            max_results: Math.min(PAGE, SWEEP_MAX_CHILDREN - children.length),
            page_token: token
          })}`
        );
        children.push(...page.runs);
        token = page.next_page_token;
      } while (token !== null && children.length < SWEEP_MAX_CHILDREN);
      // read after the children: its leaderboard holds every trial the table shows
      const automl = isAutoML(parent) ? await fetchAutoML(parent.id) : null;
      if (this.stale(ticket)) {
        return;
      }
      this.parent = parent;
      this.children = children;
      this.automl = automl;
      this.more = token !== null;
      if (!this._chosen || !this.metrics.includes(this.metric)) {
        const search = searchBestBy(automl);
        const by = search && this.metrics.includes(search.metric) ? search : bestBy(parent.experiment, this.metrics);
        this.metric = by?.metric ?? '';
        this.direction = by?.direction ?? 'max';
      }
      await this.findBestBeyond();
    });
  }

  /** Rank the children by another metric, or the other way. */
  async rankBy(metric: string, direction?: Direction): Promise<void> {
    const chosen = chooseBest(this.parent?.experiment ?? '', metric, direction ?? directionOf(metric, searchBestBy(this.automl)));
    this._chosen = true;
    this.metric = chosen.metric;
    this.direction = chosen.direction;
    this.emit();
    await this.fetching(() => this.findBestBeyond());
  }

  /**
   * Past the cap, the best child is asked of the server (the search sorts on any metric); the
   * best trial of an automated-ML search is its leaderboard's, fetched when not loaded.
   */
  private async findBestBeyond(): Promise<void> {
    this.bestBeyond = null;
    const id = this.bySearch ? this.automl!.best?.run_id : undefined;
    if (id) {
      if (!this.children.some(run => run.id === id)) {
        this.bestBeyond = await requestAPI<IRun>(`runs/${encodeURIComponent(id)}`);
      }
      return;
    }
    if (!this.more || !this.metric || !this.parent) {
      return;
    }
    const page = await requestAPI<IRunPage>(
      `runs${query({
        filter: `parent_id = ${literal(this.parent.id)}`,
        order_by: [`metrics.\`${this.metric.replace(/`/g, '``')}\` ${this.direction === 'max' ? 'DESC' : 'ASC'}`, ...BEST_TIE_BREAK],
        max_results: 1
      })}`
    );
    const top = page.runs[0];
    if (top && top.metrics?.[this.metric] !== undefined) {
      this.bestBeyond = this.children.find(run => run.id === top.id) ?? top;
    }
  }

  /** Follow the server's live events about the parent and its children (see `followRuns`). */
  follow(events: ISignal<unknown, Event.Emission>): () => void {
    const mine = (id: string) => id === this.parent?.id || id === this.parentId;
    return followRuns(
      events,
      (runId, parentId) => mine(runId) || (parentId !== null && mine(parentId)) || this.children.some(run => run.id === runId),
      () => void this.refresh()
    );
  }
}
