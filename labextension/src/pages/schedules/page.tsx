/**
 * The Schedules page (main area): every schedule with its cron in words, its next 5 fire times in
 * your local time (with the zone; the schedule's own zone in the tooltip), whether it is paused,
 * its last runs with their status (each opens its run), and Pause/Resume, Trigger now and Delete
 * for who may (its owner, a workspace owner; the others see them disabled, saying why); a New
 * schedule form.  It follows the server's live events (a run started or ended, a schedule's run
 * finished) at most once a second, and fetches again when a fire time has come; nothing polls.
 */

import { Dialog, ReactWidget, showDialog, UseSignal } from '@jupyterlab/apputils';
import { Event } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import '../../../style/computePages.css';
import '../../../style/workflows.css';

import { FieldTable } from '../../keyValues';
import { formatTime } from '../../runs';
import { RUN_STATUS_SCHEMA } from '../../tokens';
import { ErrorBox } from '../errorBox';
import { followEvents } from '../live';
import { IPageContext, IPageRequest } from '../page';
import { NewScheduleForm } from './form';
import { READER_REASON, SchedulesModel } from './model';
import { fromNow, ISchedule, IScheduleRun, localTime, SCHEDULE_RUN_SCHEMA, zoneTime } from './types';

/** A run's status as a glyph beside its word (the colour is never the only sign). */
const RUN_GLYPH: Record<string, string> = { completed: '✓', failed: '✕', running: '●', queued: '○', canceled: '■', killed: '✕', timed_out: '✕' };

function NextTimes(props: { schedule: ISchedule }): JSX.Element {
  const { schedule } = props;
  if (schedule.paused) {
    return <span className="mlws-Muted">none while paused</span>;
  }
  if (schedule.next.length === 0) {
    return <span className="mlws-Muted">none</span>;
  }
  return (
    <ol className="mlws-FireTimes" aria-label={`Next fire times of ${schedule.name}`}>
      {schedule.next.map((iso, i) => (
        <li key={iso} title={zoneTime(iso, schedule.tz)}>
          {localTime(iso)}
          {i === 0 && <span className="mlws-Muted mlws-FromNow">{fromNow(iso)}</span>}
        </li>
      ))}
    </ol>
  );
}

/** A run among a schedule's last runs: its status (a click opens it), its fire time, and what else it is. */
function LastRun(props: { run: IScheduleRun; context: IPageContext }): JSX.Element {
  const { run } = props;
  const ticks = run.tick_count ?? run.ticks?.length ?? 1;
  const when = localTime(run.nominal ?? run.started);
  const notes = [
    ticks > 1 ? `×${ticks}` : '',
    run.trigger === 'manual' ? 'manual' : '',
    run.attempt ? `retry ${run.attempt}` : ''
  ].filter(Boolean);
  const about = [
    run.nominal ? `for ${localTime(run.nominal)}` : '',
    run.trigger === 'manual' ? 'started with Trigger now' : '',
    ticks > 1 ? `it stands for ${ticks} missed fire times` : '',
    run.error ? String(run.error) : ''
  ].filter(Boolean);
  const detail = (
    <span className="mlws-Muted">
      {' '}
      {when}
      {notes.length > 0 ? ` · ${notes.join(', ')}` : ''}
    </span>
  );
  if (run.id === null) {
    return (
      <li>
        <span className={`mlws-ScheduleRun mlws-status-${run.status}`} data-status={run.status} title={run.error ?? undefined}>
          <span aria-hidden="true">○</span> {run.status}
        </span>
        {detail}
        {run.held ? (
          <span className="mlws-Muted mlws-RetryHeld"> · held while the schedule is paused (starts once resumed)</span>
        ) : (
          run.due && <span className="mlws-Muted"> · starts {localTime(run.due)}</span>
        )}
      </li>
    );
  }
  const id = run.id;
  return (
    <li>
      <button
        className={`mlws-Link mlws-ScheduleRun mlws-status-${run.status}`}
        data-run-id={id}
        data-status={run.status}
        title={`Open run ${id} (${run.status})${about.length ? `: ${about.join('; ')}` : ''}`}
        onClick={() => props.context.open({ kind: 'run', id })}
      >
        <span aria-hidden="true">{RUN_GLYPH[run.status] ?? '•'}</span> {run.status}
      </button>
      {detail}
    </li>
  );
}

