// Berufswahlpass digital: a job's page follows its progress without reloading. Without
// JavaScript the page reloads itself (<noscript> meta refresh) and has a "Check again" link.
(function () {
  "use strict";

  var box = document.querySelector("[data-job-status]");
  if (!box || !window.fetch) { return; }
  var state = box.getAttribute("data-job-state");
  if (state !== "queued" && state !== "running") { return; }
  var url = box.getAttribute("data-job-status");
  var bar = box.querySelector("[data-job-progress]");
  var text = box.querySelector("[data-job-text]");
  var delay = 1500;

  function describe(s) {
    if (s.state === "running" && s.total) {
      return text.getAttribute("data-working")
        .replace("{done}", String(s.done)).replace("{total}", String(s.total));
    }
    return null;
  }

  function show(s) {
    if (bar && s.total) {
      bar.max = s.total;
      bar.value = s.done;
    }
    var words = text ? describe(s) : null;
    // Change the live region only when the words change, so screen readers are not flooded.
    if (words && text.textContent !== words) { text.textContent = words; }
  }

  function poll() {
    window.fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s) { delay = Math.min(delay * 2, 15000); return schedule(); }
        if (s.state === "done" || s.state === "failed") {
          window.location.reload();  // the page then offers the download or says what failed
          return;
        }
        show(s);
        // While it waits for its turn (a busy evening), ask less and less often (at most
        // every 5 s); while it is being made, every 1.5 s.
        delay = s.state === "queued" ? Math.min(delay * 1.5, 5000) : 1500;
        schedule();
      })
      .catch(function () { delay = Math.min(delay * 2, 15000); schedule(); });
  }

  function schedule() { window.setTimeout(poll, delay); }
  schedule();
})();
