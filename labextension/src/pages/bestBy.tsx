/** What "best" means for a set of runs: a metric and whether higher or lower is better. */

import * as React from 'react';

import { Direction } from './best';

/** Metric and direction pickers: what "best" means. */
export function BestBy(props: {
  metrics: string[];
  metric: string;
  direction: Direction;
  /** Without a direction: another metric was picked, ranked in its own direction. */
  onChange(metric: string, direction?: Direction): void;
}): JSX.Element {
  return (
    <div className="mlws-Controls mlws-BestBy">
      <label>
        Best by{' '}
        <select className="mlws-BestMetric" value={props.metric} onChange={event => props.onChange(event.target.value)}>
          {props.metrics.map(key => (
            <option key={key}>{key}</option>
          ))}
        </select>
      </label>
      <label>
        <select
          className="mlws-BestDirection"
          aria-label="Direction"
          value={props.direction}
          onChange={event => props.onChange(props.metric, event.target.value as Direction)}
        >
          <option value="max">highest</option>
          <option value="min">lowest</option>
        </select>
      </label>
    </div>
  );
}
