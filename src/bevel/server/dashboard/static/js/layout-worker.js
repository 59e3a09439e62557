// Lays a big DAG out off the main thread (above WORKER_NODES nodes), so the page stays
// responsive while dagre works (Dagster and Kedro-Viz do the same).

import { layout } from "./layout.js";

self.onmessage = (ev) => {
  self.postMessage(layout(ev.data));
};
