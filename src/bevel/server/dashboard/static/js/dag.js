// The run's DAG: laid out once with dagre (tight-tree ranker), drawn as SVG by this module,
// with pan (drag) and zoom (ctrl + wheel, or Fit). Live updates only change node classes and
// texts, so zoom, pan and the selection survive them. A mapped step is one node with its
// instances' counts.

import { duration } from "./live.js";
import { H, W, layout } from "./layout.js";

const SVG = "http://www.w3.org/2000/svg";
const MAX_LABEL = 22;
// Above this many nodes dagre runs in a worker (the page shows "laying out…" meanwhile).
export const WORKER_NODES = 300;

function laidOut(data) {
  if (data.nodes.length <= WORKER_NODES || typeof Worker === "undefined") return Promise.resolve(layout(data));
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./layout-worker.js", import.meta.url), { type: "module" });
    worker.onmessage = (ev) => {
      worker.terminate();
      resolve(ev.data);
    };
    worker.onerror = (err) => {
      worker.terminate();
      reject(err);
    };
    worker.postMessage(data);
  });
}

function el(name, attrs = {}, parent = null) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.append(node);
  return node;
}

function short(text, limit = MAX_LABEL) {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}

export function subtitle(node, now = Date.now() / 1000) {
  const parts = [];
  if (node.total) {
    const done = (node.counts.completed || 0) + (node.counts.cached || 0);
    parts.push(`${done}/${node.total} done`);
    if (node.counts.failed) parts.push(`${node.counts.failed} failed`);
  }
  if (node.started && node.status === "running") parts.push(duration(now - node.started));
  else if (node.seconds !== null && node.seconds !== undefined) parts.push(duration(node.seconds));
  if (node.status === "cached") parts.push(node.cached_from ? `cached · ${short(node.cached_from, 16)}` : "cached");
  else if (!node.total && node.status !== "completed" && node.status !== "running") parts.push(node.status);
  return parts.join(" · ") || node.status;
}

export class Dag {
  constructor(container, data, { onSelect }) {
    this.container = container;
    this.data = data;
    this.onSelect = onSelect;
    this.nodes = new Map();
    this.scale = 1;
    this.tx = 0;
    this.ty = 0;
  }

  async draw() {
    if (this.data.nodes.length > WORKER_NODES) {
      const note = document.createElement("p");
      note.className = "muted";
      note.textContent = `Laying out ${this.data.nodes.length} steps…`;
      this.container.replaceChildren(note);
    }
    const g = await laidOut(this.data);
    this.width = g.width;
    this.height = g.height;

    this.container.replaceChildren();
    const svg = el("svg", { class: "dag-svg", role: "group", "aria-label": `${this.data.nodes.length} steps` }, this.container);
    const defs = el("defs", {}, svg);
    const marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "10", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" }, defs);
    el("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrow" }, marker);
    this.svg = svg;
    this.view = el("g", { class: "viewport" }, svg);
    const edges = el("g", { class: "edges" }, this.view);
    for (const e of g.edges) {
      const pts = e.points;
      const d = pts.map((p, i) => `${i ? "L" : "M"}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ");
      el("path", { d, class: "edge", "marker-end": "url(#arrow)", "data-from": e.v, "data-to": e.w }, edges);
    }
    const layer = el("g", { class: "nodes" }, this.view);
    for (const n of this.data.nodes) {
      const pos = g.nodes[n.id];
      const group = el("g", { class: `node s-${n.status}`, transform: `translate(${pos.x - W / 2},${pos.y - H / 2})`, tabindex: "0", role: "button", "data-step": n.id, "aria-label": `${n.id}: ${n.status}` }, layer);
      el("title", {}, group).textContent = n.label === n.id ? n.id : `${n.id} (${n.label})`;
      if (n.total) el("rect", { class: "stack", x: "5", y: "-5", width: W, height: H, rx: "8" }, group);
      el("rect", { class: "box", width: W, height: H, rx: "8" }, group);
      el("rect", { class: "stripe", width: "6", height: H, rx: "3" }, group);
      const label = el("text", { class: "label", x: "16", y: "22" }, group);
      label.textContent = short(n.id);
      const sub = el("text", { class: "sub", x: "16", y: "40" }, group);
      sub.textContent = subtitle(n);
      this.nodes.set(n.id, { group, sub, data: n });
      group.addEventListener("click", () => this.onSelect(n));
      group.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter" || ev.key === " ") {
          ev.preventDefault();
          this.onSelect(n);
        }
      });
    }
    this.enablePanZoom();
    this.fit();
  }

  fit() {
    const box = this.container.clientWidth || 800;
    const scale = Math.min(1, box / (this.width + 8));
    this.scale = Math.max(scale, 0.2);
    this.tx = Math.max(0, (box - this.width * this.scale) / 2);
    const height = Math.min(Math.max(this.height * this.scale + 8, 96), 560);
    this.ty = Math.max(0, (height - this.height * this.scale) / 2);
    this.svg.setAttribute("height", String(Math.round(height)));
    this.svg.setAttribute("width", "100%");
    this.apply();
  }

  apply() {
    this.view.setAttribute("transform", `translate(${this.tx},${this.ty}) scale(${this.scale})`);
  }

  enablePanZoom() {
    let drag = null;
    this.svg.addEventListener("pointerdown", (ev) => {
      if (ev.target.closest(".node")) return;
      drag = { x: ev.clientX - this.tx, y: ev.clientY - this.ty };
      this.svg.setPointerCapture(ev.pointerId);
      this.svg.classList.add("dragging");
    });
    this.svg.addEventListener("pointermove", (ev) => {
      if (!drag) return;
      this.tx = ev.clientX - drag.x;
      this.ty = ev.clientY - drag.y;
      this.apply();
    });
    const end = () => {
      drag = null;
      this.svg.classList.remove("dragging");
    };
    this.svg.addEventListener("pointerup", end);
    this.svg.addEventListener("pointercancel", end);
    this.svg.addEventListener("wheel", (ev) => {
      if (!ev.ctrlKey && !ev.metaKey) return; // plain wheel scrolls the page
      ev.preventDefault();
      const rect = this.svg.getBoundingClientRect();
      const mx = ev.clientX - rect.left;
      const my = ev.clientY - rect.top;
      const factor = Math.exp(-ev.deltaY * 0.002);
      const next = Math.min(3, Math.max(0.1, this.scale * factor));
      this.tx = mx - ((mx - this.tx) * next) / this.scale;
      this.ty = my - ((my - this.ty) * next) / this.scale;
      this.scale = next;
      this.apply();
    }, { passive: false });
  }

  select(stepId) {
    const base = (stepId || "").replace(/\[\d+\]$/, "");
    for (const [id, entry] of this.nodes) entry.group.classList.toggle("selected", id === base);
  }

  update(nodes) {
    for (const [id, fresh] of Object.entries(nodes)) {
      const entry = this.nodes.get(id);
      if (!entry) continue;
      const data = { ...entry.data, ...fresh };
      entry.data = data;
      entry.group.setAttribute("class", entry.group.getAttribute("class").replace(/\bs-[a-z]+\b/, `s-${data.status}`));
      entry.group.setAttribute("aria-label", `${id}: ${data.status}`);
      entry.sub.textContent = subtitle(data);
    }
  }

  tick() {
    for (const entry of this.nodes.values()) {
      if (entry.data.status === "running" && entry.data.started) entry.sub.textContent = subtitle(entry.data);
    }
  }
}
