/**
 * A layered drawing of a DAG (Sugiyama's method, small graphs): each step in the layer after its
 * latest upstream step; an edge that spans layers passes through a point in each layer between
 * (so it bends around the steps there, and counts when crossings are counted); the steps of a
 * layer ordered by the median of their neighbours, sweeping down and up and keeping the order
 * with the fewest crossings; then placed near their neighbours without overlapping.  Pure
 * (no DOM): what the graph view draws.
 *
 * A pipeline has a handful to a few dozen steps: every pass here is quadratic at worst, which is
 * nothing at that size, and the code stays short enough to read.
 */

/** Left to right (layers are columns) or top to bottom (layers are rows). */
export type Direction = 'LR' | 'TB';

export interface ILayoutOptions {
  direction: Direction;
  /** a step's box */
  nodeWidth: number;
  nodeHeight: number;
  /** between two layers (the edges' room) */
  layerGap: number;
  /** between two steps of a layer */
  nodeGap: number;
  /** around the drawing */
  margin: number;
}

export interface IPoint {
  x: number;
  y: number;
}

export interface ILaidNode {
  name: string;
  /** the box's top-left corner */
  x: number;
  y: number;
  layer: number;
}

export interface ILaidEdge {
  from: string;
  to: string;
  /** from the upstream box's side to the downstream box's side, through each layer between */
  points: IPoint[];
}

export interface ILayout {
  direction: Direction;
  nodes: ILaidNode[];
  edges: ILaidEdge[];
  width: number;
  height: number;
  layers: number;
}

/** Sweeps of the ordering (down and up count as two). */
const SWEEPS = 12;
/** Passes of the placement that pulls steps towards their neighbours. */
const PLACEMENT_PASSES = 8;

/** A layer's slot: a step, or an edge's point in a layer it passes through (`dummy`). */
interface ISlot {
  id: string;
  dummy: boolean;
  up: ISlot[];
  down: ISlot[];
  /** the slot's extent across the layer (a step's box, or a little room for an edge) */
  size: number;
  /** where its centre is across the layer */
  at: number;
}

/**
 * Each step's layer: 0 for steps without upstream steps, else one after its latest upstream
 * step.  `names` in any order; a cycle (the server refuses them) does not loop: its steps go
 * after the others.
 */
export function layersOf(names: string[], edges: Array<[string, string]>): Map<string, number> {
  const ups = new Map(names.map(name => [name, [] as string[]]));
  for (const [from, to] of edges) {
    if (ups.has(from) && ups.has(to)) {
      ups.get(to)!.push(from);
    }
  }
  const layer = new Map<string, number>();
  let left = [...names];
  while (left.length > 0) {
    const ready = left.filter(name => ups.get(name)!.every(up => layer.has(up)));
    const now = ready.length > 0 ? ready : [left[0]]; // a cycle: break it at its first step
    for (const name of now) {
      const before = ups.get(name)!.filter(up => layer.has(up)).map(up => layer.get(up)! + 1);
      layer.set(name, Math.max(0, ...before));
    }
    left = left.filter(name => !layer.has(name));
  }
  return layer;
}

/** Crossings between two adjacent layers' edges (each pair whose ends are in opposite orders). */
function crossings(upper: ISlot[], lower: ISlot[]): number {
  const index = new Map(lower.map((slot, i) => [slot, i]));
  const ends: Array<[number, number]> = [];
  upper.forEach((slot, i) => slot.down.forEach(down => ends.push([i, index.get(down)!])));
  let count = 0;
  for (let a = 0; a < ends.length; a++) {
    for (let b = a + 1; b < ends.length; b++) {
      if ((ends[a][0] - ends[b][0]) * (ends[a][1] - ends[b][1]) < 0) {
        count++;
      }
    }
  }
  return count;
}

