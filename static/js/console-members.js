// Members page: choosing another role saves it at once. Without JavaScript each row keeps its "Save" button.
(function () {
  "use strict";
  document.querySelectorAll("form[data-auto-submit]").forEach((form) => {
    const button = form.querySelector("[data-no-js]");
    if (button) button.hidden = true;
    const select = form.querySelector("select");
    if (!select) return;
    const initial = select.value;
    select.addEventListener("change", () => {
      if (select.value === initial) return;
      select.disabled = false;
      form.requestSubmit();
    });
  });
})();
