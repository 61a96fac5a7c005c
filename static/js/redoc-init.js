// Runs before Redoc's bundle (templates/api/redoc.html). Redoc's sidebar shows its maker's logo from
// cdn.redoc.ly; the docs load nothing from other hosts (and the CSP would refuse it), so that one image
// source is dropped before the browser fetches it.
(function () {
  "use strict";
  var blocked = "https://cdn.redoc.ly/";
  var setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    if (this instanceof HTMLImageElement && name === "src" && String(value).indexOf(blocked) === 0) return;
    return setAttribute.call(this, name, value);
  };
  var src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    configurable: true,
    enumerable: src.enumerable,
    get: src.get,
    set: function (value) {
      if (String(value).indexOf(blocked) === 0) return;
      src.set.call(this, value);
    },
  });
})();
