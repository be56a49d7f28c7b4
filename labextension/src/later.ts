/** Work that live events ask for, done at most once per key every `LIVE_REFRESH_MS`. */

import { LIVE_REFRESH_MS } from './tokens';

export class Later {
  /** Run `work` in `LIVE_REFRESH_MS`, unless work under the same key is already waiting. */
  run(key: string, work: () => unknown): void {
    if (!this._timers.has(key)) {
      this._timers.set(
        key,
        window.setTimeout(() => {
          this._timers.delete(key);
          void work();
        }, LIVE_REFRESH_MS)
      );
    }
  }

  /** Drop everything waiting. */
  clear(): void {
    this._timers.forEach(timer => window.clearTimeout(timer));
    this._timers.clear();
  }

  private _timers = new Map<string, number>();
}
