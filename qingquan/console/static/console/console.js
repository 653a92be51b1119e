// Agent console and wallboard: screen pops arrive as `qingquan:event` (kind "screen_pop")
// from the websocket (core app.js); the call banner also polls every 3 s, so a pop opens
// even without the websocket. A pop already showing that call is never loaded again, and a
// form the agent has touched is never replaced: a new call then shows a notice with a link.
// Keyboard: "/" look-up, 1-9 case kind, Ctrl+Enter submit (a refused send says why).
(function () {
  function popTarget() { return document.getElementById("pop"); }
  function notice(pop, url) {
    let box = document.getElementById("pop-notice");
    if (!box) {
      box = document.createElement("p");
      box.id = "pop-notice";
      box.className = "pop-notice";
      box.setAttribute("role", "status");
      box.dataset.testid = "pop-notice";
      box.setAttribute("data-testid", "pop-notice");
      pop.parentNode.insertBefore(box, pop);
    }
    box.textContent = (pop.dataset.msgNewCall || "") + " ";
    const link = document.createElement("a");
    link.href = url;
    link.target = "_blank";
    link.textContent = pop.dataset.msgOpen || url;
    box.appendChild(link);
  }
  function loadPop(url, callId) {
    const pop = popTarget();
    if (!pop || !window.htmx || !url) return;
    if (callId && pop.dataset.call === String(callId)) return;
    if (pop.querySelector("form[data-dirty]")) { notice(pop, url); return; }
    pop.dataset.call = callId ? String(callId) : "";
    window.htmx.ajax("GET", url, { target: "#pop", swap: "innerHTML" });
  }
  document.addEventListener("qingquan:event", function (e) {
    const event = e.detail || {};
    if (event.kind === "screen_pop") {
      loadPop(event.url, event.call_id);
      document.body.dispatchEvent(new CustomEvent("qingquan-call"));
    } else if (event.kind === "wallboard") {
      document.body.dispatchEvent(new CustomEvent("qingquan-wallboard"));
    }
  });
  document.addEventListener("htmx:afterSwap", function (e) {
    const target = e.detail && e.detail.target;
    if (target && target.id === "call-banner") {
      const banner = target.querySelector("[data-call]");
      if (banner && banner.dataset.call && banner.dataset.popUrl) {
        loadPop(banner.dataset.popUrl, banner.dataset.call);
      }
    }
    followKind();
  });
  function followKind() {
    const checked = document.querySelector(".intake input[name=kind]:checked");
    const code = checked ? checked.value : "";
    document.querySelectorAll(".intake .follows").forEach(function (el) {
      const kinds = (el.dataset.for || "").split(" ");
      el.hidden = !!code && kinds.indexOf(code) < 0;
    });
    document.querySelectorAll(".intake select[name=subkind] option[data-parent]").forEach(function (opt) {
      opt.hidden = !!code && opt.dataset.parent !== code;
    });
    const sub = document.querySelector(".intake select[name=subkind]");
    if (sub && sub.selectedOptions[0] && sub.selectedOptions[0].hidden) sub.value = "";
  }
  function fieldName(el) {
    const set = el.closest("fieldset");
    const legend = set && set.querySelector("legend");
    const label = el.closest("label");
    return ((legend || label || el).textContent || el.name).trim();
  }
  function refuse(form, text) {
    const out = form.querySelector("[data-testid=intake-error]");
    if (out) out.textContent = text;
  }
  // A send the browser refuses (a required field) or the server does not take says why.
  document.addEventListener("invalid", function (e) {
    const form = e.target.form;
    if (!form || !form.classList.contains("intake")) return;
    refuse(form, (form.dataset.msgInvalid || "{field}").replace("{field}", fieldName(e.target)));
  }, true);
  document.addEventListener("htmx:responseError", function (e) {
    const form = e.detail && e.detail.elt;
    if (!form || !form.classList || !form.classList.contains("intake")) return;
    const status = e.detail.xhr ? String(e.detail.xhr.status) : "?";
    refuse(form, (form.dataset.msgFailed || "{status}").replace("{status}", status));
  });
  document.addEventListener("htmx:sendError", function (e) {
    const form = e.detail && e.detail.elt;
    if (!form || !form.classList || !form.classList.contains("intake")) return;
    refuse(form, form.dataset.msgOffline || "");
  });
  document.addEventListener("change", function (e) {
    if (e.target && e.target.name === "kind") followKind();
  });
  document.addEventListener("DOMContentLoaded", followKind);
  document.addEventListener("keydown", function (e) {
    const tag = (e.target && e.target.tagName) || "";
    const typing = tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      const form = (e.target.closest && e.target.closest("form.intake")) ||
        document.querySelector("form.intake");
      if (form) { e.preventDefault(); form.requestSubmit(); }
      return;
    }
    if (typing || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.key === "/") {
      const q = document.getElementById("lookup-q") || document.getElementById("case-q");
      if (q) { e.preventDefault(); q.focus(); }
      return;
    }
    if (/^[1-9]$/.test(e.key)) {
      const radio = document.querySelector('.intake label[data-key="' + e.key + '"] input');
      if (radio) {
        e.preventDefault();
        radio.checked = true;
        radio.dispatchEvent(new Event("input", { bubbles: true }));
        followKind();
        const next = document.querySelector(".intake select[name=subkind]");
        if (next) next.focus();
      }
    }
  });
})();
