/** Copying text to the system clipboard: an endpoint's key, a user's new API token. */

import { Clipboard } from '@jupyterlab/apputils';

/** Put text on the system clipboard (the async API where the page may use it). */
export async function copyText(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
  } else {
    Clipboard.copyToSystem(text);
  }
}
