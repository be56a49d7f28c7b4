/**
 * What "best" means, one rule for every view (the runs table, the compare page, a sweep's
 * section, the navigator's key metric):
 * - the metric: the one the user chose for the experiment (remembered in the browser), else the
 *   metric of its automated-ML search (the latest one's: `automl.ts`), else a loss, else a score
 *   (acc, f1, auc, r2), else the first alphabetically;
 * - the direction: the search's for its metric, else lowest for losses, errors, times and costs,
 *   else highest; picking another metric takes that metric's direction, and only flipping the
 *   direction overrides it;
 * - ties: the run that started first wins, then the smaller run id (the server's search is asked
 *   with the same order, `BEST_TIE_BREAK`).
 */

import { loadPrefs, savePrefs } from './runColumns';
import { IRun } from './tokens';

/** Whether a higher or a lower value of a metric is better. */
export type Direction = 'min' | 'max';

/** A metric and the direction in which it is better. */
export interface IBestBy {
  metric: string;
  direction: Direction;
}

/** Whether lower is better for a metric of this name (loss, error, ...). */
export function lowerIsBetter(key: string): boolean {
  return /loss|err|mse|mae|rmse|perplexity|wer|cer|latency|time|duration|cost|regret/i.test(key);
}

/** A metric's direction when nobody chose one. */
export function defaultDirection(key: string): Direction {
  return lowerIsBetter(key) ? 'min' : 'max';
}

/**
 * A metric's direction when nobody chose one: the one `known` judges it by (an automated-ML
 * search's metric and direction, as the service says), else its name's (`defaultDirection`).
 */
export function directionOf(metric: string, known?: IBestBy | null): Direction {
  return known && known.metric === metric ? known.direction : defaultDirection(metric);
}

/** The metric runs are judged by when nobody chose one: a loss, else a score, else the first; null for none. */
export function preferredMetric(keys: string[]): string | null {
  const sorted = [...keys].sort();
  return (
    sorted.find(key => /loss/i.test(key)) ?? sorted.find(key => /acc|f1|auc|score|r2/i.test(key)) ?? sorted[0] ?? null
  );
}

/** The search's order_by entries after the metric's: the same tie-break as `bestRun`. */
export const BEST_TIE_BREAK = ['start_time ASC', 'id ASC'];

/** A value as a finite number, or null (params arrive as JSON text, NaN and infinities as strings). */
export function numberOf(value: unknown): number | null {
  if (typeof value === 'number') {
    return Number.isFinite(value) ? value : null;
  }
  if (typeof value !== 'string' || value.trim() === '') {
    return null;
  }
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

/** Negative when run `a` comes before run `b` among equals: the earlier start, then the smaller id. */
function tieBreak(a: IRun, b: IRun): number {
  const start = (run: IRun) => numberOf(run.start_time) ?? Number.POSITIVE_INFINITY;
  return start(a) - start(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** The best run by a metric in a direction (ties as `BEST_TIE_BREAK`), or null when none has it. */
export function bestRun(runs: IRun[], metric: string, direction: Direction): IRun | null {
  let best: IRun | null = null;
  let bestValue = 0;
  for (const run of runs) {
    const value = numberOf(run.metrics?.[metric]);
    if (value === null) {
      continue;
    }
    const better = direction === 'max' ? value > bestValue : value < bestValue;
    if (best === null || better || (value === bestValue && tieBreak(run, best) < 0)) {
      best = run;
      bestValue = value;
    }
  }
  return best;
}

/** The choice remembered for an experiment, when it names one of these metrics. */
export function chosenBest(experiment: string, metrics: string[]): IBestBy | null {
  const best = loadPrefs(experiment).best;
  return best && metrics.includes(best.metric) ? { metric: best.metric, direction: best.direction } : null;
}

/** What to rank these metrics by: the remembered choice, else the preferred metric; null without metrics. */
export function bestBy(experiment: string, metrics: string[]): IBestBy | null {
  const metric = preferredMetric(metrics);
  return chosenBest(experiment, metrics) ?? (metric === null ? null : { metric, direction: defaultDirection(metric) });
}

/**
 * Choose a metric (and remember it for the experiment): without a direction, the metric's own
 * (picking `loss` after "acc, highest" ranks lowest first).
 */
export function chooseBest(experiment: string, metric: string, direction?: Direction): IBestBy {
  const chosen = { metric, direction: direction ?? defaultDirection(metric) };
  savePrefs(experiment, { best: chosen });
  return chosen;
}

/** The metric the navigator shows for an experiment's runs: the one its views judge by. */
export function primaryMetric(experiment: string, runs: IRun[]): string | null {
  return bestBy(experiment, [...new Set(runs.flatMap(run => Object.keys(run.metrics || {})))])?.metric ?? null;
}

/** The experiment a set of runs shares (where a choice about them is remembered), or '' for several. */
export function sharedExperiment(runs: IRun[]): string {
  const names = new Set(runs.map(run => run.experiment));
  return names.size === 1 ? [...names][0] : '';
}
