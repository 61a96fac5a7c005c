// Start the Jitsi meeting in the page through the IFrame API (external_api.js from the deployment).
(function () {
  "use strict";
  var node = document.getElementById("meeting");
  var data = document.getElementById("jitsi-options");
  if (!node || !data) return;
  var options = JSON.parse(data.textContent);
  if (typeof window.JitsiMeetExternalAPI !== "function") {
    var gettext = window.gettext || function (text) { return text; };
    node.textContent = node.dataset.unavailable || gettext("The meeting server cannot be reached right now.");
    return;
  }
  // The meeting speaks the page's language (data-lang, set by the server from the same choice).
  var lang = node.dataset.lang || options.lang || document.documentElement.lang;
  var api = new window.JitsiMeetExternalAPI(options.domain, {
    roomName: options.roomName,
    jwt: options.jwt,
    lang: lang,
    configOverwrite: Object.assign({}, options.configOverwrite, { defaultLanguage: lang }),
    userInfo: options.userInfo,
    parentNode: node,
    width: "100%",
    height: "100%",
  });
  api.addListener && api.addListener("readyToClose", function () {
    window.location.href = node.dataset.leaveUrl || "/";
  });
  window.auditoriumMeeting = api;
})();
