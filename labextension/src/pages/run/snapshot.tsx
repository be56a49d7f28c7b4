/** A run's source snapshot: the files as a tree, and the chosen one's text. */

import * as React from 'react';

import { apiUrl, requestAPI } from '../../request';
import { PreviewHeader } from './artifacts';
import { useFetch } from './fetch';
import { FilePreview } from './preview';
import { LoadNote } from './notes';
import { RunPageModel } from './runPageModel';
import { FileTree } from './tree';
import { ISnapshotFile } from './types';

function snapshotPath(runId: string, path: string): string {
  return `runs/${encodeURIComponent(runId)}/snapshot/${path.split('/').map(encodeURIComponent).join('/')}`;
}

export function Snapshot(props: { model: RunPageModel }): JSX.Element {
  const { model } = props;
  const loaded = useFetch(
    () => requestAPI<{ files: ISnapshotFile[] }>(`runs/${model.id}/snapshot`).then(reply => reply.files),
    [model.runId]
  );
  const files = loaded.value ?? [];
  const [selected, setSelected] = React.useState<string | null>(null);
  const file = files.find(f => f.path === selected) ?? null;
  return (
    <div className="mlws-Snapshot mlws-TwoPanes">
      <LoadNote loaded={loaded} />
      {loaded.value && files.length === 0 && <div className="mlws-Empty">This run kept no snapshot of its source.</div>}
      {files.length > 0 && (
        <>
          <FileTree files={files} selected={selected} onSelect={setSelected} label="Snapshot" />
          <div className="mlws-Preview" aria-live="polite">
            {file === null ? (
              <div className="mlws-Empty">Choose a file to read it.</div>
            ) : (
              <>
                <PreviewHeader path={file.path} size={file.size} href={apiUrl(snapshotPath(model.runId, file.path))} />
                <FilePreview
                  key={file.path}
                  path={file.path}
                  size={file.size}
                  url={snapshotPath(model.runId, file.path)}
                  href={apiUrl(snapshotPath(model.runId, file.path))}
                />
              </>
            )}
          </div>
        </>
      )}
    </div>
  );
}
