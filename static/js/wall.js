// Support wall: tiles patched live and re-sorted worst first, rotation through member maps,
// jump to and pin a member with a new unacknowledged high-severity problem until it is
// acknowledged, freshness line and stale banner. Started from [data-wall] (the wall) or
// [data-wall-member-page] (one member's map on a kiosk); every text comes from data-i18n.
//
// It runs for weeks on a TV: state is bounded (one Set pruned to the problems on screen,
// a few scalars), DOM nodes are patched in place and reused, listeners are added once.

import { makeClock } from "./clock.js";
import { coalesce, connectLive, makeFreshness, setConnection } from "./live.js";

const wallRoot = document.querySelector("[data-wall]");
if (wallRoot) startWall(wallRoot);
const memberRoot = document.querySelector("[data-wall-member-page]");
if (memberRoot) startMemberPage(memberRoot);

const FRAGMENT_HEADERS = { "HX-Request": "true" };

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, key) => values[key] ?? "");
}

// Same choice as the server: its own words for none, then gettext's one / several.
function plural(forms, n) {
  if (n === 0 && forms.zero) return forms.zero;
  return fill(n === 1 ? forms.one : forms.other, { n });
}

function setText(element, text) {
  if (element && element.textContent !== text) element.textContent = text;
}

// The wall's freshness line and stale banner: the portal's one rule (live.js).
function wallFreshness(root, i18n, clock, initial) {
  return makeFreshness({
    root, i18n, clock, initial, staleClass: "wall--stale",
    line: root.querySelector("[data-wall-age]"),
    banner: root.querySelector("[data-wall-stale]"),
    bannerText: root.querySelector("[data-wall-stale-text]"),
  });
}

