/* TempClock kiosk service worker: keeps the page shell so the kiosk opens without the host.
   Its scope is /kiosk/<token>/; the host serves the page itself at /kiosk/<token>. Punches
   and the site's details always go to the network (the page queues punches itself). */
"use strict";

const SHELL_CACHE = "tempclock-kiosk-shell-v1";
const scope = new URL(self.registration.scope);
const pageUrl = scope.href.replace(/\/$/, ""); // /kiosk/<token>, as the host serves it
const SHELL = ["kiosk.css", "kiosk.js", "manifest.webmanifest", "icon.svg", "icon-192.png",
               "icon-512.png"].map((name) => new URL(name, scope).href);

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE);
    await cache.addAll(SHELL);
    await cache.put(scope.href, await fetch(pageUrl, { cache: "no-store" }));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name !== SHELL_CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

async function fromNetworkElseCache(request, cacheKey) {
  const cache = await caches.open(SHELL_CACHE);
  try {
    const response = await fetch(request, { cache: "no-store" });
    if (response.ok) await cache.put(cacheKey, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(cacheKey);
    if (cached) return cached;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== scope.origin) return;
  if (event.request.mode === "navigate" && [scope.href, pageUrl].includes(url.origin + url.pathname)) {
    // /kiosk/<token>/ (the installed app's start) and /kiosk/<token> are the same page.
    event.respondWith(fromNetworkElseCache(pageUrl, scope.href));
  } else if (SHELL.includes(url.href)) {
    event.respondWith(fromNetworkElseCache(event.request, url.href));
  }
});
