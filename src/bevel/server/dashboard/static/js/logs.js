// A step's log in its panel: the tail first (the last 64 KB: big logs never load whole), then,
// while the step runs, what it writes, read from the offset reached (Metaflow's tail-only
// policy). "follow" keeps the newest line in view; the whole log is a download away.

const MAX_CHARS = 2_000_000; // what the panel keeps; older text is dropped from the view

export function initLog(root = document) {
  const pre = root.querySelector("#log");
  if (!pre || pre.dataset.bound) return;
  pre.dataset.bound = "1";
  const follow = root.querySelector("#log-follow");
  let offset = null;
  let first = true;
  let kept = 0;

  function append(text) {
    pre.append(document.createTextNode(text));
    kept += text.length;
    while (kept > MAX_CHARS && pre.firstChild) {
      kept -= (pre.firstChild.textContent || "").length;
      pre.firstChild.remove();
    }
    if (follow && follow.checked) pre.scrollTop = pre.scrollHeight;
  }

  async function tick() {
    if (!pre.isConnected) return; // the panel shows another step now
    if (document.hidden) {
      setTimeout(tick, 1000);
      return;
    }
    let data;
    try {
      const url = offset === null ? pre.dataset.url : `${pre.dataset.url}?offset=${offset}`;
      const answer = await fetch(url, { cache: "no-store" });
      if (!answer.ok) {
        const body = await answer.json().catch(() => ({}));
        pre.textContent = `The log cannot be read: ${(body.error && body.error.message) || answer.status}`;
        pre.classList.add("alert");
        return;
      }
      data = await answer.json();
    } catch (err) {
      setTimeout(tick, 2000);
      return;
    }
    if (first) {
      first = false;
      pre.textContent = "";
      if (data.start > 0) {
        const note = document.createElement("span");
        note.className = "muted";
        note.textContent = `… the first ${Math.round(data.start / 1024)} KB are not shown (download the whole log)\n`;
        pre.append(note);
      }
      if (!data.text && !data.running && data.size === 0) {
        const none = document.createElement("span");
        none.className = "muted";
        none.textContent = "No output was captured.";
        pre.append(none);
      }
    }
    if (data.text) append(data.text);
    offset = data.offset;
    pre.dataset.running = data.running ? "true" : "false";
    if (data.offset < data.size) setTimeout(tick, 30); // more is there already
    else if (data.running) setTimeout(tick, 1000);
    // else: the step has ended and everything it wrote is shown
  }
  tick();
}
