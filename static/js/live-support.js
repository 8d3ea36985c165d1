// Live support pages: the queue (staff) and a request's thread (either side).
// They join their room over the existing websocket and fetch their parts again from
// the server after each ``support.update`` (the server decides what the reader may
// see: an internal note never reaches a member's page). The reply form sits outside the
// live parts and is never replaced; the forms inside them (the resolution text, the
// assignee, the rating's word) keep what the reader typed or chose, and the focus.
// Started from [data-live-support]; every text comes from data-i18n (no strings here).

import { coalesce, connectLive, patchParts, setConnection } from "./live.js";

const PART_FIELDS = "[data-live-part] :is(textarea, select, input:not([type=hidden]):not([type=file])"
  + ":not([type=submit]):not([type=button]))";

// One field's identity across a refetch: its id, else its form's action, name and value.
function keyOf(el) {
  if (el.id) return `#${el.id}`;
  const action = el.form ? el.form.getAttribute("action") || "" : "";
  const value = el.type === "checkbox" || el.type === "radio" ? el.value : "";
  return `${action}|${el.name}|${value}`;
}

function changed(el) {
  if (el.type === "checkbox" || el.type === "radio") return el.checked !== el.defaultChecked;
  if (el.tagName === "SELECT") return [...el.options].some((o) => o.selected !== o.defaultSelected);
  return el.value !== el.defaultValue;
}

// Called before a refetch; the function it returns, after it, puts back into the new
// fields what the reader changed in the replaced ones (read at that moment, so nothing
// typed during the fetch is lost) and the focus, unless the reader moved it meanwhile.
function keepTyped(root) {
  const before = [...root.querySelectorAll(PART_FIELDS)];
  const focused = before.find((el) => el === document.activeElement) || null;
  return () => {
    const after = new Map([...root.querySelectorAll(PART_FIELDS)].map((el) => [keyOf(el), el]));
    for (const old of before) {
      if (old.isConnected) continue; // its part was not replaced
      const el = after.get(keyOf(old));
      if (!el) continue;
      if (changed(old)) {
        if (old.type === "checkbox" || old.type === "radio") el.checked = old.checked;
        else if (el.tagName !== "SELECT" || [...el.options].some((o) => o.value === old.value)) {
          el.value = old.value;
        }
      }
      const active = document.activeElement;
      if (old === focused && (!active || active === document.body)) {
        el.focus({ preventScroll: true });
        if (typeof el.setSelectionRange === "function" && old.selectionStart !== null) {
          try { el.setSelectionRange(old.selectionStart, old.selectionEnd); } catch { /* no caret */ }
        }
      }
    }
  };
}

const root = document.querySelector("[data-live-support]");
if (root) start(root);

function start(root) {
  const i18n = JSON.parse(root.dataset.i18n);
  const subscription = JSON.parse(root.dataset.subscribe);
  const indicator = root.querySelector("[data-live-indicator]");
  const indicatorText = root.querySelector("[data-live-text]");
  const refresh = coalesce(async () => {
    const restore = keepTyped(root);
    await patchParts(root.dataset.partsUrl, root);
    restore();
    root.dataset.refreshed = String(Number(root.dataset.refreshed || 0) + 1);
  });
  const socket = connectLive();
  if (!socket) return;
  const show = (state) => setConnection(root, indicator, indicatorText, i18n, state);
  let subscribedOnce = false;
  socket.on("connect", () => {
    socket.emit("subscribe_support", subscription, (ack) => {
      if (!ack || !ack.ok) return;
      show("live");
      // After a reconnection: whatever changed while this page was not listening.
      if (subscribedOnce) refresh();
      subscribedOnce = true;
    });
  });
  const lost = () => show("reconnecting");
  socket.on("disconnect", lost);
  socket.on("connect_error", lost);
  socket.on("support.update", (data) => {
    if (!data || typeof data.id !== "number") return;
    if (subscription.request && data.id !== subscription.request) return;
    refresh();
  });
}
