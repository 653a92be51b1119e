// The crew app: the crew's jobs (an HTML fragment from the server), each step sent to the
// API at once when there is a connection, or kept in this phone's queue (localStorage)
// with its original time and its own id when there is none, and sent when the connection
// returns (POST …/steps/replay: the server applies them in their original order; a step
// sent twice is recorded once). Photos are made smaller on the phone before they are sent.
(function () {
  "use strict";

  const QUEUE_KEY = "qq-crew-queue";
  const cfg = JSON.parse(document.getElementById("crew-config").textContent);
  const root = document.getElementById("crew-app");
  const list = document.getElementById("crew-jobs");
  const net = document.getElementById("crew-net");
  const queueInfo = document.getElementById("crew-queue");
  const refusedList = document.getElementById("crew-refused");
  let labels = { steps: {}, states: {} };
  let flushing = false;

  function csrf() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "s-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }

  function queue() {
    try {
      return JSON.parse(localStorage.getItem(QUEUE_KEY) || "[]");
    } catch (e) {
      return [];
    }
  }

  function saveQueue(items) {
    localStorage.setItem(QUEUE_KEY, JSON.stringify(items));
    showQueue();
  }

  function showQueue() {
    const n = queue().length;
    queueInfo.hidden = n === 0;
    queueInfo.textContent = queueInfo.dataset.text.replace("%(n)s", String(n));
    root.dataset.queued = String(n);
  }

  function showNet() {
    const online = navigator.onLine;
    net.textContent = online ? net.dataset.onlineText : net.dataset.offlineText;
    net.classList.toggle("offline", !online);
    root.dataset.online = online ? "1" : "0";
  }

  function refused(message) {
    const li = document.createElement("li");
    li.textContent = message;
    refusedList.appendChild(li);
  }

  // Show the job as the step leaves it (before the server confirms: the phone may be offline).
  function advance(card, after) {
    if (!after) return;
    card.dataset.state = after;
    const state = card.querySelector("[data-role=state]");
    if (state) state.textContent = labels.states[after] || after;
    enable(card);
  }

  function enable(card) {
    const state = card.dataset.state;
    card.querySelectorAll("button[data-step]").forEach((b) => {
      b.disabled = b.dataset.before !== state;
    });
    card.querySelectorAll("input[data-valve]").forEach((box) => {
      if (!box.checked) box.disabled = state !== "on_site";
    });
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify(body),
    });
    let data = {};
    try {
      data = await response.json();
    } catch (e) {
      data = {};
    }
    return { status: response.status, data: data };
  }

  function stepUrl(job, suffix) {
    return cfg.api + "jobs/" + encodeURIComponent(job) + "/steps" + (suffix || "");
  }

  // One step: straight to the server when online, else (or when sending fails) queued.
  async function take(card, step) {
    const job = card.dataset.job;
    if (navigator.onLine && queue().length === 0) {
      try {
        const answer = await post(stepUrl(job), { ...step, offline: false });
        if (answer.status === 200) return true;
        refused(answer.data.detail || String(answer.status));
        return false;
      } catch (e) {
        // no connection after all: keep it
      }
    }
    const items = queue();
    items.push({ ...step, job: job, at: step.at || new Date().toISOString() });
    saveQueue(items);
    return true;
  }

  async function flush() {
    if (flushing || !navigator.onLine) return;
    const items = queue();
    if (!items.length) return;
    flushing = true;
    try {
      const jobs = [...new Set(items.map((s) => s.job))];
      for (const job of jobs) {
        const steps = items.filter((s) => s.job === job).map((s) => ({ ...s, offline: true }));
        steps.forEach((s) => delete s.job);
        let answer;
        try {
          answer = await post(stepUrl(job, "/replay"), { steps: steps });
        } catch (e) {
          return; // still no connection: try again on the next "online"
        }
        const done = new Set();
        if (answer.status === 200) {
          answer.data.applied.forEach((a) => done.add(a.id));
          Object.entries(answer.data.refused || {}).forEach(([id, why]) => {
            done.add(id);
            refused(why);
          });
        } else {
          steps.forEach((s) => done.add(s.id));
          refused(answer.data.detail || String(answer.status));
        }
        saveQueue(queue().filter((s) => !done.has(s.id)));
      }
      await load();
    } finally {
      flushing = false;
    }
  }

  async function load() {
    if (!navigator.onLine) return;
    try {
      const response = await fetch(cfg.jobs, { credentials: "same-origin" });
      if (!response.ok) return;
      list.innerHTML = await response.text();
    } catch (e) {
      return;
    }
    const data = document.getElementById("crew-labels");
    if (data) labels = JSON.parse(data.textContent);
    // Steps still queued are shown as taken.
    const pending = queue();
    list.querySelectorAll("[data-job]").forEach((card) => {
      pending
        .filter((s) => s.job === card.dataset.job)
        .forEach((s) => {
          const button = card.querySelector('button[data-step="' + s.kind + '"]');
          if (button) advance(card, button.dataset.after);
          if (s.kind === "valve") {
            const box = card.querySelector('input[data-valve="' + s.valve + '"]');
            if (box) box.checked = true;
          }
        });
      enable(card);
    });
    root.dataset.loaded = "1";
  }

  list.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-step]");
    if (!button) return;
    const card = button.closest("[data-job]");
    button.disabled = true;
    const ok = await take(card, { id: uuid(), kind: button.dataset.step });
    if (ok) advance(card, button.dataset.after);
    else enable(card);
    if (ok && navigator.onLine && button.dataset.step === "restored") load();
  });

  list.addEventListener("change", async (event) => {
    const box = event.target.closest("input[data-valve]");
    if (!box || !box.checked) return;
    const card = box.closest("[data-job]");
    box.disabled = true;
    const ok = await take(card, { id: uuid(), kind: "valve", valve: box.dataset.valve });
    if (!ok) {
      box.checked = false;
      box.disabled = false;
    }
  });

  list.addEventListener("submit", async (event) => {
    const form = event.target;
    event.preventDefault();
    const card = form.closest("[data-job]");
    if (form.dataset.role === "note") {
      const text = form.note.value.trim();
      if (!text) return;
      if (await take(card, { id: uuid(), kind: "note", note: text })) form.reset();
    } else if (form.dataset.role === "photo") {
      const file = form.file.files[0];
      if (!file) return;
      if (!navigator.onLine) {
        refused(net.dataset.offlineText);
        return;
      }
      const blob = await shrink(file);
      const body = new FormData();
      body.append("id", uuid());
      body.append("phase", form.phase.value);
      body.append("file", blob, "photo.jpg");
      const response = await fetch(cfg.api + "jobs/" + encodeURIComponent(card.dataset.job) + "/photos", {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrf() },
        body: body,
      });
      if (response.ok) form.reset();
      else refused(((await response.json()) || {}).detail || String(response.status));
    }
  });

  // A photo at most 1600 px on its long side, JPEG at 80 %.
  function shrink(file) {
    return new Promise((resolve) => {
      const image = new Image();
      image.onload = () => {
        const scale = Math.min(1, 1600 / Math.max(image.width, image.height));
        const canvas = document.createElement("canvas");
        canvas.width = Math.round(image.width * scale);
        canvas.height = Math.round(image.height * scale);
        canvas.getContext("2d").drawImage(image, 0, 0, canvas.width, canvas.height);
        canvas.toBlob((blob) => resolve(blob || file), "image/jpeg", 0.8);
        URL.revokeObjectURL(image.src);
      };
      image.onerror = () => resolve(file);
      image.src = URL.createObjectURL(file);
    });
  }

  // The crew's position while on duty, once a minute.
  function track() {
    if (!cfg.crew || !navigator.geolocation) return;
    let last = 0;
    navigator.geolocation.watchPosition(
      (p) => {
        if (!navigator.onLine || Date.now() - last < 60000) return;
        last = Date.now();
        post(cfg.api + "crews/" + encodeURIComponent(cfg.crew) + "/position", {
          lon: p.coords.longitude,
          lat: p.coords.latitude,
        }).catch(() => {});
      },
      () => {},
      { enableHighAccuracy: false, maximumAge: 60000 },
    );
  }

  window.addEventListener("online", () => {
    showNet();
    flush();
  });
  window.addEventListener("offline", showNet);
  showNet();
  showQueue();
  load().then(flush);
  track();
})();
