/**
 * State of the Data page and of a dataset's page, apart from any view.  The Data page: the
 * datastores and the datasets, your role (readers see no Register, only owners Delete: the
 * service's rules), the secrets a new datastore may name, registering and deleting datastores
 * (the server's refusals kept verbatim).  A dataset's page: its versions a page at a time
 * (newest first), the version shown with its lineage, schema and statistics, and its files a
 * page at a time.
 */

import { ISecret } from '../../compute';
import { ActingModel, FetchingModel } from '../../fetching';
import { errorMessage, query, requestAPI } from '../../request';
import { Role } from '../../tokens';
import { canChange, fetchRole } from '../role';
import { IDatasetFile, IDatasetShown, IDatasetSummary, IDatasetVersion, IDatastore, INewDatastore } from './types';

/** Versions per page of a dataset's versions table. */
export const VERSIONS_PAGE = 20;
/** Files per page of a version's files. */
export const FILES_PAGE = 100;

/** Why a reader sees no Register button. */
export const READER_NOTE = 'you are a reader: registering datastores needs a contributor';

export class DataModel extends ActingModel {
  datastores: IDatastore[] = [];
  datasets: IDatasetSummary[] = [];
  role: Role | null = null;
  /** Secret names the New datastore form offers (fetched when it opens). */
  secrets: string[] = [];
  /** The form's last refusal, verbatim. */
  registerError: string | null = null;
  /** The datastore just registered (its row is marked). */
  registered: string | null = null;

  /** Contributors and owners register datastores (a file:// one: owners; the server says so). */
  get canRegister(): boolean {
    return canChange(this.role);
  }

  /** Owners delete datastores. */
  get canDelete(): boolean {
    return this.role === 'owner';
  }

  async refresh(): Promise<void> {
    await this.fetching(async () => {
      const [stores, sets, role] = await Promise.all([
        requestAPI<{ datastores: IDatastore[] }>('datastores'),
        requestAPI<{ datasets: IDatasetSummary[] }>('datasets'),
        this.role === null ? fetchRole() : Promise.resolve(this.role)
      ]);
      this.datastores = stores.datastores;
      this.datasets = sets.datasets;
      this.role = role;
    });
  }

  /** The secrets a datastore's credentials may be in (none when they cannot be listed). */
  async loadSecrets(): Promise<void> {
    const reply = await requestAPI<{ secrets: ISecret[] }>('secrets').catch(() => ({ secrets: [] as ISecret[] }));
    this.secrets = reply.secrets.filter(s => s.state !== 'deleted').map(s => s.name);
    this.emit();
  }

  /** Register a datastore; true when the server accepted it (its refusal: `registerError`). */
  async register(store: INewDatastore): Promise<boolean> {
    this.registerError = null;
    this.registered = null;
    const ok = await this.act(
      () => requestAPI('datastores', { method: 'POST', body: JSON.stringify(store) }),
      message => (this.registerError = message)
    );
    if (ok) {
      this.registered = store.name;
    }
    this.emit();
    return ok;
  }

  clearForm(): void {
    this.registerError = null;
    this.emit();
  }

  /** Delete a datastore's record (confirmed by the view); the server refuses one datasets live in. */
  remove(name: string): Promise<boolean> {
    return this.act(() => requestAPI(`datastores/${encodeURIComponent(name)}`, { method: 'DELETE' }));
  }
}

/** A page of a long list: its rows, where it starts, how many there are in all. */
export interface IPage<T> {
  rows: T[];
  offset: number;
  total: number;
}

const EMPTY = { rows: [], offset: 0, total: 0 };

export class DatasetModel extends FetchingModel {
  constructor(
    readonly name: string,
    /** The version to show first (a lineage link's); else the latest. */
    version: number | null = null
  ) {
    super();
    this.selected = version;
  }

  versions: IPage<IDatasetVersion> = EMPTY;
  /** The version shown in detail. */
  selected: number | null;
  /** It, with its lineage (null while it loads, or when it could not be read: `shownError`). */
  shown: IDatasetShown | null = null;
  shownError: string | null = null;
  files: IPage<IDatasetFile> = EMPTY;
  filesError: string | null = null;

  /** Fetch the versions shown again, and the version shown (the latest at first). */
  async refresh(): Promise<void> {
    if (await this.pageVersions(this.versions.offset)) {
      const version = this.selected ?? this.versions.rows[0]?.version;
      if (version !== undefined) {
        await this.select(version);
      }
    }
  }

  /** Show the versions from `offset` (0: the newest); true when they could be read. */
  pageVersions(offset: number): Promise<boolean> {
    return this.fetching(async () => {
      const reply = await requestAPI<{ versions: IDatasetVersion[]; total: number }>(
        `datasets/${encodeURIComponent(this.name)}/versions${query({ offset, limit: VERSIONS_PAGE })}`
      );
      this.versions = { rows: reply.versions, offset, total: reply.total };
    });
  }

  /** Show version `version` with its lineage, and its first files (the same version: fetched again, its page of files kept). */
  async select(version: number): Promise<void> {
    const other = this.shown?.version !== version;
    this.selected = version;
    this.shownError = null;
    if (other) {
      this.shown = null;
      this.files = EMPTY;
    }
    this.emit();
    const ref = `${this.name}:${version}`;
    try {
      const shown = await requestAPI<IDatasetShown>(`datasets/${encodeURIComponent(ref)}`);
      if (this.selected === version) {
        this.shown = shown;
      }
    } catch (error) {
      if (this.selected === version) {
        this.shownError = errorMessage(error);
      }
    }
    this.emit();
    if (this.shown) {
      await this.pageFiles(other ? 0 : this.files.offset);
    }
  }

  /** Show the shown version's files from `offset` (by path). */
  async pageFiles(offset: number): Promise<void> {
    const version = this.selected;
    const ref = `${this.name}:${version}`;
    try {
      const reply = await requestAPI<{ files: IDatasetFile[]; total: number }>(
        `datasets/${encodeURIComponent(ref)}/files${query({ offset, limit: FILES_PAGE })}`
      );
      if (this.selected === version) {
        this.files = { rows: reply.files, offset, total: reply.total };
        this.filesError = null;
      }
    } catch (error) {
      this.filesError = errorMessage(error);
    }
    this.emit();
  }
}