function LastRuns(props: { schedule: ISchedule; context: IPageContext }): JSX.Element {
  const runs = props.schedule.last_runs ?? [];
  if (runs.length === 0) {
    return <span className="mlws-Muted">no runs yet</span>;
  }
  return (
    <ul className="mlws-LastRuns" aria-label={`Last runs of ${props.schedule.name}`}>
      {runs.slice(0, 5).map((run, i) => (
        <LastRun key={run.id ?? `waiting-${i}`} run={run} context={props.context} />
      ))}
    </ul>
  );
}

async function confirmDelete(model: SchedulesModel, schedule: ISchedule): Promise<void> {
  const answer = await showDialog({
    title: `Delete schedule ${schedule.name}?`,
    body: 'It starts no more runs. The runs it started are kept, with their tags.',
    buttons: [Dialog.cancelButton({ label: 'Keep it' }), Dialog.warnButton({ label: 'Delete' })]
  });
  // the dialog gives focus back to the Delete button at the row's right end: the page must not stay scrolled sideways to it
  window.requestAnimationFrame(() => document.querySelector('.mlws-SchedulesWidget')?.scrollTo({ left: 0 }));
  if (answer.button.accept) {
    await model.remove(schedule.name);
  }
}

function Actions(props: { model: SchedulesModel; schedule: ISchedule }): JSX.Element {
  const { model, schedule } = props;
  const why = model.whyNot(schedule);
  const off = why !== null || model.acting.has(schedule.name);
  const title = (text: string) => why ?? text;
  return (
    <span className="mlws-ScheduleActions">
      {schedule.paused ? (
        <button className="mlws-ResumeSchedule" disabled={off} title={title(`Fire ${schedule.name} at its times again`)} onClick={() => void model.resume(schedule.name)}>
          Resume
        </button>
      ) : (
        <button className="mlws-PauseSchedule" disabled={off} title={title(`Start no runs of ${schedule.name} until resumed`)} onClick={() => void model.pause(schedule.name)}>
          Pause
        </button>
      )}
      <button className="mlws-TriggerSchedule" disabled={off} title={title(`Start a run of ${schedule.name} now, besides its times`)} onClick={() => void model.trigger(schedule.name)}>
        Trigger now
      </button>
      <button className="mlws-DeleteSchedule mlws-mod-danger" disabled={off} title={title(`Delete ${schedule.name}`)} onClick={() => void confirmDelete(model, schedule)}>
        Delete
      </button>
    </span>
  );
}

/** What runs: the file's snapshot, and whether the file changed since (`GET schedules/{name}` says). */
function snapshotWords(s: ISchedule): string {
  const taken = s.snapshot_at ? `taken ${formatTime(s.snapshot_at)}` : 'taken when it was created or updated';
  const changed = s.source_changed?.length ? ` (${s.source_changed.join(', ')})` : '';
  const state = {
    changed: `: edited since${changed}; the snapshot runs (update the schedule to run the edits)`,
    missing: ': the file was deleted or moved since, so its runs fail "not found" (restore it, or update the schedule)'
  }[s.source_state ?? ''];
  return `${taken}${state ?? ''}`;
}

/** A pipeline schedule's reuse options in words. */
function reuseWords(s: ISchedule): string {
  if (s.no_reuse) {
    return 'every step runs (no reuse)';
  }
  if (s.force?.length) {
    return `${s.force.join(', ')} and what follows run even when unchanged`;
  }
  return 'unchanged steps are reused (files a step reads count only when declared in its deps)';
}

