// Live support pages: the queue (staff) and a request's thread (either side).
// They join their room over the existing websocket and fetch their parts again from
// the server after each ``support.update`` (the server decides what the reader may
// see: an internal note never reaches a member's page). What the reader is typing
// sits outside the live parts and is never replaced.
// Started from [data-live-support]; every text comes from data-i18n (no strings here).

import { coalesce, connectLive, patchParts, setConnection } from "./live.js";

const root = document.querySelector("[data-live-support]");
if (root) start(root);

function start(root) {
  const i18n = JSON.parse(root.dataset.i18n);
  const subscription = JSON.parse(root.dataset.subscribe);
  const indicator = root.querySelector("[data-live-indicator]");
  const indicatorText = root.querySelector("[data-live-text]");
  const refresh = coalesce(async () => {
    await patchParts(root.dataset.partsUrl, root);
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
