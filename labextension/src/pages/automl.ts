/**
 * An automated-ML search as `GET automl/{run_id}` answers it (the service's `show`): the
 * request, the metric and its direction, the leaderboard (best first, the best marked), the time
 * spent against the budget, the trial the deadline stopped and the model registered.  Which trial
 * is best is the service's rule; the pages show it, never rank the trials themselves.
 */

import { query, requestAPI } from '../request';
import { IRun, IRunPage, Scalar } from '../tokens';
import { Direction, IBestBy } from '../ranking';

/** The source type of a search's parent run. */
export const AUTOML_SOURCE = 'automl';

/** One trial of the leaderboard (a child run). */
export interface IAutoMLRow {
  rank: number;
  run_id: string;
  name?: string | null;
  trial: number;
  estimator: string;
  config: Record<string, Scalar>;
  /** The validation metric's value. */
  metric: number;
  val_loss: number;
  train_time_s: number;
  sample_size: number;
  best: boolean;
}

export interface IAutoMLSearch {
  run: IRun;
  spec: {
    data: string;
    target: string;
    task: string;
    time_budget: number;
    max_trials: number | null;
    register: boolean;
    model_name: string;
    [key: string]: unknown;
  };
  /** The metric the search judges by (null until it chose one). */
  metric: string | null;
  direction: Direction | null;
  leaderboard: IAutoMLRow[];
  best: IAutoMLRow | null;
  /** Seconds; null where not known yet. */
  budget: {
    time_budget_s: number;
    time_spent_s: number | null;
    search_s: number | null;
    /** What the interrupted attempts of a resumed search spent (the others are the last one's). */
    earlier_s?: number | null;
    refit_s: number | null;
    setup_s: number | null;
  };
  stopped: string | null;
  /** The registered version, `NAME:VERSION`. */
  model: string | null;
}

/** Whether a run is an automated-ML search's parent. */
export function isAutoML(run: IRun | null | undefined): boolean {
  return run?.source_type === AUTOML_SOURCE;
}

export function fetchAutoML(runId: string): Promise<IAutoMLSearch> {
  return requestAPI<IAutoMLSearch>(`automl/${encodeURIComponent(runId)}`);
}

function seconds(value: number | null): string {
  const s = value ?? 0;
  return s < 10 ? String(Number(s.toPrecision(3))) : s.toFixed(1);
}

/**
 * The metric and direction a search judges its trials by (the service's), or null before it
 * chose its metric: what "best" means for its trials on every page that shows them.
 */
export function searchBestBy(search: IAutoMLSearch | null | undefined): IBestBy | null {
  return search?.metric && search.direction ? { metric: search.metric, direction: search.direction } : null;
}

/**
 * The metric and direction of the latest automated-ML search of an experiment (`searchBestBy`),
 * or null when it has none (or none chose its metric yet): two requests, the latest search
 * parent and its `GET automl/RUN`.
 */
export async function experimentSearchBestBy(experiment: string): Promise<IBestBy | null> {
  const page = await requestAPI<IRunPage>(
    `runs${query({ experiment, filter: `source_type = '${AUTOML_SOURCE}'`, order_by: 'start_time DESC', max_results: 1 })}`
  );
  const latest = page.runs[0];
  return latest ? searchBestBy(await fetchAutoML(latest.id)) : null;
}

/** Whether the search is queued or running. */
export function searchLive(search: IAutoMLSearch): boolean {
  return search.run.status === 'queued' || search.run.status === 'running';
}

/**
 * The time spent against the budget: `7.6 s of 8 s used (search 7.1 s, refit 0.52 s; setup 2.4
 * s apart)`; `... so far` while it runs.
 */
export function budgetText(search: IAutoMLSearch): string {
  const { budget } = search;
  const total = `${budget.time_budget_s} s`;
  const status = search.run.status;
  if (status === 'queued' || (status === 'running' && budget.time_spent_s === null)) {
    return `${total} budget, not started yet`;
  }
  const used = `${seconds(budget.time_spent_s)} s of ${total} used`;
  if (status === 'running') {
    return `${used} so far`;
  }
  const earlier = (budget.earlier_s ?? 0) > 0.005 ? `earlier attempts ${seconds(budget.earlier_s ?? 0)} s, ` : '';
  return budget.search_s === null
    ? used
    : `${used} (${earlier}search ${seconds(budget.search_s)} s, refit ${seconds(budget.refit_s)} s; setup ${seconds(budget.setup_s)} s apart)`;
}

/** The model registered, as a name and a version, or null. */
export function registered(search: IAutoMLSearch): { name: string; version: number } | null {
  const match = /^(.*):(\d+)$/.exec(search.model ?? '');
  return match ? { name: match[1], version: Number(match[2]) } : null;
}
