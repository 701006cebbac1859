// The verifier desk (/desk): progressive enhancement of the plain form.
//
// Online: the organisation's API key stays in this browser's localStorage and
// is sent only to our verification API (same origin), as a bearer token.
// Input: a hardware scanner types into the focused code field and presses
// Enter (the form submits), paste, or the camera where BarcodeDetector exists.
//
// Offline: the desk verifies SS1 and SS2 codes itself with eid-verify.js
// against the signed trust list (opened with the trust root this page pins)
// and the status list it cached while online (docs/verifier-desk.md).
'use strict';

(function () {
  var desk = document.getElementById('desk');
  if (!desk || !window.ShengshiEid) return;
  var E = window.ShengshiEid;
  var T = JSON.parse(document.getElementById('desk-texts').textContent);
  var ROOT = desk.dataset.trustRoot || '';
  var KEY_STORE = 'shengshi-desk-api-key';
  var LISTS_STORE = 'shengshi-desk-lists';

  function fill(text, args) {
    return text.replace(/\{(\w+)\}/g, function (m, k) { return args[k] === undefined ? m : String(args[k]); });
  }

  function fail(code) {
    var e = new Error(code);
    e.code = code;
    return e;
  }

  /** Verifies a code against the cached lists as of `now` (seconds). */
  function verifyOffline(text, now) {
    var cached = loadLists();
    return E.verify(text, {
      trustList: cached ? E.fromB64(cached.trust) : null,
      statusList: cached && cached.status ? E.fromB64(cached.status) : null,
      root: ROOT,
      now: now,
    });
  }

  // ---------------------------------------------------------------------------
  // The cached lists

  function loadLists() {
    try { return JSON.parse(localStorage.getItem(LISTS_STORE) || 'null'); } catch (e) { return null; }
  }

  function fetchBytes(path) {
    return fetch(path, { cache: 'no-store' }).then(function (r) {
      if (!r.ok) throw fail('network');
      return r.arrayBuffer();
    }).then(function (b) { return new Uint8Array(b); });
  }

  /** Fetches both lists, keeps them only if they open under the pinned root. */
  function refreshLists() {
    var now = Math.floor(Date.now() / 1000);
    return Promise.all([fetchBytes('/.well-known/eid/trust-list'), fetchBytes('/eid/status/1')]).then(function (got) {
      return E.openTrustList(got[0], ROOT, now).then(function (trust) {
        return E.openStatusList(got[1], trust, now).then(function () {
          localStorage.setItem(LISTS_STORE, JSON.stringify({ trust: E.b64(got[0]), status: E.b64(got[1]) }));
        });
      });
    }).then(showLists, function () { showLists(); });
  }

  function when(seconds) {
    return new Date(seconds * 1000).toLocaleString(document.documentElement.lang);
  }

  function showLists() {
    var out = document.getElementById('desk-lists');
    var cached = loadLists();
    if (!cached) { out.textContent = T.lists_none; return Promise.resolve(); }
    return E.openTrustList(E.fromB64(cached.trust), ROOT, null).then(function (trust) {
      return E.openStatusList(E.fromB64(cached.status), trust, Math.floor(Date.now() / 1000)).then(function (status) {
        out.textContent = fill(T.lists_state, { trust: when(trust.exp), status: when(status.iat) });
      });
    }).catch(function () { out.textContent = T.lists_none; });
  }

  // ---------------------------------------------------------------------------
  // The page

  var form = document.getElementById('desk-form');
  var codeInput = document.getElementById('code');
  var keyInput = document.getElementById('api_key');
  var keyField = document.getElementById('desk-key-field');
  var keyState = document.getElementById('desk-key-state');
  var verdict = document.getElementById('desk-verdict');
  var offlineBox = document.getElementById('desk-offline');

  function storedKey() {
    try { return localStorage.getItem(KEY_STORE) || ''; } catch (e) { return ''; }
  }

  function showKeyState() {
    var has = !!storedKey();
    keyField.hidden = has;
    keyState.hidden = !has;
    document.getElementById('desk-key-text').textContent = has ? T.key_saved : '';
  }

  function el(tag, className, text) {
    var e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function reasonText(code) {
    if (T['reason.' + code]) return T['reason.' + code];
    if (/^(cbor_|decompression_)/.test(code) || code === 'bad_base45' || code === 'wrong_type') return T['reason.malformed'];
    return fill(T.reason_other, { code: code });
  }

  /** Shows a verdict: kind valid | refused | unknown; lines of text; attributes. */
  function show(kind, lines, result, portraitSrc) {
    verdict.textContent = '';
    var box = el('div', 'verdict verdict-' + kind);
    var word = el('p', 'verdict-word', T[kind] + ' ');
    var other = el('span', 'verdict-other', T['other.' + kind]);
    other.lang = T.other_lang;
    word.appendChild(other);
    box.appendChild(word);
    lines.forEach(function (line) { box.appendChild(el('p', 'verdict-reason', line)); });
    if (result) {
      box.appendChild(el('p', null, T.purpose + ' ' + (T['purpose.' + result.purpose] || result.purpose)));
      if (portraitSrc) {
        var img = el('img', 'desk-portrait');
        img.alt = T.portrait_alt;
        img.src = portraitSrc;
        box.appendChild(img);
      }
      var dl = el('dl', 'desk-attributes');
      ['name', 'id_number', 'sex', 'birth_date', 'address', 'age_over_18', 'portrait_digest'].forEach(function (name) {
        var v = result.disclosed[name];
        if (v === undefined || v === null) return;
        if (typeof v === 'boolean') v = v ? T.yes : T.no;
        if (name === 'sex') v = T[v] || v;
        var row = el('div');
        row.appendChild(el('dt', null, T['attr.' + name]));
        row.appendChild(el('dd', null, String(v)));
        dl.appendChild(row);
      });
      if (dl.childNodes.length) box.appendChild(dl);
    }
    verdict.appendChild(box);
    verdict.focus();
  }

  function checkOffline(text) {
    var now = Math.floor(Date.now() / 1000);
    return verifyOffline(text, now).then(function (result) {
      var lines = [T.checked_offline, T.offline_no_single_use];
      var ageMinutes = Math.floor((now - result.status.iat) / 60);
      if (now - result.status.iat > result.status.ttl) lines.push(fill(T.status_old, { minutes: ageMinutes }));
      show('valid', lines, result, null);
    }, function (e) {
      var code = (e && e.code) || 'malformed';
      if (code === 'status_stale' || code === 'status_unknown') {
        show('unknown', [reasonText(code), T.checked_offline], e.result || null, null);
      } else {
        show('refused', [reasonText(code), T.checked_offline], null, null);
      }
    });
  }

  function problemReason(problem) {
    var type = (problem && problem.type) || '';
    var slug = type.replace('urn:shengshi:problem:', '');
    if (slug === 'verification-code-invalid') return (problem.errors && problem.errors[0] && problem.errors[0].code) || 'malformed';
    return {
      'verifier-unauthenticated': 'unauthenticated',
      'verifier-rate-limited': 'rate_limited',
      'verifier-suspended': 'verifier_suspended',
      'verifier-purpose-not-allowed': 'purpose_not_allowed',
      'verification-already-used': 'already_used',
    }[slug] || 'network';
  }

  function portraitOf(url, key) {
    return fetch(url, { headers: { Authorization: 'Bearer ' + key }, cache: 'no-store' }).then(function (r) {
      if (!r.ok) return null;
      return r.blob().then(function (blob) {
        // The CSP allows data: images, not blob: ones.
        return new Promise(function (resolve) {
          var reader = new FileReader();
          reader.onload = function () { resolve(reader.result); };
          reader.onerror = function () { resolve(null); };
          reader.readAsDataURL(blob);
        });
      });
    }).catch(function () { return null; });
  }

  function checkOnline(text, key) {
    return fetch('/api/v1/verifier/verifications', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + key, 'Accept-Language': document.documentElement.lang },
      body: JSON.stringify({ code: text }),
      cache: 'no-store',
    }).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (body) {
        if (r.ok && body && body.verdict === 'valid') {
          var result = { purpose: body.purpose, disclosed: body.attributes };
          var portrait = body.portrait ? portraitOf(body.portrait.url, key) : Promise.resolve(null);
          return portrait.then(function (src) { show('valid', [T.checked_online], result, src); });
        }
        if (r.status >= 500) throw fail('network');
        show('refused', [reasonText(problemReason(body))], null, null);
        if (r.status === 401) {
          localStorage.removeItem(KEY_STORE);
          showKeyState();
        }
      });
    });
  }

  function submit(event) {
    event.preventDefault();
    var text = codeInput.value.trim();
    if (!storedKey() && keyInput.value.trim()) {
      var typed = keyInput.value.trim();
      if (typed.indexOf('svk_') !== 0) {
        show('refused', [T.key_bad], null, null);
        return;
      }
      localStorage.setItem(KEY_STORE, typed);
      keyInput.value = '';
      showKeyState();
    }
    if (!text) { codeInput.focus(); return; }
    codeInput.value = '';
    verdict.textContent = T.working;
    var key = storedKey();
    var offline = offlineBox.checked || navigator.onLine === false;
    var done;
    if (offline) {
      done = checkOffline(text);
    } else if (!key) {
      show('refused', [T.key_missing], null, null);
      done = Promise.resolve();
    } else {
      done = checkOnline(text, key).catch(function () { return checkOffline(text); });
    }
    done.then(function () { codeInput.focus(); });
  }

  form.addEventListener('submit', submit);
  document.getElementById('desk-key-forget').addEventListener('click', function () {
    localStorage.removeItem(KEY_STORE);
    showKeyState();
    keyInput.focus();
  });
  document.getElementById('desk-refresh').addEventListener('click', refreshLists);
  document.getElementById('desk-offline-section').hidden = false;
  showKeyState();
  if (navigator.onLine !== false) refreshLists(); else showLists();
  window.addEventListener('online', refreshLists);

  // The camera, where the browser can read QR codes.
  var cameraButton = document.getElementById('desk-camera');
  if ('BarcodeDetector' in window && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    cameraButton.hidden = false;
    cameraButton.addEventListener('click', function () {
      var video = document.getElementById('desk-video');
      var detector = new window.BarcodeDetector({ formats: ['qr_code'] });
      navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } }).then(function (stream) {
        video.srcObject = stream;
        video.hidden = false;
        return video.play().then(function () {
          return new Promise(function (resolve) {
            function look() {
              detector.detect(video).then(function (found) {
                if (found.length) resolve(found[0].rawValue); else setTimeout(look, 200);
              }, function () { setTimeout(look, 200); });
            }
            look();
          });
        }).then(function (text) {
          stream.getTracks().forEach(function (t) { t.stop(); });
          video.hidden = true;
          codeInput.value = text;
          form.requestSubmit();
        });
      }).catch(function () { show('refused', [T.camera_failed], null, null); });
    });
  }

  // Keep the page for offline use.
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/desk/sw.js', { scope: '/desk' }).catch(function () {});
  }
})();
