// The card's service worker: lets /card/offline load with no network. It keeps
// the page and the files it needs; the page itself holds no personal data (the
// credential lives in IndexedDB, the key in WebCrypto). Network first for the
// page, so an online visit always gets the current one.
'use strict';

var CACHE = 'shengshi-card-v1';
var FILES = [
  '/card/offline',
  '/static/app.css',
  '/static/holder.js',
  '/static/vendor/qrcode-generator-2.0.4.js',
  '/static/favicon.svg'
];

self.addEventListener('install', function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.addAll(FILES); }));
  self.skipWaiting();
});

self.addEventListener('activate', function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n !== CACHE; }).map(function (n) {
      return caches.delete(n);
    }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener('fetch', function (event) {
  var url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname === '/card/offline') {
    event.respondWith(fetch(event.request).then(function (response) {
      if (response.ok && !response.redirected) {
        var copy = response.clone();
        caches.open(CACHE).then(function (cache) { cache.put('/card/offline', copy); });
      }
      return response;
    }).catch(function () {
      return caches.match('/card/offline');
    }));
    return;
  }
  if (FILES.indexOf(url.pathname) >= 0) {
    event.respondWith(caches.match(url.pathname).then(function (cached) {
      return cached || fetch(event.request);
    }));
  }
});
