/**
 * A run's logs as the Logs tab shows them: loaded once (each log's end), then followed live.
 * A run-logs event carries each live log's size; only the bytes past what is shown are fetched,
 * one fetch at a time, and merged by byte offsets (`mergeLogPart`), so the text only grows.
 */

import { FetchingModel } from '../../fetching';
import { IShownLog, mergeLogPart } from '../../logTail';
import { query, requestAPI } from '../../request';
import { ILogs } from '../../tokens';

/** Characters of each log the tab keeps (and bytes of its end fetched first). */
export const LOGS_KEPT = 1024 * 1024;

export class LogsModel extends FetchingModel {
  constructor(readonly runId: string) {
    super();
  }

  logs: Record<string, IShownLog> = {};
  /** Whether the first load was done. */
  loaded = false;

  private get base(): string {
    return `runs/${encodeURIComponent(this.runId)}/logs`;
  }

  /** Every log's end (at most `LOGS_KEPT` bytes), merged into what is shown. */
  load(): Promise<void> {
    return this.serially(async () => {
      await this.fetching(async () => {
        const reply = await requestAPI<ILogs>(`${this.base}${query({ tail_bytes: LOGS_KEPT })}`);
        this.merge(reply);
        this.loaded = true;
      });
    });
  }

  /**
   * Follow the logs to the sizes a run-logs event told: fetch the new bytes of each log that
   * grew, a new log's end; with none (the run's status changed), every log's end again, the
   * list included (a run that ended stored its logs, a target's among them).  The executed
   * notebook is not a log: never asked for.
   */
  follow(sizes: Record<string, number> | null): Promise<void> {
    return this.serially(async () => {
      const names = sizes
        ? Object.keys(sizes).filter(name => !name.endsWith('.ipynb') && sizes[name] > (this.logs[name]?.size ?? 0))
        : [];
      try {
        const replies = await Promise.all(
          names.map(name => {
            const known = this.logs[name];
            const from = known ? { since_bytes: known.size } : { tail_bytes: LOGS_KEPT };
            return requestAPI<ILogs>(`${this.base}${query({ name, ...from })}`);
          })
        );
        replies.forEach(reply => this.merge(reply));
        if (sizes === null) {
          this.merge(await requestAPI<ILogs>(`${this.base}${query({ tail_bytes: LOGS_KEPT })}`));
        }
        this.error = null;
      } catch {
        // a live log became a stored one between two requests: read every log's end again
        const reply = await requestAPI<ILogs>(`${this.base}${query({ tail_bytes: LOGS_KEPT })}`).catch(() => null);
        if (reply) {
          this.merge(reply);
        }
      }
      this.emit();
    });
  }

  private merge(reply: ILogs): void {
    for (const [name, part] of Object.entries(reply.logs)) {
      this.logs[name] = mergeLogPart(this.logs[name], part, LOGS_KEPT);
    }
  }

  /** One fetch at a time: a follow asked for meanwhile runs after the one under way. */
  private serially(work: () => Promise<void>): Promise<void> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private queue: Promise<void> = Promise.resolve();
}
