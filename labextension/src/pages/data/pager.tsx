/** Prev and Next through a long list fetched a page at a time (a dataset's versions, a version's files). */

import * as React from 'react';

import { IPage } from './model';

export function Pager(props: {
  page: IPage<unknown>;
  size: number;
  /** what the rows are, plural: "versions", "files" */
  noun: string;
  label: string;
  busy?: boolean;
  onPage: (offset: number) => void;
}): JSX.Element | null {
  const { page, size, onPage } = props;
  if (page.offset === 0 && page.total <= size) {
    return null; // all on one page
  }
  const last = page.offset + page.rows.length;
  return (
    <div className="mlws-Pager mlws-DataPager" role="navigation" aria-label={props.label}>
      <button className="mlws-Prev" disabled={page.offset === 0 || props.busy} onClick={() => onPage(Math.max(0, page.offset - size))}>
        ‹ Prev
      </button>
      <span className="mlws-PageInfo">
        {page.rows.length ? `${page.offset + 1}–${last}` : 'none'} of {page.total} {props.noun}
      </span>
      <button className="mlws-Next" disabled={last >= page.total || props.busy} onClick={() => onPage(page.offset + size)}>
        Next ›
      </button>
    </div>
  );
}
