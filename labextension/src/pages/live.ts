/** Pages follow the server's live events (nothing polls): a helper that connects and debounces. */

import { Widget } from '@lumino/widgets';

import { Later } from '../later';
import { IPageContext } from './page';

/**
 * Run `work` after events `accept` takes, at most once a second however many arrive, until
 * `widget` is disposed.
 */
export function followEvents(
  widget: Widget,
  context: IPageContext,
  accept: (event: { schema_id: string; [key: string]: unknown }) => boolean,
  work: () => unknown
): void {
  const later = new Later();
  const onEvent = (_: unknown, event: { schema_id: string; [key: string]: unknown }) => {
    if (accept(event)) {
      later.run('', () => (widget.isDisposed ? undefined : work()));
    }
  };
  context.events.connect(onEvent);
  widget.disposed.connect(() => {
    context.events.disconnect(onEvent);
    later.clear();
  });
}
