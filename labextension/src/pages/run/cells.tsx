/**
 * A session run's cells: every executed cell with its status, start, duration, source, error
 * and the metrics it logged; "Promote to experiment" turns them into a notebook run.
 */

import * as React from 'react';

import { requestAPI } from '../../request';
import { formatValue } from '../../runs';
import { IPageContext } from '../page';
import { PromoteButton } from './actions';
import { useFetch } from './fetch';
import { formatDuration, formatMoment } from './format';
import { highlight } from './preview';
import { LoadNote } from './notes';
import { RunPageModel } from './runPageModel';
import { ICell } from './types';

function Cell(props: { cell: ICell }): JSX.Element {
  const { cell } = props;
  const metrics = Object.entries(cell.metrics ?? {});
  return (
    <li className={`mlws-Cell mlws-Cell-${cell.status}`} data-number={cell.number}>
      <div className="mlws-CellHead">
        <span className="mlws-CellNumber">[{cell.number}]</span>
        <span className={`mlws-Status mlws-status-${cell.status}`}>{cell.status}</span>
        <span className="mlws-Muted">{formatMoment(cell.started)}</span>
        <span className="mlws-CellDuration">{formatDuration(cell.duration_s)}</span>
        {metrics.map(([key, value]) => (
          <span key={key} className="mlws-Chip mlws-CellMetric" data-metric={key}>
            {key} {formatValue(value)}
          </span>
        ))}
      </div>
      <pre className="mlws-CodeText mlws-CellSource">{highlight(cell.source)}</pre>
      {cell.error && <pre className="mlws-Error mlws-CellError">{cell.error}</pre>}
    </li>
  );
}

export function Cells(props: { model: RunPageModel; context: IPageContext }): JSX.Element {
  const { model, context } = props;
  const loaded = useFetch(
    () => requestAPI<{ cells: ICell[] }>(`runs/${model.id}/cells`).then(reply => reply.cells),
    [model.runId, model.metricsVersion, model.statusVersion]
  );
  const cells = loaded.value ?? [];
  return (
    <div className="mlws-Cells">
      <div className="mlws-CellsBar">
        <span>
          {cells.length} executed cell{cells.length === 1 ? '' : 's'}
          {cells.some(c => c.status === 'failed') && `, ${cells.filter(c => c.status === 'failed').length} failed`}
        </span>
        <PromoteButton model={model} context={context} />
      </div>
      <LoadNote loaded={loaded} />
      {loaded.value && cells.length === 0 && <div className="mlws-Empty">No cell recorded yet.</div>}
      <ol className="mlws-CellList">
        {cells.map(cell => (
          <Cell key={`${cell.number}:${cell.started}`} cell={cell} />
        ))}
      </ol>
    </div>
  );
}
