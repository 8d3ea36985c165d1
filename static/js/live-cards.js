// Home page of a user with several members (or the syndicate's staff): one card per
// member, each refetched from the server after each live update of that member.
// Started from [data-live-cards]; every text comes from data-i18n (no strings here).

import { makeClock } from "./clock.js";
import { coalesce, connectLive, makeFreshness, patchParts, setConnection } from "./live.js";

const root = document.querySelector("[data-live-cards]");
if (root) start(root);

function start(root) {
  const i18n = JSON.parse(root.dataset.i18n);
  const block = root.querySelector("[data-freshness]");
  const indicator = root.querySelector("[data-live-indicator]");
  const indicatorText = root.querySelector("[data-live-text]");
  const freshness = makeFreshness({
    root, i18n, clock: makeClock(i18n.clock), initial: JSON.parse(root.dataset.source || "null"),
    line: block.querySelector("[data-fresh-line]"),
    banner: block.querySelector("[data-stale-banner]"),
    bannerText: block.querySelector("[data-stale-text]"),
  });
  const cards = [...root.querySelectorAll("[data-member-card]")];
  const slugs = cards.map((card) => card.dataset.memberCard);
  // patchParts keeps each card element and copies the fresh one's data- attributes onto it.
  const versionOf = (slug) => cards[slugs.indexOf(slug)].dataset.version || null;
  const refreshers = new Map(slugs.map((slug) => [slug, coalesce(() => patchParts(
    root.dataset.cardUrl.replace("__slug__", encodeURIComponent(slug)), root,
  ))]));

  const socket = connectLive();
  if (!socket) return;
  const show = (state) => setConnection(root, indicator, indicatorText, i18n, state);

  socket.on("connect", () => {
    freshness.setConnected(true);
    let pending = slugs.length;
    for (const slug of slugs) {
      socket.emit("subscribe", { member: slug, version: versionOf(slug), summary: true }, (ack) => {
        if (ack && ack.ok) freshness.heard(ack);
        // Whatever happened while this page was not listening.
        if (!ack || !ack.ok || ack.full) refreshers.get(slug)();
        pending -= 1;
        if (pending === 0) show("live");
      });
    }
  });
  const lost = () => { freshness.setConnected(false); show("reconnecting"); };
  socket.on("disconnect", lost);
  socket.on("connect_error", lost);
  socket.on("member.update", (data) => {
    if (!data || !refreshers.has(data.member)) return;
    freshness.fresh();
    refreshers.get(data.member)();
  });
  socket.on("source", (state) => freshness.heard(state));
}
