// Live member map and member home: Socket.IO updates patched into the SVG and the
// equipment list, every sentence and count refetched from the server after each update,
// announced politely, pausable; the connection and the freshness of the data shown apart;
// keyboard and pointer zoom/pan; roving focus on nodes.
// Started from [data-live-map]; every text comes from data-i18n (no strings here).

import { makeClock } from "./clock.js";
import { coalesce, connectLive, makeFreshness, patchParts, setConnection } from "./live.js";

const root = document.querySelector("[data-live-map]");
if (root) start(root);

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, key) => values[key] ?? "");
}

function start(root) {
  setupKeyboard(root);
  setupZoom(root);
  const i18n = JSON.parse(root.dataset.i18n);
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

  // Every sentence and count (summary, heading counts, list title) comes from the server,
  // refetched after each update: the same words as a reload, never a stale number.
  const refreshTexts = coalesce(async () => {
    await patchParts(root.dataset.summaryUrl, document);
    markCare();
  });
  // "Support is on it": the nodes the summary says support covers carry the marker.
  function markCare() {
    const part = document.querySelector("[data-live-part=summary][data-care-nodes]");
    if (!part) return;
    const covered = new Set(part.dataset.careNodes.split(" ").filter(Boolean));
    root.querySelectorAll("g.node[data-node]").forEach((g) => {
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
    const changes = [];
    let panelTouched = Boolean(data.full);
    for (const node of data.nodes) {
      const row = root.querySelector(`tr[data-node="${CSS.escape(node.id)}"]`);
      const before = row ? row.dataset.state : null;
      patchSvg(node);
      patchRow(row, node);
      if (node.id === panelNode) panelTouched = true;
      if (before && before !== node.state && labels.has(node.id)) {
        changes.push(fill(i18n.changed, {
          label: labels.get(node.id), state: i18n.states[node.state].label,
        }));
      }
    }
    version = data.version || version;
    if (changes.length) {
      announcer.textContent = changes.slice(0, 5).join(". ") + (changes.length > 5 ? "…" : "");
    }
    refreshTexts();
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
      g.setAttribute("class", `node node--${state.modifier} node--changed`);
      const text = g.querySelector(".node__state");
      const role = text.textContent.includes(" · ") ? text.textContent.split(" · ").pop() : null;
      const shown = `${state.glyph} ${state.label}`;
      text.textContent = role ? `${shown} · ${role}` : shown;
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
        span.textContent = `${p.name} (${i18n.severities[p.severity] || ""})`;
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

// ---- keyboard: one tab stop per drawing, arrows move in reading order -----------------
function setupKeyboard(root) {
  root.querySelectorAll("svg[data-map-svg]").forEach((svg) => {
    const nodes = () => [...svg.querySelectorAll("g.node")];
    svg.addEventListener("keydown", (event) => {
      const list = nodes();
      const index = list.indexOf(document.activeElement);
      if (index < 0) return;
      let next = null;
      if (event.key === "ArrowDown" || event.key === "ArrowRight") next = list[index + 1];
      else if (event.key === "ArrowUp" || event.key === "ArrowLeft") next = list[index - 1];
      else if (event.key === "Home") next = list[0];
      else if (event.key === "End") next = list[list.length - 1];
      else if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        list[index].dispatchEvent(new MouseEvent("click", { bubbles: true }));
        return;
      }
      if (next) {
        event.preventDefault();
        list.forEach((n) => n.setAttribute("tabindex", "-1"));
        next.setAttribute("tabindex", "0");
        next.focus();
        next.dispatchEvent(new CustomEvent("map:reveal", { bubbles: true }));
      }
    });
    svg.addEventListener("click", (event) => {
      const node = event.target.closest("g.node");
      if (!node) return;
      nodes().forEach((n) => n.setAttribute("tabindex", "-1"));
      node.setAttribute("tabindex", "0");
    });
  });
  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target.id === "node-detail") {
      const heading = event.detail.target.querySelector("h2");
      if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
    }
  });
}

// ---- zoom and pan: buttons, + / - keys, wheel + ctrl, drag, pinch ---------------------
function setupZoom(root) {
  const viewport = root.querySelector("[data-map-viewport]");
  if (!viewport) return;
  const views = new Map();

  function visibleSvg() {
    return [...viewport.querySelectorAll("svg[data-map-svg]")]
      .find((svg) => getComputedStyle(svg).display !== "none");
  }
  function full(svg) {
    return { x: 0, y: 0, w: svg.width.baseVal.value, h: svg.height.baseVal.value };
  }
  function view(svg) {
    if (!views.has(svg)) views.set(svg, initial(svg));
    return views.get(svg);
  }
  function initial(svg) {
    const f = full(svg);
    if (svg.dataset.mapSvg === "narrow") return f;
    // Natural size when it fits; otherwise a readable scale (>= 0.8), root centred on top.
    const width = viewport.clientWidth || f.w;
    const scale = f.w <= width ? 1 : Math.max(width / f.w, 0.8);
    const w = Math.min(f.w, width / scale);
    const h = Math.min(f.h, (window.innerHeight * 0.7) / scale);
    svg.style.height = `${Math.round(h * scale)}px`;
    return { x: (f.w - w) / 2, y: 0, w, h };
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
    } else if (pointers.size === 1 && visibleSvg()?.dataset.mapSvg === "wide") {
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
  viewport.querySelectorAll("svg[data-map-svg]").forEach(render);
}
