// Speed buttons of the call-recording player (0.75×, 1×, 1.5×, 2×): one listener for the page.
(function () {
  if (window.qqRecordingPlayer) return;
  window.qqRecordingPlayer = true;
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-speed]");
    if (!button) return;
    var box = button.closest("[data-testid=recording]");
    var audio = box && box.querySelector("audio");
    if (!audio) return;
    audio.playbackRate = parseFloat(button.dataset.speed);
    box.querySelectorAll("[data-speed]").forEach(function (b) {
      b.setAttribute("aria-pressed", b === button ? "true" : "false");
    });
  });
})();
