/**
 * The runs table's column chooser: attributes, params, metrics (last, min or max) and tags of
 * the experiment, as checkboxes; the choice is the table model's (remembered per experiment).
 */

import * as React from 'react';

import { Aggregate, ATTRIBUTES, columnId, IColumn } from './runColumns';
import { RunsTableModel } from './runsTableModel';

const AGGREGATES: Aggregate[] = ['last', 'min', 'max'];

function Choice(props: { model: RunsTableModel; column: IColumn; label: string; name?: string }): JSX.Element {
  const { model, column } = props;
  const id = columnId(column);
  const shown = model.columns.some(c => columnId(c) === id);
  return (
    <label className="mlws-Choice" data-column={id}>
      <input
        type="checkbox"
        aria-label={props.name}
        checked={shown}
        onChange={() =>
          void model.setColumns(shown ? model.columns.filter(c => columnId(c) !== id) : [...model.columns, column])
        }
      />{' '}
      {props.label}
    </label>
  );
}

function Group(props: { title: string; children: React.ReactNode; empty: boolean }): JSX.Element {
  return (
    <fieldset className="mlws-ChoiceGroup">
      <legend>{props.title}</legend>
      {props.empty ? <span className="mlws-Muted">none</span> : props.children}
    </fieldset>
  );
}

export function ColumnChooser(props: { model: RunsTableModel; onClose: () => void }): JSX.Element {
  const { model } = props;
  const keys = model.keys ?? { params: [], metrics: [], tags: [] };
  const [find, setFind] = React.useState('');
  const matches = (key: string) => key.toLowerCase().includes(find.trim().toLowerCase());
  return (
    <div
      className="mlws-ColumnChooser"
      role="dialog"
      aria-label="Columns"
      onKeyDown={event => {
        if (event.key === 'Escape') {
          props.onClose();
        }
      }}
    >
      <div className="mlws-ChooserHeader">
        <input
          type="search"
          className="mlws-ChooserFind"
          aria-label="Find a column"
          placeholder="find a key"
          value={find}
          autoFocus
          onChange={event => setFind(event.target.value)}
        />
        <span className="mlws-Muted">remembered for {model.experiment ? `'${model.experiment}'` : 'all experiments'}</span>
        <button className="mlws-Button" onClick={props.onClose}>
          Done
        </button>
      </div>
      <div className="mlws-ChooserGroups">
        <Group title="Attributes" empty={false}>
          {ATTRIBUTES.filter(a => matches(a.label) || matches(a.key)).map(a => (
            <Choice key={a.key} model={model} column={{ kind: 'attribute', key: a.key }} label={a.label} />
          ))}
        </Group>
        <Group title="Params" empty={keys.params.length === 0}>
          {keys.params.filter(matches).map(key => (
            <Choice key={key} model={model} column={{ kind: 'param', key }} label={key} />
          ))}
        </Group>
        <Group title="Metrics: last, min, max" empty={keys.metrics.length === 0}>
          {keys.metrics.filter(matches).map(key => (
            <div key={key} className="mlws-MetricChoice">
              <span className="mlws-MetricChoiceKey">{key}</span>
              {AGGREGATES.map(agg => (
                <Choice key={agg} model={model} column={{ kind: 'metric', key, agg }} label={agg} name={`${key}: ${agg}`} />
              ))}
            </div>
          ))}
        </Group>
        <Group title="Tags" empty={keys.tags.length === 0}>
          {keys.tags.filter(matches).map(key => (
            <Choice key={key} model={model} column={{ kind: 'tag', key }} label={key} />
          ))}
        </Group>
      </div>
    </div>
  );
}
