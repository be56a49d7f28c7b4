/**
 * A pipeline run drawn (a pipeline run's "Pipeline" tab, and the Pipelines page's chosen run):
 * a line of what its steps are doing, the graph with each step's live state, and a table of the
 * steps saying in full why each ran or was reused, with links to its run and to the run whose
 * outputs it reused.  Loaded on first use (a chunk of its own, with its stylesheet).
 */

import { UseSignal } from '@jupyterlab/apputils';
import * as React from 'react';

import '../../../style/workflows.css';

import { ErrorBox } from '../errorBox';
import { IPageContext } from '../page';
import { localTime } from '../schedules/types';
import { PipelineGraph } from './graph';
import { PipelineRunModel } from './model';
import { IPipelineRun, IPipelineStep, STATE_ORDER, stateLabel } from './types';

/** "5 steps: 2 reused, 1 running, 2 queued" */
export function stepCounts(states: Record<string, number>): string {
  const total = Object.values(states).reduce((a, b) => a + b, 0);
  const parts = STATE_ORDER.filter(state => states[state]).map(
    state => `${states[state]} ${stateLabel({ state, run_status: null })}`
  );
  return `${total} step${total === 1 ? '' : 's'}${parts.length ? `: ${parts.join(', ')}` : ''}`;
}

function countStates(steps: IPipelineStep[]): Record<string, number> {
  const states: Record<string, number> = {};
  for (const step of steps) {
    states[step.state] = (states[step.state] ?? 0) + 1;
  }
  return states;
}

/** How the run was asked for: --only / --from / --force / --no-reuse / --compute. */
function options(pipeline: IPipelineRun): string {
  const o = pipeline.options ?? {};
  const parts: string[] = [];
  if (o.only?.length) {
    parts.push(`--only ${o.only.join(' ')}`);
  }
  if (o.from) {
    parts.push(`--from ${o.from}`);
  }
  if (o.force?.length) {
    parts.push(`--force ${o.force.join(' ')}`);
  }
  if (o.no_reuse) {
    parts.push('--no-reuse');
  }
  if (o.compute && o.compute !== 'local') {
    parts.push(`on ${o.compute}`);
  }
  return parts.join(' ');
}

function RunButton(props: { id: string; context: IPageContext; className: string }): JSX.Element {
  return (
    <button
      className={`mlws-Link ${props.className}`}
      data-run-id={props.id}
      title={`Open run ${props.id}`}
      onClick={() => props.context.open({ kind: 'run', id: props.id })}
    >
      {props.id.slice(0, 8)}
    </button>
  );
}

function StepsTable(props: { pipeline: IPipelineRun; context: IPageContext }): JSX.Element {
  const { context } = props;
  return (
    <table className="mlws-Table mlws-PipelineSteps" aria-label="Steps">
      <thead>
        <tr>
          <th>Step</th>
          <th>State</th>
          <th>Why it ran or was reused</th>
          <th>Run</th>
          <th>Reused from</th>
          <th>Started</th>
        </tr>
      </thead>
      <tbody>
        {props.pipeline.steps.map(step => (
          <tr key={step.name} className="mlws-PipelineStepRow" data-step={step.name} data-state={stateLabel(step)}>
            <td>
              <span className="mlws-StepRowName">{step.name}</span>{' '}
              <span className="mlws-Muted" title={step.path}>
                {step.kind} {step.path}
              </span>
            </td>
            <td>
              <span className={`mlws-StepLabel mlws-step-${stateLabel(step)}`}>{stateLabel(step)}</span>
            </td>
            <td className="mlws-StepReason">
              {step.changed
                .filter(part => part !== 'no earlier run')
                .map(part => (
                  <span key={part} className="mlws-Chip mlws-ChangedPart" data-part={part}>
                    {part}
                  </span>
                ))}
              {step.reason || <span className="mlws-Muted">{step.state === 'pending' ? 'waits for its upstream steps' : ''}</span>}
            </td>
            <td>{step.run_id ? <RunButton id={step.run_id} context={context} className="mlws-StepRun" /> : ''}</td>
            <td>{step.reused_from ? <RunButton id={step.reused_from} context={context} className="mlws-StepSource" /> : ''}</td>
            <td className="mlws-Muted">{localTime(step.started_at)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function PipelineRunBody(props: { model: PipelineRunModel; context: IPageContext; heading?: boolean }): JSX.Element {
  const { model, context } = props;
  const pipeline = model.pipeline;
  if (pipeline === null) {
    return (
      <div className="mlws-PipelineRun">
        <ErrorBox message={model.error} />
        {!model.error && <div className="mlws-Muted">Loading the pipeline…</div>}
      </div>
    );
  }
  const how = options(pipeline);
  const open = (runId: string) => context.open({ kind: 'run', id: runId });
  return (
    <div className="mlws-PipelineRun" data-run-id={model.runId} data-status={pipeline.run.status}>
      <div className="mlws-PipelineSummary">
        <span>
          Pipeline{' '}
          <button
            className="mlws-Link mlws-OpenPipeline"
            title={`Every run of ${pipeline.pipeline}`}
            onClick={() => context.open({ kind: 'pipelines', id: pipeline.pipeline })}
          >
            {pipeline.pipeline}
          </button>
        </span>
        <span className={`mlws-Status mlws-status-${pipeline.run.status}`}>{pipeline.run.status}</span>
        <span className="mlws-PipelineCounts">{stepCounts(countStates(pipeline.steps))}</span>
        {how && <code className="mlws-PipelineOptions">{how}</code>}
      </div>
      <ErrorBox message={model.error} />
      {pipeline.run.error && pipeline.run.status !== 'completed' && (
        <pre className="mlws-PipelineError">{String(pipeline.run.error)}</pre>
      )}
      <PipelineGraph steps={pipeline.steps} edges={pipeline.edges} onOpen={open} />
      <StepsTable pipeline={pipeline} context={context} />
    </div>
  );
}

/** A pipeline run, fetched and followed live while shown. */
export default function PipelineRunView(props: { runId: string; context: IPageContext }): JSX.Element {
  const { runId, context } = props;
  const model = React.useMemo(() => new PipelineRunModel(runId), [runId]);
  React.useEffect(() => {
    void model.refresh();
    return model.follow(context.events);
  }, [model, context]);
  return <UseSignal signal={model.changed}>{() => <PipelineRunBody model={model} context={context} />}</UseSignal>;
}
