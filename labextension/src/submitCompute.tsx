/**
 * The compute choice of the Submit form: which target the run executes on (`GET compute`, each
 * with its state from its last test here), the secrets that target gives every run, and, for a
 * target other than `local`, how its environments differ from the notebook kernel's
 * (`GET environments/check`, what `mlws run submit` warns of), summed up with the full list
 * expandable.  A drift asks for a choice before the form submits: "Build" (`POST
 * environments/build`, as `--build-env`; only where runs use built environments) or "Submit
 * anyway" (as `--no-env-check`).  A target that cannot be reached is said to be so, and the form
 * does not submit to it (as `mlws run submit` refuses).
 */

import * as React from 'react';

import { ITarget, lastTests, targetSecrets, targetWhere, testState } from './compute';
import { errorDetails, errorMessage, query, requestAPI } from './request';

/** `GET environments/check`: `state` same, current, none or differs, said in `lines` and summed
 * up in `summary` (naming the differing packages the notebook imports: `imported`); `system`:
 * runs there use the host's own Python as it is (nothing is built for them). */
export interface IEnvironmentCheck {
  target: string;
  hash: string | null;
  state: 'same' | 'current' | 'none' | 'differs' | string;
  lines: string[];
  summary?: string;
  imported?: string[];
  system?: boolean;
  /** a build there will fail: the target's Python cannot take pins of the kernel's environment */
  python_warning?: string;
}

/** `POST environments/build`: the environment's record (`error` when it failed). */
interface IBuilt {
  hash: string;
  short_hash?: string;
  state: 'ready' | 'failed' | string;
  error?: string | null;
}

/** What the drift box says: nothing yet, checking, a warning, building, the outcome, or that the target cannot be reached. */
type Drift =
  | { kind: 'none' }
  | { kind: 'checking' }
  | { kind: 'warning'; state: string; summary: string; lines: string[]; system: boolean; pythonWarning?: string }
  | { kind: 'building' }
  | { kind: 'built'; text: string }
  | { kind: 'failed'; text: string }
  | { kind: 'unreachable'; text: string }
  | { kind: 'going-on'; system: boolean };

/** Whether the form may submit with this drift (else a choice, or a reachable target, comes first). */
function settled(drift: Drift): boolean {
  return drift.kind === 'none' || drift.kind === 'built' || drift.kind === 'going-on';
}

/** A target as the select offers it: its name, type, where and its state here. */
export function targetLabel(target: ITarget): string {
  if (target.type === 'local') {
    return 'local (this machine)';
  }
  const state = testState(lastTests.of(target));
  return `${target.name} (${target.type} · ${targetWhere(target)} · ${state === 'ok' ? 'tested OK' : state === 'fail' ? 'last test failed' : 'untested'})`;
}

/**
 * The Compute field: `notebook` (in the server's folder) and its `kernel` say whose environment
 * the check compares; `onChange` hears the chosen target's name, `onReady` whether the form may
 * submit (false while a check is under way, a drift awaits a choice or the target is unreachable).
 */
