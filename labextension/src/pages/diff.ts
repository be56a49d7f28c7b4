/**
 * Params and environments of runs side by side, each row saying whether the runs differ on it
 * (the compare page highlights those, or shows only them).
 */

import { formatValue } from '../runs';
import { IEnvironment, IRun } from '../tokens';
import { paramKeys } from './best';

/** One row of a diff: a key, each run's value ('' where the run has no record), and whether they differ. */
export interface IDiffRow {
  key: string;
  values: string[];
  differs: boolean;
}

/** Whether the recorded values are not all the same ('' is "not recorded" and is left out). */
function differs(values: string[]): boolean {
  return new Set(values.filter(v => v !== '')).size > 1;
}

/** Every param of the runs; a run without it shows '—'. */
export function paramRows(runs: IRun[]): IDiffRow[] {
  return paramKeys(runs).map(key => {
    const values = runs.map(run => (key in (run.params || {}) ? formatValue(run.params[key]) : '—'));
    return { key, values, differs: new Set(values).size > 1 };
  });
}

/** "numpy==2.1.0" -> ["numpy", "2.1.0"]; a line without a version keeps it whole. */
function requirement(line: string): [string, string] {
  const at = line.indexOf('==');
  return at < 0 ? [line, line] : [line.slice(0, at), line.slice(at + 2)];
}

/**
 * The environments (each run's environment.json, null where the run recorded none): Python,
 * platform and the packages' hash, then every package with its version ('—' where an
 * environment lacks it).
 */
export function environmentRows(envs: Array<IEnvironment | null>): IDiffRow[] {
  const fields: Array<[string, (env: IEnvironment) => unknown]> = [
    ['python', env => (env.python ? String(env.python).split(' ')[0] : '')],
    ['platform', env => env.platform ?? ''],
    ['packages hash', env => env.packages_hash ?? '']
  ];
  const rows = fields.map(([key, read]) => {
    const values = envs.map(env => (env ? String(read(env) ?? '') : ''));
    return { key, values, differs: differs(values) };
  });
  const packages = envs.map(env => (env?.packages ? new Map(env.packages.map(requirement)) : null));
  const names = [...new Set(packages.flatMap(m => (m ? [...m.keys()] : [])))].sort();
  for (const name of names) {
    const values = packages.map(m => (m ? m.get(name) ?? '—' : ''));
    rows.push({ key: name, values, differs: differs(values) });
  }
  return rows;
}
