/**
 * State of the models list page and of one model's page, apart from any view: versions with
 * their aliases and the endpoints serving them, a version's description, tags, lineage,
 * training-data statistics and files; moving an alias, deleting a version, editing a version.
 * Everything goes through `requestAPI`; the server's refusals are kept verbatim.
 */

import { ActingModel, FetchingModel } from '../fetching';
import { errorMessage, requestAPI } from '../request';
import { IModelVersion, Role, Scalar } from '../tokens';
import { IDatasetUse } from './data/types';
import { IFeatureStats } from './featureStats';
import { canChange, fetchRole } from './role';

/** A model as `GET models` lists it. */
export interface IModelSummary {
  name: string;
  description?: string;
  latest: number;
  versions: number;
  updated_at?: number;
  aliases: Record<string, number>;
  /** The endpoints serving any of its versions. */
  served_by: string[];
}

/** A version as `GET models/NAME` shows it. */
export interface IVersionDetail extends IModelVersion {
  description: string;
  tags: Record<string, string>;
  size: number;
  sha256: string;
  source: string;
  /** The run it was registered from, with that run's params and metrics at registration. */
  lineage: { run_id?: string; run_name?: string | null; experiment?: string; params?: Record<string, Scalar>; metrics?: Record<string, Scalar> };
  files: Array<{ path: string; size: number; sha256: string }>;
  training_data: { rows: number; features: string[] } | null;
  /** The endpoints serving this version (the server refuses to delete it meanwhile). */
  served_by: string[];
  /** The dataset versions it was trained on (`how` training) and those its run used (`run input`, `run read`). */
  datasets?: IDatasetUse[];
}

export type { IFeatureStats } from './featureStats';

export interface ITrainingData {
  ref: string;
  rows: number | null;
  features: IFeatureStats[];
  message: string | null;
}

/** Every registered model. */
export class ModelsPageModel extends FetchingModel {
  models: IModelSummary[] = [];

  async refresh(): Promise<void> {
    await this.fetching(async () => {
      this.models = (await requestAPI<{ models: IModelSummary[] }>('models')).models;
    });
  }
}

const path = (ref: string) => `models/${encodeURIComponent(ref)}`;

/** One model: its versions, the one shown in detail, and what contributors may change. */
export class ModelPageModel extends ActingModel {
  constructor(readonly name: string) {
    super();
  }

  versions: IVersionDetail[] = [];
  /** The version shown in detail (the latest at first). */
  selected: number | null = null;
  role: Role | null = null;
  /** The version whose deletion waits for a confirmation. */
  confirmDelete: number | null = null;
  training: Record<number, ITrainingData> = {};

  get canChange(): boolean {
    return canChange(this.role);
  }

  get version(): IVersionDetail | null {
    return this.versions.find(v => v.version === this.selected) ?? null;
  }

  /** Every alias of the model and the version it names. */
  get aliases(): Array<[string, number]> {
    return this.versions
      .flatMap(v => (v.aliases ?? []).map(alias => [alias, v.version] as [string, number]))
      .sort((a, b) => a[0].localeCompare(b[0]));
  }

  async refresh(): Promise<void> {
    await this.fetching(async () => {
      const [reply, role] = await Promise.all([
        requestAPI<{ versions: IVersionDetail[] }>(path(this.name)),
        this.role === null ? fetchRole() : Promise.resolve(this.role)
      ]);
      this.versions = reply.versions;
      this.role = role;
      if (!this.versions.some(v => v.version === this.selected)) {
        this.selected = this.versions[0]?.version ?? null;
      }
    });
    await this.loadTraining();
  }

  select(version: number): void {
    this.selected = version;
    this.confirmDelete = null;
    this.emit();
    void this.loadTraining();
  }

  /** The shown version's training-data statistics (fetched once per version). */
  private async loadTraining(): Promise<void> {
    const v = this.version;
    if (!v || this.training[v.version] || !v.training_data) {
      return;
    }
    try {
      this.training[v.version] = await requestAPI<ITrainingData>(`${path(`${this.name}:${v.version}`)}/training-data`);
    } catch (error) {
      this.training[v.version] = { ref: `${this.name}:${v.version}`, rows: null, features: [], message: errorMessage(error) };
    }
    this.emit();
  }

  /** Point `alias` at `version` (moving it from the version it named). */
  setAlias(alias: string, version: number): Promise<boolean> {
    return this.act(() =>
      requestAPI(`models/${encodeURIComponent(this.name)}/aliases/${encodeURIComponent(alias)}`, {
        method: 'PUT',
        body: JSON.stringify({ version })
      })
    );
  }

  removeAlias(alias: string): Promise<boolean> {
    return this.act(() =>
      requestAPI(`models/${encodeURIComponent(this.name)}/aliases/${encodeURIComponent(alias)}`, { method: 'DELETE' })
    );
  }

  /** Ask for a confirmation of a version's deletion (null: cancel). */
  askDelete(version: number | null): void {
    this.confirmDelete = version;
    this.actionError = null;
    this.emit();
  }

  /** Delete a version: the server refuses one an endpoint serves, naming the endpoint. */
  deleteVersion(version: number): Promise<boolean> {
    this.confirmDelete = null;
    return this.act(() => requestAPI(path(`${this.name}:${version}`), { method: 'DELETE' }));
  }

  /** Change a version's description and tags, all or nothing. */
  update(
    version: number,
    change: { description?: string; set?: Record<string, string>; delete?: string[] }
  ): Promise<boolean> {
    return this.act(() => requestAPI(path(`${this.name}:${version}`), { method: 'PATCH', body: JSON.stringify(change) }));
  }

}
