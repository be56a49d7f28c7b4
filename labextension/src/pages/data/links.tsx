/**
 * The dataset versions a run or a model version used or made, each a link opening its dataset's
 * page on that version (in the main bundle: the run page shows them; the Data pages load later).
 */

import * as React from 'react';

import { IPageContext } from '../page';
import { IDatasetUse } from './types';

export function DatasetLinks(props: { datasets: IDatasetUse[]; context: IPageContext }): JSX.Element {
  return (
    <ul className="mlws-InlineList mlws-DatasetLinks">
      {props.datasets.map(d => (
        <li key={`${d.ref} ${d.how}`} data-ref={d.ref} data-how={d.how}>
          <button
            className="mlws-Link mlws-LinkButton mlws-DatasetLink"
            title={`Open dataset ${d.name} on version ${d.version}`}
            onClick={() => props.context.open({ kind: 'dataset', id: d.name, version: d.version })}
          >
            {d.ref}
          </button>{' '}
          <span className="mlws-Muted mlws-DatasetHow">({d.how})</span>
        </li>
      ))}
    </ul>
  );
}
