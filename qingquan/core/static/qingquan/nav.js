// The main navigation's drop-down menus (<details class="navgroup">): one open at a time,
// closed by a click elsewhere or Escape. Without JavaScript the menus still open and close.
(function () {
  "use strict";
  function groups() { return document.querySelectorAll("details.navgroup"); }
  function closeAll(except) {
    groups().forEach(function (g) { if (g !== except) g.open = false; });
  }
  document.addEventListener("toggle", function (event) {
    var target = event.target;
    if (target instanceof HTMLDetailsElement && target.classList.contains("navgroup") && target.open) {
      closeAll(target);
    }
  }, true);
  document.addEventListener("click", function (event) {
    if (!event.target.closest || !event.target.closest("details.navgroup")) closeAll(null);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    groups().forEach(function (g) {
      if (g.open) { g.open = false; g.querySelector("summary").focus(); }
    });
  });
})();