function totalCrossings(layers: ISlot[][]): number {
  let count = 0;
  for (let i = 0; i + 1 < layers.length; i++) {
    count += crossings(layers[i], layers[i + 1]);
  }
  return count;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Reorder `layer` by the median position of each slot's neighbours in `other` (stable; a slot without any keeps its place). */
function reorder(layer: ISlot[], other: ISlot[], neighbours: (slot: ISlot) => ISlot[]): ISlot[] {
  const index = new Map(other.map((slot, i) => [slot, i]));
  const keys = layer.map((slot, i) => {
    const near = neighbours(slot).map(n => index.get(n)!);
    return near.length > 0 ? median(near) : i;
  });
  return layer
    .map((slot, i) => ({ slot, key: keys[i], i }))
    .sort((a, b) => a.key - b.key || a.i - b.i)
    .map(entry => entry.slot);
}

/** Order each layer's slots for few crossings: median sweeps down and up, the best order kept. */
function order(layers: ISlot[][]): ISlot[][] {
  let best = layers.map(layer => [...layer]);
  let fewest = totalCrossings(best);
  let current = best;
  for (let sweep = 0; sweep < SWEEPS && fewest > 0; sweep++) {
    current = current.map(layer => [...layer]);
    if (sweep % 2 === 0) {
      for (let i = 1; i < current.length; i++) {
        current[i] = reorder(current[i], current[i - 1], slot => slot.up);
      }
    } else {
      for (let i = current.length - 2; i >= 0; i--) {
        current[i] = reorder(current[i], current[i + 1], slot => slot.down);
      }
    }
    const count = totalCrossings(current);
    if (count < fewest) {
      best = current;
      fewest = count;
    }
  }
  return best;
}

/**
 * Place a layer's slots (in their order, `gap` apart at least) as near to `wanted` (each one's
 * wished centre) as that allows: a forward and a backward pass, averaged, then separated again.
 */
function place(layer: ISlot[], wanted: number[], gap: number): void {
  const n = layer.length;
  const forward = new Array<number>(n);
  const backward = new Array<number>(n);
  const apart = (i: number) => (layer[i - 1].size + layer[i].size) / 2 + gap;
  for (let i = 0; i < n; i++) {
    forward[i] = i === 0 ? wanted[i] : Math.max(wanted[i], forward[i - 1] + apart(i));
  }
  for (let i = n - 1; i >= 0; i--) {
    backward[i] = i === n - 1 ? wanted[i] : Math.min(wanted[i], backward[i + 1] - apart(i + 1));
  }
  for (let i = 0; i < n; i++) {
    const at = (forward[i] + backward[i]) / 2;
    layer[i].at = i === 0 ? at : Math.max(at, layer[i - 1].at + apart(i));
  }
}

/** Positions across the layers: stacked first, then pulled towards their neighbours' centres. */
function position(layers: ISlot[][], gap: number): void {
  for (const layer of layers) {
    let at = 0;
    layer.forEach((slot, i) => {
      at += i === 0 ? slot.size / 2 : (layer[i - 1].size + slot.size) / 2 + gap;
      slot.at = at;
    });
  }
  const mean = (slots: ISlot[]) => slots.reduce((sum, s) => sum + s.at, 0) / slots.length;
  for (let pass = 0; pass < PLACEMENT_PASSES; pass++) {
    const down = pass % 2 === 0;
    const sequence = down ? layers : [...layers].reverse();
    for (const layer of sequence) {
      // towards the neighbours on the side the pass comes from (else the other side's)
      const wanted = layer.map(slot => {
        const near = down ? slot.up : slot.down;
        const far = down ? slot.down : slot.up;
        return near.length > 0 ? mean(near) : far.length > 0 ? mean(far) : slot.at;
      });
      place(layer, wanted, gap);
    }
  }
}

/** Room between the ends of two edges on a step's side (px), at most. */
const PORT_GAP = 10;

/**
 * Where each edge leaves its upstream step and reaches its downstream one, across the side from
 * its centre: a step's edges spread over its side in the order of the slots they come from or go
 * to, so that their arrows do not meet in one point.
 */
function portOffsets(chains: Array<{ slots: ISlot[] }>, crossSize: number): { out: number[]; in: number[] } {
  const offsets = (end: (chain: { slots: ISlot[] }) => ISlot, near: (chain: { slots: ISlot[] }) => ISlot) => {
    const bySlot = new Map<ISlot, number[]>();
    chains.forEach((chain, c) => bySlot.set(end(chain), [...(bySlot.get(end(chain)) ?? []), c]));
    const result = new Array<number>(chains.length).fill(0);
    for (const list of bySlot.values()) {
      const gap = list.length > 1 ? Math.min(PORT_GAP, (crossSize * 0.6) / (list.length - 1)) : 0;
      list
        .sort((a, b) => near(chains[a]).at - near(chains[b]).at)
        .forEach((c, i) => (result[c] = (i - (list.length - 1) / 2) * gap));
    }
    return result;
  };
  return {
    out: offsets(
      chain => chain.slots[0],
      chain => chain.slots[1]
    ),
    in: offsets(
      chain => chain.slots[chain.slots.length - 1],
      chain => chain.slots[chain.slots.length - 2]
    )
  };
}

/**
 * Lay out the DAG of `names` (the steps, in the order given: it breaks ties) and `edges`
 * (`[upstream, downstream]`).
 */
export function layout(names: string[], edges: Array<[string, string]>, options: ILayoutOptions): ILayout {
  const lr = options.direction === 'LR';
  // along the layers (the rank axis) and across them (the order axis)
  const rankSize = lr ? options.nodeWidth : options.nodeHeight;
  const crossSize = lr ? options.nodeHeight : options.nodeWidth;
  const layerOf = layersOf(names, edges);
  const count = names.length === 0 ? 0 : Math.max(...layerOf.values()) + 1;
  const layers: ISlot[][] = Array.from({ length: count }, () => []);
  const slots = new Map<string, ISlot>();
  for (const name of names) {
    const slot: ISlot = { id: name, dummy: false, up: [], down: [], size: crossSize, at: 0 };
    slots.set(name, slot);
    layers[layerOf.get(name)!].push(slot);
  }
  // each edge as a chain of slots, one per layer it passes through
  const chains: Array<{ from: string; to: string; slots: ISlot[] }> = [];
  for (const [from, to] of edges) {
    const a = slots.get(from);
    const b = slots.get(to);
    if (!a || !b || layerOf.get(to)! <= layerOf.get(from)!) {
      continue; // only a cycle's edge points back (the server refuses cycles): not drawn
    }
    const chain = [a];
    for (let l = layerOf.get(from)! + 1; l < layerOf.get(to)!; l++) {
      const dummy: ISlot = { id: `${from}->${to}@${l}`, dummy: true, up: [], down: [], size: 0, at: 0 };
      layers[l].push(dummy);
      chain.push(dummy);
    }
    chain.push(b);
    for (let i = 0; i + 1 < chain.length; i++) {
      chain[i].down.push(chain[i + 1]);
      chain[i + 1].up.push(chain[i]);
    }
    chains.push({ from, to, slots: chain });
  }
  const ordered = order(layers);
  position(ordered, options.nodeGap);
  // the drawing's extent across the layers, from the slots' placed centres
  const all = ordered.flat();
  const low = all.length ? Math.min(...all.map(s => s.at - s.size / 2)) : 0;
  const high = all.length ? Math.max(...all.map(s => s.at + s.size / 2)) : 0;
  const shift = options.margin - low;
  const rankStart = (l: number) => options.margin + l * (rankSize + options.layerGap);
  const point = (rank: number, cross: number): IPoint => (lr ? { x: rank, y: cross } : { x: cross, y: rank });
  const nodes: ILaidNode[] = names.map(name => {
    const slot = slots.get(name)!;
    const corner = point(rankStart(layerOf.get(name)!), slot.at + shift - crossSize / 2);
    return { name, x: corner.x, y: corner.y, layer: layerOf.get(name)! };
  });
  const ports = portOffsets(chains, crossSize);
  const laidEdges: ILaidEdge[] = chains.map((chain, c) => {
    const points: IPoint[] = [];
    const last = chain.slots.length - 1;
    chain.slots.forEach((slot, i) => {
      const l = layerOf.get(chain.from)! + i;
      const cross = slot.at + shift;
      if (i > 0) {
        points.push(point(rankStart(l), cross + (i === last ? ports.in[c] : 0))); // in at the near side
      }
      if (i < last) {
        points.push(point(rankStart(l) + rankSize, cross + (i === 0 ? ports.out[c] : 0))); // out at the far side
      }
    });
    return { from: chain.from, to: chain.to, points };
  });
  const rankExtent = count === 0 ? 0 : count * rankSize + (count - 1) * options.layerGap;
  const crossExtent = high - low;
  const size = point(rankExtent + 2 * options.margin, crossExtent + 2 * options.margin);
  return { direction: options.direction, nodes, edges: laidEdges, width: size.x, height: size.y, layers: count };
}

/**
 * An SVG path through `points` (pairs: out of one layer, into the next; a straight run through a
 * layer an edge passes), each hop between layers a curve leaving and arriving square to the layers.
 */
export function edgePath(points: IPoint[], direction: Direction): string {
  if (points.length === 0) {
    return '';
  }
  let d = `M${points[0].x},${points[0].y}`;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1];
    const b = points[i];
    if (i % 2 === 0) {
      d += ` L${b.x},${b.y}`; // through a layer
      continue;
    }
    if (direction === 'LR') {
      const mid = (a.x + b.x) / 2;
      d += ` C${mid},${a.y} ${mid},${b.y} ${b.x},${b.y}`;
    } else {
      const mid = (a.y + b.y) / 2;
      d += ` C${a.x},${mid} ${b.x},${mid} ${b.x},${b.y}`;
    }
  }
  return d;
}
