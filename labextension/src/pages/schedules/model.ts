/**
 * State of the Schedules page, apart from any view: the schedules (`GET schedules`), who you
 * are and your role, the compute targets and secrets a new schedule may name, and the actions:
 * pause, resume, trigger now, delete and create.  The server's refusals are kept verbatim (a
 * row's on its row, the form's in the form).  The list is fetched again when a schedule's next
 * fire time has come (a timer for that moment, not a poll) and when live events say a run
 * started or ended.
 */

import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';

import { ISecret, ITarget } from '../../compute';
import { ActingModel } from '../../fetching';
import { errorMessage, query, requestAPI } from '../../request';
import { Role } from '../../tokens';
import { canChange, fetchYou } from '../role';
import { IPreview, ISchedule, uses12Hours } from './types';

/** What the New schedule form sends (`POST schedules`); fields left empty are left out. */
export interface INewSchedule {
  name: string;
  notebook?: string;
  pipeline?: string;
  cron: string;
  tz?: string;
  params?: Record<string, unknown>;
  compute?: string;
  secrets?: string[];
  catch_up?: string;
  retries?: number;
  notify?: Array<{ url: string; on: string[] }>;
  no_reuse?: boolean;
}

/** `?hour12=true` where the browser's locale reads 12-hour times: the cron in words then reads as the fire times do. */
function clockQuery(): string {
  return query({ hour12: uses12Hours() ? 'true' : null });
}

/** The most characters of a warning a toast shows (JupyterLab cuts longer ones mid-word); Details shows it whole. */
const WARNING_SHOWN = 120;

/** The longest a fire-time timer waits before the list is fetched again anyway (ms). */
const MAX_TIMER_MS = 6 * 3600 * 1000;

/** Why a reader's controls are disabled (their tooltip). */
export const READER_REASON =
  'Creating and changing schedules needs the contributor role (you are a reader): an owner can grant it';

export class SchedulesModel extends ActingModel {
  schedules: ISchedule[] = [];
  role: Role | null = null;
  user: string | null = null;
  /** Target names for the form (`local` first). */
  targets: string[] = [];
  /** Secret names for the form. */
  secrets: string[] = [];
  /** A row's last refusal (or a trigger's run), by schedule name. */
  rowErrors: Record<string, string> = {};
  /** The run a trigger started, by schedule name (its row links to it). */
  triggered: Record<string, string> = {};
  /** Rows being changed now. */
  readonly acting = new Set<string>();
  /** The New schedule form's last refusal, verbatim. */
  createError: string | null = null;
  /** The schedule just created (its row is marked). */
  created: string | null = null;

  get canCreate(): boolean {
    return canChange(this.role);
  }

  /** Whether you may act on `schedule`: a workspace owner, or a contributor on their own. */
  canAct(schedule: ISchedule): boolean {
    return this.role === 'owner' || (this.role === 'contributor' && this.user !== null && schedule.owner === this.user);
  }

  /** Why you may not act on `schedule` (its controls' tooltip), or null when you may. */
  whyNot(schedule: ISchedule): string | null {
    if (this.canAct(schedule)) {
      return null;
    }
    if (!this.canCreate) {
      return READER_REASON;
    }
    return `${schedule.name} belongs to ${schedule.owner}: only its owner or a workspace owner can change it`;
  }

  get(name: string): ISchedule | null {
    return this.schedules.find(s => s.name === name) ?? null;
  }

  /** Schedules as `GET schedules/{name}` shows them (with `source_state`), fetched when their details open. */
  readonly full: Record<string, ISchedule> = {};

  /** Fetch `name` whole (whether its file changed since its snapshot); a failure leaves the list's fields. */
  async loadDetails(name: string): Promise<void> {
    try {
      this.full[name] = await requestAPI<ISchedule>(`schedules/${encodeURIComponent(name)}${clockQuery()}`);
      this.emit();
    } catch {
      // gone meanwhile, or unreadable: the row says what the list said
    }
  }

  async refresh(): Promise<void> {
    await this.fetching(async () => {
      const [list, you] = await Promise.all([
        requestAPI<{ schedules: ISchedule[] }>(`schedules${clockQuery()}`),
        this.role === null ? fetchYou() : Promise.resolve({ user: this.user, role: this.role })
      ]);
      this.schedules = list.schedules;
      this.user = you.user;
      this.role = you.role;
    });
    this.timeNextFetch();
  }

