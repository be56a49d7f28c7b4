/**
 * What a run logged besides metrics: tables (sortable), lists and images (a gallery).  Each
 * key shows its newest step, with a choice of the other steps fetched.
 */

import * as React from 'react';

import { apiUrl, query, requestAPI } from '../../request';
import { formatNumber, formatSize } from './format';
import { useFetch } from './fetch';
import { LoadNote } from './notes';
import { RunPageModel } from './runPageModel';
import { SortableTable } from './table';
import { ILoggedValue, IValues } from './types';

/** Steps of each key fetched (the server's newest first). */
const VALUES_PER_KEY = 50;

function TableValue(props: { value: ILoggedValue }): JSX.Element {
  const table = (props.value.value ?? {}) as Record<string, unknown[]>;
  const header = Object.keys(table);
  const length = Math.max(0, ...header.map(name => table[name]?.length ?? 0));
  const rows = React.useMemo(
    () => Array.from({ length }, (_, i) => header.map(name => table[name]?.[i])),
    [props.value]
  );
  return <SortableTable header={header} rows={rows} className="mlws-LoggedTable" />;
}

function ListValue(props: { value: ILoggedValue }): JSX.Element {
  const items = (props.value.value ?? []) as unknown[];
  return (
    <ol className="mlws-LoggedList" start={0}>
      {items.map((item, i) => (
        <li key={i} title={typeof item === 'number' ? String(item) : undefined}>
          {typeof item === 'number' ? formatNumber(item) : typeof item === 'object' ? JSON.stringify(item) : String(item)}
        </li>
      ))}
    </ol>
  );
}

/** One key's steps: the newest shown, the others a choice away. */
function StepValues(props: { values: ILoggedValue[]; count: number }): JSX.Element {
  const [step, setStep] = React.useState<number | null>(null);
  const { values } = props;
  const shown = values.find(v => v.step === step) ?? values[0];
  return (
    <>
      {values.length > 1 && (
        <label className="mlws-StepChoice">
          step{' '}
          <select value={shown.step} onChange={event => setStep(Number(event.target.value))}>
            {values.map(v => (
              <option key={v.step} value={v.step}>
                {v.step}
              </option>
            ))}
          </select>
          {props.count > values.length && <span className="mlws-Muted"> (the newest {values.length} of {props.count})</span>}
        </label>
      )}
      {shown.value === null ? (
        <div className="mlws-Muted">too large to show with the others: fetch this key alone with `mlws run values`</div>
      ) : shown.kind === 'table' ? (
        <TableValue value={shown} />
      ) : (
        <ListValue value={shown} />
      )}
    </>
  );
}

function Gallery(props: { values: ILoggedValue[]; count: number }): JSX.Element {
  return (
    <>
      {props.count > props.values.length && <div className="mlws-Muted">the newest {props.values.length} of {props.count}</div>}
      <div className="mlws-Gallery">
        {props.values.map(v => {
          const url = v.image ? apiUrl(v.image.url) : '';
          const inline = v.image && ['png', 'jpeg', 'gif', 'webp'].includes(v.image.format);
          return (
            <figure key={`${v.step}:${v.timestamp}`} className="mlws-GalleryItem" data-key={v.key} data-step={v.step}>
              {inline ? (
                <a href={url} target="_blank" rel="noopener noreferrer" title="Open at full size">
                  <img src={url} alt={`${v.key} at step ${v.step}`} loading="lazy" />
                </a>
              ) : (
                <a className="mlws-NoPreview" href={url} download>
                  {v.image?.format?.toUpperCase()} image: download
                </a>
              )}
              <figcaption>
                step {v.step}
                <span className="mlws-Muted"> · {formatSize(v.image?.size)}</span>
              </figcaption>
            </figure>
          );
        })}
      </div>
    </>
  );
}

export function LoggedValues(props: { model: RunPageModel }): JSX.Element {
  const { model } = props;
  const loaded = useFetch(
    () => requestAPI<IValues>(`runs/${model.id}/values${query({ max_results: VALUES_PER_KEY })}`),
    [model.runId, model.metricsVersion, model.statusVersion]
  );
  const data = loaded.value;
  const byKey = new Map<string, ILoggedValue[]>();
  for (const value of data?.values ?? []) {
    byKey.set(value.key, [...(byKey.get(value.key) ?? []), value]);
  }
  return (
    <div className="mlws-Values">
      <LoadNote loaded={loaded} />
      {data && data.keys.length === 0 && <div className="mlws-Empty">This run logged no tables, lists or images.</div>}
      {data?.keys.map(({ key, kind, count }) => {
        const values = byKey.get(key) ?? [];
        return (
          <section key={`${key}:${kind}`} className={`mlws-Value mlws-Value-${kind}`} data-key={key} data-kind={kind}>
            <h3>
              {key} <span className="mlws-Muted">{kind}{count > 1 ? ` · ${count} steps` : ''}</span>
            </h3>
            {values.length === 0 ? null : kind === 'image' ? <Gallery values={values} count={count} /> : <StepValues values={values} count={count} />}
          </section>
        );
      })}
    </div>
  );
}
