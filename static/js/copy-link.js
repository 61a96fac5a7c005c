// Copy buttons: <button data-copy="#field" data-copied="Copied."> copies the field's value and says so in
// #copy-status. Falls back to selecting the text where the clipboard API is not available.
(function () {
  "use strict";
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var field = document.querySelector(button.dataset.copy);
      var status = document.getElementById("copy-status");
      function done() { if (status) status.textContent = button.dataset.copied || ""; }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, function () { field.select(); });
      } else {
        field.select();
        document.execCommand("copy");
        done();
      }
    });
  });
})();
