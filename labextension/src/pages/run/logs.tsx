/**
 * A run's logs: each log's text, appended to live while the run runs (what was shown stays),
 * with its download (the stored log once the run ended; the text shown while it runs).
 */

import { UseSignal } from '@jupyterlab/apputils';
import * as React from 'react';

import { apiUrl, requestAPI } from '../../request';
import { IRunFile } from '../../tokens';
import { artifactPath } from './artifacts';
import { useFetch } from './fetch';
import { formatSize } from './format';
import { LogsModel } from './logsModel';
import { Problem } from './notes';
import { RunPageModel } from './runPageModel';

/** stdout and stderr first, then the others by name; the live notebook is not a log. */
function ordered(names: string[]): string[] {
  const rank = (name: string) => (name === 'stdout.log' ? 0 : name === 'stderr.log' ? 1 : 2);
  return names.filter(name => !name.endsWith('.ipynb')).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** The text, scrolled to its end as it grows unless the reader scrolled up. */
function LogText(props: { text: string; name: string }): JSX.Element {
  const pre = React.useRef<HTMLPreElement>(null);
  const pinned = React.useRef(true);
  React.useLayoutEffect(() => {
    if (pre.current && pinned.current) {
      pre.current.scrollTop = pre.current.scrollHeight;
    }
  }, [props.text]);
  return (
    <pre
      ref={pre}
      className="mlws-LogText"
      data-log={props.name}
      tabIndex={0}
      aria-label={`${props.name}, the log's text`}
      onScroll={event => {
        const el = event.currentTarget;
        pinned.current = el.scrollTop + el.clientHeight >= el.scrollHeight - 4;
      }}
    >
      {props.text}
    </pre>
  );
}

/** A link that saves the text shown (a live log has no stored file yet). */
function SaveShown(props: { name: string; text: string }): JSX.Element {
  const url = React.useMemo(() => URL.createObjectURL(new Blob([props.text], { type: 'text/plain' })), [props.text]);
  React.useEffect(() => () => URL.revokeObjectURL(url), [url]);
  return (
    <a className="mlws-Download" href={url} download={props.name.split('/').pop()}>
      Download what is shown
    </a>
  );
}

function LogList(props: { logs: LogsModel; stored: IRunFile[]; runId: string; live: boolean }): JSX.Element {
  const { logs } = props;
  const names = ordered(Object.keys(logs.logs));
  if (logs.loaded && names.length === 0) {
    return <div className="mlws-Empty">{props.live ? 'No output yet.' : 'This run has no logs.'}</div>;
  }
  return (
    <>
      {names.map(name => {
        const log = logs.logs[name];
        const stored = props.stored.find(f => f.path === name);
        return (
          <section key={name} className="mlws-Log" data-log={name}>
            <h3>
              {name} <span className="mlws-Muted">{formatSize(log.size)}</span>
              {stored ? (
                <a className="mlws-Download" href={apiUrl(artifactPath(props.runId, name, 'log'))} download={name.split('/').pop()}>
                  Download
                </a>
              ) : (
                <SaveShown name={name} text={log.text} />
              )}
            </h3>
            {log.size === 0 ? <div className="mlws-Muted">empty</div> : <LogText name={name} text={log.text} />}
          </section>
        );
      })}
    </>
  );
}

export function Logs(props: { model: RunPageModel }): JSX.Element {
  const { model } = props;
  React.useEffect(() => {
    if (!model.logs.loaded) {
      void model.logs.load();
    }
  }, [model]);
  const stored = useFetch(
    () => requestAPI<{ files: IRunFile[] }>(`runs/${model.id}/files?kind=log`).then(reply => reply.files),
    [model.runId, model.statusVersion, model.storedLogsVersion]
  );
  return (
    <div className="mlws-Logs">
      {model.live && <div className="mlws-Muted mlws-LiveNote">Live: new output is appended as the run prints it.</div>}
      <UseSignal signal={model.logs.changed}>
        {() => (
          <>
            <Problem error={model.logs.error} />
            <LogList logs={model.logs} stored={stored.value ?? []} runId={model.runId} live={model.live} />
          </>
        )}
      </UseSignal>
    </div>
  );
}
