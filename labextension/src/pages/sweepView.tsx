/**
 * A sweep parent's section (lazily loaded): the grid, the children with their params and final
 * metrics (sortable, the best marked by a chosen metric and direction), parallel coordinates
 * (params -> metric) and a scatter of any param against any metric.
 */

import { UseSignal } from '@jupyterlab/apputils';
import * as React from 'react';

import { IRun } from '../tokens';
import { runLabels } from './best';
import { BestBy } from './bestBy';
import { IPageContext } from './page';
import { metricColumn, paramColumn, ResultsTable, IResultsSort, STATUS_COLUMN } from './resultsTable';
import { ParallelCoordinates, ParamScatter } from './runCharts';
import { SWEEP_MAX_CHILDREN, SweepModel } from './sweepModel';

/** Values of a grid param shown as chips (the rest are counted). */
const GRID_VALUES_SHOWN = 24;

function GridTable(props: { model: SweepModel }): JSX.Element {
  const { model } = props;
  const grid = model.grid;
  const statuses = new Map<string, number>();
  model.children.forEach(run => statuses.set(run.status, (statuses.get(run.status) ?? 0) + 1));
  const combinations = grid.params.reduce((n, [, values]) => n * values.length, 1);
  return (
    <div className="mlws-SweepGrid">
      <table className="mlws-Table mlws-GridTable">
        <caption>
          Grid{grid.recorded ? '' : ' (read off the children: the parent has no readable grid)'}
        </caption>
        <tbody>
          {grid.params.map(([key, values]) => (
            <tr key={key} data-param={key}>
              <th scope="row">{key}</th>
              <td>
                {values.slice(0, GRID_VALUES_SHOWN).map((value, i) => (
                  <span className="mlws-Chip" key={i}>
                    {typeof value === 'string' ? value : JSON.stringify(value)}
                  </span>
                ))}
                {values.length > GRID_VALUES_SHOWN && (
                  <span className="mlws-Muted"> and {values.length - GRID_VALUES_SHOWN} more</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="mlws-SweepCounts">
        {combinations} combination{combinations === 1 ? '' : 's'}
        {model.parent?.tags?.max_parallel ? `, ${model.parent.tags.max_parallel} at a time` : ''} ·{' '}
        {model.more ? `more than ${SWEEP_MAX_CHILDREN}` : model.children.length} children:{' '}
        {[...statuses].map(([status, n]) => (
          <span key={status} className={`mlws-status-${status}`}>
            {n} {status}{' '}
          </span>
        ))}
      </div>
    </div>
  );
}

function SweepBody(props: { model: SweepModel; context: IPageContext }): JSX.Element {
  const { model, context } = props;
  const [sort, setSort] = React.useState<IResultsSort | null>(null);
  const children = model.children;
  const labels = React.useMemo(() => runLabels(model.bestBeyond ? [...children, model.bestBeyond] : children), [children, model.bestBeyond]);
  const varying = model.varying;
  const metrics = model.metrics;
  const best = model.best;
  const shown = React.useMemo(
    () => (best && !children.includes(best) ? [...children, best] : children),
    [children, best]
  );
  const open = (run: IRun) => context.open({ kind: 'run', id: run.id });
  const chart = { runs: shown, labels, metric: model.metric, direction: model.direction, best, rendermime: context.rendermime };
  const columns = [STATUS_COLUMN, ...varying.map(paramColumn), ...metrics.map(metricColumn)];
  const metricSort = { key: `metrics.${model.metric}`, descending: model.direction === 'max' };
  return (
    <>
      <GridTable model={model} />
      {model.more && (
        <div className="mlws-Note" role="note">
          This sweep has more than {SWEEP_MAX_CHILDREN} children: the table and charts show the first {SWEEP_MAX_CHILDREN}
          {best && !children.includes(best) ? ', and its best child of all' : ''}.
        </div>
      )}
      {children.length === 0 ? (
        <div className="mlws-Empty">No children yet.</div>
      ) : (
        <>
          <h3>Children</h3>
          {metrics.length > 0 ? (
            <BestBy metrics={metrics} metric={model.metric} direction={model.direction} onChange={(m, d) => void model.rankBy(m, d)} />
          ) : (
            <div className="mlws-Muted">No child has logged a metric yet.</div>
          )}
          <ResultsTable
            runs={shown}
            labels={labels}
            columns={columns}
            best={best}
            bestBy={{ metric: model.metric, direction: model.direction }}
            sort={sort ?? metricSort}
            onSort={setSort}
            onOpen={open}
            className="mlws-SweepChildren"
            caption={`The sweep's children with their params and final metrics`}
          />
          {metrics.length > 0 && varying.length > 0 && (
            <div className="mlws-ChartRow">
              <section className="mlws-ChartCell mlws-Wide">
                <h3>Parallel coordinates</h3>
                <ParallelCoordinates {...chart} params={varying} />
              </section>
              <section className="mlws-ChartCell">
                <h3>Param against metric</h3>
                <ParamScatter {...chart} params={varying} metrics={metrics} />
              </section>
            </div>
          )}
        </>
      )}
    </>
  );
}

/** The sweep section of a run page: loads the sweep and follows its runs' live events. */
export default function SweepView(props: { runId: string; context: IPageContext }): JSX.Element {
  const model = React.useMemo(() => new SweepModel(props.runId), [props.runId]);
  React.useEffect(() => {
    void model.refresh();
    return model.follow(props.context.events);
  }, [model]);
  return (
    <UseSignal signal={model.changed}>
      {() => (
        <div className="mlws-Sweep" data-loaded={model.parent !== null ? 'true' : 'false'}>
          {model.error && (
            <div className="mlws-Error" role="alert">
              {model.error}
            </div>
          )}
          {model.parent === null ? (
            !model.error && <div className="mlws-Muted">Loading the sweep…</div>
          ) : (
            <SweepBody model={model} context={props.context} />
          )}
        </div>
      )}
    </UseSignal>
  );
}
