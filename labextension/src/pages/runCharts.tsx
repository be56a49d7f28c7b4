/**
 * The charts of many runs: parallel coordinates (params -> metric), a bar per run of one value,
 * and a param against a metric.  Drawn by JupyterLab's Vega-Lite renderer; without it, tables
 * of the same values.
 */

import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import * as React from 'react';

import { formatValue } from '../runs';
import { IRun, Scalar } from '../tokens';
import { Direction, metricOf, numberOf } from './best';
import { IPlotTheme } from './plotTheme';
import { barsSpec, dimensionsOf, parallelSpec, scatterSpec } from './plots';
import { VegaChart } from './vegaChart';

interface IRunsChart {
  runs: IRun[];
  labels: Map<string, string>;
  metric: string;
  direction: Direction;
  best: IRun | null;
  rendermime: IRenderMimeRegistry | null;
}

/** The runs best first by the metric (those without it last). */
function ranked(runs: IRun[], metric: string, direction: Direction): IRun[] {
  const sign = direction === 'max' ? -1 : 1;
  const key = (run: IRun) => metricOf(run, metric);
  return [...runs].sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    return x === null || y === null ? Number(x === null) - Number(y === null) : sign * (x - y);
  });
}

/** A plain table of some values per run: what a chart shows, where it cannot be drawn. */
function ValuesTable(props: {
  runs: IRun[];
  labels: Map<string, string>;
  best: IRun | null;
  columns: Array<[string, (run: IRun) => Scalar | undefined]>;
  className: string;
}): JSX.Element {
  return (
    <table className={`mlws-Table ${props.className}`}>
      <thead>
        <tr>
          <th>Run</th>
          {props.columns.map(([title]) => (
            <th key={title}>{title}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {props.runs.map(run => (
          <tr key={run.id} className={run === props.best ? 'mlws-Best' : ''}>
            <td>
              {props.labels.get(run.id)}
              {run === props.best && <span className="mlws-BestMark"> ★ best</span>}
            </td>
            {props.columns.map(([title, value]) => (
              <td key={title}>{formatValue(value(run))}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Parallel coordinates: an axis per param, then the metric; a line per run. */
export function ParallelCoordinates(props: IRunsChart & { params: string[] }): JSX.Element {
  const { runs, labels, metric, direction, best, params } = props;
  const dims = React.useMemo(() => dimensionsOf(params, metric), [params.join('\n'), metric]);
  const spec = React.useCallback(
    (theme: IPlotTheme, width: number) => parallelSpec(runs, labels, dims, metric, direction, best, theme, width),
    [runs, labels, dims, metric, direction, best]
  );
  return (
    <VegaChart
      rendermime={props.rendermime}
      spec={spec}
      className="mlws-Parallel"
      label={`Parallel coordinates: ${params.join(', ')} against ${metric}, a line per run`}
      fallback={() => (
        <ValuesTable
          runs={ranked(runs, metric, direction)}
          labels={labels}
          best={best}
          className="mlws-ParallelTable"
          columns={dims.map(dim => [dim.title, run => dim.value(run) as Scalar | undefined])}
        />
      )}
    />
  );
}

/** One value per run as bars (single-valued metrics: never a lone dot on a step axis). */
export function ResultBars(props: IRunsChart): JSX.Element {
  const { runs, labels, metric, direction, best } = props;
  const spec = React.useCallback(
    (theme: IPlotTheme) => barsSpec(runs, labels, metric, direction, best, theme),
    [runs, labels, metric, direction, best]
  );
  const values = runs.map(run => metricOf(run, metric)).filter((v): v is number => v !== null);
  const widest = Math.max(...values.map(Math.abs), 0);
  return (
    <VegaChart
      rendermime={props.rendermime}
      spec={spec}
      className="mlws-Bars"
      label={`${metric} of each run as bars, best first`}
      fallback={() => (
        <ValuesTable
          runs={ranked(runs, metric, direction)}
          labels={labels}
          best={best}
          className="mlws-BarsTable"
          columns={[
            [metric, run => run.metrics?.[metric]],
            [
              '',
              run => {
                const value = metricOf(run, metric);
                return value === null || widest === 0 ? '' : '█'.repeat(Math.max(1, Math.round((20 * Math.abs(value)) / widest)));
              }
            ]
          ]}
        />
      )}
    />
  );
}

/** A param (x) against a metric (y), with pickers for both. */
export function ParamScatter(props: IRunsChart & { params: string[]; metrics: string[] }): JSX.Element {
  const { runs, labels, best, params, metrics } = props;
  const [param, setParam] = React.useState(params[0] ?? '');
  const [metric, setMetric] = React.useState(props.metric);
  React.useEffect(() => setMetric(props.metric), [props.metric]);
  const x = params.includes(param) ? param : params[0] ?? '';
  const y = metrics.includes(metric) ? metric : props.metric;
  const spec = React.useCallback(
    (theme: IPlotTheme, width: number) => scatterSpec(runs, labels, x, y, best, theme, width),
    [runs, labels, x, y, best]
  );
  const byParam = (run: IRun) => numberOf(run.params?.[x]) ?? Number.NaN;
  return (
    <div className="mlws-Scatter">
      <div className="mlws-Controls">
        <label>
          Param{' '}
          <select className="mlws-ScatterParam" value={x} onChange={event => setParam(event.target.value)}>
            {params.map(key => (
              <option key={key}>{key}</option>
            ))}
          </select>
        </label>
        <label>
          Metric{' '}
          <select className="mlws-ScatterMetric" value={y} onChange={event => setMetric(event.target.value)}>
            {metrics.map(key => (
              <option key={key}>{key}</option>
            ))}
          </select>
        </label>
      </div>
      {x === '' ? (
        <div className="mlws-Empty">The runs have no params.</div>
      ) : (
        <VegaChart
          rendermime={props.rendermime}
          spec={spec}
          className="mlws-ScatterPlot"
          label={`${y} against ${x}, a point per run`}
          fallback={() => (
            <ValuesTable
              runs={[...runs].sort((a, b) => byParam(a) - byParam(b))}
              labels={labels}
              best={best}
              className="mlws-ScatterTable"
              columns={[
                [x, run => run.params?.[x]],
                [y, run => run.metrics?.[y]]
              ]}
            />
          )}
        />
      )}
    </div>
  );
}
