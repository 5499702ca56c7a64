/* The pages' few behaviours, in one file: the Content-Security-Policy allows scripts from this origin
   only, no inline script or event attribute. Every page works without it; it only helps. */
(function () {
  "use strict";

  // A period picker (operations, sales journal): typing a date means a custom period, so select it
  // and "Appliquer" does what the parent expects.
  document.querySelectorAll("form[data-custom-period]").forEach(function (form) {
    ["from", "to"].forEach(function (name) {
      var input = form.elements[name];
      if (input) {
        input.addEventListener("change", function () { form.elements.period.value = "custom"; });
      }
    });
  });

  // A file input with data-max-bytes (photo uploads): say "too large" before sending megabytes.
  document.querySelectorAll("input[type=file][data-max-bytes]").forEach(function (input) {
    input.addEventListener("change", function () {
      var total = 0;
      for (var i = 0; i < input.files.length; i++) { total += input.files[i].size; }
      input.setCustomValidity(total > Number(input.dataset.maxBytes) ? input.dataset.tooLarge : "");
      input.reportValidity();
    });
  });

  // A button with data-print (a meeting schedule): print the page.
  document.querySelectorAll("button[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();
