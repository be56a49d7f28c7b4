/**
 * A schedule's run, told: the server's `schedule-run` event (sent to the schedule's owner only)
 * becomes a JupyterLab notification "Schedule NAME: run RUN failed (fire time …)" ("(started with
 * Trigger now, …)" for a run started by hand): an error when
 * it failed, success when it completed, information otherwise, with the action "Open run".
 * Shown once per run and status however often the event comes.
 */

import { Notification } from '@jupyterlab/apputils';
import { Event } from '@jupyterlab/services';
import { ISignal } from '@lumino/signaling';

import { IPageRequest } from './pages/page';
import { IScheduleRunEvent, localTime, SCHEDULE_RUN_SCHEMA } from './pages/schedules/types';

/** Statuses that end a run unsuccessfully (shown as errors). */
const FAILED = new Set(['failed', 'killed', 'timed_out']);

function isScheduleRun(event: Event.Emission): event is Event.Emission & IScheduleRunEvent {
  return (
    event.schema_id === SCHEDULE_RUN_SCHEMA &&
    typeof event.schedule === 'string' &&
    typeof event.run_id === 'string' &&
    typeof event.status === 'string'
  );
}

/** The notification's text. */
export function scheduleRunText(event: IScheduleRunEvent): string {
  const when = event.nominal ? localTime(event.nominal) : '';
  const nominal =
    event.trigger === 'manual' ? ` (started with Trigger now${when ? `, ${when}` : ''})` : when ? ` (fire time ${when})` : '';
  return `Schedule ${event.schedule}: run ${event.run_id.slice(0, 8)} ${event.status}${nominal}`;
}

/** Tell each `schedule-run` event of `events` once, with "Open run" opening its page (`open`). */
export function followScheduleRuns(events: ISignal<unknown, Event.Emission>, open: (request: IPageRequest) => void): void {
  const shown = new Set<string>();
  events.connect((_, event) => {
    if (!isScheduleRun(event)) {
      return;
    }
    const key = `${event.run_id}:${event.status}`;
    if (shown.has(key)) {
      return;
    }
    shown.add(key);
    const failed = FAILED.has(event.status);
    const notify = failed ? Notification.error : event.status === 'completed' ? Notification.success : Notification.info;
    notify(scheduleRunText(event), {
      autoClose: failed ? false : 8000,
      actions: [
        {
          label: 'Open run',
          caption: `Open run ${event.run_id} of schedule ${event.schedule}`,
          callback: () => open({ kind: 'run', id: event.run_id })
        }
      ]
    });
  });
}
