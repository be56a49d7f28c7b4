/** A metric's history drawn with uPlot (canvas; fast for many points). */

import * as React from 'react';
import uPlot from 'uplot';

import { IMetricHistory } from './tokens';

/** Values as numbers: the server sends NaN and infinities as strings. */
function numbers(values: Array<number | string>): Array<number | null> {
  return values.map(v => (typeof v === 'number' ? v : Number.isFinite(Number(v)) ? Number(v) : null));
}

export function MetricChart(props: { history: IMetricHistory; width?: number }): JSX.Element {
  const host = React.useRef<HTMLDivElement>(null);

  React.useEffect(() => {
    const element = host.current;
    if (!element) {
      return;
    }
    const { history } = props;
    // canvas strokes cannot use CSS variables: resolve the theme's colours now
    const css = getComputedStyle(element);
    const color = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
    const text = color('--jp-ui-font-color1', '#333');
    const grid = color('--jp-border-color2', '#e0e0e0');
    const width = props.width ?? Math.max(200, element.clientWidth || 260);
    const plot = new uPlot(
      {
        width,
        height: 180,
        scales: { x: { time: false } },
        legend: { show: false },
        cursor: { drag: { x: true, y: false } },
        axes: [
          { stroke: text, grid: { stroke: grid } },
          { stroke: text, grid: { stroke: grid }, size: 50 }
        ],
        series: [{ label: 'step' }, { label: history.key, stroke: color('--jp-brand-color1', '#1976d2'), width: 1.5 }]
      },
      [history.steps, numbers(history.values)] as uPlot.AlignedData,
      element
    );
    return () => plot.destroy();
  }, [props.history, props.width]);

  return <div className="mlws-Chart" ref={host} data-points={props.history.steps.length} />;
}
