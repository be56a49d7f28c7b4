/** The base of the sidebar's models: a `changed` signal, a loading flag and the last error. */

import { ISignal, Signal } from '@lumino/signaling';

import { errorMessage } from './request';

/** What every model shares: a `changed` signal, a loading flag and the last error, verbatim. */
export abstract class FetchingModel {
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  loading = false;
  error: string | null = null;

  /** Run `work`, keeping `loading` and `error` current; true when it succeeded. */
  protected async fetching(work: () => Promise<void>): Promise<boolean> {
    const ticket = ++this._ticket;
    this.loading = true;
    this.emit();
    try {
      await work();
      if (ticket === this._ticket) {
        this.error = null;
      }
      return true;
    } catch (error) {
      if (ticket === this._ticket) {
        this.error = errorMessage(error);
      }
      return false;
    } finally {
      if (ticket === this._ticket) {
        this.loading = false;
      }
      this.emit();
    }
  }

  /** Whether a fetch started after `ticket` supersedes it (a stale answer is dropped). */
  protected stale(ticket: number): boolean {
    return ticket !== this._ticket;
  }

  protected get ticket(): number {
    return this._ticket;
  }

  protected emit(): void {
    this._changed.emit();
  }

  private _changed = new Signal<this, void>(this);
  private _ticket = 0;
}
