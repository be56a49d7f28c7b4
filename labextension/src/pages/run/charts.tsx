/**
 * A run's charts: every metric with more than one point is a chart (several metrics can share
 * one); a metric with a single value is a number, never a lone dot.  The server downsamples
 * each history (extremes kept), so a metric of a million points draws as fast as a short one.
 */

import * as React from 'react';

import { query, requestAPI } from '../../request';
import { formatValue } from '../../runs';
import { CHART_MAX_POINTS, IMetricHistory, Scalar } from '../../tokens';
import { useFetch } from './fetch';
import { MetricPlot } from './plot';
import { LoadNote } from './notes';
import { RunPageModel } from './runPageModel';
import { IChartSettings } from './types';

interface ICharted {
  /** metrics with more than one point, with their (downsampled) histories */
  histories: Record<string, IMetricHistory>;
  /** metrics with one value */
  singles: Record<string, Scalar>;
}

/** Fetch what the charts need: the histories of metrics with several points only. */
async function loadCharted(model: RunPageModel): Promise<ICharted> {
  const run = model.run!;
  const counts = (run.metric_counts ?? null) as Record<string, number> | null;
  const keys = Object.keys(run.metrics || {}).sort();
  const wanted = counts ? keys.filter(key => (counts[key] ?? 2) > 1) : keys;
  const fetched = await Promise.all(
    wanted.map(key =>
      requestAPI<IMetricHistory>(`runs/${model.id}/metrics/${encodeURIComponent(key)}${query({ max_points: CHART_MAX_POINTS })}`)
    )
  );
  const result: ICharted = { histories: {}, singles: {} };
  for (const key of keys) {
    const history = fetched[wanted.indexOf(key)];
    if (history && history.total > 1) {
      result.histories[key] = history;
    } else {
      result.singles[key] = run.metrics[key];
    }
  }
  return result;
}

function Controls(props: { settings: IChartSettings; change: (change: Partial<IChartSettings>) => void }): JSX.Element {
  const { settings, change } = props;
  return (
    <div className="mlws-ChartControls" role="group" aria-label="Chart settings">
      <label className="mlws-Smoothing">
        Smoothing
        <input
          type="range"
          min={0}
          max={0.99}
          step={0.01}
          value={settings.smoothing}
          aria-valuetext={settings.smoothing.toFixed(2)}
          onChange={event => change({ smoothing: Number(event.target.value) })}
        />
        <output>{settings.smoothing.toFixed(2)}</output>
      </label>
      <label>
        X axis
        <select className="mlws-XAxis" value={settings.x} onChange={event => change({ x: event.target.value as IChartSettings['x'] })}>
          <option value="step">step</option>
          <option value="time">time (relative)</option>
        </select>
      </label>
      <label>
        <input type="checkbox" className="mlws-LogScale" checked={settings.log} onChange={event => change({ log: event.target.checked })} />
        Log scale
      </label>
      <span className="mlws-Muted">Drag across a chart to zoom; double-click to zoom out.</span>
    </div>
  );
}

function ChartCard(props: {
  metric: string;
  charted: ICharted;
  settings: IChartSettings;
  change: (change: Partial<IChartSettings>) => void;
}): JSX.Element {
  const { metric, charted, settings, change } = props;
  const overlaid = (settings.overlays[metric] ?? []).filter(key => key in charted.histories);
  const keys = [metric, ...overlaid];
  const histories = React.useMemo(() => keys.map(key => charted.histories[key]), [charted, keys.join('\n')]);
  const others = Object.keys(charted.histories).filter(key => !keys.includes(key));
  const setOverlay = (list: string[]) => change({ overlays: { ...settings.overlays, [metric]: list } });
  return (
    <figure className="mlws-ChartCard" data-metric={metric}>
      <figcaption>
        <span className="mlws-ChartTitle">{metric}</span>
        {overlaid.map(key => (
          <span key={key} className="mlws-Overlay" data-metric={key}>
            + {key}
            <button className="mlws-TagRemove" aria-label={`Remove ${key} from this chart`} onClick={() => setOverlay(overlaid.filter(k => k !== key))}>
              ×
            </button>
          </span>
        ))}
        {others.length > 0 && (
          <select
            className="mlws-AddSeries"
            aria-label={`Add a metric to the ${metric} chart`}
            value=""
            onChange={event => event.target.value && setOverlay([...overlaid, event.target.value])}
          >
            <option value="">+ series…</option>
            {others.map(key => (
              <option key={key} value={key}>
                {key}
              </option>
            ))}
          </select>
        )}
      </figcaption>
      <MetricPlot histories={histories} options={settings} />
      <div className="mlws-Muted mlws-ChartInfo">
        {histories
          .map(h => `${keys.length > 1 ? `${h.key}: ` : ''}${h.total} points${h.downsampled ? `, ${h.steps.length} drawn` : ''}`)
          .join(' · ')}
      </div>
    </figure>
  );
}

export function Charts(props: { model: RunPageModel }): JSX.Element {
  const { model } = props;
  const loaded = useFetch(() => loadCharted(model), [model.runId, model.metricsVersion]);
  const settings = model.chartSettings;
  const change = (change: Partial<IChartSettings>) => model.setChartSettings(change);
  const charted = loaded.value;
  const singles = Object.entries(charted?.singles ?? {});
  const charts = Object.keys(charted?.histories ?? {});
  return (
    <div className="mlws-Charts">
      <LoadNote loaded={loaded} />
      {charted && singles.length === 0 && charts.length === 0 && <div className="mlws-Empty">This run logged no metrics.</div>}
      {singles.length > 0 && (
        <section className="mlws-Singles" aria-label="Metrics with a single value">
          {singles.map(([key, value]) => (
            <div key={key} className="mlws-Single" data-metric={key}>
              <div className="mlws-SingleKey">{key}</div>
              <div className="mlws-SingleValue">{formatValue(value)}</div>
            </div>
          ))}
        </section>
      )}
      {charts.length > 0 && (
        <>
          <Controls settings={settings} change={change} />
          <div className="mlws-ChartGrid">
            {charts.map(key => (
              <ChartCard key={key} metric={key} charted={charted!} settings={settings} change={change} />
            ))}
          </div>
        </>
      )}
    </div>
  );
}
