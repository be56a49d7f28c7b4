/**
 * A Vega-Lite chart drawn by JupyterLab's own renderer (the vega5 extension, loaded on first
 * use): our bundle carries no charting library for it.  Where there is no renderer (the
 * workspace's own page) or it fails to load, the fallback shows the same data, e.g. as a table.
 */

import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { errorMessage } from '../request';
import { IPlotTheme, plotTheme, useThemeName } from './plotTheme';
import { VEGALITE_MIME } from './plots';
import { useDrawnWidth } from './drawnWidth';

/** Whether JupyterLab can draw Vega-Lite here. */
export function canDrawVega(rendermime: IRenderMimeRegistry | null): rendermime is IRenderMimeRegistry {
  return rendermime !== null && rendermime.mimeTypes.includes(VEGALITE_MIME);
}

export function VegaChart(props: {
  rendermime: IRenderMimeRegistry | null;
  /** The spec in the theme's colours, fitted to the chart's width (px); a new function redraws the chart. */
  spec: (theme: IPlotTheme, width: number) => Record<string, unknown>;
  /** What to show without Vega: the same data, accessibly. */
  fallback: () => JSX.Element;
  className: string;
  label: string;
}): JSX.Element {
  const host = React.useRef<HTMLDivElement>(null);
  const [failed, setFailed] = React.useState<string | null>(null);
  const themeName = useThemeName();
  const { rendermime, spec } = props;
  const drawable = canDrawVega(rendermime) && failed === null;
  // drawn once its tab is shown (a hidden tab is 0 wide) and again at each new width
  const width = useDrawnWidth(host, drawable);

  // a layout effect: its clean-up runs while the host is still in the document (a passive
  // effect's runs after React removed it, and Lumino refuses to detach a widget that is not)
  React.useLayoutEffect(() => {
    const element = host.current;
    if (!element || !canDrawVega(rendermime) || width === 0) {
      return;
    }
    const renderer = rendermime.createRenderer(VEGALITE_MIME);
    const model = rendermime.createModel({
      data: { [VEGALITE_MIME]: spec(plotTheme(element), width) as any },
      // svg: crisp at any zoom, and each run's line is an element a test (or a reader) can find
      metadata: { [VEGALITE_MIME]: { embed_options: { actions: false, renderer: 'svg' } } }
    });
    Widget.attach(renderer, element);
    let disposed = false;
    renderer.renderModel(model).then(
      () => !disposed && element.setAttribute('data-drawn', 'true'),
      error => !disposed && setFailed(errorMessage(error))
    );
    return () => {
      disposed = true;
      element.removeAttribute('data-drawn');
      renderer.dispose();
    };
  }, [rendermime, spec, themeName, width]);

  return (
    <figure className={`mlws-Plot ${props.className}`} aria-label={props.label}>
      {drawable ? <div className="mlws-PlotHost" ref={host} /> : props.fallback()}
      {failed && <div className="mlws-Muted">The chart could not be drawn ({failed}): the table shows its data.</div>}
    </figure>
  );
}
