// Vigie's service worker (served at /sw.js, scope /). Rendered by webapp/blueprints/pwa:
// the values below come from the server. It shows every push as a notification (a push
// without one is revoked by iOS), opens the map node on a click, and keeps an offline
// page with the last state of the user's members it fetched.
"use strict";

const VERSION = {{ version|tojson }};
const SHELL_CACHE = "vigie-shell-" + VERSION;
const DATA_CACHE = "vigie-data";
const OFFLINE_URL = {{ offline_url|tojson }};
const SUMMARY_URL = {{ summary_url|tojson }};
const LOGOUT_URL = {{ logout_url|tojson }};
const SHELL = {{ shell|tojson }};
const ICON = {{ icon_url|tojson }};
const BADGE = {{ badge_url|tojson }};
const FALLBACK = {{ fallback|tojson }};
const SUMMARY_EVERY_MS = 30000;

let lastSummaryAt = 0;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(SHELL_CACHE)
      .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("vigie-shell-") && name !== SHELL_CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

// -- offline ---------------------------------------------------------------------------

async function refreshSummary() {
  const now = Date.now();
  if (now - lastSummaryAt < SUMMARY_EVERY_MS) return;
  lastSummaryAt = now;
  try {
    const response = await fetch(SUMMARY_URL, {
      credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store",
    });
    const cache = await caches.open(DATA_CACHE);
    if (response.status === 401 || response.status === 403) {
      await cache.delete(SUMMARY_URL); // logged out: keep nothing of the last user
      return;
    }
    const type = response.headers.get("Content-Type") || "";
    if (!response.ok || !type.includes("json")) return;
    const summary = await response.json();
    const record = { fetched_at: new Date(now).toISOString(), summary };
    await cache.put(SUMMARY_URL, new Response(JSON.stringify(record), {
      headers: { "Content-Type": "application/json" },
    }));
  } catch {
    // offline: keep what we have
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "POST" && url.pathname === LOGOUT_URL) {
    event.waitUntil(caches.delete(DATA_CACHE));
    return;
  }
  if (request.method !== "GET") return;
  if (request.mode === "navigate") {
    event.respondWith((async () => {
      try {
        const response = await fetch(request);
        if (url.pathname !== OFFLINE_URL) event.waitUntil(refreshSummary());
        return response;
      } catch {
        const cached = await caches.match(OFFLINE_URL, { cacheName: SHELL_CACHE });
        return cached || new Response(FALLBACK.offline, {
          status: 503, headers: { "Content-Type": "text/plain; charset=utf-8" },
        });
      }
    })());
    return;
  }
  if (SHELL.includes(url.pathname + url.search)) {
    // the offline page's own files: the network first, the copy when it fails
    event.respondWith(fetch(request).catch(async () => {
      const cached = await caches.match(request, { cacheName: SHELL_CACHE });
      return cached || Response.error();
    }));
  }
});

// -- push ------------------------------------------------------------------------------

function sameOrigin(link) {
  // Always open inside Vigie: another origin keeps its path on ours.
  try {
    const url = new URL(link || "/", self.location.origin);
    if (url.origin === self.location.origin) return url.href;
    return new URL(url.pathname + url.search + url.hash, self.location.origin).href;
  } catch {
    return new URL("/", self.location.origin).href;
  }
}

function readPush(data) {
  // Declarative Web Push: {"web_push": 8030, "notification": {title, body, navigate, tag…}}
  if (!data) return null;
  try {
    const message = data.json();
    const n = message && message.notification;
    if (n && typeof n.title === "string" && n.title) return n;
  } catch {
    // unreadable: the fallback below
  }
  return null;
}

self.addEventListener("push", (event) => {
  const n = readPush(event.data) || { title: FALLBACK.title, body: FALLBACK.body, navigate: "/" };
  const options = {
    body: typeof n.body === "string" ? n.body : "",
    lang: n.lang || "fr",
    dir: n.dir || "auto",
    icon: ICON,
    badge: BADGE,
    data: { navigate: sameOrigin(n.navigate) },
    requireInteraction: Boolean(n.require_interaction),
    silent: Boolean(n.silent),
  };
  if (n.tag) {
    options.tag = String(n.tag);
    options.renotify = true; // a recovery replacing an alert still tells the user
  }
  if (typeof n.timestamp === "number") options.timestamp = n.timestamp;
  // Always show something: a push without a notification is a "silent" push.
  event.waitUntil(self.registration.showNotification(n.title, options));
});

async function openNode(target) {
  // A Vigie window already on the node: bring it forward. Another Vigie window: bring it
  // forward on the node. None: open one.
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const ours = windows.filter((client) => new URL(client.url).origin === self.location.origin);
  const there = ours.find((client) => client.url === target);
  if (there) return there.focus();
  for (const client of ours) {
    try {
      await client.focus();
    } catch {
      // focus is the browser's to grant: navigate anyway
    }
    try {
      const moved = await client.navigate(target);
      if (moved) return moved;
    } catch {
      // not controlled by this worker: try the next, or open a window
    }
  }
  return self.clients.openWindow(target);
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = sameOrigin(event.notification.data && event.notification.data.navigate);
  event.waitUntil(openNode(target));
});
