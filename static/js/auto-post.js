// SAML POST binding: submit the form marked data-auto-submit as soon as the page is read (the button inside
// <noscript> does it by hand). A file of its own, because the Content-Security-Policy forbids inline script.
(function () {
  "use strict";
  var form = document.querySelector("form[data-auto-submit]");
  if (form) form.submit();
})();
