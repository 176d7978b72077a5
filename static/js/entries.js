// Berufswahlpass digital: portfolio forms. Everything works without JavaScript; this
// only adds rows without a page load, counts characters and copies links.
(function () {
  "use strict";

  // "Add another": clone the last item of a repeating group and renumber its fields
  // (steps-2-text -> steps-3-text). Without JS the same button saves and adds a row.
  document.querySelectorAll("[data-add-row]").forEach(function (button) {
    var group = document.getElementById("group-" + button.getAttribute("data-add-row"));
    if (!group) { return; }
    var name = group.getAttribute("data-group");
    var max = parseInt(group.getAttribute("data-max-items") || "30", 10);
    var itemLabel = group.getAttribute("data-item-label") || "%(n)d";
    var list = group.querySelector(".bwp-group__items");
    var pattern = new RegExp("^" + name + "-(\\d+)-");
    button.addEventListener("click", function (event) {
      var items = list.querySelectorAll("[data-group-item]");
      if (!items.length || items.length >= max) { return; } // let the server explain
      event.preventDefault();
      var last = items[items.length - 1];
      var index = items.length;
      var copy = last.cloneNode(true);
      copy.querySelectorAll("[name], [id], [for], [aria-describedby]").forEach(function (el) {
        ["name", "id", "for"].forEach(function (attr) {
          var value = el.getAttribute(attr);
          if (value && pattern.test(value)) {
            el.setAttribute(attr, value.replace(pattern, name + "-" + index + "-"));
          }
        });
        var described = el.getAttribute("aria-describedby");
        if (described) {
          el.setAttribute("aria-describedby", described.split(" ").map(function (id) {
            return id.replace(pattern, name + "-" + index + "-");
          }).join(" "));
        }
      });
      copy.querySelectorAll(".kern-error").forEach(function (el) { el.remove(); });
      copy.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
      copy.querySelectorAll("input, textarea, select").forEach(function (el) {
        if (el.type === "radio" || el.type === "checkbox") { el.checked = false; }
        else if (el.tagName === "SELECT") { el.selectedIndex = 0; }
        else { el.value = ""; }
      });
      copy.querySelectorAll("[data-counter-for]").forEach(function (el) {
        el.setAttribute("data-counter-for", el.getAttribute("data-counter-for").replace(pattern, name + "-" + index + "-"));
        el.hidden = true;
      });
      var legend = copy.querySelector("[data-item-legend]");
      if (legend) { legend.textContent = itemLabel.replace("%(n)d", String(index + 1)); }
      list.appendChild(copy);
      setupCounters(copy);
      var first = copy.querySelector("input:not([type=hidden]), textarea, select");
      if (first) { first.focus(); }
    });
  });

  // Character counters for long texts (the server gives the real message).
  function setupCounters(root) {
    root.querySelectorAll("[data-counter-for]").forEach(function (counter) {
      var field = document.getElementById(counter.getAttribute("data-counter-for"));
      if (!field) { return; }
      var limit = parseInt(field.getAttribute("data-maxlength") || "0", 10);
      if (!limit) { return; }
      var template = counter.getAttribute("data-template") || "%(n)d / %(max)d";
      function update() {
        var n = field.value.length;
        // Show the counter only when it matters: past 80 % of the limit.
        counter.hidden = n < limit * 0.8;
        counter.textContent = template.replace("%(n)d", n).replace("%(max)d", limit);
        if (n > limit) { counter.setAttribute("data-over", ""); } else { counter.removeAttribute("data-over"); }
      }
      field.addEventListener("input", update);
      update();
    });
  }
  setupCounters(document);

  // Copy buttons for the assessment link and its text.
  var status = document.querySelector("[data-copy-status]");
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.value).then(function () {
        if (status) { status.textContent = button.getAttribute("data-copied") || "✓"; }
      }, function () {
        source.select();
      });
    });
  });
})();
