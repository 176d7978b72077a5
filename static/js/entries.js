// Berufswahlpass digital: portfolio forms. Everything works without JavaScript; this
// only adds rows without a page load, counts characters and copies links.
(function () {
  "use strict";

  // Repeating groups (placement days, goal steps, CV rows). "Add another" clones the
  // last item, "Remove" takes an item out; both in place, renumbering the fields
  // (steps-2-text -> steps-1-text) so the form posts as the server renders it. Without JS
  // the same buttons save the form with one row more or one row less.
  function renumber(group) {
    var name = group.getAttribute("data-group");
    var itemLabel = group.getAttribute("data-item-label") || "%(n)d";
    var pattern = new RegExp("^" + name + "-(\\d+)-");
    group.querySelectorAll("[data-group-item]").forEach(function (item, index) {
      var prefix = name + "-" + index + "-";
      item.querySelectorAll("[name], [id], [for], [aria-describedby], [data-counter-for]").forEach(function (el) {
        ["name", "id", "for", "data-counter-for"].forEach(function (attr) {
          var value = el.getAttribute(attr);
          if (value && pattern.test(value)) { el.setAttribute(attr, value.replace(pattern, prefix)); }
        });
        var described = el.getAttribute("aria-describedby");
        if (described) {
          el.setAttribute("aria-describedby", described.split(" ").map(function (id) {
            return id.replace(pattern, prefix);
          }).join(" "));
        }
      });
      var label = itemLabel.replace("%(n)d", String(index + 1));
      var legend = item.querySelector("[data-item-legend]");
      if (legend) { legend.textContent = label; }
      var remove = item.querySelector("[data-remove-row]");
      if (remove) {
        remove.value = name + "-" + index;
        var spoken = remove.querySelector("[data-item-name]");
        if (spoken) { spoken.textContent = " " + label; }
      }
    });
  }

  function clearItem(item) {
    item.querySelectorAll(".kern-error").forEach(function (el) { el.remove(); });
    item.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
    item.querySelectorAll("input, textarea, select").forEach(function (el) {
      if (el.type === "hidden") { return; }
      if (el.type === "radio" || el.type === "checkbox") { el.checked = false; }
      else if (el.tagName === "SELECT") { el.selectedIndex = 0; }
      else { el.value = ""; }
      el.dispatchEvent(new Event("input", { bubbles: true }));
    });
    item.querySelectorAll("[data-counter-for]").forEach(function (el) { el.hidden = true; });
  }

  function setupRemove(group, item) {
    var button = item.querySelector("[data-remove-row]");
    if (!button) { return; }
    button.addEventListener("click", function (event) {
      event.preventDefault();
      var list = group.querySelector(".bwp-group__items");
      var items = Array.prototype.slice.call(list.querySelectorAll("[data-group-item]"));
      var index = items.indexOf(item);
      var legend = item.querySelector("[data-item-legend]");
      var said = legend ? legend.textContent : "";
      if (items.length === 1) {
        clearItem(item);  // the last row stays, empty: an empty row is not saved
      } else {
        item.remove();
        renumber(group);
      }
      var status = group.querySelector("[data-group-status]");
      if (status) {
        status.textContent = (status.getAttribute("data-removed") || "%(item)s").replace("%(item)s", said);
      }
      var rest = list.querySelectorAll("[data-group-item]");
      var next = rest[Math.min(index, rest.length - 1)];
      var focus = next && next.querySelector("input:not([type=hidden]), textarea, select");
      if (focus) { focus.focus(); }
      group.dispatchEvent(new Event("input", { bubbles: true }));  // drafts: the form changed
    });
  }

  document.querySelectorAll("[data-group]").forEach(function (group) {
    group.querySelectorAll("[data-group-item]").forEach(function (item) { setupRemove(group, item); });
  });

  document.querySelectorAll("[data-add-row]").forEach(function (button) {
    var group = document.getElementById("group-" + button.getAttribute("data-add-row"));
    if (!group) { return; }
    var max = parseInt(group.getAttribute("data-max-items") || "30", 10);
    var list = group.querySelector(".bwp-group__items");
    var label = button.querySelector(".kern-label");
    if (label && button.getAttribute("data-js-label")) {
      label.textContent = button.getAttribute("data-js-label");
    }
    button.addEventListener("click", function (event) {
      var items = list.querySelectorAll("[data-group-item]");
      if (!items.length || items.length >= max) { return; } // let the server explain
      event.preventDefault();
      var copy = items[items.length - 1].cloneNode(true);
      clearItem(copy);
      list.appendChild(copy);
      renumber(group);
      setupRemove(group, copy);
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
