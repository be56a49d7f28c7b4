/**
 * Which run is best by a metric, and a run's values as numbers: shared by the sweep section and
 * the compare page (a leaf: imports only tokens).
 */

import { IRun } from '../tokens';

/** Whether a higher or a lower value of a metric is better. */
export type Direction = 'max' | 'min';

/** A metric's likely direction from its name: losses, errors and times are lower-is-better. */
export function guessDirection(metric: string): Direction {
  return /loss|err|mse|mae|rmse|perplexity|time|latency|duration|cost/i.test(metric) ? 'min' : 'max';
}

/**
 * A value as a finite number, or null: params are recorded as JSON text ("0.1", "[8]", "rf"),
 * metrics as numbers (NaN and infinities arrive as strings and are not comparable).
 */
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

/** A run's final value of a metric as a number, or null when it has none. */
export function metricOf(run: IRun, metric: string): number | null {
  return numberOf(run.metrics?.[metric]);
}

/** The best run by a metric in a direction (the first of equals), or null when none has it. */
export function bestRun(runs: IRun[], metric: string, direction: Direction): IRun | null {
  let best: IRun | null = null;
  let bestValue = 0;
  for (const run of runs) {
    const value = metricOf(run, metric);
    if (value !== null && (best === null || (direction === 'max' ? value > bestValue : value < bestValue))) {
      best = run;
      bestValue = value;
    }
  }
  return best;
}

/** Metric keys any of the runs has, sorted. */
export function metricKeys(runs: IRun[]): string[] {
  return [...new Set(runs.flatMap(run => Object.keys(run.metrics || {})))].sort();
}

/** Param keys any of the runs has, sorted. */
export function paramKeys(runs: IRun[]): string[] {
  return [...new Set(runs.flatMap(run => Object.keys(run.params || {})))].sort();
}

/** Whether the runs do not all have the same value of a param (a missing value counts as one). */
export function paramDiffers(runs: IRun[], key: string): boolean {
  return new Set(runs.map(run => String(run.params?.[key] ?? '\u0000'))).size > 1;
}

/** The metric to rank by at first: a usual name if there is one, else the first. */
export function defaultMetric(keys: string[]): string {
  const usual = ['accuracy', 'acc', 'f1', 'auc', 'r2', 'score', 'val_loss', 'loss'];
  return usual.find(key => keys.includes(key)) ?? keys[0] ?? '';
}

/** A short label per run, unique among them (a name shared by several runs gets its id's start). */
export function runLabels(runs: IRun[]): Map<string, string> {
  const names = runs.map(run => run.name || run.id.slice(0, 8));
  const counts = new Map<string, number>();
  names.forEach(name => counts.set(name, (counts.get(name) ?? 0) + 1));
  return new Map(
    runs.map((run, i) => [run.id, counts.get(names[i])! > 1 ? `${names[i]} · ${run.id.slice(0, 6)}` : names[i]])
  );
}
