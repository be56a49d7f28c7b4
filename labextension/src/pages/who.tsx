/** Who did something and when, compactly: a long user name is cut with '…' (whole in its tooltip). */

import * as React from 'react';

import { formatTime } from '../runs';

export function ByWhen(props: { user: string | null | undefined; when: number | null | undefined }): JSX.Element {
  const user = props.user || 'someone';
  return (
    <span className="mlws-ByWhen">
      <span className="mlws-Who" title={user}>
        {user}
      </span>{' '}
      · {formatTime(props.when)}
    </span>
  );
}
