// Live preview of a lecture series being filled in: asks the server (the same rules as saving) which
// dates the series would have, which holidays of the academic calendar it skips and where it overlaps with
// the host's other series, and lists them under the form. Nothing is saved.
(function () {
  "use strict";
  var box = document.querySelector("[data-series-preview]");
  if (!box) return;
  var form = box.closest("form");
  var list = box.querySelector("[data-preview-dates]");
  var summary = box.querySelector("[data-preview-summary]");
  var prefix = box.dataset.prefix ? box.dataset.prefix + "-" : "";
  var gettext = window.gettext || function (t) { return t; };
  var ngettext = window.ngettext || function (s, p, n) { return n === 1 ? s : p; };
  var interpolate = window.interpolate || function (f, o) { return f.replace(/%\((\w+)\)s/g, function (_, k) { return String(o[k]); }); };
  var lang = document.documentElement.lang || undefined;
  var dayFormat = new Intl.DateTimeFormat(lang, { weekday: "short", day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
  var timer = null, seq = 0;

  function query() {
    var params = new URLSearchParams();
    if (box.dataset.prefix) params.set("prefix", box.dataset.prefix);
    if (box.dataset.series) params.set("series", box.dataset.series);
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name.indexOf(prefix) !== 0 || el.name === "csrfmiddlewaretoken") return;
      if ((el.type === "checkbox" || el.type === "radio") && !el.checked) return;
      params.append(el.name, el.value);
    });
    return params;
  }

  function label(iso) {
    var parts = iso.split("-").map(Number);
    return dayFormat.format(new Date(Date.UTC(parts[0], parts[1] - 1, parts[2])));
  }

  function show(data) {
    list.textContent = "";
    if (data.error || !data.dates.length) {
      summary.textContent = data.error || gettext("Fill in the first lecture and the end to see the dates.");
      return;
    }
    var text = interpolate(ngettext("%(held)s lecture", "%(held)s lectures", data.held), { held: data.held }, true);
    if (data.skipped) {
      text += " · " + interpolate(ngettext("%(n)s skipped for a holiday", "%(n)s skipped for holidays", data.skipped), { n: data.skipped }, true);
    }
    if (data.overlaps) {
      text += " · " + interpolate(ngettext("%(n)s overlaps with another of your series", "%(n)s overlap with other series of yours", data.overlaps), { n: data.overlaps }, true);
    }
    summary.textContent = text;
    data.dates.forEach(function (d) {
      var li = document.createElement("li");
      li.textContent = label(d.date);
      if (d.holiday) {
        li.className = "skipped";
        li.title = d.holiday;
        li.textContent += " (" + d.holiday + ")";
      } else if (d.overlaps) {
        li.className = "overlap";
        li.textContent += " ⚠ " + box.dataset.labelOverlap + " " + d.overlaps;
      }
      list.appendChild(li);
    });
  }

  function refresh() {
    var mine = ++seq;
    fetch(box.dataset.url + "?" + query().toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data && mine === seq) show(data); })
      .catch(function () { /* the preview is a help; saving still checks everything */ });
  }

  function later() { clearTimeout(timer); timer = setTimeout(refresh, 300); }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
  refresh();
})();