// ---- the wall ------------------------------------------------------------------------------
function startWall(root) {
  const i18n = JSON.parse(root.dataset.i18n);
  const list = root.querySelector("[data-wall-list]");
  const empty = root.querySelector("[data-wall-empty]");
  const panel = root.querySelector("[data-wall-panel]");
  const pinBanner = root.querySelector("[data-wall-pin]");
  const pinText = root.querySelector("[data-wall-pin-text]");
  const announcer = root.querySelector("[data-wall-announce]");
  const indicator = root.querySelector("[data-wall-indicator]");
  const statusText = root.querySelector("[data-wall-status]");
  const rotateButton = root.querySelector("[data-wall-rotate]");
  const pauseButton = root.querySelector("[data-wall-pause]");
  const fullscreenButton = root.querySelector("[data-wall-fullscreen]");
  const rotateEvery = Math.max(2, Number(root.dataset.rotateSeconds) || 15) * 1000;
  const catchUpEvery = Math.max(60, Number(root.dataset.catchUpSeconds) || 300) * 1000;
  const parser = document.createElement("template"); // reused for every fetched fragment
  const clock = makeClock(i18n.clock);
  const freshness = wallFreshness(root, i18n, clock, JSON.parse(root.dataset.source));

  // Problems already shown (or on screen when the wall opened): only others pin the wall.
  const seen = new Set();
  let pinned = null; // { slug, eventid }
  let panelSlug = null;
  let panelRequest = null;
  let rotating = false;
  let rotateTimer = null;
  let paused = false;
  let missed = false;
  let connected = false;
  let checkingAccess = false;
  let socket = null;

  for (const tile of list.children) unackedOf(tile).forEach((id) => seen.add(id));
  try { rotating = localStorage.getItem("vigie-wall-rotation") === "1"; } catch { /* private */ }

  // ---- tiles: patch in place, re-sort by the server's key ----------------------------
  function unackedOf(tile) {
    const value = tile.dataset.unacked;
    return value ? value.split(" ") : [];
  }

  function tileBySlug(slug) {
    return list.querySelector(`[data-tile][data-slug="${CSS.escape(slug)}"]`);
  }

  function readTile(tile) {
    const d = tile.dataset;
    return {
      slug: d.slug, name: d.name, overall: d.state, rank: Number(d.rank),
      severity: d.severity === "" ? null : Number(d.severity), since: d.since || null,
      incidents: Number(d.incidents), open_requests: Number(d.requests),
      unacked_high: unackedOf(tile),
      due: d.due ? d.due.split(" ") : [], care_since: d.careSince || null,
    };
  }

  function patchTile(tile, data) {
    const state = i18n.states[data.overall] || i18n.states.unknown;
    const d = tile.dataset;
    const modifier = `tile--${state.modifier}`;
    if (!tile.classList.contains(modifier)) {
      // Two identical animations: switching restarts the flash without a forced reflow.
      const flash = tile.classList.contains("tile--flash-a") ? "tile--flash-b" : "tile--flash-a";
      tile.className = `tile ${modifier} ${flash}${d.slug === panelSlug ? " tile--shown" : ""}`;
    }
    d.state = data.overall;
    d.name = data.name;
    d.rank = String(data.rank);
    d.severity = data.severity === null || data.severity === undefined ? "" : String(data.severity);
    d.since = data.since || "";
    d.incidents = String(data.incidents);
    d.requests = String(data.open_requests);
    d.due = (data.due || []).join(" ");
    d.careSince = data.care_since || "";
    d.unacked = (data.unacked_high || []).join(" ");
    setText(tile.querySelector("[data-tile-name]"), data.name);
    setText(tile.querySelector("[data-tile-glyph]"), state.glyph);
    setText(tile.querySelector("[data-tile-label]"), state.label);
    setText(tile.querySelector("[data-tile-incidents]"), plural(i18n.incidents, data.incidents));
    const since = tile.querySelector("[data-tile-since]");
    setText(since, clock.since(data.since));
    since.hidden = !data.since;
    const requests = tile.querySelector("[data-tile-requests]");
    setText(requests, plural(i18n.requests, data.open_requests));
    requests.parentElement.classList.toggle("tile__requests--some", data.open_requests > 0);
    patchSupport(tile);
    const unacked = tile.querySelector("[data-tile-unacked]");
    const count = (data.unacked_high || []).length;
    setText(unacked.querySelector("[data-tile-unacked-text]"), plural(i18n.unacked, count));
    unacked.hidden = count === 0;
  }

  // Requests fall overdue with time alone: counted on this clock, every few seconds.
  function patchSupport(tile) {
    const d = tile.dataset;
    const now = Date.now();
    const late = (d.due ? d.due.split(" ") : []).filter((at) => Date.parse(at) < now).length;
    const overdue = tile.querySelector("[data-tile-overdue]");
    if (overdue) {
      setText(overdue.querySelector("[data-tile-overdue-text]"), plural(i18n.overdue, late));
      overdue.hidden = late === 0;
    }
    const care = tile.querySelector("[data-tile-care]");
    if (care) {
      setText(care, d.careSince ? fill(i18n.care, { since: clock.since(d.careSince) }) : "");
      care.hidden = !d.careSince;
    }
  }
  setInterval(() => list.querySelectorAll("[data-tile]").forEach(patchSupport), 5000);

  function compare(a, b) {
    const ka = sortKey(a);
    const kb = sortKey(b);
    for (let i = 0; i < ka.length; i += 1) {
      if (ka[i] < kb[i]) return -1;
      if (ka[i] > kb[i]) return 1;
    }
    return 0;
  }

  // Same key as webapp.services.wall.sort_tiles: rank, severity, oldest, name.
  function sortKey(tile) {
    const d = tile.dataset;
    return [Number(d.rank), -(Number(d.severity) || -1), d.since || "9999", d.name];
  }

  function sortTiles() {
    const current = Array.from(list.children);
    const sorted = current.slice().sort(compare);
    if (sorted.every((tile, index) => tile === current[index])) return;
    const focused = list.contains(document.activeElement) ? document.activeElement : null;
    for (const tile of sorted) list.append(tile); // moves the same nodes
    if (focused) focused.focus({ preventScroll: true });
  }

  function applyTiles(updates) {
    let unknown = false;
    let announce = "";
    let panelChanged = false;
    for (const data of updates) {
      if (!data || typeof data.slug !== "string") continue;
      const tile = tileBySlug(data.slug);
      if (!tile) { unknown = true; continue; }
      const before = tile.dataset.state;
      // A partial tile keeps what it does not carry (the poller's: no open requests).
      const merged = { ...readTile(tile), ...data };
      patchTile(tile, merged);
      if (before !== merged.overall && !announce) {
        const state = i18n.states[merged.overall] || i18n.states.unknown;
        announce = fill(i18n.changed, { name: merged.name, state: state.label });
      }
      if (data.slug === panelSlug) panelChanged = true;
    }
    sortTiles();
    if (announce) announcer.textContent = announce;
    if (unknown) catchUp(); // a member the wall does not know yet
    checkPins();
    if (panelChanged && panelSlug) loadPanel(panelSlug);
  }

  function onUpdate(data) {
    if (!data || !Array.isArray(data.tiles)) return;
    if (paused) { missed = true; return; }
    freshness.fresh();
    applyTiles(data.tiles);
  }

  async function fetchFragment(url, signal) {
    const response = await fetch(url, {
      headers: FRAGMENT_HEADERS, credentials: "same-origin", cache: "no-store", signal,
    });
    if (response.status === 404 || response.status === 401 || response.redirected) {
      lostAccess();
      return null;
    }
    if (!response.ok) return null;
    return response.text();
  }

  // Re-read every tile from the server (after a reconnection, a pause, now and then).
  async function catchUp() {
    let html;
    try { html = await fetchFragment(root.dataset.tilesUrl); } catch { return; }
    if (html === null || paused) return;
    parser.innerHTML = html;
    const fresh = parser.content.querySelectorAll("[data-tile]");
    const keep = new Set();
    for (const tile of fresh) {
      keep.add(tile.dataset.slug);
      const mine = tileBySlug(tile.dataset.slug);
      if (mine) patchTile(mine, readTile(tile));
      else list.append(tile);
    }
    for (const tile of Array.from(list.children)) {
      if (!keep.has(tile.dataset.slug)) tile.remove();
    }
    parser.innerHTML = "";
    empty.hidden = list.children.length > 0;
    sortTiles();
    checkPins();
    if (panelSlug) loadPanel(panelSlug);
  }

  // ---- pinning -------------------------------------------------------------------------
  function checkPins() {
    const present = new Set();
    let candidate = null;
    for (const tile of list.children) {
      for (const id of unackedOf(tile)) {
        present.add(id);
        if (!candidate && !seen.has(id)) {
          candidate = { slug: tile.dataset.slug, name: tile.dataset.name, eventid: id };
        }
      }
    }
    for (const id of seen) if (!present.has(id)) seen.delete(id); // bounded
    if (pinned && !present.has(pinned.eventid)) unpin();
    if (!pinned && candidate && !paused) pin(candidate);
  }

  function pin(candidate) {
    seen.add(candidate.eventid);
    pinned = { slug: candidate.slug, eventid: candidate.eventid };
    setText(pinText, fill(i18n.pinned, { name: candidate.name }));
    pinBanner.hidden = false;
    root.classList.add("wall--pinned");
    stopRotation();
    showPanel(candidate.slug);
  }

  function unpin() {
    pinned = null;
    pinBanner.hidden = true;
    root.classList.remove("wall--pinned");
    resume();
  }

  // ---- panel and rotation ----------------------------------------------------------------
  function showPanel(slug) {
    panel.hidden = false;
    root.classList.add("wall--panel");
    for (const tile of list.querySelectorAll(".tile--shown")) tile.classList.remove("tile--shown");
    const tile = tileBySlug(slug);
    if (tile) tile.classList.add("tile--shown");
    if (slug !== panelSlug) {
      follow(panelSlug, slug);
      panelSlug = slug;
      loadPanel(slug);
    }
  }

  // The panel is live like the map: its member's room, every update refetches it.
  function follow(before, after) {
    if (!socket || !connected) return;
    if (before) socket.emit("unsubscribe", { member: before });
    if (after) socket.emit("subscribe", { member: after, version: null, summary: true }, () => {});
  }

  function hidePanel() {
    if (panelRequest) panelRequest.abort();
    panelRequest = null;
    follow(panelSlug, null);
    panelSlug = null;
    panel.hidden = true;
    panel.replaceChildren();
    root.classList.remove("wall--panel");
    for (const tile of list.querySelectorAll(".tile--shown")) tile.classList.remove("tile--shown");
  }

  async function loadPanel(slug) {
    if (panelRequest) panelRequest.abort();
    const request = new AbortController();
    panelRequest = request;
    let html;
    try {
      html = await fetchFragment(root.dataset.memberUrl.replace("__slug__", encodeURIComponent(slug)),
        request.signal);
    } catch { return; }
    if (panelRequest !== request) return; // superseded
    panelRequest = null;
    if (html === null || slug !== panelSlug) return;
    parser.innerHTML = html;
    panel.replaceChildren(parser.content);
  }

  function nextSlug() {
    const tiles = list.children;
    if (!tiles.length) return null;
    const current = panelSlug ? tileBySlug(panelSlug) : null;
    const next = current && current.nextElementSibling ? current.nextElementSibling : tiles[0];
    return next.dataset.slug;
  }

  function rotate() {
    const slug = nextSlug();
    if (slug) showPanel(slug);
  }

  function stopRotation() {
    if (rotateTimer !== null) clearInterval(rotateTimer);
    rotateTimer = null;
  }

  // After a pin, a pause or a toggle: rotate if asked to, otherwise only the tiles.
  function resume() {
    stopRotation();
    if (pinned) return;
    if (rotating && !paused) {
      rotate();
      rotateTimer = setInterval(rotate, rotateEvery);
    } else if (!paused) {
      hidePanel();
    }
  }

  function showRotation() {
    rotateButton.setAttribute("aria-pressed", String(rotating));
  }

  rotateButton.addEventListener("click", () => {
    rotating = !rotating;
    try { localStorage.setItem("vigie-wall-rotation", rotating ? "1" : "0"); } catch { /* */ }
    showRotation();
    resume();
  });

  // ---- pause (RGAA 13.8: moving and self-updating content can be stopped) ---------------
  function setIndicator(state) {
    setConnection(root, indicator, statusText, i18n, state);
  }

  pauseButton.addEventListener("click", () => {
    paused = !paused;
    pauseButton.setAttribute("aria-pressed", String(paused));
    setText(pauseButton, paused ? i18n.resume : i18n.pause);
    setIndicator(paused ? "paused" : connected ? "live" : "reconnecting");
    freshness.freeze(paused);
    if (paused) {
      stopRotation();
    } else {
      if (missed || connected) { missed = false; catchUp(); }
      resume();
    }
  });

  // ---- full screen -----------------------------------------------------------------------
  if (document.fullscreenEnabled && fullscreenButton) {
    fullscreenButton.hidden = false;
    fullscreenButton.addEventListener("click", () => {
      if (document.fullscreenElement) document.exitFullscreen();
      else document.documentElement.requestFullscreen().catch(() => {});
    });
    document.addEventListener("fullscreenchange", () => {
      const on = Boolean(document.fullscreenElement);
      fullscreenButton.setAttribute("aria-pressed", String(on));
      setText(fullscreenButton, on ? i18n.exit_fullscreen : i18n.fullscreen);
    });
  }

  // ---- access: a revoked kiosk link or an ended session closes the wall ----------------
  function lostAccess() {
    if (socket) socket.disconnect();
    window.location.reload(); // the server answers 404 (kiosk) or the login page
  }

  async function checkAccess() {
    if (checkingAccess) return;
    checkingAccess = true;
    try { await fetchFragment(root.dataset.tilesUrl); } catch { /* offline: retry later */ }
    checkingAccess = false;
  }

  // ---- live updates ----------------------------------------------------------------------
  showRotation();
  resume();
  setInterval(catchUp, catchUpEvery);
  socket = connectLive();
  if (!socket) { setIndicator("reconnecting"); return; }

  function subscribe() {
    socket.emit("subscribe_wall", {}, (ack) => {
      if (!ack || !ack.ok) { checkAccess(); return; }
      freshness.heard(ack);
      setIndicator(paused ? "paused" : "live");
    });
  }

  socket.on("connect", () => {
    connected = true;
    freshness.setConnected(true);
    subscribe();
    follow(null, panelSlug);
    if (!paused) catchUp(); // whatever happened while the wall was not listening
  });
  socket.on("disconnect", () => {
    connected = false;
    freshness.setConnected(false);
    setIndicator("reconnecting");
  });
  socket.on("connect_error", () => {
    connected = false;
    freshness.setConnected(false);
    setIndicator("reconnecting");
    checkAccess();
  });
  socket.on("wall.update", onUpdate);
  socket.on("member.update", (data) => {
    if (!data || data.member !== panelSlug || paused) return;
    freshness.fresh();
    loadPanel(panelSlug);
  });
  socket.on("source", (state) => freshness.heard(state));
  socket.on("kiosk.revoked", checkAccess);
}

