/**
 * The compare page's content (lazily loaded): final metrics as bars and a table with the best
 * run marked, metrics with many steps overlaid (one series per run), parallel coordinates,
 * and the params and environments diffed (differences highlighted, or shown alone).
 */

import { UseSignal } from '@jupyterlab/apputils';
import * as React from 'react';

import { IRun } from '../tokens';
import { paramDiffers, paramKeys, runLabels } from './best';
import { BestBy } from './bestBy';
import { ComparisonModel, COMPARE_MAX_RUNS } from './compareModel';
import { environmentRows, IDiffRow, paramRows } from './diff';
import { followRuns } from './follow';
import { IPageContext } from './page';
import { plotTheme } from './plotTheme';
import { IResultsSort, metricColumn, ResultsTable, STATUS_COLUMN } from './resultsTable';
import { MetricPlot } from './run/plot';
import { ParallelCoordinates, ResultBars } from './runCharts';

function DiffTable(props: {
  rows: IDiffRow[];
  names: string[];
  onlyDifferences: boolean;
  className: string;
  title: string;
  /** One row's name, for "No package differs." */
  item: string;
}): JSX.Element {
  const rows = props.onlyDifferences ? props.rows.filter(row => row.differs) : props.rows;
  if (rows.length === 0) {
    return (
      <div className={`mlws-Muted ${props.className}-none`}>
        {props.onlyDifferences && props.rows.length > 0 ? `No ${props.item} differs.` : `No ${props.title}.`}
      </div>
    );
  }
  return (
    <div className="mlws-ResultsScroll">
      <table className={`mlws-Table mlws-Diff ${props.className}`}>
        <thead>
          <tr>
            <th>{props.title}</th>
            {props.names.map((name, i) => (
              <th key={i}>{name}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map(row => (
            <tr key={row.key} className={row.differs ? 'mlws-Differs' : ''} data-key={row.key}>
              <th scope="row">
                {row.differs && (
                  <span className="mlws-DiffMark" title="differs between the runs" aria-label="differs">
                    ≠{' '}
                  </span>
                )}
                {row.key}
              </th>
              {row.values.map((value, i) => (
                <td key={i}>{value === '' ? <span className="mlws-Muted">not recorded</span> : value}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Runs overlaid on their steps, unsmoothed. */
const STEPS = { x: 'step', smoothing: 0, log: false } as const;

function Stepped(props: { model: ComparisonModel; labels: Map<string, string>; colors: Map<string, string> }): JSX.Element {
  const { model, labels, colors } = props;
  const histories = React.useMemo(
    () => model.histories.map(history => ({ ...history, key: labels.get(history.key) ?? history.key })),
    [model.histories, labels]
  );
  const seriesColors = model.histories.map(history => colors.get(history.key) ?? '');
  return (
    <section className="mlws-CompareSection">
      <h3>Over steps</h3>
      <div className="mlws-Controls">
        <label>
          Metric{' '}
          <select className="mlws-SteppedMetric" value={model.stepped} onChange={event => void model.showStepped(event.target.value)}>
            {model.steppedMetrics.map(key => (
              <option key={key}>{key}</option>
            ))}
          </select>
        </label>
      </div>
      <MetricPlot histories={histories} options={STEPS} colors={seriesColors} className="mlws-CompareChart" height={260} />
    </section>
  );
}

function CompareBody(props: { model: ComparisonModel; context: IPageContext }): JSX.Element {
  const { model, context } = props;
  const [sort, setSort] = React.useState<IResultsSort | null>(null);
  const [onlyDifferences, setOnlyDifferences] = React.useState(false);
  const runs = model.runs;
  const labels = React.useMemo(() => runLabels(runs), [runs]);
  const colors = React.useMemo(() => {
    // the first colour marks the best run on the bars and lines: no run's series takes it
    const theme = plotTheme();
    const series = theme.series.length > 1 ? theme.series.filter(color => color !== theme.best) : theme.series;
    return new Map(runs.map((run, i) => [run.id, series[i % series.length]]));
  }, [runs]);
  const names = runs.map(run => labels.get(run.id)!);
  const best = model.best;
  const differing = paramKeys(runs).filter(key => paramDiffers(runs, key));
  const open = (run: IRun) => context.open({ kind: 'run', id: run.id });
  const chart = { runs, labels, metric: model.metric, direction: model.direction, best, rendermime: context.rendermime };
  const metrics = model.metrics;
  return (
    <>
      <ul className="mlws-RunChips" aria-label="Runs compared">
        {runs.map(run => (
          <li key={run.id}>
            <span className="mlws-Swatch" style={{ background: colors.get(run.id) }} aria-hidden="true" />
            <button className="mlws-Link" onClick={() => open(run)} title={`Open run ${run.id}`}>
              {labels.get(run.id)}
            </button>
          </li>
        ))}
      </ul>
      {metrics.length === 0 ? (
        <div className="mlws-Empty">None of these runs logged a metric.</div>
      ) : (
        <>
          <h3>Final metrics</h3>
          <BestBy metrics={metrics} metric={model.metric} direction={model.direction} onChange={(m, d) => model.rankBy(m, d)} />
          <div className="mlws-ChartRow">
            <section className="mlws-ChartCell">
              <ResultBars {...chart} />
            </section>
            <section className="mlws-ChartCell mlws-Wide">
              <ResultsTable
                runs={runs}
                labels={labels}
                columns={[STATUS_COLUMN, ...metrics.map(metricColumn)]}
                best={best}
                bestBy={{ metric: model.metric, direction: model.direction }}
                sort={sort ?? { key: `metrics.${model.metric}`, descending: model.direction === 'max' }}
                onSort={setSort}
                onOpen={open}
                className="mlws-CompareMetrics"
                caption="Each run's final value of every metric"
              />
            </section>
          </div>
          {model.steppedMetrics.length > 0 && <Stepped model={model} labels={labels} colors={colors} />}
          {differing.length > 0 && (
            <section className="mlws-CompareSection">
              <h3>Parallel coordinates</h3>
              <ParallelCoordinates {...chart} params={differing} />
            </section>
          )}
        </>
      )}
      <section className="mlws-CompareSection">
        <div className="mlws-DiffHeader">
          <h3>Params and environment</h3>
          <label>
            <input
              type="checkbox"
              className="mlws-OnlyDifferences"
              checked={onlyDifferences}
              onChange={event => setOnlyDifferences(event.target.checked)}
            />{' '}
            Only differences
          </label>
        </div>
        <DiffTable rows={paramRows(runs)} names={names} onlyDifferences={onlyDifferences} className="mlws-ParamsDiff" title="params" item="param" />
        {model.environments.every(env => env === null) ? (
          <div className="mlws-Muted">No environment recorded (notebook runs record one).</div>
        ) : (
          <DiffTable
            rows={environmentRows(model.environments)}
            names={names}
            onlyDifferences={onlyDifferences}
            className="mlws-EnvDiff"
            title="environment"
            item="package"
          />
        )}
      </section>
    </>
  );
}

/** A comparison's tab title: its runs' names, cut to fit a tab (all of them in the caption). */
export function compareTitle(names: string[]): { label: string; caption: string } {
  const all = names.join(', ');
  const shown = all.length > TITLE_NAMES_CHARS ? `${all.slice(0, TITLE_NAMES_CHARS - 1).trimEnd()}…` : all;
  return { label: `Compare ${names.length}: ${shown}`, caption: `Compare ${names.length} runs: ${all}` };
}

/** How much of the runs' names a compare tab's title shows. */
const TITLE_NAMES_CHARS = 32;

/** The compare page: loads the runs, follows their live events, shows what they share and where they differ. */
export default function CompareView(props: {
  ids: string[];
  context: IPageContext;
  /** Called with the tab's title once the runs' names are known. */
  onTitle?: (label: string, caption: string) => void;
}): JSX.Element {
  const model = React.useMemo(() => new ComparisonModel(props.ids), [props.ids.join()]);
  React.useEffect(() => {
    void model.refresh();
    return followRuns(props.context.events, runId => model.runIds.includes(runId), () => void model.refresh());
  }, [model]);
  React.useEffect(() => {
    const retitle = () => {
      if (model.runs.length > 0 && props.onTitle) {
        const labels = runLabels(model.runs);
        const title = compareTitle(model.runs.map(run => labels.get(run.id)!));
        props.onTitle(title.label, title.caption);
      }
    };
    model.changed.connect(retitle);
    return () => {
      model.changed.disconnect(retitle);
    };
  }, [model, props.onTitle]);
  return (
    <UseSignal signal={model.changed}>
      {() => (
        <div className="mlws-ComparePage" data-loaded={model.runs.length > 0 ? 'true' : 'false'}>
          <h2 className="mlws-PageTitle">Compare {model.runs.length || model.runIds.length} runs</h2>
          {model.error && (
            <div className="mlws-Error" role="alert">
              {model.error}
            </div>
          )}
          {model.dropped > 0 && (
            <div className="mlws-Note" role="note">
              A comparison shows {COMPARE_MAX_RUNS} runs at most: {model.dropped} more were left out.
            </div>
          )}
          {model.missing.length > 0 && (
            <div className="mlws-Error" role="alert">
              No run {model.missing.join(', ')} in this workspace.
            </div>
          )}
          {model.runs.length > 0 ? (
            <CompareBody model={model} context={props.context} />
          ) : (
            !model.error && model.loading && <div className="mlws-Muted">Loading the runs…</div>
          )}
        </div>
      )}
    </UseSignal>
  );
}
