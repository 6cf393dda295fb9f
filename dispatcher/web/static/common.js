"use strict";
// Shared by every page: the strings, API calls with the CSRF header, the live socket and
// its "disconnected" banner, the server's clock, and the new-emergency alert (sound and
// title flash), which must reach the operator whichever page is open.
const D = (() => {
  const boot = JSON.parse(document.getElementById("boot").textContent);
  const S = boot.strings;
  const csrf = document.querySelector('meta[name="csrf"]').content;

  function t(key, vars = {}) {
    let s = key in S ? S[key] : key;
    for (const [k, v] of Object.entries(vars)) s = s.split(`{${k}}`).join(String(v));
    return s;
  }
  const label = (prefix, value) => (`${prefix}.${value}` in S ? S[`${prefix}.${value}`] : value);

  // builds DOM from data with textContent only: nothing from the server becomes markup
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "dataset") Object.assign(node.dataset, v);
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c !== null && c !== undefined && c !== false) node.append(c instanceof Node ? c : String(c));
    }
    return node;
  }

  async function api(method, path, body) {
    const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    if (method !== "GET") init.headers["X-CSRF-Token"] = csrf;
    const response = await fetch(path, init);
    if (response.status === 401) {
      location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
      throw new Error("login required");
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error(data.error || response.statusText);
      error.status = response.status;
      error.data = data;
      throw error;
    }
    return data;
  }

  let toastTimer = 0;
  function toast(text, bad = false) {
    const box = document.getElementById("toast");
    box.textContent = text;
    box.classList.toggle("bad", bad);
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { box.hidden = true; }, bad ? 8000 : 3000);
  }
  const failed = (e) => toast(t("error.action", { msg: e.message }), true);

  // ages run on the server's clock, whatever this PC's clock says
  let offset = 0;
  const now = () => Date.now() + offset;
  // an alarm's age stops at its close: `until` (an ISO time) ends it
  const seconds = (iso, until) => Math.max(0, Math.floor(((until ? Date.parse(until) : now()) - Date.parse(iso)) / 1000));
  function age(iso, until) {
    const s = seconds(iso, until);
    if (s < 60) return t("age.s", { s });
    if (s < 3600) return t("age.ms", { m: Math.floor(s / 60), s: s % 60 });
    return t("age.hm", { h: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) });
  }
  // the catalog's category words are the middle of SMS sentences ("meals"); alone on a card
  // an English one starts with a capital
  const upperFirst = (text) => (text ? text[0].toUpperCase() + text.slice(1) : text);
  // a shift {days: "mon-fri" | "sat,sun" | "mon-sun", start, end} in the reader's words
  function shift(s) {
    const day = (d) => label("day", d);
    const days = s.days === "mon-sun" ? t("days.every") : s.days.split(",").map((part) => {
      const [a, b] = part.split("-");
      return b ? t("days.range", { a: day(a), b: day(b) }) : day(a);
    }).join("、");
    return `${days} ${s.start}–${s.end}`;
  }
  // times in the city's time zone, whatever the browser's is
  const time = (iso) => (iso ? new Date(iso).toLocaleString(boot.lang, { hour12: false, timeZone: boot.timezone }) : "—");
  // +8613882163101 -> 138 8216 3101: a number read aloud over the phone, in groups
  function phone(number) {
    const s = String(number || "");
    const cn = /^\+86(1\d{2})(\d{4})(\d{4})$/.exec(s);
    if (cn) return `${cn[1]} ${cn[2]} ${cn[3]}`;
    return s.replace(/^(\+\d{1,2})(\d{3})(\d{3})(\d{4})$/, "$1 $2 $3 $4");
  }

  // sound: generated, nothing to fetch; browsers start it only after a first click or key
  let audio = null;
  function context() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!audio && Ctx) {
      audio = new Ctx();
      audio.addEventListener("statechange", soundButton);
    }
    return audio;
  }
  function soundButton() {
    // the wallboard's screen is sent no alarm to sound for
    if (boot.user.role === "wallboard") return;
    const ctx = context();
    document.getElementById("sound").hidden = !ctx || ctx.state === "running";
  }
  function beep() {
    document.body.dataset.beeps = String(Number(document.body.dataset.beeps || 0) + 1);
    const ctx = context();
    if (!ctx) return;
    if (ctx.state !== "running") ctx.resume().catch(() => {}).finally(soundButton);
    const start = ctx.currentTime;
    for (let i = 0; i < 4; i++) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = "square";
      osc.frequency.value = i % 2 ? 660 : 988;
      gain.gain.value = 0.25;
      osc.connect(gain).connect(ctx.destination);
      osc.start(start + i * 0.25);
      osc.stop(start + i * 0.25 + 0.2);
    }
  }
  const baseTitle = document.title;
  let flashTimer = 0;
  function flash() {
    if (flashTimer) return;
    let on = false;
    document.body.classList.add("alerting");
    flashTimer = setInterval(() => {
      on = !on;
      document.title = on ? `${t("flash.new")} ${baseTitle}` : baseTitle;
    }, 700);
  }
  function stopFlash() {
    clearInterval(flashTimer);
    flashTimer = 0;
    document.title = baseTitle;
    document.body.classList.remove("alerting");
  }

  // the queue, kept current on every page from the live socket
  const queue = new Map();
  let seen = null; // alarms already announced; null before the first snapshot
  const untaken = () => [...queue.values()].some((a) => a.kind === "emergency" && a.status === "open");
  function apply(alarm) {
    const old = queue.get(alarm.id);
    if (old && old.rev > alarm.rev) return false; // an older state than the one shown
    if (alarm.status === "resolved") queue.delete(alarm.id);
    else queue.set(alarm.id, { ...old, ...alarm });
    return true;
  }
  function announce() {
    let fresh = false;
    for (const a of queue.values()) {
      if (!seen.has(a.id) && a.kind === "emergency" && a.status === "open") fresh = true;
      seen.add(a.id);
    }
    if (fresh) { beep(); flash(); }
    if (!untaken()) stopFlash();
    const link = document.querySelector('[data-nav="queue"]');
    if (link) link.dataset.count = String(queue.size);
  }
  const sortedQueue = () => [...queue.values()].sort(
    (a, b) => a.priority - b.priority || Date.parse(a.created_at) - Date.parse(b.created_at) || a.id - b.id,
  );

  const listeners = [];
  const on = (type, fn) => listeners.push([type, fn]);
  const emit = (type, arg) => { for (const [k, fn] of listeners) if (k === type) fn(arg); };

  // the live socket: until its snapshot arrives the screen is marked as out of date
  let socket = null;
  let retry = 500;
  let watchdog = 0;
  function setLive(up) {
    document.body.dataset.live = up ? "up" : "down";
    document.getElementById("live-state").textContent = t(up ? "live.up" : "live.down");
    document.getElementById("offline-banner").hidden = up;
  }
  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const ws = new WebSocket(`${scheme}${location.host}/api/live`);
    socket = ws;
    ws.onmessage = (event) => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => ws.close(), 45000); // ticks come every 15 s
      const msg = JSON.parse(event.data);
      if (msg.now) offset = Date.parse(msg.now) - Date.now();
      if (msg.type === "snapshot") {
        queue.clear();
        for (const a of msg.alarms) queue.set(a.id, a);
        if (seen === null) seen = new Set();
        retry = 500;
        setLive(true);
        announce();
        emit("snapshot", msg);
      } else if (msg.type === "alarm") {
        if (apply(msg.alarm) && seen !== null) { announce(); emit("alarm", msg.alarm); }
      } else if (msg.type === "terminal") emit("terminal", msg.terminal);
      else if (msg.type === "tick") emit("tick", msg);
      else if (msg.type === "changed") emit("changed", msg); // the wallboard's: no lines
    };
    ws.onclose = () => {
      if (socket !== ws) return;
      socket = null;
      clearTimeout(watchdog);
      document.body.dataset.disconnects = String(Number(document.body.dataset.disconnects || 0) + 1);
      setLive(false);
      emit("down");
      // an expired session also closes the socket: then the login page is the way back
      fetch("/api/me", { credentials: "same-origin" }).then((r) => {
        if (r.status === 401) location.href = `/login?next=${encodeURIComponent(location.pathname)}`;
      }).catch(() => {});
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 5000);
    };
  }

  async function take(id) {
    try {
      const alarm = await api("POST", `/api/alarms/${id}/ack`);
      toast(t("taken.by", { who: alarm.acknowledged_by }));
      return alarm;
    } catch (e) { failed(e); return null; }
  }

  const keys = (text) => { document.getElementById("keys").textContent = text; };
  const typing = (event) => {
    const target = event.target;
    return ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName) || target.isContentEditable;
  };
  const plainKey = (event) => !(typing(event) || event.ctrlKey || event.altKey || event.metaKey);

  document.addEventListener("DOMContentLoaded", () => {
    const page = document.body.dataset.page;
    for (const link of document.querySelectorAll("nav a")) {
      if (page.startsWith(link.dataset.nav.replace(/s$/, ""))) link.classList.add("current");
    }
    const wake = () => { if (audio) audio.resume().catch(() => {}).finally(soundButton); };
    document.getElementById("sound").addEventListener("click", () => { context(); wake(); });
    document.addEventListener("keydown", wake, { once: true });
    document.addEventListener("click", wake, { once: true });
    soundButton();
    connect();
  });

  return {
    boot, t, label, el, api, toast, failed, now, seconds, age, time, phone, upperFirst, shift, beep,
    on, queue, sortedQueue, take, keys, plainKey,
  };
})();
