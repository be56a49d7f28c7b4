/**
 * Metric histories as uPlot data (the charts: pages/run/plot.tsx): one series per history,
 * overlaid on the union of their steps (a run's metrics, or one metric of several runs).
 */

import uPlot from 'uplot';

import { IMetricHistory } from './tokens';

export const SERIES_COLORS = ['#1976d2', '#e65100', '#2e7d32', '#6a1b9a', '#c62828', '#00838f'];

/** A value as a number: the server sends NaN and infinities as strings (drawn as gaps). */
export function numeric(v: number | string): number | null {
  return typeof v === 'number' ? v : Number.isFinite(Number(v)) ? Number(v) : null;
}

/** uPlot wants one x array: the union of every history's steps, each history's values aligned on it. */
export function aligned(histories: IMetricHistory[]): uPlot.AlignedData {
  if (histories.length === 1) {
    return [histories[0].steps, histories[0].values.map(numeric)] as uPlot.AlignedData;
  }
  const steps = [...new Set(histories.flatMap(h => h.steps))].sort((a, b) => a - b);
  const series = histories.map(h => {
    const at = new Map<number, number | null>();
    h.steps.forEach((step, i) => at.set(step, numeric(h.values[i])));
    return steps.map(step => at.get(step) ?? null);
  });
  return [steps, ...series] as uPlot.AlignedData;
}
