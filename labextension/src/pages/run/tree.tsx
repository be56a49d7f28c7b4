/** Files as a folder tree (artifacts, the snapshot): folders open and close, a file is chosen. */

import * as React from 'react';

import { formatSize } from './format';

export interface ITreeFile {
  path: string;
  size?: number;
}

function Level(props: {
  files: ITreeFile[];
  depth: number;
  selected: string | null;
  onSelect: (path: string) => void;
}): JSX.Element {
  const folders = new Map<string, ITreeFile[]>();
  const here: ITreeFile[] = [];
  for (const file of props.files) {
    const parts = file.path.split('/');
    if (parts.length > props.depth + 1) {
      const name = parts[props.depth];
      folders.set(name, [...(folders.get(name) ?? []), file]);
    } else {
      here.push(file);
    }
  }
  return (
    <ul className="mlws-TreeLevel" role="group">
      {[...folders.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, files]) => (
          <li key={`d/${name}`} className="mlws-TreeFolder">
            <details open={props.depth === 0}>
              <summary data-folder={name}>{name}/</summary>
              <Level files={files} depth={props.depth + 1} selected={props.selected} onSelect={props.onSelect} />
            </details>
          </li>
        ))}
      {here
        .sort((a, b) => a.path.localeCompare(b.path))
        .map(file => (
          <li key={file.path}>
            <button
              className={`mlws-TreeFile${props.selected === file.path ? ' mlws-mod-selected' : ''}`}
              data-path={file.path}
              aria-pressed={props.selected === file.path}
              onClick={() => props.onSelect(file.path)}
            >
              {file.path.split('/').pop()}
              <span className="mlws-Muted"> {formatSize(file.size)}</span>
            </button>
          </li>
        ))}
    </ul>
  );
}

export function FileTree(props: {
  files: ITreeFile[];
  selected: string | null;
  onSelect: (path: string) => void;
  label: string;
}): JSX.Element {
  return (
    <nav className="mlws-Tree" aria-label={props.label}>
      <Level files={props.files} depth={0} selected={props.selected} onSelect={props.onSelect} />
    </nav>
  );
}
