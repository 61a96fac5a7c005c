// Live preview of the branding form: colours, logo and welcome text change the preview as they are edited.
// The welcome text is rendered by the server (the same Markdown and sanitiser as the tenant's pages), so the
// preview shows exactly what visitors will see; the saved logo stays until another is chosen or removed.
(function () {
  "use strict";
  const form = document.getElementById("branding-form");
  const preview = document.getElementById("branding-preview");
  if (!form || !preview) return;
  const field = (name) => form.querySelector(`[name="${name}"]`);
  // Django's JavaScript catalogue (/jsi18n/) defines gettext and interpolate; without it English shows.
  const gettext = window.gettext || ((text) => text);
  const interpolate = window.interpolate || ((fmt, values) => fmt.replace(/%\((\w+)\)s/g, (m, key) => String(values[key])));
  const welcome = document.getElementById("preview-welcome");
  const logoImage = document.getElementById("preview-logo");

  function luminance(hex) {
    const c = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
      .map((v) => (v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4)));
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }
  function contrast(a, b) {
    const [l1, l2] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (l1 + 0.05) / (l2 + 0.05);
  }
  function colours() {
    const primary = field("primary_colour").value;
    const background = field("background_colour").value;
    preview.style.setProperty("--primary", primary);
    preview.style.background = background;
    preview.querySelector(".button").style.background = primary;
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

  // The newest answer wins: a slow answer to older text never overwrites a newer one.
  let asked = 0;
  let timer = 0;
  function renderWelcome() {
    const text = field("welcome_text").value;
    const mine = ++asked;
    const body = new FormData();
    body.append("welcome_text", text);
    body.append("csrfmiddlewaretoken", field("csrfmiddlewaretoken").value);
    fetch(form.dataset.previewUrl, { method: "POST", body, credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : null))
      .then((answer) => {
        if (!answer || mine !== asked) return;
        // Sanitised on the server by the function that renders the home page (tenants/branding.py).
        welcome.innerHTML = answer.html;
        welcome.hidden = !answer.html;
      })
      .catch(() => {});
  }

  function showLogo() {
    const upload = field("logo");
    const remove = field("remove_logo");
    if (upload && upload.files && upload.files[0]) {
      logoImage.src = URL.createObjectURL(upload.files[0]);
      logoImage.hidden = false;
    } else if (remove && remove.checked) {
      logoImage.hidden = true;
    } else if (logoImage.dataset.savedSrc) {
      logoImage.src = logoImage.dataset.savedSrc;
      logoImage.hidden = false;
    } else {
      logoImage.hidden = true;
    }
  }

  form.addEventListener("input", (event) => {
    if (event.target.name === "welcome_text") {
      clearTimeout(timer);
      timer = setTimeout(renderWelcome, 250);
    } else {
      colours();
    }
  });
  form.addEventListener("change", (event) => {
    if (event.target.name === "logo" || event.target.name === "remove_logo") showLogo();
  });
  colours();
})();
