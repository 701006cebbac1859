// The service worker of a page that must load with no network (the offline
// card, the verifier desk), served by `pages::offline_service_worker`, which
// fills in the page, its files and its cache's name. It keeps the page and
// the files it needs; neither page holds personal data in its HTML (the
// card's credential lives in IndexedDB and its key in WebCrypto; the desk's
// API key and signed lists in the browser's storage). Network first, so an
// online visit always gets the current page; nothing else (the API) is cached.
'use strict';

var PREFIX = 'shengshi-__NAME__-';
var CACHE = PREFIX + 'v1';
var PAGE = '__PAGE__';
var FILES = [PAGE].concat(__FILES__);

self.addEventListener('install', function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.addAll(FILES); }));
  self.skipWaiting();
});

// Older caches of this page only: another page's worker keeps its own.
self.addEventListener('activate', function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) {
      return n.indexOf(PREFIX) === 0 && n !== CACHE;
    }).map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener('fetch', function (event) {
  var url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname === PAGE) {
    event.respondWith(fetch(event.request).then(function (response) {
      if (response.ok && !response.redirected) {
        var copy = response.clone();
        caches.open(CACHE).then(function (cache) { cache.put(PAGE, copy); });
      }
      return response;
    }).catch(function () {
      return caches.match(PAGE);
    }));
    return;
  }
  if (FILES.indexOf(url.pathname) >= 0) {
    event.respondWith(fetch(event.request).catch(function () {
      return caches.match(url.pathname);
    }));
  }
});
