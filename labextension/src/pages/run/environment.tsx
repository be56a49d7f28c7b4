/**
 * A run's environment (the `environment.json` notebook runs record): Python, platform and the
 * installed packages, and a diff of its packages with the parent's, the original's (of a
 * re-run) or the previous run's of the experiment, inline or as a comparison page.
 */

import * as React from 'react';

import { packageDiff } from '../../environmentDiff';
import { query, requestAPI } from '../../request';
import { IEnvironment, IRun, IRunPage } from '../../tokens';
import { IPageContext } from '../page';
import { useFetch } from './fetch';
import { RunPageModel } from './runPageModel';
import { IRunRef } from './types';

const ENVIRONMENT_FILE = 'environment.json';

function environmentOf(runId: string): Promise<IEnvironment> {
  return requestAPI<IEnvironment>(`runs/${encodeURIComponent(runId)}/artifacts/${ENVIRONMENT_FILE}`);
}

/** The runs to diff with: parent, original of a re-run, previous run of the experiment. */
async function candidates(model: RunPageModel): Promise<Array<{ label: string; run: IRunRef }>> {
  const run = model.run!;
  const found: Array<{ label: string; run: IRunRef }> = [];
  if (model.lineage?.parent) {
    found.push({ label: 'parent', run: model.lineage.parent });
  }
  if (model.lineage?.rerun_of) {
    found.push({ label: 'original', run: model.lineage.rerun_of });
  }
  if (typeof run.start_time === 'number') {
    const page = await requestAPI<IRunPage>(
      `runs${query({
        experiment: run.experiment,
        filter: `start_time < ${run.start_time}`,
        order_by: 'start_time DESC',
        max_results: 1
      })}`
    ).catch(() => null);
    const previous: IRun | undefined = page?.runs[0];
    if (previous && !found.some(c => c.run.id === previous.id)) {
      found.push({ label: 'previous run', run: previous });
    }
  }
  return found;
}

function Diff(props: { mine: IEnvironment; other: IRunRef; label: string }): JSX.Element {
  const loaded = useFetch(() => environmentOf(props.other.id), [props.other.id]);
  if (loaded.error) {
    return <div className="mlws-Muted">The {props.label} recorded no environment ({loaded.error}).</div>;
  }
  if (!loaded.value) {
    return <div className="mlws-Muted">loading…</div>;
  }
  const changes = packageDiff([loaded.value.packages ?? [], props.mine.packages ?? []]).map(row => ({
    name: row.name,
    before: row.versions[0] ?? '',
    after: row.versions[1] ?? ''
  }));
  return changes.length === 0 ? (
    <div className="mlws-Empty">Same packages as the {props.label}.</div>
  ) : (
    <table className="mlws-DataTable mlws-EnvDiff">
      <thead>
        <tr>
          <th>package</th>
          <th>{props.label}</th>
          <th>this run</th>
        </tr>
      </thead>
      <tbody>
        {changes.map(change => (
          <tr key={change.name} data-package={change.name} className={!change.before ? 'mlws-Added' : !change.after ? 'mlws-Removed' : 'mlws-Changed'}>
            <td>{change.name}</td>
            <td>{change.before || '—'}</td>
            <td>{change.after || '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Environment(props: { model: RunPageModel; context: IPageContext }): JSX.Element {
  const { model, context } = props;
  const env = useFetch(() => environmentOf(model.runId), [model.runId, model.statusVersion]);
  const others = useFetch(() => candidates(model), [model.runId, model.lineage]);
  const [diffWith, setDiffWith] = React.useState<{ label: string; run: IRunRef } | null>(null);
  const [filter, setFilter] = React.useState('');
  if (env.error) {
    return <div className="mlws-Empty mlws-NoEnvironment">This run recorded no environment (notebook runs do).</div>;
  }
  const mine = env.value;
  if (!mine) {
    return <div className="mlws-Muted">loading…</div>;
  }
  const packages = (mine.packages ?? []).filter(p => p.toLowerCase().includes(filter.toLowerCase()));
  return (
    <div className="mlws-Environment">
      <dl className="mlws-Fields">
        <div className="mlws-Field">
          <dt>Python</dt>
          <dd>{mine.python}</dd>
        </div>
        <div className="mlws-Field">
          <dt>Platform</dt>
          <dd>{mine.platform}</dd>
        </div>
        <div className="mlws-Field">
          <dt>Packages hash</dt>
          <dd>
            <code>{(model.run?.environment_hash as string) || mine.packages_hash}</code>
          </dd>
        </div>
      </dl>
      <div className="mlws-DiffLinks" role="group" aria-label="Diff the packages with another run">
        {(others.value ?? []).map(candidate => (
          <span key={candidate.run.id} className="mlws-DiffLink" data-with={candidate.label}>
            <button className="mlws-Button" aria-pressed={diffWith?.run.id === candidate.run.id} onClick={() => setDiffWith(candidate)}>
              Diff with {candidate.label} ({candidate.run.name || candidate.run.id})
            </button>
            <button className="mlws-Link" onClick={() => context.open({ kind: 'compare', ids: [candidate.run.id, model.runId] })}>
              compare
            </button>
          </span>
        ))}
        {others.value && others.value.length === 0 && <span className="mlws-Muted">No parent, original or earlier run to diff with.</span>}
      </div>
      {diffWith && (
        <section className="mlws-EnvDiffSection">
          <h3>
            Packages that differ from the {diffWith.label} ({diffWith.run.name || diffWith.run.id})
          </h3>
          <Diff mine={mine} other={diffWith.run} label={diffWith.label} />
        </section>
      )}
      <section>
        <h3>
          Packages <span className="mlws-Muted">({mine.packages?.length ?? 0})</span>
        </h3>
        <input className="mlws-PackageFilter" placeholder="filter packages" aria-label="Filter packages" value={filter} onChange={e => setFilter(e.target.value)} />
        <ul className="mlws-Packages">
          {packages.map(p => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      </section>
    </div>
  );
}
