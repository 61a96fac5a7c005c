// Members page: choosing another role with the mouse or a touch saves it at once. Arrow keys on a closed
// select change its value step by step, so a keyboard change shows the row's "Save" button instead of
// saving each step (WCAG 3.2.2). Without JavaScript every row keeps its "Save" button.
(function () {
  "use strict";
  const STEP_KEYS = new Set(["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Home", "End", "PageUp", "PageDown"]);
  document.querySelectorAll("form[data-auto-submit]").forEach((form) => {
    const button = form.querySelector("[data-no-js]");
    const select = form.querySelector("select");
    if (!button || !select) return;
    button.hidden = true;
    const initial = select.value;
    let byKeyboard = false;
    select.addEventListener("keydown", (event) => {
      byKeyboard = STEP_KEYS.has(event.key) || (event.key.length === 1 && !event.ctrlKey && !event.metaKey);
      if (event.key === "Enter" && select.value !== initial) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    select.addEventListener("pointerdown", () => { byKeyboard = false; });
    select.addEventListener("change", () => {
      if (byKeyboard) {
        button.hidden = select.value === initial;
        return;
      }
      if (select.value !== initial) form.requestSubmit();
    });
  });
})();
