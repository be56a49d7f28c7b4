/**
 * What the first view (the JupyterLab workspace `mlws quickstart` opens) shows, the same on every
 * visit: the runs table of quickstart's experiment (else of the experiment with the latest run).
 */

import { requestAPI } from '../request';
import { IExperiment, QUICKSTART_EXPERIMENT } from '../tokens';

/** Quickstart's experiment when the workspace has it, else the latest one, else undefined (none, or the server cannot say). */
export async function firstViewExperiment(): Promise<string | undefined> {
  try {
    const { experiments } = await requestAPI<{ experiments: IExperiment[] }>('experiments');
    if (experiments.some(experiment => experiment.name === QUICKSTART_EXPERIMENT)) {
      return QUICKSTART_EXPERIMENT;
    }
    const latest = [...experiments].sort((a, b) => Number(b.last_run ?? 0) - Number(a.last_run ?? 0))[0];
    return latest?.name;
  } catch {
    return undefined; // the runs table shows the server's error
  }
}
