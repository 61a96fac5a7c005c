// Copy buttons: <button data-copy="#field" data-status="#status" data-copied="Copied."> copies the field's
// value and says so in its status element (#copy-status when none is named). Falls back to selecting the
// text where the clipboard API is not available. Several copy buttons may share a page.
(function () {
  "use strict";
  if (window.auditoriumCopy) return;
  window.auditoriumCopy = true;
  function setup() {
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var field = document.querySelector(button.dataset.copy);
        var status = document.querySelector(button.dataset.status || "#copy-status");
        if (!field) return;
        function done() {
          if (status) {
            status.textContent = "";
            // A fresh text each time, so screen readers announce a second copy too.
            setTimeout(function () { status.textContent = button.dataset.copied || ""; }, 30);
          }
        }
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(field.value).then(done, function () { field.select(); });
        } else {
          field.select();
          document.execCommand("copy");
          done();
        }
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
