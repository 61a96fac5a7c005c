// The new-room page: the lecture fields show only while "Weekly lectures in this room" is ticked.
(function () {
  "use strict";
  var box = document.getElementById("id_weekly");
  var fields = document.querySelector("[data-weekly-fields]");
  if (!box || !fields) return;
  function sync() { fields.hidden = !box.checked; }
  box.addEventListener("change", sync);
  sync();
})();