  /** The targets and secrets the form offers (fetched when it opens; none when they cannot be listed). */
  async loadChoices(): Promise<void> {
    const [targets, secrets] = await Promise.all([
      requestAPI<{ targets: ITarget[] }>('compute').catch(() => ({ targets: [] as ITarget[] })),
      requestAPI<{ secrets: ISecret[] }>('secrets').catch(() => ({ secrets: [] as ISecret[] }))
    ]);
    this.targets = targets.targets.map(t => t.name);
    this.secrets = secrets.secrets.filter(s => s.state !== 'deleted').map(s => s.name);
    this.emit();
  }

  pause(name: string): Promise<boolean> {
    return this.patch(name, { paused: true });
  }

  resume(name: string): Promise<boolean> {
    return this.patch(name, { paused: false });
  }

  /** Start a run of `name` now (besides its fire times); its row links to the run. */
  trigger(name: string): Promise<boolean> {
    return this.onRow(name, async () => {
      const run = await requestAPI<{ id: string }>(`schedules/${encodeURIComponent(name)}/trigger`, {
        method: 'POST',
        body: '{}'
      });
      this.triggered[name] = run.id;
    });
  }

  /** Delete `name` (confirmed by the view). */
  remove(name: string): Promise<boolean> {
    return this.onRow(name, () => requestAPI(`schedules/${encodeURIComponent(name)}`, { method: 'DELETE' }));
  }

  /** Create a schedule; true when the server accepted it (its refusal: `createError`). */
  async create(schedule: INewSchedule): Promise<boolean> {
    this.createError = null;
    const ok = await this.act(
      async () => {
        const made = await requestAPI<ISchedule & { warnings?: string[] }>('schedules', {
          method: 'POST',
          body: JSON.stringify(schedule)
        });
        // what looked wrong but did not stop it (a parameter its notebook does not declare), as `run submit` warns
        // a toast cuts a long text: a short one, its Details the whole warning
        for (const warning of made.warnings ?? []) {
          const whole = `Schedule ${made.name}: ${warning}`;
          Notification.warning(whole.length > WARNING_SHOWN ? `${whole.slice(0, whole.lastIndexOf(' ', WARNING_SHOWN))} …` : whole, {
            autoClose: false,
            actions: [
              {
                label: 'Details',
                caption: 'The whole warning',
                callback: () => void showDialog({ title: `Schedule ${made.name}`, body: warning, buttons: [Dialog.okButton()] })
              }
            ]
          });
        }
      },
      message => (this.createError = message)
    );
    if (ok) {
      this.created = schedule.name;
    }
    this.emit();
    return ok;
  }

  clearForm(): void {
    this.createError = null;
    this.created = null;
    this.emit();
  }

  /** The cron in words and its next fire times, or the server's error (a live preview). */
  async preview(cron: string, tz: string): Promise<IPreview | { error: string }> {
    try {
      return await requestAPI<IPreview>(`schedules-preview${query({ cron, tz, n: 5, hour12: uses12Hours() ? 'true' : null })}`);
    } catch (error) {
      return { error: errorMessage(error) };
    }
  }

  dispose(): void {
    window.clearTimeout(this._timer);
  }

  private patch(name: string, body: Record<string, unknown>): Promise<boolean> {
    return this.onRow(name, () =>
      requestAPI(`schedules/${encodeURIComponent(name)}`, { method: 'PATCH', body: JSON.stringify(body) })
    );
  }

  /** Send a change of one row: its refusal stays on the row; then the list is fetched again. */
  private async onRow(name: string, work: () => Promise<unknown>): Promise<boolean> {
    this.acting.add(name);
    delete this.rowErrors[name];
    delete this.triggered[name];
    const ok = await this.act(work, message => (this.rowErrors[name] = message));
    this.acting.delete(name);
    this.emit();
    return ok;
  }

  /** Fetch again once the soonest next fire time has passed (its run then shows, and the times move on). */
  private timeNextFetch(): void {
    window.clearTimeout(this._timer);
    const times = this.schedules.flatMap(s => s.next.slice(0, 1)).map(iso => new Date(iso).getTime());
    const soonest = Math.min(...times.filter(t => !Number.isNaN(t)));
    if (Number.isFinite(soonest)) {
      const wait = Math.min(Math.max(soonest - Date.now() + 2000, 1000), MAX_TIMER_MS);
      this._timer = window.setTimeout(() => void this.refresh(), wait);
    }
  }

  private _timer = 0;
}
