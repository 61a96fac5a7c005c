/* Live participant counts: every element with [data-live-count] shows the count of its room.
 * Elements sharing a websocket path (e.g. a lecturer's dashboard) share one socket; messages are
 * {"type": "participants", "room": "<room>", "count": N}. Reconnects with capped exponential backoff and
 * jitter; the server sends the current count again on every (re)connect, so nothing is missed for long.
 * {"type": "paused"} means the server cannot vouch for updates (Redis is down): the elements say "live count
 * paused" until the next count arrives, which the server sends by itself once updates flow again. */
(function () {
  "use strict";
  if (window.auditoriumLiveCounts) {
    window.auditoriumLiveCounts.scan();
    return;
  }
  // Django's JavaScript catalogue (/jsi18n/) defines ngettext; without it the English sentence shows.
  var ngettext = window.ngettext || function (singular, plural, n) { return n === 1 ? singular : plural; };
  var gettext = window.gettext || function (text) { return text; };
  var COUNT = "%(count)s";
  var sockets = new Map(); // path -> {elements: Set, ws: WebSocket|null, attempts: number}
  var MAX_DELAY_MS = 30000;

  function setState(entry, state) {
    entry.elements.forEach(function (el) { el.setAttribute("data-state", state); });
  }

  function pause(el) {
    el.setAttribute("data-state", "paused");
    var note = el.querySelector("[data-live-count-paused]");
    if (!note) {
      note = document.createElement("span");
      note.className = "live-count-paused";
      note.setAttribute("data-live-count-paused", "");
      el.appendChild(note);
    }
    note.textContent = gettext("live count paused");
    note.hidden = false;
  }

  function show(el, count) {
    var paused = el.querySelector("[data-live-count-paused]");
    if (paused) { paused.hidden = true; }
    el.setAttribute("data-state", "live");
    var number = el.querySelector("[data-live-count-number]") || el;
    number.textContent = String(count);
    var label = el.querySelector("[data-live-count-label]");
    if (label && number !== el) {
      // One translated sentence per count ("1 person in the meeting", "3 people in the meeting"); the
      // number keeps its own element, so the text around it goes before and after.
      var sentence = ngettext("%(count)s person in the meeting", "%(count)s people in the meeting", count);
      var at = sentence.indexOf(COUNT);
      var before = at < 0 ? "" : sentence.slice(0, at).trim();
      var prefix = el.querySelector("[data-live-count-prefix]");
      if (before && !prefix) {
        prefix = document.createElement("span");
        prefix.setAttribute("data-live-count-prefix", "");
        el.insertBefore(prefix, number);
      }
      if (prefix) { prefix.textContent = before ? before + " " : ""; }
      label.textContent = at < 0 ? sentence : sentence.slice(at + COUNT.length).trim();
    }
    el.setAttribute("data-count", String(count));
    el.dispatchEvent(new CustomEvent("live-count", { detail: { count: count }, bubbles: true }));
  }

  function connect(path) {
    var entry = sockets.get(path);
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    var ws = new WebSocket(scheme + "//" + window.location.host + path);
    entry.ws = ws;
    ws.onopen = function () {
      entry.attempts = 0;
      setState(entry, "live");
    };
    ws.onmessage = function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      if (message && message.type === "paused") {
        entry.elements.forEach(pause);
        return;
      }
      if (message && message.type === "watching") {
        // A streamed room: "84 in the meeting · 1,250 watching" (the viewer pages open right now).
        entry.elements.forEach(function (el) {
          var watching = el.querySelector("[data-live-count-watching]");
          if (!watching || el.getAttribute("data-room") !== message.room) { return; }
          var text = ngettext("%(count)s watching", "%(count)s watching", message.count);
          watching.textContent = "· " + text.replace("%(count)s", String(message.count));
          watching.hidden = message.count === 0;
        });
        return;
      }
      if (!message || message.type !== "participants") { return; }
      entry.elements.forEach(function (el) {
        if (el.getAttribute("data-room") === message.room) { show(el, message.count); }
      });
    };
    ws.onclose = function () {
      entry.ws = null;
      setState(entry, "reconnecting");
      var delay = Math.min(MAX_DELAY_MS, 500 * Math.pow(2, entry.attempts)) * (0.5 + Math.random() / 2);
      entry.attempts += 1;
      window.setTimeout(function () { connect(path); }, delay);
    };
  }

  function scan() {
    document.querySelectorAll("[data-live-count]:not([data-live-count-bound])").forEach(function (el) {
      el.setAttribute("data-live-count-bound", "");
      var path = el.getAttribute("data-ws-path");
      if (!path) { return; }
      var entry = sockets.get(path);
      if (entry) {
        entry.elements.add(el);
        return;
      }
      entry = { elements: new Set([el]), ws: null, attempts: 0 };
      sockets.set(path, entry);
      connect(path);
    });
  }

  window.auditoriumLiveCounts = { scan: scan, sockets: sockets };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", scan);
  } else {
    scan();
  }
})();
