// Start Redoc on #redoc-container (templates/api/redoc.html) without inline script.
(function () {
  "use strict";
  var node = document.getElementById("redoc-container");
  if (!node || typeof window.Redoc === "undefined") return;
  window.Redoc.init(node.dataset.specUrl, {}, node);
})();
