/**
 * A sweep parent's section (lazily loaded): the grid, the children with their params and final
 * metrics (sortable, the best marked by a chosen metric and direction), parallel coordinates
 * (params -> metric) and a scatter of any param against any metric.
 *
 * An automated-ML search's: its summary (the budget line) in place of the grid, and its
 * leaderboard: the trials by rank (the service's), estimator, metrics and hyper-parameters, the
 * best trial the search's.
 */

import { UseSignal } from '@jupyterlab/apputils';
import * as React from 'react';

import { IRun, Scalar } from '../tokens';
import { formatValue } from '../runs';
import { AutoMLSummary } from './automlSummary';
import { numberOf, runLabels } from './best';
import { BestBy } from './bestBy';
import { IPageContext } from './page';
import { IResultColumn, metricColumn, paramColumn, ResultsTable, IResultsSort, STATUS_COLUMN } from './resultsTable';
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

/** A trial's hyper-parameters in one line, in the search's order (its config but the estimator). */
function hyperParameters(config: Record<string, Scalar> | undefined): string {
  return Object.entries(config ?? {})
    .filter(([key]) => key !== 'estimator')
    .map(([key, value]) => `${key}=${formatValue(numberOf(value) ?? value)}`)
    .join(', ');
}

/** The leaderboard's columns: rank, status, estimator, the search's metric, the other metrics, the hyper-parameters. */
function searchColumns(model: SweepModel): IResultColumn[] {
  const ranks = model.ranks;
  const configs = new Map((model.automl?.leaderboard ?? []).map(row => [row.run_id, row.config]));
  const metric = model.automl?.metric;
  const metrics = model.metrics;
  return [
    { key: 'rank', label: 'Rank', kind: 'attribute', value: run => ranks.get(run.id) },
    STATUS_COLUMN,
    paramColumn('estimator'),
    ...(metric && metrics.includes(metric) ? [metric] : []).map(metricColumn),
    ...metrics.filter(key => key !== metric).map(metricColumn),
    { key: 'config', label: 'Hyper-parameters', kind: 'attribute', value: run => hyperParameters(configs.get(run.id) ?? run.params) }
  ];
}

function SweepBody(props: { model: SweepModel; context: IPageContext }): JSX.Element {
  const { model, context } = props;
  const [sort, setSort] = React.useState<IResultsSort | null>(null);
  const children = model.children;
  const labels = React.useMemo(() => runLabels(model.bestBeyond ? [...children, model.bestBeyond] : children), [children, model.bestBeyond]);
  const search = model.automl;
  const varying = model.chartParams;
  const metrics = model.metrics;
  const best = model.best;
  const shown = React.useMemo(
    () => (best && !children.includes(best) ? [...children, best] : children),
    [children, best]
  );
  const open = (run: IRun) => context.open({ kind: 'run', id: run.id });
  const estimator = model.chartEstimator;
  const chart = { runs: model.chartRuns, labels, metric: model.metric, direction: model.direction, best, rendermime: context.rendermime };
  const columns = search ? searchColumns(model) : [STATUS_COLUMN, ...varying.map(paramColumn), ...metrics.map(metricColumn)];
  // a search's trials by rank while they are ranked as the search ranks them
  const metricSort = model.bySearch ? { key: 'rank', descending: false } : { key: `metrics.${model.metric}`, descending: model.direction === 'max' };
  return (
    <>
      {search ? <AutoMLSummary search={search} context={context} /> : <GridTable model={model} />}
      {model.more && (
        <div className="mlws-Note" role="note">
          {search
            ? `This search has more than ${SWEEP_MAX_CHILDREN} trials: the table and charts show the first ${SWEEP_MAX_CHILDREN}`
            : `This sweep has more than ${SWEEP_MAX_CHILDREN} children: the table and charts show the first ${SWEEP_MAX_CHILDREN}`}
          {best && !children.includes(best) ? (search ? ', and its best trial' : ', and its best child of all') : ''}.
        </div>
      )}
      {children.length === 0 ? (
        <div className="mlws-Empty">{search ? 'No trial finished yet.' : 'No children yet.'}</div>
      ) : (
        <>
          <h3>{search ? 'Leaderboard' : 'Children'}</h3>
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
            className={search ? 'mlws-SweepChildren mlws-Leaderboard' : 'mlws-SweepChildren'}
            caption={search ? `The search's trials by rank, with their estimator, metrics and hyper-parameters` : `The sweep's children with their params and final metrics`}
          />
          {metrics.length > 0 && varying.length > 0 && (
            <div className="mlws-ChartRow">
              <section className="mlws-ChartCell mlws-Wide">
                <h3>Parallel coordinates{estimator !== null ? ` of the ${estimator} trials (the best trial's estimator)` : ''}</h3>
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
