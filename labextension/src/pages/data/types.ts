/**
 * The datastores' and datasets' REST shapes (`GET datastores`, `datasets`, `datasets/{ref}`,
 * `datasets/{name}/versions`, `datasets/{ref}/files`; docs: README "Datastores and datasets"):
 * a leaf module of types only (the run and model pages import `IDatasetUse` from it).
 */

import type { IFeatureStats } from '../featureStats';
import type { IHashedFile } from '../filesTable';

/** A datastore as the server shows it: never a credential, only the secret's name. */
export interface IDatastore {
  name: string;
  /** without credentials or query */
  url: string;
  /** s3, gs, abfs, sftp, file */
  scheme: string;
  options: Record<string, string>;
  credentials_secret: string | null;
  host_key_fingerprint: string | null;
  description: string;
  /** the workspace's own `default` datastore */
  builtin: boolean;
  created_at: number | null;
  created_by: string;
}

/** What `POST datastores` takes (fields left empty are left out). */
export interface INewDatastore {
  name: string;
  url: string;
  credentials_secret?: string;
  host_key?: string;
  description?: string;
}

/** A dataset as `GET datasets` lists it: its latest version's number, size and files. */
export interface IDatasetSummary {
  name: string;
  latest: number;
  versions: number;
  /** bytes */
  size: number;
  files: number;
  /** ms since the epoch: when the latest version was registered */
  updated_at: number;
  datastore: string;
  description: string;
  tabular: boolean;
}

/** A tabular version's schema and per-column statistics. */
export interface ITableStats {
  format: string;
  rows: number;
  columns: Array<{ name: string; type: string }>;
  features: IFeatureStats[];
}

/** A dataset version (`datasets/{name}/versions`). */
export interface IDatasetVersion {
  name: string;
  version: number;
  /** NAME:VERSION */
  ref: string;
  /** sha256 over the sorted (path, sha256, size) list */
  root_hash: string;
  size: number;
  files: number;
  datastore: string;
  description: string;
  tags: Record<string, string>;
  aliases: string[];
  created_at: number;
  created_by: string;
  /** the run that made it, or null */
  run_id: string | null;
  /** the folder or file it was registered from (its last part) */
  source: string;
  tabular: boolean;
  stats: ITableStats | null;
}

/** A run in a version's lineage: `how` it used the version (input, read) or made it (output). */
export interface IDatasetRunUse {
  id: string;
  name: string | null;
  status: string;
  how: string;
}

/** A version with its lineage (`GET datasets/{ref}`). */
export interface IDatasetShown extends IDatasetVersion {
  used_by: {
    runs: IDatasetRunUse[];
    run_count: number;
    /** `how`: training (trained on it) or run (registered from a run that used it) */
    models: Array<{ name: string; version: number; how: string }>;
    model_count: number;
  };
}

/** A dataset version a run or a model version used or made (their lineage's `datasets`). */
export interface IDatasetUse {
  ref: string;
  name: string;
  version: number;
  root_hash: string;
  /** input, read, output; a model's: training, run input, run read */
  how: string;
}

export type IDatasetFile = IHashedFile;
