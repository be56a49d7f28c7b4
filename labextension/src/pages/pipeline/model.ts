/**
 * A pipeline run as its graph shows it (`GET runs/{id}/pipeline`): its steps, edges, each step's
 * state, run and why it ran or was reused; fetched again when the server's live run-status
 * events say the run or one of its step runs changed (at most once a second); nothing polls.
 */

import { Event } from '@jupyterlab/services';
import { ISignal } from '@lumino/signaling';

import { FetchingModel } from '../../fetching';
import { Later } from '../../later';
import { requestAPI } from '../../request';
import { RUN_STATUS_SCHEMA } from '../../tokens';
import { IPipelineRun } from './types';

export class PipelineRunModel extends FetchingModel {
  constructor(readonly runId: string) {
    super();
  }

  pipeline: IPipelineRun | null = null;

  async refresh(): Promise<void> {
    await this.fetching(async () => {
      const ticket = this.ticket;
      const pipeline = await requestAPI<IPipelineRun>(`runs/${encodeURIComponent(this.runId)}/pipeline`);
      if (!this.stale(ticket)) {
        this.pipeline = pipeline;
      }
    });
  }

  /** Whether a live event concerns this pipeline run: its own status, or a step run's (a child). */
  concerns(event: Event.Emission): boolean {
    return event.schema_id === RUN_STATUS_SCHEMA && (event.run_id === this.runId || event.parent_id === this.runId);
  }

  /** Follow the server's live events for this run and its steps; returns what stops following. */
  follow(events: ISignal<unknown, Event.Emission>): () => void {
    const later = new Later();
    const onEvent = (_: unknown, event: Event.Emission) => {
      if (this.concerns(event)) {
        later.run('refresh', () => this.refresh());
      }
    };
    events.connect(onEvent);
    return () => {
      events.disconnect(onEvent);
      later.clear();
    };
  }
}
