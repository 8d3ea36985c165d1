// "Recevoir les alertes sur cet appareil" (templates/profile/_push_devices.html): registers
// the service worker, subscribes with the server's VAPID key and sends the subscription
// (PushSubscription.toJSON()) to the API. On an iPhone or iPad, Web Push exists only in a
// web app added to the Home Screen: the page explains how instead of offering the button.

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, key) => values[key] ?? "");
}

function keyBytes(base64url) {
  const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
  const raw = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

function sameKey(subscription, key) {
  const current = subscription.options && subscription.options.applicationServerKey;
  if (!current) return true; // the browser does not say: keep it
  const a = new Uint8Array(current);
  return a.length === key.length && a.every((byte, i) => byte === key[i]);
}

async function sha256Hex(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

// Which listed device is this browser? The API gives each endpoint's SHA-256, never the
// endpoint itself; a match marks the row « (cet appareil) ».
async function markThisDevice(root, registering, texts) {
  if (!window.crypto || !crypto.subtle) return;
  try {
    const registration = await registering;
    const subscription = await registration.pushManager.getSubscription();
    if (!subscription) return;
    const response = await fetch(root.dataset.listUrl, {
      credentials: "same-origin", headers: { Accept: "application/json" },
    });
    if (!response.ok) return;
    const mine = await sha256Hex(subscription.endpoint);
    const { subscriptions } = await response.json();
    const match = subscriptions.find((device) => device.endpoint_sha256 === mine);
    if (!match) return;
    const row = document.querySelector(`[data-device-id="${Number(match.id)}"] [data-device-this]`);
    if (row) row.hidden = false;
    root.querySelector("[data-push-status]").textContent = texts.already;
  } catch {
    // only a hint: nothing to say if it fails
  }
}

export function isAppleMobile() {
  const ua = navigator.userAgent;
  // iPadOS presents itself as a Mac, with touch
  return /iPhone|iPad|iPod/.test(ua) || (/Macintosh/.test(ua) && navigator.maxTouchPoints > 1);
}

export function isStandalone() {
  return navigator.standalone === true || window.matchMedia("(display-mode: standalone)").matches;
}

function start(root) {
  const button = root.querySelector("[data-push-subscribe]");
  const status = root.querySelector("[data-push-status]");
  const texts = JSON.parse(root.dataset.texts);
  const show = (selector) => { root.querySelector(selector).hidden = false; };
  root.querySelector("[data-push-nojs]").hidden = true;

  if (isAppleMobile() && !isStandalone()) {
    show("[data-push-ios]");
    return;
  }
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    show("[data-push-unsupported]");
    return;
  }
  if (Notification.permission === "denied") {
    show("[data-push-denied]");
    return;
  }
  button.hidden = false;
  const key = keyBytes(root.dataset.vapidKey);
  const registering = navigator.serviceWorker.register(root.dataset.swUrl, { scope: "/" });
  markThisDevice(root, registering, texts);

  button.addEventListener("click", async () => {
    button.disabled = true;
    status.textContent = texts.working;
    try {
      const permission = await Notification.requestPermission();
      if (permission !== "granted") {
        status.textContent = texts.denied;
        if (permission === "denied") show("[data-push-denied]");
        return;
      }
      await registering;
      const registration = await navigator.serviceWorker.ready;
      let subscription = await registration.pushManager.getSubscription();
      if (subscription && !sameKey(subscription, key)) {
        await subscription.unsubscribe(); // made with another server key: useless now
        subscription = null;
      }
      if (!subscription) {
        subscription = await registration.pushManager.subscribe({
          userVisibleOnly: true, applicationServerKey: key,
        });
      }
      let response;
      try {
        response = await fetch(root.dataset.subscribeUrl, {
          method: "POST",
          credentials: "same-origin",
          headers: {
            "Content-Type": "application/json",
            Accept: "application/json",
            "X-CSRFToken": root.dataset.csrf,
          },
          body: JSON.stringify(subscription.toJSON()),
        });
      } catch {
        status.textContent = texts.network;
        return;
      }
      if (!response.ok) {
        let message = String(response.status);
        try {
          message = (await response.json()).error.message || message;
        } catch {
          // not JSON: the status
        }
        status.textContent = fill(texts.failed, { error: message });
        return;
      }
      status.textContent = response.status === 201 ? texts.done : texts.already;
      // The list of devices is the server's: show it again with this one.
      window.setTimeout(() => window.location.reload(), 1200);
    } catch (error) {
      status.textContent = fill(texts.failed, { error: (error && error.message) || String(error) });
    } finally {
      button.disabled = false;
    }
  });
}

for (const root of document.querySelectorAll("[data-push]")) start(root);
