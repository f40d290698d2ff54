// Passkeys (WebAuthn) for Calimatic's pages. Every page works without this
// script; it only adds what needs the browser's WebAuthn API:
//
//   - form[data-passkey="register"] (the account page) asks the server for
//     creation options, lets the authenticator make a passkey, and submits
//     the form with the answer in its "credential" field;
//   - form[data-passkey="signin"] (the login and second-factor pages) does
//     the same with request options and an assertion.
//
// The options come from data-options-url, posted with the form's own
// hidden fields (the CSRF token, the pending sign-in). Nothing runs
// inline, so the pages keep their strict Content-Security-Policy.
(function () {
  "use strict";

  if (!window.PublicKeyCredential || !navigator.credentials) {
    return; // the forms stay hidden: this browser has no passkeys
  }

  function fromB64url(s) {
    var b64 = s.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) {
      b64 += "=";
    }
    var bin = atob(b64);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) {
      out[i] = bin.charCodeAt(i);
    }
    return out.buffer;
  }

  function toB64url(buf) {
    var bytes = new Uint8Array(buf);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) {
      bin += String.fromCharCode(bytes[i]);
    }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function idsOf(list) {
    return (list || []).map(function (c) {
      return Object.assign({}, c, { id: fromB64url(c.id) });
    });
  }

  // The server's options are JSON with base64url strings where WebAuthn
  // wants bytes.
  function creationOptions(o) {
    var pk = o.publicKey;
    pk.challenge = fromB64url(pk.challenge);
    pk.user.id = fromB64url(pk.user.id);
    pk.excludeCredentials = idsOf(pk.excludeCredentials);
    return { publicKey: pk };
  }

  function requestOptions(o) {
    var pk = o.publicKey;
    pk.challenge = fromB64url(pk.challenge);
    pk.allowCredentials = idsOf(pk.allowCredentials);
    return { publicKey: pk };
  }

  // The answer as the server reads it (WebAuthn's JSON form).
  function answer(cred) {
    var r = cred.response;
    var out = {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: toB64url(r.clientDataJSON) }
    };
    if (cred.authenticatorAttachment) {
      out.authenticatorAttachment = cred.authenticatorAttachment;
    }
    if (r.attestationObject) {
      out.response.attestationObject = toB64url(r.attestationObject);
      if (r.getTransports) {
        out.response.transports = r.getTransports();
      }
    } else {
      out.response.authenticatorData = toB64url(r.authenticatorData);
      out.response.signature = toB64url(r.signature);
      if (r.userHandle) {
        out.response.userHandle = toB64url(r.userHandle);
      }
    }
    return JSON.stringify(out);
  }

  function fail(form, message) {
    var box = form.querySelector("[data-passkey-error]");
    if (box) {
      box.textContent = message;
      box.hidden = false;
    }
    var button = form.querySelector("button");
    if (button) {
      button.disabled = false;
    }
  }

  function hiddenFields(form) {
    var body = new URLSearchParams();
    form.querySelectorAll('input[type="hidden"]').forEach(function (input) {
      if (input.name && input.name !== "credential") {
        body.append(input.name, input.value);
      }
    });
    return body;
  }

  function start(form) {
    var register = form.dataset.passkey === "register";
    var button = form.querySelector("button");
    if (button) {
      button.disabled = true;
    }
    fetch(form.dataset.optionsUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: hiddenFields(form)
    })
      .then(function (resp) {
        return resp.json().then(function (body) {
          if (!resp.ok) {
            throw new Error(body.message || "The passkey could not be started.");
          }
          return body;
        });
      })
      .then(function (options) {
        return register
          ? navigator.credentials.create(creationOptions(options))
          : navigator.credentials.get(requestOptions(options));
      })
      .then(function (cred) {
        form.querySelector('input[name="credential"]').value = answer(cred);
        form.submit();
      })
      .catch(function (err) {
        var cancelled = err && (err.name === "NotAllowedError" || err.name === "AbortError");
        fail(form, cancelled ? "The passkey was cancelled or timed out. Try again." : err.message || String(err));
      });
  }

  document.querySelectorAll("form[data-passkey]").forEach(function (form) {
    form.hidden = false;
    form.addEventListener("submit", function (event) {
      if (form.querySelector('input[name="credential"]').value === "") {
        event.preventDefault();
        start(form);
      }
    });
  });
})();
