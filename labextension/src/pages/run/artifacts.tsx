/**
 * A run's artifacts: a tree beside a preview of the chosen file, its download link (the server
 * sends everything but plain images as a sandboxed attachment) and "Register as model".
 */

import * as React from 'react';

import { apiUrl, requestAPI } from '../../request';
import { registerFromArtifact } from '../../runActions';
import { IRunFile } from '../../tokens';
import { IPageContext } from '../page';
import { useFetch } from './fetch';
import { formatSize } from './format';
import { FilePreview } from './preview';
import { LoadNote } from './notes';
import { RunPageModel } from './runPageModel';
import { FileTree } from './tree';

/** A stored file's API path (relative to `mlws/api/`). */
export function artifactPath(runId: string, path: string, kind = 'artifact'): string {
  const encoded = path.split('/').map(encodeURIComponent).join('/');
  return `runs/${encodeURIComponent(runId)}/artifacts/${encoded}${kind === 'artifact' ? '' : `?kind=${kind}`}`;
}

/** The header over a previewed file: its name and size, download, and what else it offers. */
export function PreviewHeader(props: { path: string; size?: number; href: string; children?: React.ReactNode }): JSX.Element {
  return (
    <div className="mlws-PreviewHeader">
      <span className="mlws-PreviewPath">{props.path}</span>
      <span className="mlws-Muted">{formatSize(props.size)}</span>
      <a className="mlws-Download" href={props.href} download={props.path.split('/').pop()} target="_blank" rel="noopener noreferrer">
        Download
      </a>
      {props.children}
    </div>
  );
}

export function Artifacts(props: { model: RunPageModel; context: IPageContext }): JSX.Element {
  const { model, context } = props;
  const loaded = useFetch(
    () => requestAPI<{ files: IRunFile[] }>(`runs/${model.id}/files?kind=artifact`).then(reply => reply.files),
    [model.runId, model.statusVersion]
  );
  const files = loaded.value ?? [];
  const [selected, setSelected] = React.useState<string | null>(null);
  const file = files.find(f => f.path === selected) ?? null;
  const folder = file && file.path.includes('/') ? file.path.slice(0, file.path.lastIndexOf('/')) : null;
  const register = async (path: string) => {
    const version = await registerFromArtifact(model.run!, { kind: 'artifact', path });
    if (version) {
      void model.loadLineage();
      context.open({ kind: 'model', id: version.name });
    }
  };
  return (
    <div className="mlws-Artifacts mlws-TwoPanes">
      <LoadNote loaded={loaded} />
      {loaded.value && files.length === 0 && <div className="mlws-Empty">This run stored no artifacts.</div>}
      {files.length > 0 && (
        <>
          <FileTree files={files} selected={selected} onSelect={setSelected} label="Artifacts" />
          <div className="mlws-Preview" aria-live="polite">
            {file === null ? (
              <div className="mlws-Empty">Choose a file to preview it.</div>
            ) : (
              <>
                <PreviewHeader path={file.path} size={file.size} href={apiUrl(artifactPath(model.runId, file.path))}>
                  <button className="mlws-Button mlws-RegisterArtifact" onClick={() => void register(file.path)}>
                    Register as model
                  </button>
                  {folder && (
                    <button className="mlws-Button mlws-RegisterFolder" onClick={() => void register(folder)}>
                      Register {folder}/ as model
                    </button>
                  )}
                </PreviewHeader>
                <FilePreview
                  key={file.path}
                  path={file.path}
                  size={file.size}
                  url={artifactPath(model.runId, file.path)}
                  href={apiUrl(artifactPath(model.runId, file.path))}
                />
              </>
            )}
          </div>
        </>
      )}
    </div>
  );
}
