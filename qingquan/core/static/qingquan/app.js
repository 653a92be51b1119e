// Controls marked data-autosubmit send their form when changed (the language switch);
// an event listener, not an onchange attribute, because the Content-Security-Policy runs
// no inline script.
document.addEventListener("change", (event) => {
  const control = event.target;
  if (control instanceof HTMLElement && control.hasAttribute("data-autosubmit") && control.form) {
    control.form.requestSubmit ? control.form.requestSubmit() : control.form.submit();
  }
});

// Live events for the logged-in staff member: notifications appear as toasts and bump the
// bell counter. Reconnects with backoff so a night-shift tab survives a server restart.
(function () {
  const url = document.body.dataset.eventsUrl;
  if (!url) return;
  let delay = 1000;
  function toast(event) {
    const box = document.getElementById("toasts");
    const el = document.createElement("div");
    el.className = "toast " + (event.level || "info");
    el.textContent = event.title + (event.body ? " — " + event.body : "");
    if (event.link) { el.style.cursor = "pointer"; el.onclick = () => { window.location = event.link; }; }
    box.appendChild(el);
    setTimeout(() => el.remove(), 12000);
  }
  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const ws = new WebSocket(scheme + location.host + url);
    ws.onopen = () => { delay = 1000; };
    ws.onmessage = (msg) => {
      const event = JSON.parse(msg.data);
      document.dispatchEvent(new CustomEvent("qingquan:event", { detail: event }));
      if (event.kind === "notification") {
        const badge = document.getElementById("unread-count");
        if (badge) { badge.textContent = String((parseInt(badge.textContent, 10) || 0) + 1); badge.classList.remove("hidden"); }
        toast(event);
      }
    };
    ws.onclose = () => { setTimeout(connect, delay); delay = Math.min(delay * 2, 30000); };
  }
  connect();
})();
