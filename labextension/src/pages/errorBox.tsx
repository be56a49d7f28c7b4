/** A server's refusal or error, shown as the server words it (announced to screen readers). */

import * as React from 'react';

export function ErrorBox(props: { message: string | null; className?: string }): JSX.Element | null {
  return props.message ? (
    <div className={`mlws-Error ${props.className ?? ''}`} role="alert">
      {props.message}
    </div>
  ) : null;
}
