/**
 * The schedules' REST shapes (`GET schedules`, `schedules-preview`, the `schedule-run` live
 * event; docs: README "Schedules") and how their times read: a leaf module.
 */

/** A run a schedule started (newest first in `last_runs`; `GET schedules/{name}/runs`). */
export interface IScheduleRun {
  /** the run's id; null for a retry not started yet (`status` waiting, `due` says when) */
  id: string | null;
  status: string;
  /** the fire time it stands for (ISO-8601 in the schedule's zone); a trigger's time */
  nominal: string | null;
  /** the fire times it stands for: after downtime more than one (the newest 100) */
  ticks?: string[];
  tick_count?: number;
  /** `tick` (its cron) or `manual` (Trigger now) */
  trigger?: string;
  /** 0, then 1.. for retries */
  attempt?: number;
  retry_of?: string | null;
  /** ms since the epoch */
  started?: number | null;
  ended?: number | null;
  error?: string | null;
  /** a waiting retry: when it starts (ISO-8601) */
  due?: string | null;
  /** a waiting retry of a paused schedule: it starts once the schedule resumes, whatever `due` says */
  held?: boolean;
}

/** A webhook: its URL (userinfo and query redacted by the server) and when it is posted. */
export interface IScheduleNotify {
  url: string;
  on: string[];
}

/** A schedule, as `GET schedules/{name}` shows it. */
export interface ISchedule {
  name: string;
  kind: 'notebook' | 'pipeline' | string;
  /** the notebook's or pipeline's file, as the user named it (snapshotted when created or updated) */
  source: string;
  cron: string;
  tz: string;
  /** the cron in words */
  description: string;
  /** the next fire times (ISO-8601 with offset); none while paused */
  next: string[];
  params: Record<string, unknown>;
  compute: string | null;
  secrets: string[];
  catch_up: string;
  retries: number;
  notify: IScheduleNotify[];
  paused: boolean;
  owner: string;
  created: number | null;
  updated: number | null;
  /** when its file was snapshotted (ms): what runs */
  snapshot_at?: number | null;
  /** `GET schedules/{name}` only: unchanged, changed (edited since its snapshot, which runs) or missing (its runs fail) */
  source_state?: string;
  /** `GET schedules/{name}` only: the snapshot's files edited or gone since, named as `source` is */
  source_changed?: string[];
  /** its file is gone (deleted or moved): its runs fail "not found" */
  source_missing?: boolean;
  /** a pipeline schedule's runs run every step */
  no_reuse?: boolean;
  /** a pipeline schedule's runs run these steps (and what follows them) even when unchanged */
  force?: string[];
  last_runs: IScheduleRun[];
}

/** GET schedules-preview?cron=..&tz=.. */
export interface IPreview {
  description: string;
  next: string[];
}

/** The `schedule-run` live event: a run a schedule started ended (or started). */
export const SCHEDULE_RUN_SCHEMA = 'https://jupyter-mlws.org/events/schedule-run';

export interface IScheduleRunEvent {
  schedule: string;
  run_id: string;
  status: string;
  nominal?: string | null;
  /** `tick` (its cron) or `manual` (Trigger now: `nominal` is when) */
  trigger?: string;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** The short name of the browser's zone at `date` (`CEST`, `GMT+2`, `UTC`). */
function zoneName(date: Date, timeZone?: string): string {
  const part = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'short' })
    .formatToParts(date)
    .find(p => p.type === 'timeZoneName');
  return part?.value ?? '';
}

/** Whether the browser's locale reads clock times on 12 hours (en-US: `06:00 AM`) rather than 24 (en-GB, de: `06:00`):
 * the fire times and the cron in words (`?hour12=true`) are both written so. */
export function uses12Hours(): boolean {
  // hourCycle is in every browser's Intl, not in this TypeScript lib's types
  const options = new Intl.DateTimeFormat(undefined, { hour: 'numeric' }).resolvedOptions() as { hourCycle?: string };
  const cycle = options.hourCycle;
  return cycle === 'h11' || cycle === 'h12';
}

/** A clock time as the browser's locale writes it, on the clock {@link uses12Hours} picks: `06:00 AM` or `06:00`. */
function clock(date: Date): string {
  return date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', hour12: uses12Hours() });
}

/** A time in the browser's local time with its zone, `Mon 2025-06-02 08:00 CEST` (`08:00 AM` where the locale reads
 * 12 hours); a fire time, a run's; the text itself when it is no time, '' for none. */
export function localTime(value: string | number | null | undefined): string {
  const date = new Date(value ?? NaN);
  if (Number.isNaN(date.getTime())) {
    return typeof value === 'string' ? value : '';
  }
  const day = date.toLocaleDateString('en-US', { weekday: 'short' });
  const ymd = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
  return `${day} ${ymd} ${clock(date)} ${zoneName(date)}`;
}

/** The same time in the schedule's own zone (a tooltip): `Mon 08:00 in America/New_York (EDT)`. */
export function zoneTime(iso: string, timeZone: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime()) || !timeZone) {
    return iso;
  }
  try {
    const there = new Intl.DateTimeFormat(undefined, {
      timeZone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hour12: uses12Hours()
    }).format(date);
    return `${there} in ${timeZone} (${zoneName(date, timeZone)})`;
  } catch {
    return iso; // a zone this browser does not know
  }
}

/** How far ahead a time is: `in 45 s`, `in 12 min`, `in 3 h 20 min`, `in 2 days`; `due` once past. */
export function fromNow(iso: string, now: number = Date.now()): string {
  const ms = new Date(iso).getTime() - now;
  if (Number.isNaN(ms)) {
    return '';
  }
  if (ms <= 0) {
    return 'due';
  }
  const s = Math.round(ms / 1000);
  if (s < 60) {
    return `in ${s} s`;
  }
  const min = Math.round(s / 60);
  if (min < 60) {
    return `in ${min} min`;
  }
  const h = Math.floor(min / 60);
  if (h < 48) {
    return `in ${h} h${min % 60 ? ` ${min % 60} min` : ''}`;
  }
  return `in ${Math.round(h / 24)} days`;
}

/** The browser's IANA zone (what a new schedule's zone starts as). */
export function browserZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** Every IANA zone this browser knows (suggestions for the zone field). */
export function knownZones(): string[] {
  const supported = (Intl as any).supportedValuesOf;
  try {
    return typeof supported === 'function' ? supported('timeZone') : [];
  } catch {
    return [];
  }
}
