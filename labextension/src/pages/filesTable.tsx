/** Files with their sizes and content hashes (a model version's, a dataset version's page of them). */

import * as React from 'react';

import { formatSize } from './run/format';

export interface IHashedFile {
  path: string;
  size: number;
  sha256: string;
}

export function FilesTable(props: { files: IHashedFile[]; className: string; label: string }): JSX.Element {
  return (
    <table className={`mlws-Table ${props.className}`} aria-label={props.label}>
      <thead>
        <tr>
          <th>File</th>
          <th>Size</th>
          <th>SHA-256</th>
        </tr>
      </thead>
      <tbody>
        {props.files.map(f => (
          <tr key={f.path} data-path={f.path}>
            <td>{f.path}</td>
            <td title={`${f.size} bytes`}>{formatSize(f.size)}</td>
            <td className="mlws-Hash" title={f.sha256}>
              {f.sha256.slice(0, 12)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
