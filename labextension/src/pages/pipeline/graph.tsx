/**
 * A pipeline run's DAG: each step a box (its name, kind, state and why it ran or was reused),
 * the edges drawn in SVG beneath them, laid out in layers (layout.ts) left to right when that
 * fits the page's width, else top to bottom.  Each box is a button in the drawing's order: Tab
 * reaches it, Enter (or a click) opens its run's page; a step with no run yet says so.
 */

import * as React from 'react';

import { formatDuration } from '../run/format';
import { Direction, edgePath, ILayout, layout } from './layout';
import { IPipelineStep, shortWhy, stateClass, stateLabel } from './types';

/** A step's box and the room between boxes (px). */
const BOX = { width: 196, height: 66 };
const LAYER_GAP = { LR: 64, TB: 44 };
const NODE_GAP = { LR: 18, TB: 24 };
const MARGIN = 10;

/** A glyph per state, beside its word (the colour is never the only sign). */
const GLYPH: Record<string, string> = {
  finished: '✓',
  reused: '↺',
  running: '●',
  queued: '○',
  failed: '✕',
  blocked: '⊘',
  skipped: '↷',
  canceled: '■'
};

function laidOut(steps: IPipelineStep[], edges: Array<[string, string]>, direction: Direction): ILayout {
  return layout(
    steps.map(s => s.name),
    edges,
    {
      direction,
      nodeWidth: BOX.width,
      nodeHeight: BOX.height,
      layerGap: LAYER_GAP[direction],
      nodeGap: NODE_GAP[direction],
      margin: MARGIN
    }
  );
}

/** Left to right when it fits `width` (or nothing is known yet), else top to bottom if that is narrower. */
export function chooseLayout(steps: IPipelineStep[], edges: Array<[string, string]>, width: number): ILayout {
  const lr = laidOut(steps, edges, 'LR');
  if (width <= 0 || lr.width <= width) {
    return lr;
  }
  const tb = laidOut(steps, edges, 'TB');
  return tb.width < lr.width ? tb : lr;
}

/** The width of the element `ref` points at, followed as it changes. */
function useWidth(ref: React.RefObject<HTMLElement>): number {
  const [width, setWidth] = React.useState(0);
  React.useEffect(() => {
    const node = ref.current;
    if (!node) {
      return;
    }
    const observer = new ResizeObserver(() => setWidth(node.clientWidth));
    observer.observe(node);
    setWidth(node.clientWidth);
    return () => observer.disconnect();
  }, [ref]);
  return width;
}

function stepDuration(step: IPipelineStep): string {
  if (step.started_at === null || step.ended_at === null || step.state === 'reused' || step.state === 'skipped') {
    return '';
  }
  return formatDuration((step.ended_at - step.started_at) / 1000);
}

/** What a step's box says to a screen reader (and its tooltip, with the whole reason). */
export function stepSummary(step: IPipelineStep): string {
  const why = step.reason || shortWhy(step);
  const label = stateLabel(step);
  const opens = step.run_id ? 'Opens its run.' : 'No run yet.';
  // a reason that starts with the state ("reused: ...", "skipped (--only): ...") says it once
  const state = why.startsWith(label) ? why : `${label}${why ? `: ${why}` : ''}`;
  return `Step ${step.name} (${step.kind}), ${state}. ${opens}`;
}

function StepBox(props: { step: IPipelineStep; x: number; y: number; onOpen: (runId: string) => void }): JSX.Element {
  const { step } = props;
  const label = stateLabel(step);
  const took = stepDuration(step);
  const open = () => step.run_id && props.onOpen(step.run_id);
  return (
    <button
      className={`mlws-Step mlws-step-${stateClass(step)}`}
      data-step={step.name}
      data-state={label}
      data-run-id={step.run_id ?? ''}
      style={{ left: props.x, top: props.y, width: BOX.width, height: BOX.height }}
      aria-label={stepSummary(step)}
      aria-disabled={step.run_id ? undefined : true}
      title={`${step.name}: ${step.reason || shortWhy(step)}${step.run_id ? '' : ' (no run yet)'}`}
      onClick={open}
    >
      <span className="mlws-StepHead">
        <span className="mlws-StepName">{step.name}</span>
        <span className="mlws-StepKind">{step.kind}</span>
      </span>
      <span className="mlws-StepState">
        <span className="mlws-StepGlyph" aria-hidden="true">
          {GLYPH[label] ?? '•'}
        </span>{' '}
        {label}
        {took && <span className="mlws-Muted"> · {took}</span>}
      </span>
      <span className="mlws-StepWhy">{shortWhy(step)}</span>
    </button>
  );
}

let graphs = 0;

export function PipelineGraph(props: {
  steps: IPipelineStep[];
  edges: Array<[string, string]>;
  onOpen: (runId: string) => void;
}): JSX.Element {
  const { steps, edges } = props;
  const outer = React.useRef<HTMLDivElement>(null);
  const width = useWidth(outer);
  const drawing = React.useMemo(() => chooseLayout(steps, edges, width), [steps, edges, width]);
  const marker = React.useMemo(() => `mlws-arrow-${++graphs}`, []);
  const byName = new Map(steps.map(s => [s.name, s]));
  const direction = drawing.direction;
  // Tab follows the drawing: layer by layer, each layer in its order
  const nodes = [...drawing.nodes].sort((a, b) => a.layer - b.layer || a.y - b.y || a.x - b.x);
  return (
    <div className="mlws-PipelineGraphScroll" ref={outer}>
      <div
        className="mlws-PipelineGraph"
        role="group"
        aria-label={`Pipeline graph: ${steps.length} steps`}
        data-direction={direction}
        style={{ width: drawing.width, height: drawing.height }}
      >
        <svg className="mlws-PipelineEdges" width={drawing.width} height={drawing.height} aria-hidden="true">
          <defs>
            <marker id={marker} viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto">
              <path className="mlws-PipelineArrow" d="M0,1 L10,5 L0,9 z" />
            </marker>
          </defs>
          {drawing.edges.map(edge => {
            const from = byName.get(edge.from);
            const done = from && ['completed', 'reused', 'skipped'].includes(from.state);
            return (
              <path
                key={`${edge.from}->${edge.to}`}
                className={`mlws-PipelineEdge${done ? ' mlws-mod-done' : ''}`}
                data-from={edge.from}
                data-to={edge.to}
                d={edgePath(edge.points, direction)}
                markerEnd={`url(#${marker})`}
              />
            );
          })}
        </svg>
        {nodes.map(node => (
          <StepBox key={node.name} step={byName.get(node.name)!} x={node.x} y={node.y} onOpen={props.onOpen} />
        ))}
      </div>
    </div>
  );
}
