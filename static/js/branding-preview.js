// Live preview of the branding form: colours, logo and welcome text change the preview as they are edited.
(function () {
  "use strict";
  const form = document.getElementById("branding-form");
  const preview = document.getElementById("branding-preview");
  if (!form || !preview) return;
  const field = (name) => form.querySelector(`[name="${name}"]`);
  // Django's JavaScript catalogue (/jsi18n/) defines gettext and interpolate; without it English shows.
  const gettext = window.gettext || ((text) => text);
  const interpolate = window.interpolate || ((fmt, values) => fmt.replace(/%\((\w+)\)s/g, (m, key) => String(values[key])));

  function luminance(hex) {
    const c = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
      .map((v) => (v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4)));
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }
  function contrast(a, b) {
    const [l1, l2] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (l1 + 0.05) / (l2 + 0.05);
  }
  function update() {
    const primary = field("primary_colour").value;
    const background = field("background_colour").value;
    preview.style.setProperty("--primary", primary);
    preview.style.background = background;
    preview.querySelector(".button").style.background = primary;
    document.getElementById("preview-welcome").textContent = field("welcome_text").value;
    const ratio = contrast(primary, "#ffffff");
    const shown = ratio.toLocaleString(document.documentElement.lang || undefined, {
      minimumFractionDigits: 1,
      maximumFractionDigits: 1,
    });
    const message = ratio < 4.5
      ? gettext("Contrast of white text on the primary colour: %(ratio)s:1 (below WCAG AA 4.5:1)")
      : gettext("Contrast of white text on the primary colour: %(ratio)s:1");
    document.getElementById("preview-contrast").textContent = interpolate(message, { ratio: shown }, true);
  }
  const logo = field("logo");
  if (logo) {
    logo.addEventListener("change", () => {
      const img = document.getElementById("preview-logo");
      if (logo.files && logo.files[0]) {
        img.src = URL.createObjectURL(logo.files[0]);
        img.hidden = false;
      }
    });
  }
  form.addEventListener("input", update);
  update();
})();
