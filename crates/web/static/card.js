// The live code on the e-ID card page. The server rendered the first code as
// an image; this script draws each code in the browser (qrcode-generator,
// vendored) and asks for a new one every 30 seconds, so a code shown is never
// more than half a minute from expiry. Without scripts the page refreshes
// itself instead (a <noscript> meta refresh).
(function () {
  'use strict';
  var figure = document.getElementById('eid-live');
  if (!figure || typeof qrcode !== 'function') {
    return;
  }
  var countdown = document.getElementById('eid-countdown');
  var status = document.getElementById('eid-status');
  var lang = document.documentElement.lang === 'en' ? 'en' : 'zh-CN';
  var text = {
    'zh-CN': { left: '剩余有效时间 {s} 秒', expired: '身份码已过期，正在获取新码…', failed: '无法获取新码，请检查网络。' },
    en: { left: 'Valid for {s} more seconds', expired: 'This code has expired; getting a new one…', failed: 'Could not get a new code. Check your connection.' }
  }[lang];
  var expires = Date.parse(figure.dataset.expires);
  var refreshMs = (parseInt(figure.dataset.refresh, 10) || 30) * 1000;

  var canvas = document.createElement('canvas');
  canvas.className = 'eid-qr-image';
  canvas.setAttribute('role', 'img');
  var image = figure.querySelector('img');
  canvas.setAttribute('aria-label', image ? image.alt : '');

  function draw(code) {
    var qr = qrcode(0, 'M');
    qr.addData(code, 'Alphanumeric');
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
        if (qr.isDark(row, col)) {
          ctx.fillRect((col + 4) * scale, (row + 4) * scale, scale, scale);
        }
      }
    }
    figure.dataset.code = code;
  }

  function tick() {
    var left = Math.round((expires - Date.now()) / 1000);
    if (left > 0) {
      countdown.textContent = text.left.replace('{s}', String(left));
    } else {
      countdown.textContent = text.expired;
      canvas.classList.add('eid-expired');
    }
  }

  function refresh() {
    fetch('/api/v1/eid/card/presentations', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'Accept-Language': lang },
      body: JSON.stringify({ purpose: figure.dataset.purpose, category: figure.dataset.category })
    }).then(function (response) {
      if (!response.ok) {
        throw new Error('HTTP ' + response.status);
      }
      return response.json();
    }).then(function (presentation) {
      draw(presentation.code);
      expires = Date.parse(presentation.expires_at);
      canvas.classList.remove('eid-expired');
      status.textContent = '';
      tick();
    }).catch(function () {
      status.textContent = text.failed;
    });
  }

  draw(figure.dataset.code);
  if (image) {
    image.replaceWith(canvas);
  } else {
    figure.insertBefore(canvas, figure.firstChild);
  }
  tick();
  setInterval(tick, 1000);
  setInterval(refresh, refreshMs);
}());
