// Registers Vigie's service worker (/sw.js, scope /) on every page: it keeps the offline
// page and shows the alerts pushed to this device. Started from base.html's script tag.
const script = document.getElementById("pwa-script");
const url = script && script.dataset.swUrl;

if (url && "serviceWorker" in navigator) {
  navigator.serviceWorker.register(url, { scope: "/" }).catch((error) => {
    // A refused worker (private window, old browser) costs the offline page only.
    console.warn("Vigie: service worker not registered:", error && error.message);
  });
}
