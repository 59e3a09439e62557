// The DAG layout, shared by the page and its worker: dagre (tight-tree ranker, left to
// right) over plain {nodes, edges} data, returning positions and edge points only.

import dagre from "../vendor/dagre.esm.min.js";

export const W = 184;
export const H = 54;

export function layout(data) {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 18, ranksep: 54, marginx: 12, marginy: 12, ranker: "tight-tree" });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of data.nodes) g.setNode(n.id, { width: W, height: H });
  for (const [a, b] of data.edges) g.setEdge(a, b);
  dagre.layout(g);
  const size = g.graph();
  const nodes = {};
  for (const id of g.nodes()) {
    const { x, y } = g.node(id);
    nodes[id] = { x, y };
  }
  const edges = g.edges().map((e) => ({ v: e.v, w: e.w, points: g.edge(e).points }));
  return { width: size.width || W, height: size.height || H, nodes, edges };
}
