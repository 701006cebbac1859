// Offline verification of Shengshi e-ID codes in the browser, mirroring
// shengshi_eid::verify_presentation step by step (docs/eid-format.md §3–§6,
// §10; the desk's limits are in docs/verifier-desk.md): base45, bounded zlib
// inflate (DecompressionStream), a small CBOR decoder with the format's rules,
// COSE_Sign1 and its Sig_structure, strict Ed25519 and ECDSA P-256 signatures
// with WebCrypto (raw r||s, low S), the trust list signed by a pinned trust
// root, and the status list. SM2 fails closed (WebCrypto has no SM2).
//
// ShengshiEid.verify(text, { trustList, statusList, root, now, expectedPurpose })
// resolves to { mode, purpose, disclosed, cti, status } or rejects with an
// Error whose `code` is the format's error code (plus `status_stale` for a
// status list past its exp or older than 24 h, a kind of status_unknown, and
// `sm2_unsupported`, `no_lists`).
'use strict';

(function (global) {
  var SKEW = 30; // seconds, the format's default policy
  var MAX_STATUS_AGE = 86400; // seconds, the format's default policy
  var MAX_TEXT = 4096;
  var MAX_INFLATED = 8192;
  var MAX_LIST_INFLATED = 16 * 1024 * 1024;

  // ---------------------------------------------------------------------------
  // Bytes

  function hex(bytes) {
    var s = '';
    for (var i = 0; i < bytes.length; i += 1) s += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
    return s;
  }
  function fromHex(text) {
    var out = new Uint8Array(text.length / 2);
    for (var i = 0; i < out.length; i += 1) out[i] = parseInt(text.substr(i * 2, 2), 16);
    return out;
  }
  function b64(bytes) {
    var s = '';
    for (var i = 0; i < bytes.length; i += 1) s += String.fromCharCode(bytes[i]);
    return btoa(s);
  }
  function fromB64(text) {
    var s = atob(text);
    var out = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i += 1) out[i] = s.charCodeAt(i);
    return out;
  }
  function fromB64url(text) {
    if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text)) throw fail('wrong_type');
    var s = text.replace(/-/g, '+').replace(/_/g, '/');
    while (s.length % 4) s += '=';
    return fromB64(s);
  }
  function equal(a, b) {
    if (a.length !== b.length) return false;
    for (var i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
    return true;
  }
  function concat(parts) {
    var n = 0;
    parts.forEach(function (p) { n += p.length; });
    var out = new Uint8Array(n);
    var at = 0;
    parts.forEach(function (p) { out.set(p, at); at += p.length; });
    return out;
  }
  function bigOf(bytes) {
    return bytes.length ? BigInt('0x' + hex(bytes)) : 0n;
  }
  function sha256(bytes) {
    return crypto.subtle.digest('SHA-256', bytes).then(function (d) { return new Uint8Array(d); });
  }

  function fail(code) {
    var e = new Error(code);
    e.code = code;
    return e;
  }

  // ---------------------------------------------------------------------------
  // base45 (RFC 9285)

  var B45 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';
  function base45(text) {
    if (text.length % 3 === 1) throw fail('bad_base45');
    var out = [];
    for (var i = 0; i < text.length; i += 3) {
      var chunk = text.substr(i, 3);
      var v = 0;
      for (var j = chunk.length - 1; j >= 0; j -= 1) {
        var d = B45.indexOf(chunk[j]);
        if (d < 0) throw fail('bad_base45');
        v = v * 45 + d;
      }
      if (chunk.length === 3) {
        if (v > 65535) throw fail('bad_base45');
        out.push(v >> 8, v & 255);
      } else {
        if (v > 255) throw fail('bad_base45');
        out.push(v);
      }
    }
    return new Uint8Array(out);
  }

  // ---------------------------------------------------------------------------
  // Bounded zlib inflate: stops reading beyond `max` bytes.

  function inflate(bytes, max, bombCode, failCode) {
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate'));
    var reader = stream.getReader();
    var chunks = [];
    var total = 0;
    function next() {
      return reader.read().then(function (r) {
        if (r.done) return concat(chunks);
        total += r.value.length;
        if (total > max) {
          reader.cancel().catch(function () {});
          throw fail(bombCode);
        }
        chunks.push(r.value);
        return next();
      });
    }
    return next().catch(function (e) {
      if (e && e.code === bombCode) throw e;
      throw fail(failCode);
    });
  }

  // ---------------------------------------------------------------------------
  // A small CBOR decoder with the rules of §3.2: definite lengths only, one
  // item, nesting ≤ 16, UTF-8 text, unique map keys. Maps become JS Maps keyed
  // by numbers or strings; byte strings Uint8Array; tags {tag, value}.

  var utf8 = new TextDecoder('utf-8', { fatal: true });
  function cbor(bytes) {
    var at = 0;
    function need(n) { if (n > bytes.length - at) throw fail('cbor_malformed'); }
    function head() {
      need(1);
      var b = bytes[at++];
      var major = b >> 5;
      var info = b & 31;
      var n;
      if (info < 24) n = info;
      else if (info === 24) { need(1); n = bytes[at++]; }
      else if (info === 25) { need(2); n = (bytes[at] << 8) | bytes[at + 1]; at += 2; }
      else if (info === 26) { need(4); n = ((bytes[at] << 24) >>> 0) + (bytes[at + 1] << 16) + (bytes[at + 2] << 8) + bytes[at + 3]; at += 4; }
      else if (info === 27) {
        need(8);
        var hi = ((bytes[at] << 24) >>> 0) + (bytes[at + 1] << 16) + (bytes[at + 2] << 8) + bytes[at + 3];
        var lo = ((bytes[at + 4] << 24) >>> 0) + (bytes[at + 5] << 16) + (bytes[at + 6] << 8) + bytes[at + 7];
        at += 8;
        if (hi >= 0x200000) throw fail('cbor_malformed'); // beyond 2^53: nothing we read is that large
        n = hi * 4294967296 + lo;
      } else throw fail('cbor_malformed'); // 28–30 reserved, 31 indefinite
      return { major: major, info: info, n: n };
    }
    function item(depth) {
      var h = head();
      switch (h.major) {
        case 0: return h.n;
        case 1: return -1 - h.n;
        case 2: need(h.n); at += h.n; return bytes.slice(at - h.n, at);
        case 3:
          need(h.n); at += h.n;
          try { return utf8.decode(bytes.subarray(at - h.n, at)); } catch (e) { throw fail('cbor_malformed'); }
        case 4: {
          if (depth >= 16) throw fail('cbor_too_deep');
          need(h.n); // each element takes at least one byte
          var arr = [];
          for (var i = 0; i < h.n; i += 1) arr.push(item(depth + 1));
          return arr;
        }
        case 5: {
          if (depth >= 16) throw fail('cbor_too_deep');
          need(h.n * 2);
          var map = new Map();
          for (var k = 0; k < h.n; k += 1) {
            var key = item(depth + 1);
            var value = item(depth + 1);
            if (typeof key !== 'number' && typeof key !== 'string') key = 'other:' + k;
            if (map.has(key)) throw fail('cbor_malformed');
            map.set(key, value);
          }
          return map;
        }
        case 6:
          if (depth >= 16) throw fail('cbor_too_deep');
          return { tag: h.n, value: item(depth + 1) };
        default:
          if (h.info === 20) return false;
          if (h.info === 21) return true;
          if (h.info === 22) return null;
          if (h.info === 25 || h.info === 26 || h.info === 27) return { float: true };
          return { simple: h.n };
      }
    }
    var value = item(0);
    if (at !== bytes.length) throw fail('cbor_malformed');
    return value;
  }

  function isMap(v) { return v instanceof Map; }
  function isBytes(v) { return v instanceof Uint8Array; }
  function isInt(v) { return typeof v === 'number' && Number.isInteger(v); }
  function isUint(v) { return isInt(v) && v >= 0; }

  /** Takes `key` out of a map (so that what is left can be refused). */
  function take(map, key) {
    var v = map.get(key);
    map.delete(key);
    return v;
  }

  // ---------------------------------------------------------------------------
  // COSE_Sign1 (§3.3): tag 18, 4 elements, protected header of exactly the
  // labels given, empty unprotected header.

  function sign1(bytes, labels) {
    var top = cbor(bytes);
    if (!top || top.tag !== 18) throw fail('wrong_type');
    var a = top.value;
    if (!Array.isArray(a) || a.length !== 4) throw fail('wrong_type');
    if (!isBytes(a[0])) throw fail('wrong_type');
    var header = cbor(a[0]);
    if (!isMap(header)) throw fail('wrong_type');
    var alg = header.get(1);
    if (alg === undefined) throw fail('wrong_type');
    if (!isInt(alg)) throw fail('unsupported_algorithm');
    var ok = true;
    header.forEach(function (v, k) { if (labels.indexOf(k) < 0) ok = false; });
    if (!ok) throw fail('wrong_type');
    var kid = header.get(4);
    if (labels.indexOf(4) >= 0 && !isBytes(kid)) throw fail('wrong_type');
    if (!isMap(a[1]) || a[1].size !== 0) throw fail('wrong_type');
    if (!isBytes(a[2]) || !isBytes(a[3])) throw fail('wrong_type');
    return { protectedBytes: a[0], header: header, alg: alg, kid: kid, payload: a[2], signature: a[3] };
  }

  function sigStructure(protectedBytes, payload) {
    function bstrHead(n) {
      if (n < 24) return [0x40 + n];
      if (n < 256) return [0x58, n];
      if (n < 65536) return [0x59, n >> 8, n & 255];
      return [0x5a, (n >>> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255];
    }
    var label = new TextEncoder().encode('Signature1');
    return concat([
      new Uint8Array([0x84, 0x6a]), label,
      new Uint8Array(bstrHead(protectedBytes.length)), protectedBytes,
      new Uint8Array([0x40]),
      new Uint8Array(bstrHead(payload.length)), payload,
    ]);
  }

  // ---------------------------------------------------------------------------
  // Keys and strict signatures (§2)

  var L = (1n << 252n) + 27742317777372353535851937790883648493n;
  var N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
  // Small-order Ed25519 points, canonical and not (ed25519-dalek's verify_strict
  // refuses them as keys and as R).
  var SMALL_ORDER = [
    '0100000000000000000000000000000000000000000000000000000000000000',
    '0100000000000000000000000000000000000000000000000000000000000080',
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
    '0000000000000000000000000000000000000000000000000000000000000000',
    '0000000000000000000000000000000000000000000000000000000000000080',
    'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
    'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
    '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
    '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
    'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
    'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
  ];
  var ALG = { '-8': 'Ed25519', '-7': 'P-256', '-65537': 'SM2' };

  /** A public key: { algorithm, bytes, kid, crypto (a CryptoKey or null for SM2) }. */
  function importKey(algorithm, bytes) {
    return sha256(bytes).then(function (digest) {
      var key = { algorithm: algorithm, bytes: bytes, kid: digest.slice(0, 8), crypto: null };
      if (algorithm === 'SM2') {
        if (bytes.length !== 65 || bytes[0] !== 4) throw fail('wrong_type');
        return key; // kept so that its codes fail closed with a clear message
      }
      if (algorithm === 'Ed25519') {
        if (bytes.length !== 32 || SMALL_ORDER.indexOf(hex(bytes)) >= 0) throw fail('wrong_type');
        return crypto.subtle.importKey('raw', bytes, { name: 'Ed25519' }, false, ['verify'])
          .then(function (k) { key.crypto = k; return key; });
      }
      return crypto.subtle.importKey('raw', bytes, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify'])
        .then(function (k) { key.crypto = k; return key; });
    });
  }

  /** Resolves, or rejects with bad_signature / non_canonical_signature (or the given codes). */
  function verifySignature(key, message, signature, codes) {
    var bad = (codes && codes.bad) || 'bad_signature';
    var high = (codes && codes.high) || 'non_canonical_signature';
    if (key.algorithm === 'SM2') return Promise.reject(fail('sm2_unsupported'));
    if (signature.length !== 64) return Promise.reject(fail(bad));
    var params;
    if (key.algorithm === 'Ed25519') {
      var s = bigOf(signature.slice(32).reverse());
      if (s >= L) return Promise.reject(fail(high));
      if (SMALL_ORDER.indexOf(hex(signature.slice(0, 32))) >= 0) return Promise.reject(fail(bad));
      params = { name: 'Ed25519' };
    } else {
      var r = bigOf(signature.slice(0, 32));
      var s2 = bigOf(signature.slice(32));
      if (r < 1n || r >= N || s2 < 1n || s2 >= N) return Promise.reject(fail(bad));
      if (s2 > N / 2n) return Promise.reject(fail(high));
      params = { name: 'ECDSA', hash: 'SHA-256' };
    }
    return crypto.subtle.verify(params, key.crypto, signature, message).then(function (ok) {
      if (!ok) throw fail(bad);
    }, function () { throw fail(bad); });
  }

  // ---------------------------------------------------------------------------
  // The trust root this page pins, the signed trust list (§5) and the status
  // list token (§6).

  function pinnedRoot(text) {
    var m = /^ed25519:([0-9a-f]{64})$/.exec((text || '').trim());
    if (!m) return Promise.reject(fail('no_lists'));
    return importKey('Ed25519', fromHex(m[1]));
  }

  /** Opens the signed trust list: { iss, iat, exp, keys: [{kid, key, nbf, exp}] }. */
  function openTrustList(bytes, rootText, now) {
    return pinnedRoot(rootText).then(function (root) {
      var s = sign1(bytes, [1, 3, 4]);
      if (s.alg !== -8 || !isBytes(s.kid) || !equal(s.kid, root.kid)) throw fail('unknown_kid');
      if (s.header.get(3) !== 'application/jwk-set+json') throw fail('wrong_type');
      return verifySignature(root, sigStructure(s.protectedBytes, s.payload), s.signature).then(function () {
        var json = JSON.parse(utf8.decode(s.payload));
        if (typeof json.iss !== 'string' || !isInt(json.iat) || !isInt(json.exp) || json.iat >= json.exp) {
          throw fail('wrong_type');
        }
        if (now !== null && !(json.iat - 300 <= now && now < json.exp)) throw fail('no_lists');
        return Promise.all((json.keys || []).map(function (jwk) {
          var algorithm;
          var bytes;
          if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519' && jwk.alg === 'EdDSA') {
            algorithm = 'Ed25519';
            bytes = fromB64url(jwk.x);
          } else if (jwk.kty === 'EC' && (jwk.crv === 'P-256' && jwk.alg === 'ES256' || jwk.crv === 'SM2' && jwk.alg === 'SM2-SM3')) {
            algorithm = jwk.crv === 'SM2' ? 'SM2' : 'P-256';
            var x = fromB64url(jwk.x);
            var y = fromB64url(jwk.y);
            if (x.length !== 32 || y.length !== 32) throw fail('wrong_type');
            bytes = concat([new Uint8Array([4]), x, y]);
          } else {
            throw fail('wrong_type');
          }
          if (jwk.use !== 'sig' || !isInt(jwk.nbf) || !isInt(jwk.exp) || jwk.nbf > jwk.exp) throw fail('wrong_type');
          return importKey(algorithm, bytes).then(function (key) {
            if (!equal(fromB64url(jwk.kid), key.kid)) throw fail('wrong_type');
            return { kid: hex(key.kid), key: key, nbf: jwk.nbf, exp: jwk.exp };
          });
        })).then(function (keys) {
          var seen = {};
          keys.forEach(function (k) { if (seen[k.kid]) throw fail('wrong_type'); seen[k.kid] = true; });
          return { iss: json.iss, iat: json.iat, exp: json.exp, keys: keys };
        });
      });
    });
  }

  function findKey(trust, kid) {
    var h = hex(kid);
    for (var i = 0; i < trust.keys.length; i += 1) if (trust.keys[i].kid === h) return trust.keys[i];
    return null;
  }

  /** Opens a status list token: { uri, iat, exp, ttl, bits, list }. */
  function openStatusList(bytes, trust, now) {
    var s = sign1(bytes, [1, 4, 16]);
    if (s.header.get(16) !== 'application/statuslist+cwt') return Promise.reject(fail('wrong_type'));
    if (!ALG[String(s.alg)]) return Promise.reject(fail('unsupported_algorithm'));
    var entry = findKey(trust, s.kid);
    if (!entry) return Promise.reject(fail('unknown_kid'));
    if (entry.key.algorithm !== ALG[String(s.alg)]) return Promise.reject(fail('unsupported_algorithm'));
    return verifySignature(entry.key, sigStructure(s.protectedBytes, s.payload), s.signature).then(function () {
      var c = cbor(s.payload);
      if (!isMap(c)) throw fail('wrong_type');
      var uri = take(c, 2);
      var exp = take(c, 4);
      var iat = take(c, 6);
      var ttl = take(c, 65534);
      var sl = take(c, 65533);
      if (c.size || typeof uri !== 'string' || !isInt(iat) || !isInt(exp) || exp <= iat || !isUint(ttl) || !isMap(sl)) {
        throw fail('wrong_type');
      }
      if (!(entry.nbf <= iat && iat <= entry.exp)) throw fail('key_not_valid_at_iat');
      if (iat > now + 300) throw fail('issued_in_future');
      var bits = take(sl, 'bits');
      var lst = take(sl, 'lst');
      take(sl, 'aggregation_uri');
      if (sl.size || [1, 2, 4, 8].indexOf(bits) < 0 || !isBytes(lst)) throw fail('wrong_type');
      return inflate(lst, MAX_LIST_INFLATED, 'decompression_bomb', 'decompression_failed').then(function (list) {
        return { uri: uri, iat: iat, exp: exp, ttl: ttl, bits: bits, list: list };
      });
    });
  }

  function statusAt(status, index) {
    var entries = (status.list.length * 8) / status.bits;
    if (index >= entries) return null;
    var bitIndex = index * status.bits;
    var byte = status.list[Math.floor(bitIndex / 8)];
    return (byte >> (bitIndex % 8)) & ((1 << status.bits) - 1);
  }

  // ---------------------------------------------------------------------------
  // Purposes (§3.4)

  var PURPOSES = {
    1: { name: 'hotel_checkin', attrs: [1, 2, 6], categories: [1] },
    2: { name: 'travel_security', attrs: [1, 2, 6], categories: [2, 3] },
    3: { name: 'age_over_18', attrs: [7], categories: [1, 2, 3, 4, 5, 6] },
    4: { name: 'identity_full', attrs: [1, 2, 3, 4, 5, 6], categories: [4, 5] },
  };
  var ATTR_NAMES = { 1: 'name', 2: 'id_number', 3: 'sex', 4: 'birth_date', 5: 'address', 6: 'portrait_digest', 7: 'age_over_18', 8: 'age_over_60' };

  function fullDate(s) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
    return !!m && +m[2] >= 1 && +m[2] <= 12 && +m[3] >= 1 && +m[3] <= 31;
  }

  /** A value of attribute `key` of its type, or null. */
  function attrValue(key, v) {
    switch (key) {
      case 1: case 2: case 5: return typeof v === 'string' ? v : null;
      case 3: return v === 1 ? 'male' : v === 2 ? 'female' : null;
      case 4: return typeof v === 'string' && fullDate(v) ? v : null;
      case 6: return isBytes(v) && v.length === 32 ? hex(v) : null;
      case 7: case 8: return typeof v === 'boolean' ? v : null;
      default: return null;
    }
  }

  function statusRef(map) {
    if (!isMap(map)) throw fail('wrong_type');
    var list = take(map, 'status_list');
    if (map.size || !isMap(list)) throw fail('wrong_type');
    var idx = take(list, 'idx');
    var uri = take(list, 'uri');
    if (list.size || !isUint(idx) || idx > 0xffffffff || typeof uri !== 'string') throw fail('wrong_type');
    return { idx: idx, uri: uri };
  }

  // ---------------------------------------------------------------------------
  // Verification

  function decodeText(text, prefix) {
    if (text.length > MAX_TEXT) return Promise.reject(fail('too_large'));
    if (text.indexOf(prefix) !== 0) return Promise.reject(fail('bad_prefix'));
    var bytes;
    try { bytes = base45(text.slice(4)); } catch (e) { return Promise.reject(e); }
    if (bytes[0] === 0x78) return inflate(bytes, MAX_INFLATED, 'decompression_bomb', 'decompression_failed');
    if (bytes[0] === 0xd2) return Promise.resolve(bytes);
    return Promise.reject(fail('wrong_type'));
  }

  /** Step 3–4 of §4 and §10.3: algorithm, kid, strict issuer signature. */
  function checkIssuerSignature(s, trust) {
    var algorithm = ALG[String(s.alg)];
    if (!algorithm) return Promise.reject(fail('unsupported_algorithm'));
    var entry = s.kid.length === 8 ? findKey(trust, s.kid) : null;
    if (!entry) return Promise.reject(fail('unknown_kid'));
    if (entry.key.algorithm !== algorithm) return Promise.reject(fail('unsupported_algorithm'));
    return verifySignature(entry.key, sigStructure(s.protectedBytes, s.payload), s.signature)
      .then(function () { return entry; });
  }

  function checkStatus(result, ref, status, now) {
    result.statusIdx = ref.idx;
    if (!status || status.uri !== ref.uri) throw Object.assign(fail('status_unknown'), { result: result });
    if (now >= status.exp || now - status.iat > MAX_STATUS_AGE) {
      throw Object.assign(fail('status_stale'), { result: result });
    }
    var value = statusAt(status, ref.idx);
    if (value === 0) return result;
    if (value === 1) throw fail('revoked');
    if (value === 2) throw fail('suspended');
    throw Object.assign(fail('status_unknown'), { result: result });
  }

  function verifySS1(text, trust, status, now, expected) {
    return decodeText(text, 'SS1:').then(function (cose) {
      var s = sign1(cose, [1, 4]);
      return checkIssuerSignature(s, trust).then(function (entry) {
        var c = cbor(s.payload);
        if (!isMap(c)) throw fail('wrong_type');
        var iss = take(c, 1);
        var exp = take(c, 4);
        var iat = take(c, 6);
        var cti = take(c, 7);
        if (typeof iss !== 'string' || !isInt(exp) || !isInt(iat) || !isBytes(cti) || cti.length !== 16) throw fail('wrong_type');
        var ref = statusRef(take(c, 65535));
        var ours = take(c, -65537);
        if (c.size || !isMap(ours)) throw fail('wrong_type');
        var purpose = PURPOSES[take(ours, 1)];
        var category = take(ours, 2);
        var attrs = take(ours, 3);
        if (!purpose || !isUint(category) || category < 1 || category > 6 || !isMap(attrs) || ours.size) throw fail('wrong_type');
        var disclosed = {};
        var present = [];
        var outside = false;
        attrs.forEach(function (v, k) {
          if (!isInt(k) || k < 1 || k > 7) { outside = true; return; }
          var value = attrValue(k, v);
          if (value === null) throw fail('wrong_type');
          disclosed[ATTR_NAMES[k]] = value;
          present.push(k);
        });
        if (iss !== trust.iss) throw fail('issuer_mismatch');
        if (!(entry.nbf <= iat && iat <= entry.exp)) throw fail('key_not_valid_at_iat');
        if (exp - iat <= 0) throw fail('wrong_type');
        if (exp - iat > 60) throw fail('lifetime_too_long');
        if (iat > now + SKEW) throw fail('issued_in_future');
        if (now >= exp + SKEW) throw fail('expired');
        if (purpose.categories.indexOf(category) < 0) throw fail('purpose_category_not_allowed');
        if (outside || present.some(function (k) { return purpose.attrs.indexOf(k) < 0; })) {
          throw fail('attribute_outside_purpose');
        }
        purpose.attrs.forEach(function (k) { if (k !== 6 && present.indexOf(k) < 0) throw fail('wrong_type'); });
        if (expected && expected !== purpose.name) throw fail('purpose_mismatch');
        var result = { mode: 'issuer', purpose: purpose.name, disclosed: disclosed, cti: hex(cti) };
        return checkStatus(result, ref, status, now);
      });
    });
  }

  function verifySS2(text, trust, status, now, expected) {
    return decodeText(text, 'SS2:').then(function (cose) {
      var d = sign1(cose, [1]);
      if (d.alg !== -7) throw fail('unsupported_algorithm');
      var p = cbor(d.payload);
      if (!isMap(p)) throw fail('wrong_type');
      var credBytes = take(p, 1);
      var purpose = PURPOSES[take(p, 2)];
      var category = take(p, 3);
      var iat = take(p, 4);
      var exp = take(p, 5);
      var counter = take(p, 6);
      var cti = take(p, 7);
      var items = take(p, 8);
      if (!isBytes(credBytes) || !purpose || !isUint(category) || category < 1 || category > 6 || !isInt(iat) || !isInt(exp) ||
          !isUint(counter) || !isBytes(cti) || cti.length !== 16 || !Array.isArray(items) || !items.every(isBytes) || p.size) {
        throw fail('wrong_type');
      }
      var cs = sign1(credBytes, [1, 4]);
      return checkIssuerSignature(cs, trust).then(function (entry) {
        var c = cbor(cs.payload);
        if (!isMap(c)) throw fail('wrong_type');
        var ciss = take(c, 1);
        var cexp = take(c, 4);
        var ciat = take(c, 6);
        var ccti = take(c, 7);
        var cnf = take(c, 8);
        if (typeof ciss !== 'string' || !isInt(cexp) || !isInt(ciat) || !isBytes(ccti) || ccti.length !== 16 || cnf === undefined) {
          throw fail('wrong_type');
        }
        var ref = statusRef(take(c, 65535));
        var ours = take(c, -65538);
        if (!isMap(ours)) throw fail('wrong_type');
        var digestMap = take(ours, 1);
        if (!isMap(digestMap) || ours.size || c.size) throw fail('wrong_type');
        var digests = {};
        digestMap.forEach(function (v, k) {
          if (!isInt(k) || k < 1 || k > 8 || !isBytes(v) || v.length !== 32) throw fail('wrong_type');
          digests[k] = hex(v);
        });
        if (ciss !== trust.iss) throw fail('issuer_mismatch');
        if (!(entry.nbf <= ciat && ciat <= entry.exp)) throw fail('key_not_valid_at_iat');
        if (cexp - ciat <= 0) throw fail('wrong_type');
        if (cexp - ciat > 604800) throw fail('credential_lifetime_too_long');
        if (ciat > now + SKEW) throw fail('credential_issued_in_future');
        if (now > cexp + SKEW) throw fail('credential_expired');
        // The cnf key: {1: {1: 2, -1: 1, -2: x, -3: y}}, a point on P-256.
        var point = null;
        if (isMap(cnf) && cnf.size === 1 && isMap(cnf.get(1))) {
          var k = cnf.get(1);
          var x = k.get(-2);
          var y = k.get(-3);
          if (k.size === 4 && k.get(1) === 2 && k.get(-1) === 1 && isBytes(x) && x.length === 32 && isBytes(y) && y.length === 32) {
            point = concat([new Uint8Array([4]), x, y]);
          }
        }
        if (!point) throw fail('cnf_invalid');
        return importKey('P-256', point).catch(function () { throw fail('cnf_invalid'); }).then(function (device) {
          return verifySignature(device, sigStructure(d.protectedBytes, d.payload), d.signature,
            { bad: 'device_signature_invalid', high: 'device_signature_non_canonical' });
        }).then(function () {
          if (exp - iat <= 0) throw fail('wrong_type');
          if (exp - iat > 60) throw fail('lifetime_too_long');
          if (iat > now + SKEW) throw fail('issued_in_future');
          if (now > exp + SKEW) throw fail('expired');
          if (purpose.categories.indexOf(category) < 0) throw fail('purpose_category_not_allowed');
          if (expected && expected !== purpose.name) throw fail('purpose_mismatch');
          return Promise.all(items.map(sha256));
        }).then(function (itemDigests) {
          var disclosed = {};
          var seen = [];
          items.forEach(function (bytes, i) {
            var parts;
            try { parts = cbor(bytes); } catch (e) { throw fail('disclosure_malformed'); }
            if (!Array.isArray(parts) || parts.length !== 3 || !isBytes(parts[0]) || parts[0].length !== 16 ||
                !isUint(parts[1]) || parts[1] < 1 || parts[1] > 8) {
              throw fail('disclosure_malformed');
            }
            var key = parts[1];
            var value = attrValue(key, parts[2]);
            if (value === null) throw fail('disclosure_malformed');
            if (digests[key] !== hex(itemDigests[i])) throw fail('digest_mismatch');
            if (purpose.attrs.indexOf(key) < 0) throw fail('disclosure_outside_purpose');
            if (seen.indexOf(key) >= 0) throw fail('disclosure_duplicate');
            seen.push(key);
            disclosed[ATTR_NAMES[key]] = value;
          });
          purpose.attrs.forEach(function (k) {
            if ((k !== 6 || digests[6]) && seen.indexOf(k) < 0) throw fail('disclosure_missing');
          });
          var result = { mode: 'holder', purpose: purpose.name, disclosed: disclosed, cti: hex(cti), counter: counter };
          return checkStatus(result, ref, status, now);
        });
      });
    });
  }


  /** Verifies a code (SS1 or SS2) as of `options.now` (seconds). */
  function verify(text, options) {
    if (typeof text !== 'string') return Promise.reject(fail('bad_prefix'));
    if (text.length <= MAX_TEXT && text.indexOf('SS2:') !== 0 && text.indexOf('SS1:') !== 0) {
      return Promise.reject(fail('bad_prefix'));
    }
    if (!options.trustList) return Promise.reject(fail('no_lists'));
    var now = options.now;
    return openTrustList(options.trustList, options.root, now).then(function (trust) {
      var statusPromise = options.statusList
        ? openStatusList(options.statusList, trust, now).catch(function () { return null; })
        : Promise.resolve(null);
      return statusPromise.then(function (status) {
        var run = text.length <= MAX_TEXT && text.indexOf('SS2:') === 0 ? verifySS2 : verifySS1;
        return run(text, trust, status, now, options.expectedPurpose).then(function (result) {
          result.status = status;
          return result;
        });
      });
    });
  }

  global.ShengshiEid = {
    verify: verify,
    openTrustList: openTrustList,
    openStatusList: openStatusList,
    b64: b64,
    fromB64: fromB64,
  };
})(typeof self !== 'undefined' ? self : globalThis);
