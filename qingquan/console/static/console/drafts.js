// Drafts: nothing typed into a console form is lost. Every form with data-local-key keeps
// what was typed in localStorage (per contact, call or case) and, when it has
// data-draft-url (a contact or case exists), on the server too (console.views.draft).
// A form is restored from the newer of the two when it appears (page load, HTMX swap,
// second tab). A form that was sent marks its local copy "sent"; the server forgets its
// copy on success, so the next load drops the local one too.
(function () {
  const PREFIX = "qingquan:draft:";
  const timers = new WeakMap();

  function csrf() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) { return ""; }
  }
  function values(form) {
    const data = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name === "csrfmiddlewaretoken") return;
      if (["hidden", "submit", "button", "file"].indexOf(el.type) >= 0) return;
      if (el.type === "radio") { if (el.checked) data[el.name] = el.value; return; }
      if (el.type === "checkbox") { data[el.name] = el.checked ? el.value : ""; return; }
      data[el.name] = el.value;
    });
    return data;
  }
  function hasText(data) {
    return Object.keys(data).some(function (k) {
      return k !== "visibility" && k !== "account" && data[k];
    });
  }
  function apply(form, data) {
    Object.keys(data).forEach(function (name) {
      form.querySelectorAll('[name="' + name.replace(/"/g, "") + '"]').forEach(function (el) {
        if (el.type === "hidden") return;
        if (el.type === "radio") el.checked = el.value === data[name];
        else if (el.type === "checkbox") el.checked = !!data[name] && el.value === data[name];
        else el.value = data[name];
      });
    });
    const kind = form.querySelector("input[name=kind]:checked");
    if (kind) kind.dispatchEvent(new Event("change", { bubbles: true }));
  }
  function readLocal(key) {
    try { return JSON.parse(localStorage.getItem(PREFIX + key) || "null"); } catch (e) { return null; }
  }
  function writeLocal(key, entry) {
    try { localStorage.setItem(PREFIX + key, JSON.stringify(entry)); } catch (e) { /* full */ }
  }
  function say(form, text) {
    const out = form.querySelector("[data-draft-status]");
    if (out) out.textContent = text;
  }
  function saveServer(form, data) {
    const url = form.dataset.draftUrl;
    if (!url) return;
    fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify(data),
      credentials: "same-origin",
    }).then(function (r) {
      if (!r.ok) say(form, form.dataset.msgDraftFailed || "");
    }).catch(function () { say(form, form.dataset.msgDraftOffline || ""); });
  }
  function save(form) {
    const data = values(form);
    writeLocal(form.dataset.localKey, { data: data, at: Date.now() });
    clearTimeout(timers.get(form));
    timers.set(form, setTimeout(function () { saveServer(form, data); }, 600));
  }
  function restore(form, data, restoredText) {
    if (form.dataset.dirty || !data || !hasText(data)) return;
    apply(form, data);
    form.dataset.restored = "1";
    say(form, restoredText);
  }
  function init(form) {
    if (form.dataset.draftReady) return;
    form.dataset.draftReady = "1";
    const key = form.dataset.localKey;
    const local = readLocal(key);
    const restored = form.dataset.msgRestored || "";
    form.addEventListener("input", function () { form.dataset.dirty = "1"; save(form); });
    form.addEventListener("change", function (e) {
      if (e.isTrusted) { form.dataset.dirty = "1"; save(form); }
    });
    form.addEventListener("submit", function () {
      clearTimeout(timers.get(form));
      writeLocal(key, { data: values(form), at: Date.now(), sent: Date.now() });
    });
    if (form.dataset.fresh) {
      // Re-rendered by the server after a refused send: it shows what was sent; keep that.
      save(form);
      return;
    }
    if (local && !local.sent) restore(form, local.data, restored);
    if (!form.dataset.draftUrl) {
      if (local && local.sent) localStorage.removeItem(PREFIX + key);
      return;
    }
    fetch(form.dataset.draftUrl, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (server) {
        if (!server) return;
        if (!server.data) {
          // Sent and received: the server forgot its copy, so the local one goes too.
          if (local && local.sent) localStorage.removeItem(PREFIX + key);
          return;
        }
        const serverAt = Date.parse(server.updated_at) || 0;
        const localAt = local && !local.sent ? local.at : 0;
        if (serverAt > localAt) restore(form, server.data, restored);
        else if (local && local.sent) restore(form, local.data, restored);
      })
      .catch(function () { /* offline: the local copy is already shown */ });
  }
  function scan() { document.querySelectorAll("form[data-local-key]").forEach(init); }
  document.addEventListener("DOMContentLoaded", scan);
  document.addEventListener("htmx:load", scan);
  document.addEventListener("htmx:afterSwap", scan);
  // A case opened from the intake: forget the local copy at once (the server already did).
  document.addEventListener("htmx:afterRequest", function (e) {
    const form = e.detail && e.detail.elt;
    if (!form || !form.dataset || !form.dataset.localKey) return;
    const xhr = e.detail.xhr;
    if (e.detail.successful && xhr && xhr.getResponseHeader("HX-Redirect")) {
      localStorage.removeItem(PREFIX + form.dataset.localKey);
    }
  });
  window.qingquanDrafts = { scan: scan };
})();
