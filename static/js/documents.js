// Documents: tell about a too large file before it is sent, so nothing typed is lost
// (the server refuses large requests without reading them).
(function () {
  "use strict";
  document.querySelectorAll("input[type=file][data-max-bytes]").forEach(function (input) {
    var max = parseInt(input.getAttribute("data-max-bytes"), 10);
    var message = document.getElementById(input.id + "-size-error");
    function tooBig() {
      return Boolean(input.files && input.files[0] && input.files[0].size > max);
    }
    function show() {
      var big = tooBig();
      if (message) { message.hidden = !big; }
      input.setAttribute("aria-invalid", big ? "true" : "false");
      return big;
    }
    input.addEventListener("change", show);
    if (input.form) {
      input.form.addEventListener("submit", function (event) {
        if (show()) {
          event.preventDefault();
          input.focus();
        }
      });
    }
  });
})();
