// Berufswahlpass digital: tick a goal's step without a page load. Without JavaScript the
// same form posts and the page reloads; here it is sent in the background and the parts of
// the page that depend on it ([data-refresh] elements: the checklist, the overdue notice)
// are replaced by those of the page the server answers with. On any failure the form is
// submitted normally, so the server's own answer is shown.
(function () {
  "use strict";

  var status = document.getElementById("step-status");

  function announce(doc) {
    if (!status) { return; }
    var flashes = doc.querySelector(".bwp-flashes");
    status.textContent = "";
    if (flashes) { status.appendChild(document.importNode(flashes, true)); }
  }

  function refresh(doc) {
    document.querySelectorAll("[data-refresh][id]").forEach(function (el) {
      var fresh = doc.getElementById(el.id);
      if (fresh) { el.replaceWith(document.importNode(fresh, true)); }
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-tick") || !window.fetch) { return; }
    event.preventDefault();
    var item = form.closest("li");
    var itemId = item ? item.id : null;
    var button = form.querySelector("button");
    if (button) { button.disabled = true; }
    window.fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      redirect: "follow"
    }).then(function (response) {
      // 200: the page after the redirect; 409: the page with the goal as saved now.
      if (!response.ok && response.status !== 409) { throw new Error(String(response.status)); }
      return response.text();
    }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      refresh(doc);
      announce(doc);
      var again = itemId && document.getElementById(itemId);
      var next = again && again.querySelector("button");
      if (next) { next.focus(); }
    }).catch(function () {
      form.submit();
    });
  });
})();
