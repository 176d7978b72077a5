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
  //
  // School computers are shared: a draft belongs to the user who typed it. Its key holds a
  // value the server gives each page for the logged-in user (data-draft-owner on <body>: a
  // keyed hash, not the user id), so another user's pages never look at it; a page of a
  // logged-in user removes every other owner's drafts (the previous user of this computer
  // whose session merely expired), and the page after a logout removes all of them
  // (data-drafts-wipe; the logout answer also asks the browser to clear its storage).
  // A draft survives an expired session of the same user: they log in again and find it.
  var PREFIX = "bwp-draft:";
  var body = document.body;
  var owner = (body && body.getAttribute("data-draft-owner")) || "";
  var storage = null;
  try { storage = window.localStorage; } catch (e) { storage = null; }

  function draftKeys() {
    var keys = [];
    if (!storage) { return keys; }
    for (var i = 0; i < storage.length; i++) {
      var k = storage.key(i);
      if (k && k.indexOf(PREFIX) === 0) { keys.push(k); }
    }
    return keys;
  }
  function ownerOf(key) {
    // "bwp-draft:<owner>:<form>"; keys of an older version had no owner.
    var rest = key.slice(PREFIX.length);
    var colon = rest.indexOf(":");
    return colon < 0 ? null : rest.slice(0, colon);
  }
  function draftKey(name) { return PREFIX + (owner || "anon") + ":" + name; }

  if (storage) {
    var wipeAll = body && body.hasAttribute("data-drafts-wipe");
    draftKeys().forEach(function (k) {
      var o = ownerOf(k);
      // Anonymous pages (the login page, the public rating page) keep the logged-in
      // users' drafts for their return and remove nothing, unless a logout just happened.
      if (wipeAll || o === null || (owner && o !== owner)) {
        try { storage.removeItem(k); } catch (e) { /* ignore */ }
      }
    });
  }

  document.querySelectorAll("form[data-draft]").forEach(function (form) {
    var key = draftKey(form.getAttribute("data-draft"));
    var fields = form.querySelectorAll("input[type=text], input[type=date], input:not([type]), textarea, select");
    var saved = null;
    try { saved = JSON.parse((storage && storage.getItem(key)) || "null"); } catch (e) { saved = null; }
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
        storage.setItem(key, JSON.stringify({ version: savedAt, values: values, at: Date.now() }));
      } catch (e) { /* storage full or blocked: nothing to do */ }
    }
    form.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(store, 400);
    });
    if (form.hasAttribute("data-draft-clear")) {
      try { storage.removeItem(key); } catch (e) { /* ignore */ }
    }
  });

  // "Tick all" / "Untick all" links: without JavaScript they load the page with every box
  // ticked (or none); with it they tick the boxes named in data-check-all/-none in place,
  // so nothing else on the page is lost.
  document.querySelectorAll("a[data-check-all], a[data-check-none]").forEach(function (link) {
    var all = link.hasAttribute("data-check-all");
    var name = link.getAttribute(all ? "data-check-all" : "data-check-none");
    link.setAttribute("role", "button");
    link.addEventListener("click", function (event) {
      event.preventDefault();
      document.querySelectorAll("input[type=checkbox][name='" + name + "']").forEach(function (box) {
        box.checked = all;
      });
    });
    link.addEventListener("keydown", function (event) {
      if (event.key === " ") { event.preventDefault(); link.click(); }
    });
  });

  // Clear drafts that the server confirmed as saved (flag set on the page after saving).
  document.querySelectorAll("[data-draft-saved]").forEach(function (el) {
    try { storage.removeItem(draftKey(el.getAttribute("data-draft-saved"))); } catch (e) { /* ignore */ }
  });
})();
