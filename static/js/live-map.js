// Live member map, site maps and member home: Socket.IO updates patched into the drawing
// and the equipment list, then every sentence, count and the drawing itself (its lines and
// folds) refetched from the server; announced politely, pausable; the connection and the
// freshness of the data shown apart; groups that fold; the node panel as a side panel or
// a bottom sheet; keyboard and pointer zoom/pan; one tab stop, arrows between nodes.
// Started from [data-live-map]; every text comes from data-i18n (no strings here).

import { makeClock } from "./clock.js";
import { coalesce, connectLive, makeFreshness, patchParts, setConnection } from "./live.js";

const root = document.querySelector("[data-live-map]");
if (root) start(root);

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, key) => values[key] ?? "");
}

function start(root) {
  const i18n = JSON.parse(root.dataset.i18n);
  const zoom = setupZoom(root);
  const drawing = setupDrawing(root, i18n, zoom);
  setupKeyboard(root, drawing);
  setupSheet(root);
  const slug = root.dataset.member;
  const announcer = root.querySelector("[data-live-announce]");
  const indicator = root.querySelector("[data-live-indicator]");
  const indicatorText = root.querySelector("[data-live-text]");
  const pauseButton = root.querySelector("[data-live-pause]");
  const block = root.querySelector("[data-freshness]");
  const nodePanel = document.getElementById("node-detail");
  const clock = makeClock(i18n.clock);
  const freshness = makeFreshness({
    root, i18n, clock, initial: JSON.parse(root.dataset.source || "null"),
    line: block.querySelector("[data-fresh-line]"),
    banner: block.querySelector("[data-stale-banner]"),
    bannerText: block.querySelector("[data-stale-text]"),
  });
  let version = root.dataset.version || null;
  let paused = false;
  let missed = false;
  let connected = false;

  const labels = new Map();
  root.querySelectorAll("tr[data-node]").forEach((row) => {
    const link = row.querySelector("[data-node-label]");
    if (link) labels.set(row.dataset.node, link.textContent.trim());
  });
  const learnLabels = () => root.querySelectorAll("g.node[data-label]").forEach((g) => {
    if (!g.dataset.group) labels.set(g.dataset.node, g.dataset.label);
  });
  learnLabels();
  root.addEventListener("map:drawn", (event) => {
    learnLabels();
    markCare();
    tell((event.detail?.changed || []).filter((node) => labels.has(node.id)));
  });
  // The devices whose state changed on screen, by name: at most five, politely.
  function tell(nodes) {
    if (!nodes.length) return;
    const changes = nodes.map((node) => fill(i18n.changed, {
      label: labels.get(node.id), state: (i18n.states[node.state] || i18n.states.unknown).label,
    }));
    announcer.textContent = changes.slice(0, 5).join(". ") + (changes.length > 5 ? "…" : "");
    namedChange = true;
  }

  // Every sentence and count (summary, heading counts, list title) comes from the server,
  // refetched after each update: the same words as a reload, never a stale number.
  // Where no device names are on screen (a phone's map page: path and site cards), the
  // new headline is what is announced.
  const headline = () => document.querySelector(".summary__headline")?.textContent.trim() || "";
  let spoken = headline();
  let namedChange = false;
  const refreshTexts = coalesce(async () => {
    await patchParts(root.dataset.summaryUrl, document);
    markCare();
    const now = headline();
    if (now && now !== spoken && !namedChange) announcer.textContent = now;
    spoken = now;
    namedChange = false;
  });
  // "Support is on it": the nodes the summary says support covers carry the marker.
  function markCare() {
    const part = document.querySelector("[data-live-part=summary][data-care-nodes]");
    if (!part) return;
    const covered = new Set(part.dataset.careNodes.split(" ").filter(Boolean));
    root.querySelectorAll("g.node[data-node]:not([data-group])").forEach((g) => {
      const on = covered.has(g.dataset.node);
      if (on === g.hasAttribute("data-care")) return;
      g.toggleAttribute("data-care", on);
      // The spoken name says it too (the same words as the server's drawing).
      const label = (g.getAttribute("aria-label") || "").replace(i18n.care, "");
      g.setAttribute("aria-label", on ? label + i18n.care : label);
      let mark = g.querySelector(".node__care");
      if (on && !mark) {
        const box = g.querySelector(".node__box");
        mark = document.createElementNS("http://www.w3.org/2000/svg", "text");
        mark.setAttribute("class", "node__care");
        mark.setAttribute("aria-hidden", "true");
        mark.setAttribute("text-anchor", "end");
        mark.setAttribute("x", String(Number(box.getAttribute("x")) + Number(box.getAttribute("width")) - 8));
        mark.setAttribute("y", String(Number(box.getAttribute("y")) + 18));
        mark.textContent = "🛠\uFE0E";
        g.insertBefore(mark, g.querySelector(".node__state"));
      } else if (!on && mark) {
        mark.remove();
      }
    });
  }
  // The node panel, when open, is the server's too (problems, cause, since when).
  let panelNode = null;
  const refreshPanel = coalesce(async () => {
    const card = nodePanel && nodePanel.querySelector("[data-node-card]");
    if (!card) return;
    const url = card.dataset.nodeUrl;
    const response = await fetch(url, {
      headers: { "HX-Request": "true" }, credentials: "same-origin", cache: "no-store",
    });
    if (!response.ok) return;
    const hadFocus = nodePanel.contains(document.activeElement);
    const template = document.createElement("template");
    template.innerHTML = await response.text();
    nodePanel.replaceChildren(template.content);
    if (hadFocus) {
      const heading = nodePanel.querySelector("h2, h3");
      if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus({ preventScroll: true }); }
    }
  });

  // ---- live updates ------------------------------------------------------------------
  const socket = connectLive();
  if (!socket) return;

  function show(state) {
    setConnection(root, indicator, indicatorText, i18n, state);
  }

  function subscribe() {
    socket.emit("subscribe", { member: slug, version }, (ack) => {
      if (!ack || !ack.ok) return;
      freshness.heard(ack);
      if (ack.full && ack.nodes) apply(ack);
      else if (ack.version) version = ack.version;
      show(paused ? "paused" : "live");
    });
  }

  socket.on("connect", () => {
    connected = true;
    freshness.setConnected(true);
    if (!paused) subscribe();
  });
  const lost = () => {
    connected = false;
    freshness.setConnected(false);
    if (!paused) show("reconnecting");
  };
  socket.on("disconnect", lost);
  socket.on("connect_error", lost);
  socket.on("member.update", (data) => {
    if (!data || data.member !== slug) return;
    if (paused) { missed = true; return; }
    freshness.fresh();
    apply(data);
  });
  socket.on("source", (state) => freshness.heard(state));
  // A support request opened, answered or closed: the summary's "support is on it" moves.
  socket.on("support.update", (data) => {
    if (!data || data.member !== slug || paused) return;
    refreshTexts();
    if (panelNode) refreshPanel();
  });

  pauseButton.addEventListener("click", () => {
    paused = !paused;
    pauseButton.setAttribute("aria-pressed", String(paused));
    pauseButton.textContent = paused ? i18n.resume : i18n.pause;
    show(paused ? "paused" : connected ? "live" : "reconnecting");
    freshness.freeze(paused);
    if (!paused && (missed || connected)) { missed = false; subscribe(); }
  });

  nodePanel?.addEventListener("htmx:afterSwap", () => {
    const card = nodePanel.querySelector("[data-node-card]");
    panelNode = card ? card.dataset.nodeCard : null;
  });

  function apply(data) {
    const changed = [];
    let panelTouched = Boolean(data.full);
    for (const node of data.nodes) {
      const row = root.querySelector(`tr[data-node="${CSS.escape(node.id)}"]`);
      const g = root.querySelector(`g.node[data-node="${CSS.escape(node.id)}"]`);
      const before = row ? row.dataset.state : g ? g.dataset.state : null;
      patchSvg(node);
      patchRow(row, node);
      if (node.id === panelNode) panelTouched = true;
      if (before && before !== node.state && labels.has(node.id)) changed.push(node);
    }
    version = data.version || version;
    tell(changed);
    refreshTexts();
    // The lines, the folds and the frames' counts follow the states: the server redraws.
    if (data.nodes.length || data.full) drawing.refresh();
    if (panelNode && panelTouched) refreshPanel();
  }

  function stateText(node) {
    const state = i18n.states[node.state] || i18n.states.unknown;
    let text = `${state.label}`;
    if (node.state === "unreachable" && node.cause) {
      text += ` (${fill(i18n.cause, { cause: labels.get(node.cause) || "" })})`;
    }
    return text;
  }

  function patchSvg(node) {
    const state = i18n.states[node.state] || i18n.states.unknown;
    root.querySelectorAll(`g.node[data-node="${CSS.escape(node.id)}"]`).forEach((g) => {
      const link = g.classList.contains("node--link") ? " node--link" : "";
      g.setAttribute("class", `node node--${state.modifier}${link} node--changed`);
      g.dataset.state = node.state;
      g.querySelector(".node__state").textContent = `${state.glyph} ${state.label}`;
      const care = g.hasAttribute("data-care") ? i18n.care : "";
      g.setAttribute("aria-label", `${labels.get(node.id) || ""} : ${stateText(node)}${care}`);
    });
  }

  function patchRow(row, node) {
    if (!row) return;
    const state = i18n.states[node.state] || i18n.states.unknown;
    row.dataset.state = node.state;
    const badge = document.createElement("span");
    badge.className = `badge badge--${state.modifier}`;
    const glyph = document.createElement("span");
    glyph.className = "badge__glyph";
    glyph.setAttribute("aria-hidden", "true");
    glyph.textContent = state.glyph;
    badge.append(glyph, ` ${state.label}`);
    row.querySelector('[data-cell="state"]').replaceChildren(badge);
    const detail = row.querySelector('[data-cell="detail"]');
    if (node.state === "unreachable" && node.cause) {
      detail.textContent = fill(i18n.cause, { cause: labels.get(node.cause) || "" });
    } else if (node.problems.length) {
      detail.replaceChildren(...node.problems.flatMap((p, index) => {
        const span = document.createElement("span");
        span.className = "problem";
        span.textContent = `${i18n.problem_titles[p.kind] || i18n.problem_titles.other} (${i18n.impacts[p.impact] || ""})`;
        return index ? [document.createElement("br"), span] : [span];
      }));
    } else if (node.state === "unknown") {
      detail.textContent = i18n.no_news;
    } else {
      detail.textContent = "—";
    }
    detail.classList.toggle("is-empty", detail.textContent === "—");
  }

}

