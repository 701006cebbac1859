// Passkeys on Shengshi's pages: log in with one (the resident and staff login
// pages) and add one (the account page, the staff console). Everything else
// on these pages works without JavaScript; passkeys cannot, so their controls
// stay hidden unless this script runs in a browser that supports them. The
// page says what to call and where to go (data-start, data-finish, data-next
// on the section), and the texts (data-cancelled, data-failed), already in
// the page's language; so one script serves residents and staff alike.
(function () {
  'use strict';

  var supported =
    window.PublicKeyCredential &&
    typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function' &&
    typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function';

  function post(path, body) {
    return fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body || {}),
    }).then(function (response) {
      return response
        .json()
        .catch(function () {
          return null;
        })
        .then(function (data) {
          return { ok: response.ok, data: data };
        });
    });
  }

  function showError(element, text) {
    element.textContent = text;
    element.hidden = false;
  }

  // The problem's own detail, else the page's generic message.
  function problemText(result, fallback) {
    return (result.data && result.data.detail) || fallback;
  }

  function setUp(section, run) {
    if (!section) return;
    var unsupported = document.querySelector('[data-passkey-unsupported]');
    if (!supported) return;
    if (unsupported) unsupported.hidden = true;
    section.hidden = false;
    var button = section.querySelector('button');
    var error = section.querySelector('.error-message');
    button.addEventListener('click', function () {
      error.hidden = true;
      button.disabled = true;
      run(section)
        .catch(function (e) {
          // The person cancelled, or the device refused: say so plainly.
          showError(error, e && e.name === 'NotAllowedError' ? section.dataset.cancelled : section.dataset.failed);
        })
        .then(function () {
          button.disabled = false;
        });
    });
  }

  setUp(document.querySelector('[data-passkey-login]'), function (section) {
    var error = section.querySelector('.error-message');
    return post(section.dataset.start).then(function (started) {
      if (!started.ok) return showError(error, problemText(started, section.dataset.failed));
      var options = PublicKeyCredential.parseRequestOptionsFromJSON(started.data.options.publicKey);
      return navigator.credentials.get({ publicKey: options }).then(function (credential) {
        return post(section.dataset.finish, {
          ceremony: started.data.ceremony,
          credential: credential.toJSON(),
        }).then(function (finished) {
          if (finished.ok) {
            window.location.assign(section.dataset.next);
          } else {
            showError(error, problemText(finished, section.dataset.failed));
          }
        });
      });
    });
  });

  setUp(document.querySelector('[data-passkey-register]'), function (section) {
    var error = section.querySelector('.error-message');
    var label = section.querySelector('input');
    return post(section.dataset.start).then(function (started) {
      if (!started.ok) return showError(error, problemText(started, section.dataset.failed));
      var options = PublicKeyCredential.parseCreationOptionsFromJSON(started.data.options.publicKey);
      return navigator.credentials.create({ publicKey: options }).then(function (credential) {
        return post(section.dataset.finish, {
          ceremony: started.data.ceremony,
          label: label.value,
          credential: credential.toJSON(),
        }).then(function (finished) {
          if (finished.ok) {
            window.location.reload();
          } else {
            showError(error, problemText(finished, section.dataset.failed));
          }
        });
      });
    });
  });
})();
