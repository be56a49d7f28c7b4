/**
 * A set of runs' metric and param keys, their values as numbers and short labels: shared by the
 * sweep section and the compare page (which run is best is `ranking.ts`'s rule).
 */

import { numberOf } from '../ranking';
import { IRun } from '../tokens';

export type { Direction } from '../ranking';
export { numberOf } from '../ranking';

/** A run's final value of a metric as a number, or null when it has none. */
export function metricOf(run: IRun, metric: string): number | null {
  return numberOf(run.metrics?.[metric]);
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

/** A short label per run, unique among them (a name shared by several runs gets its id's start). */
export function runLabels(runs: IRun[]): Map<string, string> {
  const names = runs.map(run => run.name || run.id.slice(0, 8));
  const counts = new Map<string, number>();
  names.forEach(name => counts.set(name, (counts.get(name) ?? 0) + 1));
  return new Map(
    runs.map((run, i) => [run.id, counts.get(names[i])! > 1 ? `${names[i]} · ${run.id.slice(0, 6)}` : names[i]])
  );
}
