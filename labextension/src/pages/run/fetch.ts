/**
 * How the run page's sections load what they show: a React hook that fetches when its
 * dependencies change (keeping the last answer while it reloads), and a file's text as text.
 */

import { ServerConnection } from '@jupyterlab/services';
import * as React from 'react';

import { apiUrl, errorMessage } from '../../request';

export interface ILoaded<T> {
  value: T | undefined;
  /** The server's message, verbatim, when the last fetch failed. */
  error: string | null;
  loading: boolean;
}

/** `load()` run on mount and whenever `deps` change; a late answer to an older call is dropped. */
export function useFetch<T>(load: () => Promise<T>, deps: React.DependencyList): ILoaded<T> {
  const [state, setState] = React.useState<ILoaded<T>>({ value: undefined, error: null, loading: true });
  React.useEffect(() => {
    let current = true;
    setState(old => ({ ...old, loading: true }));
    load().then(
      value => current && setState({ value, error: null, loading: false }),
      error => current && setState(old => ({ value: old.value, error: errorMessage(error), loading: false }))
    );
    return () => {
      current = false;
    };
  }, deps);
  return state;
}

/** The largest file a preview fetches (bigger ones only download). */
export const PREVIEW_MAX_BYTES = 2 * 1024 * 1024;

/**
 * An API path's body as text (never parsed, never rendered as HTML).  Throws the server's
 * message verbatim when it refuses.
 */
export async function requestText(path: string): Promise<string> {
  const settings = ServerConnection.makeSettings();
  const response = await ServerConnection.makeRequest(apiUrl(path, settings), {}, settings);
  const text = await response.text();
  if (!response.ok) {
    let message = text || response.statusText;
    try {
      message = JSON.parse(text).message ?? message;
    } catch {
      // not JSON: the text as it came
    }
    throw new ServerConnection.ResponseError(response, message);
  }
  return text;
}
