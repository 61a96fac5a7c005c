// Usage charts of the console (templates/tenants/console/statistics.html), drawn by the vendored Chart.js
// from the page's JSON data block: the same figures as the CSV download. No inline script or style.
(function () {
  "use strict";
  const source = document.getElementById("usage-data");
  if (!source || !window.Chart) return;
  const data = JSON.parse(source.textContent);
  const lang = document.documentElement.lang || undefined;
  const css = getComputedStyle(document.documentElement);
  const colour = (name, fallback) => (css.getPropertyValue(name) || "").trim() || fallback;
  const primary = colour("--primary", "#1f5fa8");
  const muted = colour("--muted", "#5b6470");
  const text = colour("--text", "#1b1f24");
  const numbers = new Intl.NumberFormat(lang, { maximumFractionDigits: 1 });
  const shortDay = new Intl.DateTimeFormat(lang, { day: "numeric", month: "short", timeZone: "UTC" });
  // ISO days are calendar days: read and shown in UTC so that no zone shifts them by one.
  const labels = data.days.map((iso) => shortDay.format(new Date(iso + "T00:00:00Z")));
  const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = muted;

  document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
    const values = data.series[canvas.dataset.chart];
    if (!values) return;
    const unit = canvas.dataset.unit || "";
    const withUnit = (value) => (unit ? `${numbers.format(value)} ${unit}` : numbers.format(value));
    new Chart(canvas, {
      type: "bar",
      data: {
        labels,
        datasets: [{ data: values, backgroundColor: primary, hoverBackgroundColor: text, borderRadius: 2, maxBarThickness: 28 }],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: reducedMotion ? false : { duration: 250 },
        layout: { padding: { top: 8, right: 12 } },
        // Anywhere in a day's column shows that day: a phone user need not hit a thin bar.
        interaction: { mode: "index", intersect: false },
        plugins: {
          legend: { display: false },
          tooltip: {
            displayColors: false,
            callbacks: {
              title: (items) => (items.length ? data.titles[items[0].dataIndex] : ""),
              label: (item) => withUnit(item.parsed.y),
            },
          },
        },
        scales: {
          x: {
            grid: { display: false },
            ticks: { autoSkip: true, autoSkipPadding: 12, maxRotation: 0, minRotation: 0 },
          },
          y: {
            beginAtZero: true,
            // Headroom above the highest bar, so that it and its tick are never cut off.
            grace: "8%",
            grid: { color: "rgba(91, 100, 112, 0.18)" },
            border: { display: false },
            ticks: {
              precision: 0,
              maxTicksLimit: 6,
              callback: (value) => numbers.format(value),
            },
          },
        },
      },
    });
    canvas.setAttribute("data-chart-drawn", "");
  });
})();
