// The meeting page's "Start live stream" for hosts: Jibri streams the meeting to the room's RTMP address
// (the stream key, #stream-key) through the IFrame API (window.auditoriumMeeting, set by meeting.js).
(function () {
  "use strict";
  var controls = document.querySelector("[data-stream-controls]");
  var data = document.getElementById("stream-key");
  if (!controls || !data) return;
  var gettext = window.gettext || function (text) { return text; };
  var key = JSON.parse(data.textContent);
  var startButton = controls.querySelector("[data-stream-start]");
  var stopButton = controls.querySelector("[data-stream-stop]");
  var status = controls.querySelector("[data-stream-controls-status]");

  function api() { return window.auditoriumMeeting; }

  // Buttons get their display from the site's stylesheet, which outranks the hidden attribute.
  function streaming(on) {
    startButton.style.display = on ? "none" : "";
    stopButton.style.display = on ? "" : "none";
  }
  streaming(false);

  startButton.addEventListener("click", function () {
    if (!api() || typeof api().startRecording !== "function") {
      status.textContent = gettext("The meeting is not ready yet.");
      return;
    }
    api().startRecording({ mode: "stream", rtmpStreamKey: key });
    status.textContent = gettext("Starting the stream…");
    streaming(true);
  });

  stopButton.addEventListener("click", function () {
    if (api() && typeof api().stopRecording === "function") api().stopRecording("stream");
    status.textContent = "";
    streaming(false);
  });

  // Jitsi reports the stream's state (also when another moderator starts or stops it).
  if (api() && api().addListener) {
    api().addListener("recordingStatusChanged", function (event) {
      if (!event || event.mode !== "stream") return;
      streaming(Boolean(event.on));
      status.textContent = event.on ? gettext("Streaming.") : (event.error ? gettext("The stream stopped.") : "");
    });
  }
})();
