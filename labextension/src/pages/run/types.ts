/** The run page's REST shapes (under `mlws/api/runs/{id}/`) and chart settings: a leaf module. */

import type { IDatasetUse } from '../data/types';

/** A run as lineage names it. */
export interface IRunRef {
  id: string;
  name?: string | null;
  status?: string;
}

/** GET runs/{id}/lineage */
export interface ILineage {
  parent: IRunRef | null;
  children: IRunRef[];
  child_count?: number;
  rerun_of: IRunRef | null;
  reruns: IRunRef[];
  promoted_from: IRunRef | null;
  promoted_to: IRunRef[];
  models: Array<{ name: string; version: number }>;
  /** The dataset versions it used (input, read) or made (output). */
  datasets?: IDatasetUse[];
}

/** One logged list, table or image (GET runs/{id}/values). */
export interface ILoggedValue {
  key: string;
  kind: 'list' | 'table' | 'image' | string;
  step: number;
  /** ms since the epoch */
  timestamp: number;
  value: unknown[] | Record<string, unknown[]> | null;
  image: { url: string; format: string; size: number } | null;
}

export interface IValues {
  values: ILoggedValue[];
  keys: Array<{ key: string; kind: string; count: number }>;
}

/** One executed cell of a session run (GET runs/{id}/cells). */
export interface ICell {
  number: number;
  cell_id?: string | null;
  status: string;
  /** ms since the epoch */
  started?: number | null;
  duration_s?: number | null;
  source: string;
  error?: string | null;
  metrics?: Record<string, number | string>;
}

/** A file of the run's snapshot (GET runs/{id}/snapshot). */
export interface ISnapshotFile {
  path: string;
  size?: number;
}

/** A chart's x axis: the step, or the time since the first point. */
export type XAxis = 'step' | 'time';

export interface IPlotOptions {
  x: XAxis;
  /** 0 (none) to 0.99: the weight of the past in the moving average */
  smoothing: number;
  log: boolean;
}

/** What the charts show, kept while the page is open (switching tabs keeps it). */
export interface IChartSettings extends IPlotOptions {
  /** per chart (named by its first metric): the other metrics drawn with it */
  overlays: Record<string, string[]>;
}

export const DEFAULT_CHART_SETTINGS: IChartSettings = { x: 'step', smoothing: 0, log: false, overlays: {} };