// ---- one member's map on a kiosk: live like the map ------------------------------------
// Its member's room over the websocket; each update refetches the server's fragment (the
// same sentences and drawing as a reload). Freshness: the portal's one rule (live.js).
function startMemberPage(root) {
  const i18n = JSON.parse(root.dataset.i18n);
  const slug = root.dataset.member;
  const content = root.querySelector("[data-wall-member-content]");
  const indicator = root.querySelector("[data-wall-indicator]");
  const statusText = root.querySelector("[data-wall-status]");
  const freshness = wallFreshness(root, i18n, makeClock(i18n.clock), JSON.parse(root.dataset.source));
  let version = root.dataset.version || null;

  const refresh = coalesce(async () => {
    const response = await fetch(window.location.pathname, {
      headers: FRAGMENT_HEADERS, credentials: "same-origin", cache: "no-store",
    });
    if (response.status === 404 || response.redirected) { window.location.reload(); return; }
    if (!response.ok) return;
    const parser = document.createElement("template");
    parser.innerHTML = await response.text();
    content.replaceChildren(parser.content);
  });

  const socket = connectLive();
  if (!socket) { setConnection(root, indicator, statusText, i18n, "reconnecting"); return; }
  // A revoked kiosk link or an ended session: the server answers 404 or the login page.
  const checkAccess = coalesce(async () => {
    const response = await fetch(window.location.pathname, {
      headers: FRAGMENT_HEADERS, credentials: "same-origin", cache: "no-store",
    });
    if (response.status === 404 || response.redirected) window.location.reload();
  });
  socket.on("connect", () => {
    freshness.setConnected(true);
    socket.emit("subscribe", { member: slug, version, summary: true }, (ack) => {
      if (!ack || !ack.ok) { checkAccess(); return; }
      freshness.heard(ack);
      setConnection(root, indicator, statusText, i18n, "live");
      if (ack.full) { version = ack.version; refresh(); } // missed while not listening
    });
  });
  const lost = () => {
    freshness.setConnected(false);
    setConnection(root, indicator, statusText, i18n, "reconnecting");
  };
  socket.on("disconnect", () => { lost(); checkAccess(); });
  socket.on("connect_error", () => { lost(); checkAccess(); });
  socket.on("member.update", (data) => {
    if (!data || data.member !== slug) return;
    version = data.version || version;
    freshness.fresh();
    refresh();
  });
  socket.on("source", (state) => freshness.heard(state));
  socket.on("kiosk.revoked", checkAccess);
}
