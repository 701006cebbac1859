// The holder-bound card (docs/eid-format.md, "Holder-bound codes"): works with
// no network. The phone keeps a P-256 key that cannot leave the browser
// (WebCrypto, non-extractable, in IndexedDB) and a credential the platform
// issued for that key. Every 30 seconds it signs a code that lives 60 seconds
// and discloses only the chosen purpose's attributes. It keeps a log of the
// codes it made and uploads it when online, so the resident's access log
// lists them. A service worker (/card/sw.js) lets this page load offline.
(function () {
  'use strict';

  var root = document.getElementById('holder');
  if (!root || !window.indexedDB || !window.crypto || !crypto.subtle || typeof qrcode !== 'function') {
    return;
  }
  var lang = document.documentElement.lang === 'en' ? 'en' : 'zh-CN';
  var TEXT = {
    'zh-CN': {
      preparing: '正在准备离线身份码…',
      ready: '离线身份码已就绪，无网络也能使用。',
      offline: '当前无网络：身份码仍然有效。',
      noCard: '请先在联网时开通电子身份证。',
      failed: '无法准备离线身份码，请联网后重试。',
      expired: '离线凭证已过期，请联网更新。',
      left: '剩余有效时间 {s} 秒',
      until: '离线凭证有效期至 {d}'
    },
    en: {
      preparing: 'Preparing offline codes…',
      ready: 'Offline codes are ready; they work without a network.',
      offline: 'No network: your codes still work.',
      noCard: 'Activate your card first, while online.',
      failed: 'Could not prepare offline codes. Go online and try again.',
      expired: 'The offline credential has expired. Go online to renew it.',
      left: 'Valid for {s} more seconds',
      until: 'Offline credential valid until {d}'
    }
  }[lang];

  var figure = document.getElementById('eid-live');
  var statusLine = document.getElementById('holder-status');
  var countdown = document.getElementById('eid-countdown');
  var validity = document.getElementById('holder-validity');
  var canvas = document.createElement('canvas');
  canvas.className = 'eid-qr-image';
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', figure.dataset.alt || '');

  // Purposes and their attribute keys (docs/eid-format.md).
  var PURPOSES = {
    hotel_checkin: { code: 1, keys: [1, 2, 6] },
    travel_security: { code: 2, keys: [1, 2, 6] },
    age_over_18: { code: 3, keys: [7] },
    identity_full: { code: 4, keys: [1, 2, 3, 4, 5, 6] }
  };
  var CATEGORIES = { hotel: 1, railway: 2, airport: 3, bank: 4, government: 5, retail: 6 };
  var RENEW_BEFORE_MS = 2 * 24 * 3600 * 1000;
  var P256_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

  // ---- CBOR (RFC 8949), only what the device payload needs ----------------
  function head(major, n) {
    if (n < 24) return [(major << 5) | n];
    if (n < 0x100) return [(major << 5) | 24, n];
    if (n < 0x10000) return [(major << 5) | 25, n >> 8, n & 0xff];
    if (n < 0x100000000) return [(major << 5) | 26, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
    var big = BigInt(n);
    var bytes = [(major << 5) | 27];
    for (var i = 7; i >= 0; i -= 1) bytes.push(Number((big >> BigInt(8 * i)) & BigInt(0xff)));
    return bytes;
  }
  function concat(parts) {
    var length = parts.reduce(function (sum, p) { return sum + p.length; }, 0);
    var out = new Uint8Array(length);
    var offset = 0;
    parts.forEach(function (p) { out.set(p, offset); offset += p.length; });
    return out;
  }
  // Values: integers, Uint8Array (bstr), strings, arrays, {map: [[k, v], …]}, {tag, value}.
  function cbor(value) {
    if (typeof value === 'number') {
      return Uint8Array.from(value >= 0 ? head(0, value) : head(1, -1 - value));
    }
    if (value instanceof Uint8Array) return concat([Uint8Array.from(head(2, value.length)), value]);
    if (typeof value === 'string') {
      var utf8 = new TextEncoder().encode(value);
      return concat([Uint8Array.from(head(3, utf8.length)), utf8]);
    }
    if (Array.isArray(value)) {
      return concat([Uint8Array.from(head(4, value.length))].concat(value.map(cbor)));
    }
    if (value.map) {
      var parts = [Uint8Array.from(head(5, value.map.length))];
      value.map.forEach(function (entry) { parts.push(cbor(entry[0]), cbor(entry[1])); });
      return concat(parts);
    }
    if (value.tag !== undefined) return concat([Uint8Array.from(head(6, value.tag)), cbor(value.value)]);
    throw new Error('cannot encode');
  }

  // ---- small helpers --------------------------------------------------------
  var ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';
  function base45(bytes) {
    var out = '';
    for (var i = 0; i < bytes.length; i += 2) {
      if (i + 1 < bytes.length) {
        var n = bytes[i] * 256 + bytes[i + 1];
        out += ALPHABET[n % 45] + ALPHABET[Math.floor(n / 45) % 45] + ALPHABET[Math.floor(n / 2025)];
      } else {
        out += ALPHABET[bytes[i] % 45] + ALPHABET[Math.floor(bytes[i] / 45)];
      }
    }
    return out;
  }
  function fromBase64url(text) {
    var b64 = text.replace(/-/g, '+').replace(/_/g, '/');
    var raw = atob(b64 + '==='.slice((b64.length + 3) % 4));
    return Uint8Array.from(raw, function (c) { return c.charCodeAt(0); });
  }
  function toBase64url(bytes) {
    var raw = '';
    bytes.forEach(function (b) { raw += String.fromCharCode(b); });
    return btoa(raw).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  function hex(bytes) {
    return Array.from(bytes, function (b) { return b.toString(16).padStart(2, '0'); }).join('');
  }
  async function zlib(bytes) {
    if (typeof CompressionStream !== 'function') return null;
    var stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream('deflate'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }
  // WebCrypto signs r||s; COSE verifiers here require the low-S form.
  function lowS(signature) {
    var s = BigInt('0x' + hex(signature.slice(32)));
    if (s <= P256_N >> BigInt(1)) return signature;
    var flipped = (P256_N - s).toString(16).padStart(64, '0');
    var out = new Uint8Array(64);
    out.set(signature.slice(0, 32));
    for (var i = 0; i < 32; i += 1) out[32 + i] = parseInt(flipped.substr(i * 2, 2), 16);
    return out;
  }

  // ---- IndexedDB: the key, the credential, the counter, the log -------------
  function openDb() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open('shengshi-eid-holder', 1);
      request.onupgradeneeded = function () { request.result.createObjectStore('state'); };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }
  function idb(db, mode, action) {
    return new Promise(function (resolve, reject) {
      var tx = db.transaction('state', mode);
      var result = action(tx.objectStore('state'));
      tx.oncomplete = function () { resolve(result && result.result); };
      tx.onerror = function () { reject(tx.error); };
    });
  }
  function get(db, key) { return idb(db, 'readonly', function (s) { return s.get(key); }); }
  function put(db, key, value) { return idb(db, 'readwrite', function (s) { return s.put(value, key); }); }

  // ---- credential ------------------------------------------------------------
  async function deviceKey(db) {
    var keys = await get(db, 'keys');
    if (keys) return keys;
    keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
    await put(db, 'keys', keys);
    return keys;
  }

  async function renew(db) {
    var keys = await deviceKey(db);
    var raw = new Uint8Array(await crypto.subtle.exportKey('raw', keys.publicKey));
    var sent = Date.now();
    var response = await fetch('/api/v1/eid/card/holder-credentials', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'Accept-Language': lang },
      body: JSON.stringify({
        device_key: { x: toBase64url(raw.slice(1, 33)), y: toBase64url(raw.slice(33, 65)) },
        device_time_ms: sent
      })
    });
    if (response.status === 404 || response.status === 401 || response.status === 403) return 'no-card';
    if (!response.ok) throw new Error('HTTP ' + response.status);
    var body = await response.json();
    var received = Date.now();
    var credential = {
      credential: fromBase64url(body.credential),
      items: body.items.map(function (i) { return { key: i.key, item: fromBase64url(i.item) }; }),
      expiresAt: Date.parse(body.expires_at),
      // The device clock's offset from the platform's, measured now.
      offsetMs: body.server_time_ms - Math.round((sent + received) / 2)
    };
    await put(db, 'credential', credential);
    return credential;
  }

  async function uploadLog(db) {
    var log = (await get(db, 'log')) || [];
    var pending = log.filter(function (e) { return !e.uploaded; });
    if (!pending.length) return;
    var response = await fetch('/api/v1/eid/card/offline-presentations', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ presentations: pending.map(function (e) {
        return { id: e.id, purpose: e.purpose, category: e.category, issued_at: e.iat, counter: e.counter };
      }) })
    });
    if (!response.ok) return;
    var sentIds = pending.map(function (e) { return e.id; });
    log.forEach(function (e) { if (sentIds.indexOf(e.id) >= 0) e.uploaded = true; });
    // Keep the last 200 entries: the device's own record, for the resident.
    await put(db, 'log', log.slice(-200));
  }

  // ---- codes -----------------------------------------------------------------
  async function makeCode(db, state, purposeName, categoryName) {
    var purpose = PURPOSES[purposeName];
    var counter = ((await get(db, 'counter')) || 0) + 1;
    await put(db, 'counter', counter);
    var cti = crypto.getRandomValues(new Uint8Array(16));
    var iat = Math.floor((Date.now() + state.credential.offsetMs) / 1000);
    var disclosures = state.credential.items
      .filter(function (i) { return purpose.keys.indexOf(i.key) >= 0; })
      .map(function (i) { return i.item; });
    var payload = cbor({ map: [
      [1, state.credential.credential],
      [2, purpose.code],
      [3, CATEGORIES[categoryName]],
      [4, iat],
      [5, iat + 60],
      [6, counter],
      [7, cti],
      [8, disclosures]
    ] });
    var protectedHeader = cbor({ map: [[1, -7]] });
    var toSign = cbor(['Signature1', protectedHeader, new Uint8Array(0), payload]);
    var signature = lowS(new Uint8Array(await crypto.subtle.sign(
      { name: 'ECDSA', hash: 'SHA-256' }, state.keys.privateKey, toSign)));
    var cose = cbor({ tag: 18, value: [protectedHeader, { map: [] }, payload, signature] });
    var compressed = await zlib(cose);
    var body = compressed && compressed.length < cose.length ? compressed : cose;
    var log = (await get(db, 'log')) || [];
    log.push({ id: hex(cti), purpose: purposeName, category: categoryName, iat: iat, counter: counter, uploaded: false });
    await put(db, 'log', log.slice(-500));
    return { text: 'SS2:' + base45(body), expires: (iat + 60) * 1000 - state.credential.offsetMs };
  }

  function draw(text) {
    var qr = qrcode(0, 'M');
    qr.addData(text, 'Alphanumeric');
    qr.make();
    var modules = qr.getModuleCount();
    var scale = Math.max(2, Math.floor(640 / (modules + 8)));
    var size = (modules + 8) * scale;
    canvas.width = size;
    canvas.height = size;
    var ctx = canvas.getContext('2d');
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, size, size);
    ctx.fillStyle = '#000000';
    for (var row = 0; row < modules; row += 1) {
      for (var col = 0; col < modules; col += 1) {
        if (qr.isDark(row, col)) ctx.fillRect((col + 4) * scale, (row + 4) * scale, scale, scale);
      }
    }
    figure.dataset.code = text;
    if (!canvas.parentNode) figure.insertBefore(canvas, figure.firstChild);
  }

  async function start() {
    statusLine.textContent = TEXT.preparing;
    var db = await openDb();
    var credential = await get(db, 'credential');
    var keys = await get(db, 'keys');
    var online = navigator.onLine;
    if (online && (!credential || !keys || credential.expiresAt - Date.now() < RENEW_BEFORE_MS)) {
      try {
        var renewed = await renew(db);
        if (renewed === 'no-card') {
          statusLine.textContent = TEXT.noCard;
          return;
        }
        credential = renewed;
        keys = await get(db, 'keys');
      } catch (e) {
        if (!credential) {
          statusLine.textContent = TEXT.failed;
          return;
        }
      }
    }
    if (!credential || !keys) {
      statusLine.textContent = online ? TEXT.failed : TEXT.noCard;
      return;
    }
    if (credential.expiresAt <= Date.now() + credential.offsetMs) {
      statusLine.textContent = TEXT.expired;
      return;
    }
    var state = { credential: credential, keys: keys };
    statusLine.textContent = online ? TEXT.ready : TEXT.offline;
    validity.textContent = TEXT.until.replace('{d}', new Date(credential.expiresAt).toLocaleString(lang));
    if (online) uploadLog(db).catch(function () {});

    var purpose = root.dataset.purpose;
    var category = root.dataset.category;
    var expires = 0;
    async function refresh() {
      var code = await makeCode(db, state, purpose, category);
      expires = code.expires;
      draw(code.text);
      tick();
    }
    function tick() {
      var left = Math.round((expires - Date.now()) / 1000);
      countdown.textContent = TEXT.left.replace('{s}', String(Math.max(0, left)));
    }
    root.querySelectorAll('[data-choose-purpose]').forEach(function (button) {
      button.addEventListener('click', function () {
        purpose = button.dataset.choosePurpose;
        category = button.dataset.chooseCategory;
        root.querySelectorAll('[data-choose-purpose]').forEach(function (b) {
          b.setAttribute('aria-pressed', b === button ? 'true' : 'false');
        });
        refresh();
      });
    });
    window.addEventListener('online', function () {
      statusLine.textContent = TEXT.ready;
      uploadLog(db).catch(function () {});
    });
    window.addEventListener('offline', function () { statusLine.textContent = TEXT.offline; });
    await refresh();
    setInterval(tick, 1000);
    setInterval(function () {
      refresh();
      if (navigator.onLine) uploadLog(db).catch(function () {});
    }, 30000);
  }

  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/card/sw.js', { scope: '/card/' }).catch(function () {});
  }
  start().catch(function () { statusLine.textContent = TEXT.failed; });
}());
