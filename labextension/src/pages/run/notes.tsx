/** What a section says while it loads, or when the server refused: its message, verbatim. */

import * as React from 'react';

import { ILoaded } from './fetch';

export function Problem(props: { error: string | null }): JSX.Element | null {
  return props.error ? (
    <div className="mlws-Error" role="alert">
      {props.error}
    </div>
  ) : null;
}

/** The error of a fetch, or "loading…" while nothing has arrived yet. */
export function LoadNote(props: { loaded: ILoaded<unknown> }): JSX.Element | null {
  const { loaded } = props;
  if (loaded.error) {
    return <Problem error={loaded.error} />;
  }
  return loaded.value === undefined && loaded.loading ? <div className="mlws-Muted">loading…</div> : null;
}
