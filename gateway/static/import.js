/* The People CSV page (/gestion/import): while a file is checked or imported, its button is disabled
   (no second submission) and the form's live region says so with a progress bar. The page works
   without this script; the CSP allows no inline one. */
(function () {
  "use strict";

  function reset() {
    document.querySelectorAll("form[data-progress]").forEach(function (form) {
      var button = form.querySelector("button[type=submit]");
      if (button) { button.disabled = false; button.removeAttribute("aria-disabled"); }
      var status = document.getElementById(form.dataset.progress);
      if (status) { status.textContent = ""; }
    });
  }

  document.querySelectorAll("form[data-progress]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var button = form.querySelector("button[type=submit]");
      if (button && button.disabled) { event.preventDefault(); return; }
      var status = document.getElementById(form.dataset.progress);
      if (status) {
        var message = status.dataset.message;
        var text = document.createElement("p");
        text.textContent = message;
        var bar = document.createElement("progress");  // no value: the time it takes is unknown
        bar.setAttribute("aria-label", message);
        status.textContent = "";
        status.appendChild(text);
        status.appendChild(bar);
      }
      // disabled after the submission started: the form data (the file) is already taken
      if (button) {
        window.setTimeout(function () { button.disabled = true; button.setAttribute("aria-disabled", "true"); }, 0);
      }
    });
  });

  // Back to the page from the browser's cache: the form is usable again.
  window.addEventListener("pageshow", function (event) { if (event.persisted) { reset(); } });
})();
