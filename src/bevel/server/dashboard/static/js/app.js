// The dashboard's one entry module: wires the page it finds (runs list, run page) and again
// after htmx swaps a part of it. No inline scripts: the page CSP allows scripts from this
// origin only.

import { FINAL, chips, duration, poll, setBadge, startClock } from "./live.js";
import { initLog } from "./logs.js";

let runsPoll = null;
let runPoll = null;
let dag = null;

function markTicking(root = document) {
  for (const cell of root.querySelectorAll("[data-started]")) {
    if (!cell.dataset.ended) cell.setAttribute("data-ticking", "");
  }
}

// --- runs list --------------------------------------------------------------------------

function initRuns() {
  const table = document.querySelector("table.runs");
  if (runsPoll) runsPoll.stop();
  runsPoll = null;
  if (!table) return;
  markTicking(table);
  const running = () => [...table.querySelectorAll("tr[data-status=running]")].map((r) => r.dataset.runId);
  if (!running().length) return;
  runsPoll = poll(() => `${table.dataset.liveUrl}?ids=${running().join(",")}`, (data) => {
    for (const [id, info] of Object.entries(data)) {
      const row = table.querySelector(`tr[data-run-id="${CSS.escape(id)}"]`);
      if (!row) continue;
      row.dataset.status = info.status;
      setBadge(row.querySelector("[data-live=status]"), info.status);
      row.querySelector("[data-live=counts]").replaceChildren(chips(info.counts));
      const cell = row.querySelector("[data-live=duration]");
      if (info.ended) cell.dataset.ended = String(info.ended);
    }
    return running().length > 0;
  });
}

function initCompare() {
  const button = document.getElementById("compare-button");
  if (!button) return;
  const label = document.getElementById("selected-count");
  const update = () => {
    const n = document.querySelectorAll("input[form=compare-form]:checked").length;
    button.disabled = n < 2 || n > 10;
    label.textContent = n === 0 ? "Select 2–10 runs to compare" : `${n} selected${n > 10 ? " (at most 10)" : ""}`;
  };
  document.addEventListener("change", (ev) => {
    if (ev.target.matches && ev.target.matches("input[form=compare-form]")) update();
  });
  update();
}

// --- run page ---------------------------------------------------------------------------

function openStep(url) {
  window.htmx.ajax("GET", url, { target: "#step-panel", swap: "innerHTML" }).then(() => {
    history.pushState({ step: url }, "", url);
  });
}

async function initRun() {
  const box = document.getElementById("dag");
  if (!box) return;
  const data = JSON.parse(document.getElementById("dag-data").textContent);
  const stepsUrl = box.dataset.stepsUrl;
  const { Dag } = await import("./dag.js");
  dag = new Dag(box, data, { onSelect: (n) => openStep(stepsUrl + encodeURIComponent(n.id)) });
  const draw = () => dag.draw().then(() => dag.select(box.dataset.selected));
  if (box.dataset.draw === "true") draw();
  const anyway = document.getElementById("dag-draw-anyway");
  if (anyway) anyway.addEventListener("click", draw);
  const fit = document.getElementById("dag-fit");
  if (fit) fit.addEventListener("click", () => dag.svg && dag.fit());
  markTicking(document.querySelector(".run-head"));
  markTicking(document.querySelector("table.steps"));
  if (box.dataset.live !== "true") return;
  const head = document.querySelector(".run-head");
  runPoll = poll(`/live/runs/${box.dataset.runId}`, (live) => {
    setBadge(head.querySelector("[data-live=run-status]"), live.status);
    head.dataset.status = live.status;
    head.querySelector("[data-live=run-counts]").replaceChildren(chips(live.counts));
    if (live.ended) head.querySelector("[data-live=run-duration]").dataset.ended = String(live.ended);
    if (dag.svg) dag.update(live.nodes);
    for (const [id, node] of Object.entries(live.nodes)) {
      const row = document.querySelector(`table.steps tr[data-step="${CSS.escape(id)}"]`);
      if (!row) continue;
      setBadge(row.querySelector("[data-live=step-status]"), node.status);
      const cell = row.querySelector("[data-live=step-duration]");
      if (node.started && node.status === "running") {
        cell.dataset.started = String(node.started);
        cell.setAttribute("data-ticking", "");
      } else if (node.seconds !== null && node.seconds !== undefined) {
        cell.removeAttribute("data-ticking");
        cell.textContent = duration(node.seconds);
      }
    }
    if (FINAL.has(live.status)) {
      // one last look at the open step (its outputs, its final log), then stop
      const panel = document.querySelector("#step-panel .panel-head");
      if (panel) window.htmx.ajax("GET", `${stepsUrl}${encodeURIComponent(panel.dataset.stepId)}`, { target: "#step-panel", swap: "innerHTML" });
      return false;
    }
    return true;
  });
  setInterval(() => dag && dag.svg && dag.tick(), 1000);
}

document.addEventListener("htmx:afterSwap", (ev) => {
  const target = ev.detail.target;
  if (target.id === "runs-table") initRuns();
  if (target.id === "step-panel") {
    initLog(target);
    const head = target.querySelector(".panel-head");
    const id = head ? head.dataset.stepId : "";
    if (dag) dag.select(id);
    for (const row of document.querySelectorAll("table.steps tr[data-step]")) {
      row.classList.toggle("selected", row.dataset.step === id.replace(/\[\d+\]$/, ""));
    }
  }
});

window.addEventListener("popstate", (ev) => {
  // htmx restores the states it pushed; ours (a step opened from the graph) reload the page
  if (ev.state && ev.state.htmx) return;
  if (document.getElementById("step-panel")) location.reload();
});

async function initComparePage() {
  if (!document.getElementById("compare-data")) return;
  const { initCompare: charts } = await import("./compare.js");
  charts();
}

startClock();
initComparePage();
initRuns();
initCompare();
initRun();
initLog(document);
