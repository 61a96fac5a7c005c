/* The viewer page (templates/streams/viewer.html).
 *
 * One websocket (/ws/<tenant>/rooms/<room>/live/) brings the participant count of the meeting, the watching
 * count and the stream's state ({"type": "stream", "live": true|false}); it reconnects with capped backoff and
 * the server sends everything again on every connect. When the stream is live the page asks for a fresh
 * viewing pass (a cookie for the HLS folder) and plays the HLS playlist with hls.js (Media Source Extensions),
 * or with the browser's own HLS where hls.js cannot run (Safari on iOS). Until the first segments exist, and
 * after a network drop, loading is retried. */
(function () {
  "use strict";
  var root = document.querySelector("[data-stream]");
  if (!root) return;
  var gettext = window.gettext || function (text) { return text; };
  var ngettext = window.ngettext || function (singular, plural, n) { return n === 1 ? singular : plural; };
  var video = root.querySelector("[data-stream-video]");
  var status = root.querySelector("[data-stream-status]");
  var unmute = root.querySelector("[data-stream-unmute]");
  var hlsUrl = root.getAttribute("data-hls-url");
  var passUrl = root.getAttribute("data-pass-url");
  var wsPath = root.getAttribute("data-ws-path");
  var MAX_DELAY_MS = 30000;
  var RETRY_MS = 2000;
  var hls = null;
  var live = false;
  var retryTimer = null;
  var attempts = 0;
  var formatter = window.Intl && Intl.NumberFormat ? new Intl.NumberFormat(document.documentElement.lang) : null;

  function format(n) { return formatter ? formatter.format(n) : String(n); }

  function setState(state) { root.setAttribute("data-state", state); }

  function say(text) { status.textContent = text; }

  function showCount(selector, labelSelector, count, sentence) {
    // The number keeps its own element (formatted for the page's language); the label is the rest.
    var at = sentence.indexOf("%(count)s");
    root.querySelector(selector).textContent = format(count);
    root.querySelector(labelSelector).textContent =
      at < 0 ? sentence : (sentence.slice(0, at) + sentence.slice(at + 9)).trim();
    root.querySelector(selector).parentNode.setAttribute("data-count", String(count));
  }

  function stopPlayback() {
    if (retryTimer) { window.clearTimeout(retryTimer); retryTimer = null; }
    if (hls) { hls.destroy(); hls = null; }
    video.removeAttribute("src");
    video.load();
  }

  function tryPlay() {
    var played = video.play();
    if (played && played.catch) {
      played.catch(function () {
        // Autoplay with sound refused: play muted and offer the sound.
        video.muted = true;
        unmute.hidden = false;
        video.play().catch(function () {});
      });
    }
    if (video.muted) unmute.hidden = false;
  }

  function retry() {
    if (!live || retryTimer) return;
    retryTimer = window.setTimeout(function () { retryTimer = null; if (live) start(); }, RETRY_MS);
  }

  function attach() {
    if (window.Hls && window.Hls.isSupported()) {
      // No worker: the page's Content-Security-Policy allows no blob: workers, and one stream needs none.
      hls = new window.Hls({ enableWorker: false, lowLatencyMode: false });
      hls.on(window.Hls.Events.MANIFEST_PARSED, function () { tryPlay(); });
      hls.on(window.Hls.Events.ERROR, function (event, data) {
        if (!data.fatal) return;
        if (data.type === window.Hls.ErrorTypes.MEDIA_ERROR) {
          hls.recoverMediaError();
          return;
        }
        // Not there yet (the first segments take a few seconds), a network drop, or an expired pass.
        say(gettext("Connecting to the stream…"));
        stopPlayback();
        retry();
      });
      hls.loadSource(hlsUrl);
      hls.attachMedia(video);
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = hlsUrl;
      video.addEventListener("loadedmetadata", tryPlay, { once: true });
      video.addEventListener("error", function () { stopPlayback(); retry(); }, { once: true });
    } else {
      say(gettext("This browser cannot play the stream."));
    }
  }

  function start() {
    setState("starting");
    say(gettext("Connecting to the stream…"));
    // A fresh pass first: it may have expired, or the audience may have changed.
    fetch(passUrl, { credentials: "same-origin", cache: "no-store" }).then(function (response) {
      if (!live) return;
      if (response.status === 204) { attach(); return; }
      say(gettext("You may not watch this stream any more. Reload the page."));
    }, function () { retry(); });
  }

  video.addEventListener("playing", function () {
    if (!live) return;
    setState("playing");
    say("");
  });

  unmute.addEventListener("click", function () {
    video.muted = false;
    unmute.hidden = true;
    video.play().catch(function () {});
  });

  function onStream(isLive) {
    if (isLive === live) return;
    live = isLive;
    if (live) {
      start();
    } else {
      stopPlayback();
      setState("waiting");
      say(gettext("The stream has ended."));
    }
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    var ws = new WebSocket(scheme + "//" + window.location.host + wsPath);
    ws.onopen = function () { attempts = 0; root.setAttribute("data-socket", "open"); };
    ws.onmessage = function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      if (!message) return;
      if (message.type === "participants") {
        showCount("[data-stream-participants]", "[data-stream-participants-label]", message.count,
          ngettext("%(count)s in the meeting", "%(count)s in the meeting", message.count));
      } else if (message.type === "watching") {
        showCount("[data-stream-watching]", "[data-stream-watching-label]", message.count,
          ngettext("%(count)s watching", "%(count)s watching", message.count));
      } else if (message.type === "stream") {
        onStream(Boolean(message.live));
      }
    };
    ws.onclose = function (event) {
      root.setAttribute("data-socket", "closed");
      if (event.code === 4403 || event.code === 4404) {
        say(gettext("You may not watch this stream any more. Reload the page."));
        return;
      }
      var delay = Math.min(MAX_DELAY_MS, 500 * Math.pow(2, attempts)) * (0.5 + Math.random() / 2);
      attempts += 1;
      window.setTimeout(connect, delay);
    };
  }

  connect();
})();
