/**
 * The base of the models behind the views: a `changed` signal, a loading flag and the last
 * error; `ActingModel` adds the sending of changes (busy, the refusal verbatim, then a refresh).
 */

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

/** A model whose changes go to the server: `busy` while one is sent, its refusal kept verbatim. */
export abstract class ActingModel extends FetchingModel {
  /** Whether a change is being sent (the controls wait meanwhile). */
  busy = false;
  /** The last change's refusal, as the server words it. */
  actionError: string | null = null;

  abstract refresh(): Promise<void>;

  /**
   * Send a change; its refusal goes to `actionError` (or to `fail`), then everything is fetched
   * again.  True when the server accepted it.
   */
  protected async act(work: () => Promise<unknown>, fail?: (message: string) => void): Promise<boolean> {
    this.busy = true;
    this.actionError = null;
    this.emit();
    let ok = true;
    try {
      await work();
    } catch (error) {
      const message = errorMessage(error);
      if (fail) {
        fail(message);
      } else {
        this.actionError = message;
      }
      ok = false;
    }
    this.busy = false;
    await this.refresh();
    return ok;
  }
}
