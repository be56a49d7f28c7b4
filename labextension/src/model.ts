/** The models and their versions, apart from any view: fetched through `requestAPI`. */

import { FetchingModel } from './fetching';
import { requestAPI } from './request';
import { IModelVersion } from './tokens';

/** A registered model as listed: latest version, count and aliases. */
export interface IModelSummary {
  name: string;
  description?: string;
  latest: number;
  versions: number;
  aliases: Record<string, number>;
}

/** The models tab: every model, and the versions of the one opened. */
export class ModelsModel extends FetchingModel {
  models: IModelSummary[] = [];
  opened: string | null = null;
  versions: IModelVersion[] = [];

  async refresh(): Promise<void> {
    await this.fetching(async () => {
      this.models = (await requestAPI<{ models: IModelSummary[] }>('models')).models;
    });
  }

  async open(name: string | null): Promise<void> {
    this.opened = name;
    this.versions = [];
    if (name === null) {
      this.emit();
      return;
    }
    await this.fetching(async () => {
      const reply = await requestAPI<{ versions?: IModelVersion[] } | IModelVersion[]>(
        `models/${encodeURIComponent(name)}`
      );
      this.versions = Array.isArray(reply) ? reply : reply.versions ?? [];
    });
  }
}