/** The row's state: paused, active, or its file gone (its runs fail). */
function ScheduleState(props: { schedule: ISchedule }): JSX.Element {
  const s = props.schedule;
  if (s.source_missing) {
    return (
      <span
        className="mlws-ScheduleState mlws-mod-missing"
        title={`${s.source} was deleted or moved: its runs fail "not found" (restore it, or update the schedule)`}
      >
        ⚠ file missing{s.paused ? ' · paused' : ''}
      </span>
    );
  }
  return <span className={`mlws-ScheduleState${s.paused ? ' mlws-mod-paused' : ''}`}>{s.paused ? 'paused' : 'active'}</span>;
}

function catchUpWords(catchUp: string): string {
  if (catchUp === 'skip') {
    return 'skip missed times';
  }
  const all = /^all:(\d+)$/.exec(catchUp);
  return all ? `a run for each missed time, up to ${all[1]}` : 'one run for missed times';
}

/** A schedule's settings (the row's "details"). */
function Details(props: { schedule: ISchedule }): JSX.Element {
  const s = props.schedule;
  const params = Object.entries(s.params ?? {});
  const rows: Array<[string, React.ReactNode]> = [
    ['Runs', `${s.kind} ${s.source}`],
    ['Snapshot', snapshotWords(s)],
    ['Cron', <code key="cron">{s.cron}</code>],
    ['Time zone', s.tz],
    ['Parameters', params.length ? params.map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join(', ') : <span className="mlws-Muted">none</span>],
    ['Compute', s.compute ?? 'local'],
    ['Secrets', s.secrets?.length ? s.secrets.join(', ') : <span className="mlws-Muted">none</span>],
    ['After downtime', catchUpWords(s.catch_up)],
    ['Retries', s.retries ? `${s.retries}, after 60 s, then twice as long each time` : 'none'],
    ...(s.kind === 'pipeline' ? [['Reuse', reuseWords(s)] as [string, React.ReactNode]] : []),
    ['Webhooks', s.notify?.length ? s.notify.map(n => `${n.url} (on ${n.on.join(' and ')})`).join('; ') : <span className="mlws-Muted">none</span>],
    ['Owner', s.owner],
    ['Created', formatTime(s.created)],
    ['Updated', formatTime(s.updated)]
  ];
  return <FieldTable rows={rows} className="mlws-ScheduleDetails" />;
}

function ScheduleRows(props: { model: SchedulesModel; schedule: ISchedule; context: IPageContext }): JSX.Element {
  const { model, schedule, context } = props;
  const [open, setOpen] = React.useState(false);
  const error = model.rowErrors[schedule.name];
  const triggered = model.triggered[schedule.name];
  return (
    <tbody
      className={`mlws-ScheduleRow${model.created === schedule.name ? ' mlws-mod-created' : ''}`}
      data-schedule={schedule.name}
      data-paused={String(schedule.paused)}
    >
      <tr>
        <td>
          <div className="mlws-ScheduleName">{schedule.name}</div>
          <div className="mlws-Muted mlws-ScheduleSource" title={`${schedule.kind} ${schedule.source}`}>
            {schedule.kind} {schedule.source}
          </div>
          <button
            className="mlws-Link mlws-ToggleDetails"
            aria-expanded={open}
            onClick={() => {
              if (!open) {
                void model.loadDetails(schedule.name);
              }
              setOpen(!open);
            }}
          >
            {open ? 'hide details' : 'details'}
          </button>
        </td>
        <td>
          <div className="mlws-CronWords">{schedule.description}</div>
          <div className="mlws-Muted">
            <code>{schedule.cron}</code> · {schedule.tz}
          </div>
        </td>
        <td>
          <NextTimes schedule={schedule} />
        </td>
        <td>
          <ScheduleState schedule={schedule} />
        </td>
        <td>
          <LastRuns schedule={schedule} context={context} />
        </td>
        <td>
          <Actions model={model} schedule={schedule} />
        </td>
      </tr>
      {(error || triggered) && (
        <tr className="mlws-ScheduleNote">
          <td colSpan={6}>
            <ErrorBox message={error ?? null} className="mlws-ScheduleRefusal" />
            {triggered && (
              <span className="mlws-Triggered">
                Trigger now started run{' '}
                <button className="mlws-Link mlws-TriggeredRun" data-run-id={triggered} onClick={() => context.open({ kind: 'run', id: triggered })}>
                  {triggered}
                </button>
              </span>
            )}
          </td>
        </tr>
      )}
      {open && (
        <tr className="mlws-ScheduleMore">
          <td colSpan={6}>
            <Details
              schedule={{ ...schedule, source_state: model.full[schedule.name]?.source_state, source_changed: model.full[schedule.name]?.source_changed }}
            />
          </td>
        </tr>
      )}
    </tbody>
  );
}

