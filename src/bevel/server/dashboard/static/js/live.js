// Polling that is kind to the server and the tab: only while the tab is visible, with the
// last ETag (an unchanged answer is a bodyless 304), stopped by the caller once nothing can
// change any more. Plain HTTP: it works behind any proxy (no websocket).

export function poll(url, onData, { every = 2000 } = {}) {
  let etag = null;
  let timer = null;
  let stopped = false;
  async function tick() {
    timer = null;
    if (stopped) return;
    if (document.hidden) return; // resumed by visibilitychange
    try {
      const headers = etag ? { "If-None-Match": etag } : {};
      const answer = await fetch(typeof url === "function" ? url() : url, { headers, cache: "no-store" });
      if (answer.status === 200) {
        etag = answer.headers.get("ETag");
        const keepGoing = onData(await answer.json());
        if (keepGoing === false) stopped = true;
      }
    } catch (err) {
      // the server restarted or the network blinked: try again at the next tick
    }
    if (!stopped) timer = setTimeout(tick, every);
  }
  function onVisible() {
    if (!document.hidden && !stopped && timer === null) tick();
  }
  document.addEventListener("visibilitychange", onVisible);
  timer = setTimeout(tick, every);
  return {
    stop() {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      document.removeEventListener("visibilitychange", onVisible);
    },
    now() {
      if (timer !== null) clearTimeout(timer);
      tick();
    },
  };
}

// The same format as the server's `duration` filter.
export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "-";
  if (seconds < 10) return `${seconds.toFixed(2)}s`;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  let minutes = Math.floor(seconds / 60);
  const secs = Math.floor(seconds) % 60;
  if (minutes < 60) return `${minutes}m ${String(secs).padStart(2, "0")}s`;
  const hours = Math.floor(minutes / 60);
  minutes %= 60;
  if (hours < 48) return `${hours}h ${String(minutes).padStart(2, "0")}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

// Cells with data-started (and no data-ended) show a running clock.
let clock = null;
export function startClock() {
  if (clock !== null) return;
  clock = setInterval(() => {
    const now = Date.now() / 1000;
    for (const el of document.querySelectorAll("[data-started][data-ticking]")) {
      if (el.dataset.ended) {
        el.removeAttribute("data-ticking");
        el.textContent = duration(Number(el.dataset.ended) - Number(el.dataset.started));
      } else {
        el.textContent = duration(now - Number(el.dataset.started));
      }
    }
  }, 1000);
}

export function chips(counts) {
  const frag = document.createDocumentFragment();
  if (!counts.length) {
    const none = document.createElement("span");
    none.className = "muted";
    none.textContent = "none";
    frag.append(none);
  }
  for (const [status, n] of counts) {
    const chip = document.createElement("span");
    chip.className = `chip s-${status}`;
    chip.title = status;
    chip.textContent = `${n} ${status}`;
    frag.append(chip, " ");
  }
  return frag;
}

export function setBadge(el, status) {
  if (!el) return;
  el.className = el.className.replace(/\bs-[a-z]+\b/, `s-${status}`);
  el.textContent = status;
}

export const FINAL = new Set(["completed", "failed", "cancelled"]);
