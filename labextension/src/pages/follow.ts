/** Live updates of a page that shows some runs: their events reload it, at most once a second. */

import { Event } from '@jupyterlab/services';
import { ISignal } from '@lumino/signaling';

import { Later } from '../later';
import { RUN_METRICS_SCHEMA, RUN_STATUS_SCHEMA } from '../tokens';

/**
 * Call `reload` once, `LIVE_REFRESH_MS` after a run-status or run-metrics event about a run
 * `shows(runId, parentId)` (however many arrive meanwhile; `parentId`: the run's parent, said by
 * status events, so that a new child of a run shown is seen).  Returns what stops following.
 */
export function followRuns(
  events: ISignal<unknown, Event.Emission>,
  shows: (runId: string, parentId: string | null) => boolean,
  reload: () => void
): () => void {
  const later = new Later();
  const onEvent = (_: unknown, event: Event.Emission) => {
    const schema = event.schema_id;
    if (
      (schema === RUN_STATUS_SCHEMA || schema === RUN_METRICS_SCHEMA) &&
      typeof event.run_id === 'string' &&
      shows(event.run_id, typeof event.parent_id === 'string' ? event.parent_id : null)
    ) {
      later.run('reload', reload);
    }
  };
  events.connect(onEvent);
  return () => {
    events.disconnect(onEvent);
    later.clear();
  };
}
