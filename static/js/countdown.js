// The closed join page: says when the room opens in words ("Opens in 3 days", "Opens in 12 minutes") in
// the page's language, shows the lecture's start in the viewer's own time zone, and reloads the page at the
// opening (the server decides; this only waits).
(function () {
  "use strict";
  var lang = document.documentElement.lang || undefined;
  var gettext = window.gettext || function (t) { return t; };
  var interpolate = window.interpolate || function (f, o) { return f.replace(/%\((\w+)\)s/g, function (_, k) { return String(o[k]); }); };

  // The start in the browser's zone, with the zone's name, when it differs from the institution's.
  document.querySelectorAll("[data-local-time]").forEach(function (el) {
    var when = new Date(el.getAttribute("datetime"));
    if (isNaN(when)) return;
    el.textContent = new Intl.DateTimeFormat(lang, {
      weekday: "long", day: "numeric", month: "long", year: "numeric",
      hour: "2-digit", minute: "2-digit", timeZoneName: "short",
    }).format(when);
  });

  var el = document.querySelector("[data-countdown]");
  if (!el) return;
  var opensAt = Date.parse(el.dataset.opensAt);
  if (isNaN(opensAt)) return;
  var relative = typeof Intl.RelativeTimeFormat === "function" ? new Intl.RelativeTimeFormat(lang, { numeric: "auto" }) : null;

  function words(left) {
    // One unit, rounded down, like people say it: in 3 days, in 5 hours, in 12 minutes, in 90 seconds
    // (seconds only in the last two minutes, so that the page visibly counts then).
    var units = [["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]];
    for (var i = 0; i < units.length; i++) {
      if ((left >= units[i][1] && !(units[i][0] === "minute" && left < 120)) || units[i][0] === "second") {
        var n = Math.floor(left / units[i][1]);
        return relative ? relative.format(n, units[i][0]) : n + " " + units[i][0] + (n === 1 ? "" : "s");
      }
    }
    return "";
  }
  var timer = null;
  function tick() {
    var left = Math.max(0, Math.round((opensAt - Date.now()) / 1000));
    // "Opens in 3 days": the sentence from the catalogue around the browser's relative time.
    el.textContent = interpolate(gettext("Opens %(when)s"), { when: words(left) }, true);
    if (left <= 0) {
      clearInterval(timer);
      // A little later than the opening, so that this clock running fast does not meet a closed door.
      setTimeout(function () { window.location.reload(); }, 1500 + Math.random() * 3000);
    }
  }
  timer = setInterval(tick, 1000);
  tick();
})();
