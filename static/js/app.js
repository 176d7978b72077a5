// Berufswahlpass digital: small progressive enhancements; every page works without JS.
(function () {
  "use strict";

  // The language switcher has a visible button and does not submit on change: a new page
  // on merely choosing an option would be a change of context on input (WCAG 3.2.2), and
  // keyboard users moving through the options with the arrow keys would reload each time.

  // Move focus to the error summary so screen readers and keyboards find it first.
  var summary = document.querySelector("[data-error-summary]");
  if (summary) { summary.focus(); }

  // Drafts: forms marked data-draft keep what was typed in this browser until it is
  // saved, so an expired session or a lost connection never throws text away.
  document.querySelectorAll("form[data-draft]").forEach(function (form) {
    var key = "bwp-draft:" + form.getAttribute("data-draft");
    var fields = form.querySelectorAll("input[type=text], input[type=date], input:not([type]), textarea, select");
    var saved = null;
    try { saved = JSON.parse(window.localStorage.getItem(key) || "null"); } catch (e) { saved = null; }
    var savedAt = form.getAttribute("data-saved-version");
    if (saved && saved.values && (!savedAt || saved.version === savedAt)) {
      var restored = false;
      fields.forEach(function (f) {
        if (f.name && Object.prototype.hasOwnProperty.call(saved.values, f.name) && f.value !== saved.values[f.name]) {
          f.value = saved.values[f.name];
          restored = true;
        }
      });
      if (restored) {
        var note = form.querySelector("[data-draft-note]");
        if (note) { note.hidden = false; }
      }
    }
    var timer = null;
    function store() {
      var values = {};
      fields.forEach(function (f) { if (f.name && f.name !== "csrf_token") { values[f.name] = f.value; } });
      try {
        window.localStorage.setItem(key, JSON.stringify({ version: savedAt, values: values, at: Date.now() }));
      } catch (e) { /* storage full or blocked: nothing to do */ }
    }
    form.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(store, 400);
    });
    if (form.hasAttribute("data-draft-clear")) {
      try { window.localStorage.removeItem(key); } catch (e) { /* ignore */ }
    }
  });

  // Clear drafts that the server confirmed as saved (flag set on the page after saving).
  document.querySelectorAll("[data-draft-saved]").forEach(function (el) {
    try { window.localStorage.removeItem("bwp-draft:" + el.getAttribute("data-draft-saved")); } catch (e) { /* ignore */ }
  });
})();
