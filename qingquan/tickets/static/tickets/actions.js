// The case page's action bar: one step's form open at a time, its first field focused,
// Escape closes it. (A static file: the Content-Security-Policy forbids inline scripts.)
(function () {
  "use strict";
  function bar() { return document.querySelector("[data-testid=actions]"); }
  document.addEventListener("toggle", function (event) {
    var opened = event.target;
    if (!(opened instanceof HTMLDetailsElement) || !opened.classList.contains("act") || !opened.open) return;
    bar().querySelectorAll("details.act[open]").forEach(function (other) {
      if (other !== opened) other.open = false;
    });
    var field = opened.querySelector("form select, form input:not([type=hidden]), form textarea, form button");
    if (field) field.focus();
  }, true);
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || !bar()) return;
    bar().querySelectorAll("details.act[open]").forEach(function (open) {
      open.open = false;
      open.querySelector("summary").focus();
    });
  });
})();
