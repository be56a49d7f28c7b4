/**
 * The width a chart draws at: its host's, followed with a ResizeObserver.  A hidden tab's host
 * is 0 wide: the width then stays what it was (0 until the tab is first shown), so that a chart
 * draws when it becomes visible and again when its panel is resized, never at width 0.
 */

import * as React from 'react';

/** Changes smaller than this many pixels (scrollbars coming and going) redraw nothing. */
const SLACK_PX = 4;

/** The host's width in whole pixels, 0 until it was first shown; a change redraws who depends on it. */
export function useDrawnWidth(host: React.RefObject<HTMLElement>, active = true): number {
  const [width, setWidth] = React.useState(0);
  React.useLayoutEffect(() => {
    const element = host.current;
    if (!element || !active) {
      return;
    }
    let frame = 0;
    const measure = () => {
      frame = 0;
      const now = Math.round(element.getBoundingClientRect().width);
      if (now > 0) {
        setWidth(before => (Math.abs(now - before) >= SLACK_PX ? now : before));
      }
    };
    measure();
    // one measure per frame however many resizes: a drag of the panel's edge redraws smoothly
    const observer = new ResizeObserver(() => {
      if (!frame) {
        frame = window.requestAnimationFrame(measure);
      }
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      if (frame) {
        window.cancelAnimationFrame(frame);
      }
    };
  }, [host, active]);
  return width;
}