function SchedulesView(props: { model: SchedulesModel; context: IPageContext }): JSX.Element {
  const { model, context } = props;
  const [adding, setAdding] = React.useState(false);
  const newButton = React.useRef<HTMLButtonElement>(null);
  const close = () => {
    setAdding(false);
    window.requestAnimationFrame(() => newButton.current?.focus());
  };
  return (
    <div className="mlws-WorkflowPage mlws-SchedulesPage">
      <div className="mlws-PageHeader">
        <h2 className="mlws-PageTitle">Schedules</h2>
        <span className="mlws-Muted mlws-RoleNote">
          {model.role && !model.canCreate ? `you are a ${model.role}: changes need a contributor` : ''}
        </span>
        <span className="mlws-HeaderTools">
          <button
            ref={newButton}
            className="mlws-NewSchedule mlws-mod-accept"
            disabled={!model.canCreate || adding}
            title={model.canCreate ? 'Run a notebook or a pipeline on a cron schedule' : READER_REASON}
            onClick={() => {
              model.clearForm();
              void model.loadChoices();
              setAdding(true);
            }}
          >
            New schedule
          </button>
          <button className="mlws-Reload" disabled={model.loading} onClick={() => void model.refresh()}>
            Reload
          </button>
        </span>
      </div>
      <p className="mlws-Muted mlws-PageIntro">
        Notebooks and pipelines run on a cron schedule, each run a normal run tagged with its schedule and fire time. Times
        are shown in your time zone; hover one for the schedule's own. Schedules fire while a scheduler runs: this server,
        or <code>mlws scheduler</code>.
      </p>
      <ErrorBox message={model.error} />
      {adding && model.canCreate && <NewScheduleForm model={model} onClose={close} />}
      {!model.loading && !model.error && model.schedules.length === 0 && (
        <div className="mlws-Empty mlws-NoSchedules">No schedules yet.</div>
      )}
      {model.schedules.length > 0 && (
        <table className="mlws-Table mlws-SchedulesTable">
          <thead>
            <tr>
              <th>Schedule</th>
              <th>When</th>
              <th>Next runs</th>
              <th>State</th>
              <th>Last runs</th>
              <th>
                <span className="mlws-VisuallyHidden">Actions</span>
              </th>
            </tr>
          </thead>
          {model.schedules.map(schedule => (
            <ScheduleRows key={schedule.name} model={model} schedule={schedule} context={context} />
          ))}
        </table>
      )}
    </div>
  );
}

/** Live events that may change what the page shows: a run first seen or ended (a schedule's among them), a schedule's run. */
function mayConcernSchedules(event: Event.Emission): boolean {
  if (event.schema_id === SCHEDULE_RUN_SCHEMA) {
    return true;
  }
  return event.schema_id === RUN_STATUS_SCHEMA && !event.parent_id;
}

export function createSchedulesPage(_request: IPageRequest, context: IPageContext): Widget {
  const model = new SchedulesModel();
  const widget = ReactWidget.create(
    <UseSignal signal={model.changed}>{() => <SchedulesView model={model} context={context} />}</UseSignal>
  );
  widget.addClass('mlws-SchedulesWidget');
  widget.title.label = 'Schedules';
  followEvents(widget, context.events, mayConcernSchedules, () => model.refresh());
  widget.disposed.connect(() => model.dispose());
  void model.refresh();
  return widget;
}
