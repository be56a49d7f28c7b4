/** Which installed packages differ between runs' environments (`environment.json` `packages`). */

/** A pip spec (`name==version`, `name @ url`) as [lower-case name, version]. */
export function splitPackage(spec: string): [string, string] {
  const match = /^([A-Za-z0-9_.\-[\]]+)\s*(?:==|@|\s)\s*(.*)$/.exec(spec.trim());
  return match ? [match[1].toLowerCase(), match[2]] : [spec.trim().toLowerCase(), ''];
}

export interface IPackageRow {
  name: string;
  /** each environment's version: '' when it lacks the package, null when it recorded none */
  versions: Array<string | null>;
}

/**
 * The packages whose version is not the same in every environment that recorded packages
 * (one added or removed counts), by name; `null` for an environment not recorded.
 */
export function packageDiff(environments: Array<string[] | null | undefined>): IPackageRow[] {
  const parsed = environments.map(packages => (packages ? new Map(packages.map(splitPackage)) : null));
  const names = [...new Set(parsed.flatMap(m => (m ? [...m.keys()] : [])))].sort();
  const rows: IPackageRow[] = [];
  for (const name of names) {
    const versions = parsed.map(m => (m ? m.get(name) ?? '' : null));
    if (new Set(versions.filter(v => v !== null)).size > 1) {
      rows.push({ name, versions });
    }
  }
  return rows;
}
