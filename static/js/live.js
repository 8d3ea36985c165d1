// Two facts, shown apart and truthfully on every live page:
//  - the connection to Vigie: connected / reconnecting / paused (setConnection);
//  - the freshness of the monitoring data: fresh / data as of HH:MM (this module).
//
// One freshness rule for the whole portal, the server's: data is stale once the last
// successful read of the source is older than VIGIE_STALE_AFTER_POLLS × poll interval.
// The server tells at once when the source fails (``source`` events), says so again in
// a heartbeat every ``heartbeat_s``, and every ``member.update`` / ``wall.update`` proves
// a successful read. Ages are measured on the local clock from what the server said
// (``source_age_s``), so a device whose clock is wrong still counts right.

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, key) => values[key] ?? "");
}

export function makeFreshness({
  root, i18n, clock, initial, line, banner, bannerText, staleClass = "is-stale",
}) {
  let successAt = null; // local clock (ms) of the last successful read of the source
  let sourceOk = true;
  let serverStale = false;
  let staleAfter = 10;
  let quietLimit = 70;
  let heardAt = Date.now();
  let connected = false;
  let frozenAt = null;

  function heard(state) {
    if (!state) return;
    heardAt = Date.now();
    if (typeof state.source_age_s === "number") successAt = Date.now() - state.source_age_s * 1000;
    if (typeof state.source_ok === "boolean") sourceOk = state.source_ok;
    if (typeof state.stale === "boolean") serverStale = state.stale;
    if (state.stale_after_s) staleAfter = state.stale_after_s;
    if (state.heartbeat_s) quietLimit = state.heartbeat_s * 2 + staleAfter;
    render();
  }

  // A live update was computed from a successful read, just now.
  function fresh() {
    heardAt = successAt = Date.now();
    sourceOk = true;
    serverStale = false;
    render();
  }

  function isStale(now) {
    if (successAt === null) return true;
    if ((now - successAt) / 1000 <= staleAfter) return false;
    if (serverStale) return true;
    // Older than the limit on our clock: stale if the source failed, if we cannot hear
    // the server, or if even its heartbeat stopped (the collector is gone).
    return !sourceOk || !connected || (now - heardAt) / 1000 > quietLimit;
  }

  function setText(element, text) {
    if (element && element.textContent !== text) element.textContent = text;
  }

  // Rendered every second, and at the very moment the data crosses the limit.
  let timer = null;
  function wakeAtLimit(now) {
    if (timer !== null || successAt === null) return;
    const due = successAt + staleAfter * 1000 - now;
    if (due > 0 && due < 1000) timer = setTimeout(() => { timer = null; render(); }, due + 20);
  }

  function render() {
    const now = Date.now();
    const stale = isStale(now);
    if (!stale) wakeAtLimit(now);
    const at = successAt === null ? "" : clock.time(new Date(successAt));
    if (banner) {
      setText(bannerText, successAt === null ? i18n.no_data : fill(i18n.stale, { time: at }));
      if (banner.hidden === stale) banner.hidden = !stale;
    }
    if (root) {
      root.dataset.fresh = stale ? "stale" : "fresh";
      root.classList.toggle(staleClass, stale);
    }
    if (frozenAt !== null) {
      setText(line, fill(i18n.frozen, { time: clock.time(new Date(frozenAt)) }));
    } else if (successAt === null) {
      setText(line, i18n.no_data);
    } else {
      setText(line, stale ? fill(i18n.last_data, { time: at }) : i18n.fresh);
    }
  }

  heard(initial);
  setInterval(render, 1000);
  return {
    heard,
    fresh,
    render,
    isStale: () => isStale(Date.now()),
    setConnected(value) { connected = value; render(); },
    freeze(value) { frozenAt = value ? (successAt ?? Date.now()) : null; render(); },
  };
}

// Whether this page's socket has ever been connected: until then a failed attempt is
// « Connexion à Vigie… », not a connection « perdue » (one socket per page).
let everConnected = false;

// The connection fact: a dot and a word (never colour alone).
export function setConnection(root, indicator, text, i18n, state) {
  const shown = state === "reconnecting" && !everConnected ? "connecting" : state;
  root.dataset.liveState = shown;
  indicator.className = `live__dot live__dot--${shown}`;
  const word = shown === "paused" ? i18n.paused
    : shown === "connecting" ? i18n.connecting
    : shown === "reconnecting" ? i18n.reconnecting : i18n.live;
  if (text.textContent !== word) text.textContent = word;
}

// One Socket.IO client per page, websocket only (no sticky sessions needed).
// A signed-in session ended (logout elsewhere, password reset, time limit): the server
// closes the socket; the page reloads to show why (the login page says it), unless it is
// already leaving (its own « Se déconnecter »).
let leaving = false;
window.addEventListener("beforeunload", () => { leaving = true; });

export function connectLive() {
  if (typeof window.io !== "function") return null;
  const socket = window.io("/live", {
    transports: ["websocket"],
    reconnectionDelay: 1000,
    reconnectionDelayMax: 30000,
    randomizationFactor: 0.5,
  });
  socket.on("connect", () => { everConnected = true; });
  socket.on("session.ended", () => { if (!leaving) window.location.reload(); });
  return socket;
}

// Fetch a server fragment and replace, by ``data-live-part`` name, the parts this page has.
export async function patchParts(url, scope) {
  const response = await fetch(url, {
    headers: { "HX-Request": "true" }, credentials: "same-origin", cache: "no-store",
  });
  if (!response.ok || response.status === 204) return response.status;
  const template = document.createElement("template");
  template.innerHTML = await response.text();
  for (const part of template.content.querySelectorAll("[data-live-part]")) {
    const name = part.dataset.livePart;
    for (const target of scope.querySelectorAll(`[data-live-part="${CSS.escape(name)}"]`)) {
      target.replaceChildren(...part.cloneNode(true).childNodes);
      for (const [key, value] of Object.entries(part.dataset)) {
        if (key !== "livePart") target.dataset[key] = value;
      }
      if (part.className) target.className = part.className;
    }
  }
  return response.status;
}

// Runs ``task`` now, or once more after the one in flight: bursts coalesce, none is lost.
export function coalesce(task) {
  let running = false;
  let again = false;
  return async function run() {
    if (running) { again = true; return; }
    running = true;
    try {
      do {
        again = false;
        try { await task(); } catch { /* offline: the freshness line says how old it is */ }
      } while (again);
    } finally {
      running = false;
    }
  };
}