export function ComputeChoice(props: {
  notebook: string;
  kernel: string;
  onChange: (name: string) => void;
  onReady: (ready: boolean) => void;
}): JSX.Element {
  const [targets, setTargets] = React.useState<ITarget[] | null>(null);
  const [listError, setListError] = React.useState<string | null>(null);
  const [chosen, setChosen] = React.useState('local');
  const [drift, setDrift] = React.useState<Drift>({ kind: 'none' });
  const asked = React.useRef(0); // the newest check: an older answer is dropped

  React.useEffect(() => {
    requestAPI<{ targets: ITarget[] }>('compute')
      .then(answer => setTargets(answer.targets))
      .catch(error => setListError(errorMessage(error)));
  }, []);
  const ready = settled(drift);
  React.useEffect(() => props.onReady(ready), [ready]);

  const target = targets?.find(t => t.name === chosen);
  const check = async (name: string) => {
    const mine = ++asked.current;
    if (name === 'local') {
      setDrift({ kind: 'none' });
      return;
    }
    setDrift({ kind: 'checking' });
    const system = targets?.find(t => t.name === name)?.env !== 'build';
    let next: Drift;
    try {
      const found = await requestAPI<IEnvironmentCheck>(
        `environments/check${query({ notebook: props.notebook, compute: name })}`
      );
      next =
        found.state === 'none' || found.state === 'differs'
          ? {
              kind: 'warning',
              state: found.state,
              summary: found.summary ?? found.lines[0] ?? '',
              lines: found.lines,
              system: found.system ?? system,
              pythonWarning: found.python_warning
            }
          : { kind: 'none' };
    } catch (error) {
      const unreachable = errorDetails(error)?.unreachable;
      next =
        typeof unreachable === 'string'
          ? { kind: 'unreachable', text: unreachable }
          : { kind: 'warning', state: 'unknown', summary: errorMessage(error), lines: [], system };
    }
    if (mine === asked.current) {
      setDrift(next);
    }
  };

  const choose = (name: string) => {
    setChosen(name);
    props.onChange(name);
    void check(name);
  };

  const build = async () => {
    const mine = ++asked.current;
    setDrift({ kind: 'building' });
    try {
      const built = await requestAPI<IBuilt>('environments/build', {
        method: 'POST',
        // the release check's warning, if any, is beside Build: clicking it is the user's choice
        body: JSON.stringify({ compute: chosen, kernel: props.kernel, force: true })
      });
      if (mine === asked.current) {
        setDrift(
          built.state === 'ready'
            ? { kind: 'built', text: `environment ${built.short_hash ?? built.hash.slice(0, 16)} of kernel ${props.kernel} is ready on ${chosen}` }
            : { kind: 'failed', text: built.error ?? `the build on ${chosen} failed` }
        );
      }
    } catch (error) {
      if (mine === asked.current) {
        const unreachable = errorDetails(error)?.unreachable;
        setDrift(typeof unreachable === 'string' ? { kind: 'unreachable', text: unreachable } : { kind: 'failed', text: errorMessage(error) });
      }
    }
  };

  const secrets = targetSecrets(target);
  return (
    <div className="mlws-SubmitComputeBox">
      <label className="mlws-SubmitField">
        <span>compute</span>
        <select
          className="mlws-SubmitCompute"
          value={chosen}
          disabled={targets === null}
          onChange={event => choose(event.target.value)}
        >
          {(targets ?? [{ name: 'local', type: 'local' } as ITarget]).map(t => (
            <option key={t.name} value={t.name}>
              {targetLabel(t)}
            </option>
          ))}
        </select>
      </label>
      {listError && (
        <div className="mlws-SubmitComputeError" role="alert">
          {listError}
        </div>
      )}
      {secrets && <div className="mlws-Hint mlws-SubmitComputeSecrets">Runs on {chosen} are given its secrets: {secrets}.</div>}
      <DriftBox
        drift={drift}
        target={chosen}
        onBuild={() => void build()}
        onGoOn={() => setDrift({ kind: 'going-on', system: drift.kind === 'warning' && drift.system })}
        onCheck={() => void check(chosen)}
      />
    </div>
  );
}

/** The heading of a drift warning. */
function driftTitle(drift: Extract<Drift, { kind: 'warning' }>, target: string): string {
  if (drift.state === 'unknown') {
    return `${target}'s environment could not be compared with the kernel's`;
  }
  if (drift.system) {
    return `Runs on ${target} use the host's own Python and packages`;
  }
  return drift.state === 'none' ? `No environment is built on ${target} yet` : `${target}'s environment differs from the kernel's`;
}