// ---- the drawing: fetched for wide screens, redrawn after updates and on fold/unfold ---
function setupDrawing(root, i18n, zoom) {
  const viewport = root.querySelector("[data-map-viewport]");
  const announcer = root.querySelector("[data-live-announce]");
  const noop = { refresh() {}, toggle() {} };
  if (!viewport || !viewport.dataset.drawingUrl) return noop;
  const wideOnly = viewport.closest("[data-map-wide]");
  const wide = window.matchMedia("(min-width: 48.01rem)");
  const svg = () => viewport.querySelector("svg[data-map-svg]");
  const opened = () => new Set((svg()?.dataset.open || "").split(" ").filter(Boolean));
  let wanted = null; // the open groups asked for, until the server's drawing says them

  const load = coalesce(async () => {
    if (wideOnly && !wide.matches) return;
    const url = new URL(viewport.dataset.drawingUrl, location.href);
    const open = wanted || opened();
    if (open.size) url.searchParams.set("ouvert", [...open].join(" "));
    const response = await fetch(url, {
      headers: { "HX-Request": "true" }, credentials: "same-origin", cache: "no-store",
    });
    if (!response.ok || response.status === 204) return;
    const focused = document.activeElement?.closest?.("g.node");
    const focusId = focused && viewport.contains(focused) ? focused.dataset.node : null;
    const template = document.createElement("template");
    template.innerHTML = await response.text();
    const fresh = template.content.querySelector("svg[data-map-svg]");
    if (!fresh) return;
    const old = svg();
    const roving = old?.querySelector('g.node[tabindex="0"]')?.dataset.node;
    // A redraw may be the first to show a new state (it can reach the page before the
    // update that caused it): the devices whose state it changes are told to the reader.
    const shown = new Map();
    old?.querySelectorAll("g.node[data-state]:not([data-group])").forEach((g) => {
      shown.set(g.dataset.node, g.dataset.state);
    });
    const changed = [...fresh.querySelectorAll("g.node[data-state]:not([data-group])")]
      .filter((g) => shown.has(g.dataset.node) && shown.get(g.dataset.node) !== g.dataset.state)
      .map((g) => ({ id: g.dataset.node, state: g.dataset.state }));
    if (old) old.replaceWith(fresh); else viewport.append(fresh);
    wanted = null;
    // One tab stop, where it was; focus kept on the same node (or its group).
    const keep = fresh.querySelector(`g.node[data-node="${CSS.escape(focusId || roving || "")}"]`);
    if (keep) {
      fresh.querySelectorAll("g.node").forEach((n) => n.setAttribute("tabindex", "-1"));
      keep.setAttribute("tabindex", "0");
      if (focusId) keep.focus({ preventScroll: true });
    }
    if (window.htmx) window.htmx.process(fresh);
    zoom.adopt(fresh, old);
    root.dispatchEvent(new CustomEvent("map:drawn", { detail: { changed } }));
  });

  function toggle(group) {
    const open = wanted || opened();
    const id = group.dataset.group;
    const opening = !open.has(id);
    if (opening) open.add(id); else open.delete(id);
    wanted = open;
    announcer.textContent = fill(opening ? i18n.unfolded : i18n.folded, { label: group.dataset.label });
    load();
  }

  if (!svg()) load();
  wide.addEventListener("change", () => { if (!svg()) load(); });
  return { refresh: () => { if (svg()) load(); }, toggle };
}

