/**
 * What a page does with the server's live events: the events it cares about schedule one fetch,
 * at most once a second however many arrive, and none while its tab is hidden (it fetches once
 * when shown again).  Nothing polls.
 */

import { Event } from '@jupyterlab/services';
import { ISignal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { Later } from '../later';

/**
 * Follow `events` for `widget`: `wanted(event)` picks the events that concern it, `refresh`
 * fetches again.  Disconnects when the widget is disposed.
 */
export function followEvents(
  widget: Widget,
  events: ISignal<unknown, Event.Emission>,
  wanted: (event: Event.Emission) => boolean,
  refresh: () => Promise<void> | void
): void {
  const later = new Later();
  let missed = false;
  const run = () => {
    if (widget.isDisposed) {
      return;
    }
    if (!widget.isVisible) {
      missed = true; // fetched when the tab shows again
      return;
    }
    void refresh();
  };
  const onEvent = (_: unknown, event: Event.Emission) => {
    if (wanted(event)) {
      later.run('refresh', run);
    }
  };
  events.connect(onEvent);
  const shown = () => {
    if (missed && widget.isVisible) {
      missed = false;
      void refresh();
    }
  };
  // Lumino has no "shown" signal: watch the widget's node becoming visible again
  const observer = new IntersectionObserver(entries => {
    if (entries.some(entry => entry.isIntersecting)) {
      shown();
    }
  });
  observer.observe(widget.node);
  widget.disposed.connect(() => {
    events.disconnect(onEvent);
    observer.disconnect();
    later.clear();
  });
}
