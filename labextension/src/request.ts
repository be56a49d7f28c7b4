/** The one way to call the workspace's REST API. */

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** The API's root: `{base_url}mlws/api/`. */
export const API_PATH = 'mlws/api';

/** The absolute URL of an API path (for links the browser follows itself, e.g. downloads). */
export function apiUrl(
  path: string,
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): string {
  return URLExt.join(settings.baseUrl, API_PATH, path);
}

/**
 * Call `{base_url}mlws/api/{endPoint}` and return its JSON.
 *
 * Throws `ServerConnection.ResponseError` carrying the server's own `message`
 * (the workspace's errors say what is wrong and what to do: show them verbatim).
 */
export async function requestAPI<T>(
  endPoint = '',
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url = apiUrl(endPoint, settings);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  const text = await response.text();
  let data: any = text;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      // not JSON (a proxy's error page): keep the text
    }
  }
  if (!response.ok) {
    const message =
      data && typeof data === 'object' && data.message ? data.message : String(data || response.statusText);
    const error = new ServerConnection.ResponseError(response, message);
    if (data && typeof data === 'object' && data.details && typeof data.details === 'object') {
      (error as any).details = data.details; // facts to act on, beside the message (errorDetails)
    }
    throw error;
  }
  return data as T;
}

/** A query string from parameters; arrays repeat their key, empty values are left out. */
export function query(params: Record<string, string | number | string[] | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item !== null && item !== undefined && item !== '') {
        search.append(key, String(item));
      }
    }
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** The message to show for any error thrown by `requestAPI`. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The `details` of a REST error (facts a page may act on, e.g. an ssh host key's fingerprint to
 * have confirmed), or null when it gave none.
 */
export function errorDetails(error: unknown): Record<string, unknown> | null {
  const details = (error as any)?.details;
  return details && typeof details === 'object' ? details : null;
}
