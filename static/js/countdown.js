// Count down to a room's opening and reload the page then (the server decides; this only waits).
// Durations are written in the page's language (<html lang>) by the browser's Intl, not in English.
(function () {
  "use strict";
  var el = document.querySelector("[data-countdown]");
  if (!el) return;
  var opensAt = Date.parse(el.dataset.opensAt);
  if (isNaN(opensAt)) return;
  var label = el.dataset.label || "";
  var lang = document.documentElement.lang || undefined;
  var two = new Intl.NumberFormat(lang, { minimumIntegerDigits: 2, useGrouping: false });
  var one = new Intl.NumberFormat(lang, { useGrouping: false });
  // "2 hours, 5 minutes" / "2 Stunden, 5 Minuten" where the browser has Intl.DurationFormat.
  var long = typeof Intl.DurationFormat === "function" ? new Intl.DurationFormat(lang, { style: "long" }) : null;
  function text(left) {
    var d = Math.floor(left / 86400), h = Math.floor((left % 86400) / 3600);
    var m = Math.floor((left % 3600) / 60), s = left % 60;
    if (left >= 3600 && long) {
      return long.format(d ? { days: d, hours: h } : { hours: h, minutes: m });
    }
    // Under an hour (or without DurationFormat) a ticking clock: 4:05, 1:02:03.
    var hours = d * 24 + h;
    return (hours ? one.format(hours) + ":" + two.format(m) : one.format(m)) + ":" + two.format(s);
  }
  function tick() {
    var left = Math.max(0, Math.round((opensAt - Date.now()) / 1000));
    el.textContent = label + " " + text(left);
    if (left <= 0) {
      clearInterval(timer);
      // A little later than the opening, so that this clock running fast does not meet a closed door.
      setTimeout(function () { window.location.reload(); }, 1500 + Math.random() * 3000);
    }
  }
  var timer = setInterval(tick, 1000);
  tick();
})();