// ---- keyboard: one tab stop per drawing, arrows move in reading order -----------------
function setupKeyboard(root, drawing) {
  const nodesOf = (svg) => [...svg.querySelectorAll("g.node")];
  function rove(svg, node) {
    nodesOf(svg).forEach((n) => n.setAttribute("tabindex", "-1"));
    node.setAttribute("tabindex", "0");
  }
  root.addEventListener("keydown", (event) => {
    const node = event.target.closest?.("g.node");
    const svg = node?.closest("svg[data-map-svg]");
    if (!svg) return;
    const list = nodesOf(svg);
    const index = list.indexOf(node);
    let next = null;
    if (event.key === "ArrowDown" || event.key === "ArrowRight") next = list[index + 1];
    else if (event.key === "ArrowUp" || event.key === "ArrowLeft") next = list[index - 1];
    else if (event.key === "Home") next = list[0];
    else if (event.key === "End") next = list[list.length - 1];
    else if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      if (node.dataset.group) drawing.toggle(node);
      else node.dispatchEvent(new MouseEvent("click", { bubbles: true }));
      return;
    }
    if (next) {
      event.preventDefault();
      rove(svg, next);
      next.focus();
      next.dispatchEvent(new CustomEvent("map:reveal", { bubbles: true }));
    }
  });
  root.addEventListener("click", (event) => {
    const node = event.target.closest?.("g.node");
    const svg = node?.closest("svg[data-map-svg]");
    if (!svg) return;
    rove(svg, node);
    if (node.dataset.group && event.detail !== 0) drawing.toggle(node);
  });
}

