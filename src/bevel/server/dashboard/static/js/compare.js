// The compare page's metric charts: one uPlot chart per metric logged at several steps, one
// line per run (colours match the table's swatches), on a shared step axis. The diff-only
// switch is CSS (:has); this keeps its state in the URL.

export const COLOURS = ["#3b5bdb", "#e8590c", "#2b8a3e", "#c2255c", "#1098ad", "#7048e8", "#f08c00", "#5c940d", "#862e9c", "#495057"];

// Runs' [steps, values] pairs on one sorted x axis, null where a run has no point.
export function align(perRun) {
  const xs = [...new Set(perRun.flatMap(([steps]) => steps))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = perRun.map(([steps, values]) => {
    const y = new Array(xs.length).fill(null);
    steps.forEach((s, i) => { y[index.get(s)] = values[i]; });
    return y;
  });
  return [xs, ...ys];
}

export function initCompare() {
  const toggle = document.getElementById("diff-only");
  if (toggle) {
    toggle.addEventListener("change", () => {
      const url = new URL(location.href);
      if (toggle.checked) url.searchParams.set("diff", "1");
      else url.searchParams.delete("diff");
      history.replaceState(history.state, "", url);
    });
  }
  const dataEl = document.getElementById("compare-data");
  if (!dataEl || !window.uPlot) return;
  const data = JSON.parse(dataEl.textContent);
  const dark = matchMedia("(prefers-color-scheme: dark)").matches;
  const axis = { stroke: dark ? "#97a1b0" : "#5f6b7a", grid: { stroke: dark ? "#2a313d" : "#e9ecf1" }, ticks: { stroke: dark ? "#2a313d" : "#dfe3ea" } };
  for (const box of document.querySelectorAll(".chart-box[data-metric]")) {
    const perRun = data.metrics[box.dataset.metric];
    const opts = {
      width: Math.max(320, box.clientWidth),
      height: 260,
      scales: { x: { time: false } },
      axes: [{ ...axis, label: "step", incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000] }, { ...axis }],
      series: [{ label: "step" }, ...data.runs.map((name, i) => ({ label: name, stroke: COLOURS[i % COLOURS.length], width: 1.6, spanGaps: true, points: { show: perRun[i][0].length < 60 } }))],
      cursor: { sync: { key: "compare" } },
      legend: { live: true },
    };
    const chart = new window.uPlot(opts, align(perRun), box);
    new ResizeObserver(() => chart.setSize({ width: Math.max(320, box.clientWidth), height: 260 })).observe(box);
  }
}
