// Count down to a room's opening and reload the page then (the server decides; this only waits).
(function () {
  "use strict";
  var el = document.querySelector("[data-countdown]");
  if (!el) return;
  var opensAt = Date.parse(el.dataset.opensAt);
  if (isNaN(opensAt)) return;
  var label = el.dataset.label || "";
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function tick() {
    var left = Math.max(0, Math.round((opensAt - Date.now()) / 1000));
    var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
    el.textContent = label + " " + (h ? h + ":" + pad(m) : m) + ":" + pad(s);
    if (left <= 0) {
      clearInterval(timer);
      // A little later than the opening, so that this clock running fast does not meet a closed door.
      setTimeout(function () { window.location.reload(); }, 1500 + Math.random() * 3000);
    }
  }
  var timer = setInterval(tick, 1000);
  tick();
})();