// ---- the node panel: side panel (wide) or bottom sheet (phone); Escape or Fermer closes --
function setupSheet(root) {
  const sheet = document.querySelector("[data-sheet]");
  if (!sheet) return;
  const panel = sheet.querySelector("#node-detail");
  let opener = null;
  function close() {
    sheet.hidden = true;
    panel.replaceChildren();
    const back = opener && document.querySelector(`g.node[data-node="${CSS.escape(opener)}"]`);
    if (back) back.focus({ preventScroll: true });
  }
  document.body.addEventListener("htmx:beforeRequest", (event) => {
    const node = event.detail.elt?.closest?.("g.node");
    if (node && event.detail.target === panel) opener = node.dataset.node;
  });
  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target !== panel) return;
    sheet.hidden = !panel.querySelector("[data-node-card]");
    const heading = panel.querySelector("h2");
    if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus({ preventScroll: true }); }
  });
  sheet.querySelector("[data-sheet-close]").addEventListener("click", close);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !sheet.hidden) { event.preventDefault(); close(); }
  });
}

// ---- zoom and pan: buttons, + / - keys, wheel + ctrl, drag, pinch ---------------------
function setupZoom(root) {
  const viewport = root.querySelector("[data-map-viewport]");
  const views = new Map();
  const none = { adopt() {} };
  if (!viewport || viewport.classList.contains("map__viewport--site")) return none;

  const visibleSvg = () => viewport.querySelector("svg[data-map-svg]");
  function full(svg) {
    return { x: 0, y: 0, w: svg.width.baseVal.value, h: svg.height.baseVal.value };
  }
  function view(svg) {
    if (!views.has(svg)) views.set(svg, initial(svg));
    return views.get(svg);
  }
  function initial(svg) {
    const f = full(svg);
    // Natural size when it fits; otherwise a readable scale (>= 0.8), from the top left.
    const width = viewport.clientWidth || f.w;
    const scale = f.w <= width ? 1 : Math.max(width / f.w, 0.8);
    const w = Math.min(f.w, width / scale);
    const h = Math.min(f.h, (window.innerHeight * 0.75) / scale);
    svg.style.height = `${Math.round(h * scale)}px`;
    return { x: 0, y: 0, w, h };
  }
  function render(svg) {
    const v = view(svg);
    svg.setAttribute("viewBox", `${v.x} ${v.y} ${v.w} ${v.h}`);
  }
  function zoom(factor, cx = 0.5, cy = 0.5) {
    const svg = visibleSvg();
    if (!svg) return;
    const v = view(svg);
    const f = full(svg);
    const w = Math.min(Math.max(v.w * factor, 120), f.w * 1.5);
    const h = w * (v.h / v.w);
    v.x += (v.w - w) * cx;
    v.y += (v.h - h) * cy;
    v.w = w;
    v.h = h;
    render(svg);
  }
  function fit() {
    const svg = visibleSvg();
    if (!svg) return;
    views.set(svg, full(svg));
    render(svg);
  }
  function pan(dx, dy) {
    const svg = visibleSvg();
    if (!svg) return;
    const v = view(svg);
    const rect = svg.getBoundingClientRect();
    v.x -= dx * (v.w / rect.width);
    v.y -= dy * (v.h / rect.height);
    render(svg);
  }

  root.querySelectorAll("[data-zoom]").forEach((button) => {
    button.addEventListener("click", () => {
      const action = button.dataset.zoom;
      if (action === "in") zoom(0.8);
      else if (action === "out") zoom(1.25);
      else fit();
    });
  });
  viewport.addEventListener("keydown", (event) => {
    if (event.key === "+" || event.key === "=") { event.preventDefault(); zoom(0.8); }
    if (event.key === "-") { event.preventDefault(); zoom(1.25); }
  });
  viewport.addEventListener("wheel", (event) => {
    if (!event.ctrlKey) return;
    event.preventDefault();
    const rect = viewport.getBoundingClientRect();
    zoom(event.deltaY > 0 ? 1.1 : 0.9, (event.clientX - rect.left) / rect.width,
      (event.clientY - rect.top) / rect.height);
  }, { passive: false });

  const pointers = new Map();
  let pinch = null;
  viewport.addEventListener("pointerdown", (event) => {
    if (event.target.closest("g.node") && event.pointerType === "mouse") return;
    pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
  });
  viewport.addEventListener("pointermove", (event) => {
    const last = pointers.get(event.pointerId);
    if (!last) return;
    const current = { x: event.clientX, y: event.clientY };
    pointers.set(event.pointerId, current);
    if (pointers.size === 2) {
      const [a, b] = [...pointers.values()];
      const distance = Math.hypot(a.x - b.x, a.y - b.y);
      if (pinch) zoom(pinch / distance);
      pinch = distance;
    } else if (pointers.size === 1) {
      pan(current.x - last.x, current.y - last.y);
    }
  });
  const release = (event) => { pointers.delete(event.pointerId); pinch = null; };
  viewport.addEventListener("pointerup", release);
  viewport.addEventListener("pointercancel", release);
  viewport.addEventListener("map:reveal", (event) => {
    const svg = visibleSvg();
    const box = event.target.querySelector("rect");
    if (!svg || !box) return;
    const v = view(svg);
    const x = box.x.baseVal.value;
    const y = box.y.baseVal.value;
    if (x < v.x || x > v.x + v.w - 40 || y < v.y || y > v.y + v.h - 40) {
      v.x = Math.max(0, x - v.w / 2);
      v.y = Math.max(0, y - v.h / 3);
      render(svg);
    }
  });
  return {
    // A redrawn map keeps the reader's zoom and position (clamped to its new size).
    adopt(fresh, old) {
      const v = old && views.get(old);
      if (v) {
        const f = full(fresh);
        fresh.style.height = old.style.height;
        views.set(fresh, { ...v, w: Math.min(v.w, f.w * 1.5), h: Math.min(v.h, f.h * 1.5) });
      }
      render(fresh);
    },
  };
}
