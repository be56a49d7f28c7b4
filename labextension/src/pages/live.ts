/** Pages follow the server's live events (nothing polls): a helper that connects and debounces. */

import { Widget } from '@lumino/widgets';

import { LIVE_REFRESH_MS } from '../tokens';
import { IPageContext } from './page';

/**
 * Run `work` after events `accept` takes, at most once every `LIVE_REFRESH_MS` however many
 * arrive, until `widget` is disposed.
 */
export function followEvents(
  widget: Widget,
  context: IPageContext,
  accept: (event: { schema_id: string; [key: string]: unknown }) => boolean,
  work: () => unknown
): void {
  let timer = 0;
  const onEvent = (_: unknown, event: { schema_id: string; [key: string]: unknown }) => {
    if (timer || !accept(event)) {
      return;
    }
    timer = window.setTimeout(() => {
      timer = 0;
      if (!widget.isDisposed) {
        void work();
      }
    }, LIVE_REFRESH_MS);
  };
  context.events.connect(onEvent);
  widget.disposed.connect(() => {
    context.events.disconnect(onEvent);
    window.clearTimeout(timer);
  });
}