function DriftBox(props: {
  drift: Drift;
  target: string;
  onBuild: () => void;
  onGoOn: () => void;
  onCheck: () => void;
}): JSX.Element | null {
  const { drift, target } = props;
  switch (drift.kind) {
    case 'none':
      return null;
    case 'checking':
      return <div className="mlws-SubmitDrift mlws-mod-quiet">Comparing {target}'s environments with the kernel's…</div>;
    case 'building':
      return (
        <div className="mlws-SubmitDrift mlws-mod-quiet" role="status">
          Building the kernel's environment on {target}… (the first build may take minutes)
        </div>
      );
    case 'built':
      return (
        <div className="mlws-SubmitDrift mlws-mod-ok" role="status">
          {drift.text}
        </div>
      );
    case 'going-on':
      return (
        <div className="mlws-SubmitDrift mlws-mod-quiet">
          {drift.system
            ? `Submitting: runs on ${target} use the host's own Python and its packages as they are.`
            : `Submitting without building first: the run builds the kernel's environment on ${target} as it starts (a first build may take minutes).`}
        </div>
      );
    case 'unreachable':
      return (
        <div className="mlws-SubmitDrift mlws-mod-warn mlws-SubmitUnreachable" role="alert">
          <div className="mlws-SubmitDriftTitle">
            {target} is unreachable: {drift.text}
          </div>
          <div className="mlws-SubmitDriftActions">
            <button type="button" className="jp-mod-styled mlws-SubmitCheckAgain" onClick={props.onCheck}>
              Check again
            </button>
            <span className="mlws-Hint">
              Nothing can run there until it answers (a run would fail): start the host or its SSH server, or choose
              another target. The target's page tests it step by step.
            </span>
          </div>
        </div>
      );
    case 'failed':
    case 'warning': {
      const system = drift.kind === 'warning' && drift.system;
      // a failed build: its reason (the first line), then the installer's lines as it printed them
      const [reason, ...output] = drift.kind === 'failed' ? drift.text.split('\n') : [''];
      return (
        <div className="mlws-SubmitDrift mlws-mod-warn" role="alert">
          <div className="mlws-SubmitDriftTitle">
            {drift.kind === 'failed' ? `The build on ${target} failed` : driftTitle(drift, target)}
          </div>
          {drift.kind === 'warning' && drift.pythonWarning && (
            <p className="mlws-SubmitDriftReason mlws-SubmitPythonWarning">
              The build will fail: {drift.pythonWarning}
            </p>
          )}
          {drift.kind === 'failed' ? (
            <>
              <p className="mlws-SubmitDriftReason">{reason}</p>
              {output.length > 0 && <pre className="mlws-SubmitDriftOutput">{output.join('\n')}</pre>}
            </>
          ) : (
            <p className="mlws-SubmitDriftSummary">
              {drift.state === 'none'
                ? "The first run there builds the kernel's environment (a first build may take minutes); Build does it now."
                : drift.summary}
            </p>
          )}
          <div className="mlws-SubmitDriftActions">
            {!system && (
              <button type="button" className="jp-mod-styled jp-mod-accept mlws-SubmitBuild" onClick={props.onBuild}>
                Build
              </button>
            )}
            <button type="button" className="jp-mod-styled mlws-SubmitGoOn" onClick={props.onGoOn}>
              Submit anyway
            </button>
            <span className="mlws-Hint">
              {system
                ? `Install what the notebook needs with ${target}'s Python, or submit anyway with what it has. Choose one to enable Submit.`
                : drift.kind === 'warning' && drift.pythonWarning
                  ? `Building on ${target} will fail as said above (the run's own build too): fix that first, or choose anyway to enable Submit.`
                  : `Build the kernel's environment on ${target} now, or submit anyway (the run builds it as it starts). Choose one to enable Submit.`}
            </span>
          </div>
          {drift.kind === 'warning' && drift.lines.length > 1 && (
            <details className="mlws-SubmitDriftDetails">
              <summary>The differences</summary>
              <ul>
                {drift.lines
                  .slice(drift.system ? 1 : 0)
                  .filter(line => line !== drift.pythonWarning)
                  .map((line, i) => (
                    <li key={i}>{line}</li>
                  ))}
              </ul>
            </details>
          )}
        </div>
      );
    }
  }
}
