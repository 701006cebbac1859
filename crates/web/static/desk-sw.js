// The verifier desk's service worker: lets /desk load with no network. It keeps
// the page and the files it needs; the page holds no personal data (the API key
// and the signed lists live in the browser's storage). Network first for the
// page, so an online visit always gets the current one; the API is never cached.
'use strict';

var CACHE = 'shengshi-desk-v1';
var FILES = [
  '/desk',
  '/static/app.css',
  '/static/desk.js',
  '/static/eid-verify.js',
  '/static/favicon.svg'
];

self.addEventListener('install', function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.addAll(FILES); }));
  self.skipWaiting();
});

self.addEventListener('activate', function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) {
      return n.indexOf('shengshi-desk-') === 0 && n !== CACHE;
    }).map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener('fetch', function (event) {
  var url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname === '/desk') {
    event.respondWith(fetch(event.request).then(function (response) {
      if (response.ok && !response.redirected) {
        var copy = response.clone();
        caches.open(CACHE).then(function (cache) { cache.put('/desk', copy); });
      }
      return response;
    }).catch(function () {
      return caches.match('/desk');
    }));
    return;
  }
  if (FILES.indexOf(url.pathname) >= 0) {
    event.respondWith(fetch(event.request).catch(function () {
      return caches.match(url.pathname);
    }));
  }
});
