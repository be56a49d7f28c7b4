/**
 * The pipelines' REST shapes (`GET runs/{id}/pipeline`, `pipelines`, `pipelines/{name}/runs`;
 * jupyter_mlws/pipelines/service.py) and how a step's state reads: a leaf module.
 */

import { IRun } from '../../tokens';

/** A step's state as the orchestrator records it. */
export type StepState = 'pending' | 'running' | 'completed' | 'reused' | 'skipped' | 'failed' | 'blocked' | 'canceled';

/** One step of a pipeline run. */
export interface IPipelineStep {
  name: string;
  kind: 'script' | 'notebook' | string;
  path: string;
  inputs: Record<string, string>;
  outputs: string[];
  files: Record<string, { sha256: string; size: number }>;
  state: StepState | string;
  /** its child run (a reused or skipped step's too: completed at once, holding the outputs) */
  run_id: string | null;
  run_status: string | null;
  /** the run whose outputs a reused or skipped step holds */
  reused_from: string | null;
  /** why it ran or was reused, in words */
  reason: string;
  /** the parts of its key that changed: code, parameters, inputs, environment; or forced, no earlier run */
  changed: string[];
  key: string | null;
  started_at: number | null;
  ended_at: number | null;
}

/** GET runs/{id}/pipeline */
export interface IPipelineRun {
  run: IRun;
  pipeline: string;
  options: {
    compute?: string | null;
    only?: string[];
    from?: string | null;
    force?: string[];
    no_reuse?: boolean;
    max_parallel?: number;
    parameters?: Record<string, unknown>;
    step_parameters?: Record<string, Record<string, unknown>>;
  };
  steps: IPipelineStep[];
  edges: Array<[string, string]>;
}

/** GET pipelines: a pipeline that ran here, with its latest run. */
export interface IPipelineSummary {
  name: string;
  runs: number;
  last_run: string;
  last_status: string;
  last_start: number | null;
}

/** GET pipelines/{name}/runs: one run, with how many steps are in each state. */
export interface IPipelineRunSummary {
  id: string;
  status: string;
  start_time: number | null;
  end_time: number | null;
  error: string | null;
  states: Record<string, number>;
}

/** The states in the order a summary lists them. */
export const STATE_ORDER = ['failed', 'running', 'pending', 'completed', 'reused', 'skipped', 'blocked', 'canceled'];

/** A step's state in a word: a step submitted but not started yet, or waiting for its upstream steps, is queued. */
export function stateLabel(step: Pick<IPipelineStep, 'state' | 'run_status'>): string {
  if (step.state === 'pending' || (step.state === 'running' && step.run_status === 'queued')) {
    return 'queued';
  }
  return step.state === 'completed' ? 'finished' : step.state;
}

/** The class suffix a state is coloured by (`mlws-step-…`). */
export function stateClass(step: Pick<IPipelineStep, 'state' | 'run_status'>): string {
  return stateLabel(step);
}

const CHANGED_WORDS: Record<string, string> = {
  code: 'code changed',
  parameters: 'parameters changed',
  inputs: 'inputs changed',
  environment: 'environment changed',
  forced: 'forced',
  'no earlier run': 'no earlier run'
};

/** Why a step ran or was reused, in a few words for its box (its `reason` says it whole). */
export function shortWhy(step: IPipelineStep): string {
  if (step.state === 'reused') {
    return 'unchanged: reused';
  }
  if (step.state === 'skipped') {
    return 'not selected: skipped';
  }
  if (step.state === 'blocked') {
    return 'an upstream step failed';
  }
  if (step.changed.length > 0) {
    return step.changed.map(part => CHANGED_WORDS[part] ?? part).join(', ');
  }
  if (step.state === 'pending') {
    return step.reason || 'waits for its upstream steps';
  }
  return step.reason.replace(/^(ran|failed|reused|waiting for run \w+): ?/, '');
}
