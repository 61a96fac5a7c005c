// Start Redoc on #redoc-container (templates/api/redoc.html) without inline script: the schema URL and the
// style nonce of this response come from data attributes.
(function () {
  "use strict";
  var node = document.getElementById("redoc-container");
  if (!node || typeof window.Redoc === "undefined") return;
  window.Redoc.init(node.dataset.specUrl, { nonce: node.dataset.nonce }, node);
})();
