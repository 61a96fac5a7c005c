// The discovery page's search field filters the list as one types (the page works without it: the
// field is also a GET form that filters on the server). Folding matches tenants/identity_views.folded().
(function () {
  "use strict";
  var input = document.getElementById("idp-filter");
  var list = document.getElementById("idp-list");
  if (!input || !list) {
    return;
  }
  var none = document.getElementById("idp-none");
  var items = Array.prototype.slice.call(list.querySelectorAll("li[data-search]"));

  function fold(text) {
    return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function visible() {
    return items.filter(function (item) { return !item.hidden; });
  }

  function apply() {
    var words = fold(input.value).split(/\s+/).filter(Boolean);
    items.forEach(function (item) {
      var text = item.getAttribute("data-search");
      item.hidden = !words.every(function (word) { return text.indexOf(word) !== -1; });
    });
    if (none) {
      none.hidden = visible().length !== 0;
    }
  }

  input.addEventListener("input", apply);
  // Enter with exactly one institution left goes there.
  input.form.addEventListener("submit", function (event) {
    var left = visible().map(function (item) { return item.querySelector("a"); }).filter(Boolean);
    if (left.length === 1) {
      event.preventDefault();
      window.location.assign(left[0].href);
    }
  });
  apply();
})();
