/**
 * A chart over time (uPlot, canvas): several series on one time axis, e.g. requests per
 * deployment.  Colours come from the theme's CSS variables, read when drawn, and the chart
 * is drawn again when its box is resized or the theme changes.
 */

import * as React from 'react';
import uPlot from 'uplot';

/** One line: its values on the chart's times (null: a gap), its colour as a CSS variable. */
export interface ITimeSeries {
  label: string;
  values: Array<number | null>;
  color: string;
  /** A dash pattern (px), e.g. [4, 3]; solid when absent. */
  dash?: number[];
  /** Join values across gaps and mark each value with a dot (sparse series, e.g. latency). */
  sparse?: boolean;
}

/** Series colours, as the theme's variables: one per deployment, in order. */
export const SERIES_VARS = ['--jp-brand-color1', '--jp-warn-color1', '--jp-success-color1', '--jp-accent-color1', '--jp-error-color1'];

function themeColor(element: Element, variable: string): string {
  return getComputedStyle(element).getPropertyValue(variable).trim() || 'currentColor';
}

/** Redraw when JupyterLab switches its theme (it sets attributes on the body). */
function useThemeVersion(): number {
  const [version, setVersion] = React.useState(0);
  React.useEffect(() => {
    const observer = new MutationObserver(() => setVersion(v => v + 1));
    observer.observe(document.body, { attributes: true, attributeFilter: ['data-jp-theme-name', 'data-jp-theme-light'] });
    return () => observer.disconnect();
  }, []);
  return version;
}

export function TimeChart(props: {
  title: string;
  /** Times in ms since the epoch. */
  times: number[];
  series: ITimeSeries[];
  unit?: string;
  className?: string;
  height?: number;
}): JSX.Element {
  const { title, times, series, unit } = props;
  const host = React.useRef<HTMLDivElement>(null);
  const theme = useThemeVersion();

  React.useEffect(() => {
    const element = host.current;
    if (!element || times.length === 0 || series.length === 0) {
      return;
    }
    const text = themeColor(element, '--jp-ui-font-color1');
    const grid = themeColor(element, '--jp-border-color3');
    const plot = new uPlot(
      {
        width: Math.max(200, element.clientWidth || 300),
        height: props.height ?? 180,
        legend: { show: true, live: false },
        cursor: { drag: { x: true, y: false } },
        // from 0 (counts and latencies), never a flat line in the middle of nowhere
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
        axes: [
          { stroke: text, grid: { stroke: grid }, ticks: { stroke: grid } },
          {
            stroke: text,
            grid: { stroke: grid },
            ticks: { stroke: grid },
            size: 56,
            values: (_u, values) => values.map(v => (unit ? `${v} ${unit}` : String(v)))
          }
        ],
        series: [
          { label: 'time' },
          ...series.map(s => ({
            label: s.label,
            stroke: themeColor(element, s.color),
            width: 1.5,
            dash: s.dash,
            spanGaps: !!s.sparse,
            points: { show: !!s.sparse || times.length < 30, size: 5 }
          }))
        ]
      },
      [times.map(t => t / 1000), ...series.map(s => s.values)] as uPlot.AlignedData,
      element
    );
    const resize = new ResizeObserver(() => {
      const width = element.clientWidth;
      if (width > 0 && width !== plot.width) {
        plot.setSize({ width, height: plot.height });
      }
    });
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [times, series, theme, props.height, unit]);

  const shown = series.flatMap(s => s.values.filter((v): v is number => v !== null));
  const sum = shown.reduce((total, v) => total + v, 0);
  return (
    <figure
      className={`mlws-TimeChart ${props.className ?? ''}`}
      data-series={series.length}
      data-points={shown.length}
      data-sum={Number(sum.toFixed(3))}
    >
      <figcaption>{title}</figcaption>
      <div className="mlws-TimeChartCanvas" ref={host} role="img" aria-label={`${title} over time`} />
    </figure>
  );
}
