"use strict";
// The wallboard: the supervisor's big figures (GET /api/wall), fetched again whenever
// the live feed says something changed and every 15 s; the longest wait counts up by
// itself between fetches. Nothing is computed here but the display.
(() => {
  const { t, el, api } = D;
  const main = document.getElementById("main");
  const css = el("link", { rel: "stylesheet", href: "/static/wall.css" });
  document.head.append(css);
  const targets = D.boot.targets;
  const grid = el("section", { class: "wall", id: "wall" });
  const body = el("tbody");
  const table = el("table", { id: "wall-communities" },
    el("thead", {}, el("tr", {},
      el("th", {}, t("wall.col.community")), el("th", {}, t("wall.col.open")),
      el("th", {}, t("wall.col.on_shift")))),
    body);
  const updated = el("p", { class: "wall-updated", id: "wall-updated" });
  main.append(grid, el("section", { class: "wall-communities" }, el("h2", {}, t("wall.communities")), table), updated);

  let last = null;
  let fetchedAt = 0;
  function mmss(s) {
    if (s < 60) return t("age.s", { s });
    if (s < 3600) return t("wall.mmss", { m: Math.floor(s / 60), s: s % 60 });
    return t("age.hm", { h: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) });
  }
  const pctText = (v) => (v === null || v === undefined ? "—" : `${v.toFixed(1)}%`);

  function tile(id, label, figure, cls, note) {
    return el("div", { class: `tile ${cls || ""}`, id }, el("div", { class: "label" }, label),
      el("div", { class: "figure" }, figure), note ? el("div", { class: "note" }, note) : null);
  }
  function share(id, label, value, target) {
    const cls = value === null ? "" : value >= target ? "good" : "bad";
    const note = value === null ? t("wall.no_data") : t("wall.target", { pct: target });
    return tile(id, label, pctText(value), cls, note);
  }
  function waitFigure() {
    if (!last || last.longest_wait_s === null) return null;
    return last.longest_wait_s + Math.floor((Date.now() - fetchedAt) / 1000);
  }
  function draw() {
    const w = last;
    const wait = waitFigure();
    grid.replaceChildren(
      tile("w-open", t("wall.open_emergencies"), String(w.open_emergencies), w.open_emergencies ? "warn" : "good"),
      tile("w-wait", t("wall.longest_wait"), wait === null ? t("wall.nobody_waits") : mmss(wait),
        wait === null ? "good" : wait > 60 ? "bad" : "warn"),
      tile("w-offline", t("wall.terminals_offline"), String(w.terminals_offline), w.terminals_offline ? "warn" : "good"),
      tile("w-missed", t("wall.checkins_missed"), String(w.checkins_missed_today), w.checkins_missed_today ? "warn" : "good"),
      share("w-60", t("wall.answered_60"), w.answered_60s_pct, targets.answer_60),
      share("w-180", t("wall.answered_180"), w.answered_180s_pct, targets.answer_180),
      share("w-45", t("wall.attended_45"), w.attended_45min_pct, targets.attend_45),
      tile("w-today", t("wall.emergencies_today_label"), String(w.emergencies_today), ""),
    );
    body.replaceChildren(...w.communities.map((c) => el("tr", { class: c.open_alarms ? "busy" : "" },
      el("td", {}, c.name), el("td", { class: "n" }, String(c.open_alarms)),
      el("td", { class: c.on_shift.length ? "" : "nobody-on" },
        c.on_shift.length ? c.on_shift.join("、") : t("wall.nobody_on_shift")))));
    updated.textContent = t("wall.updated", { time: D.time(w.now) });
  }
  function tickWait() {
    const box = document.querySelector("#w-wait .figure");
    const wait = waitFigure();
    if (box && wait !== null) box.textContent = mmss(wait);
  }

  let pending = 0;
  async function refresh() {
    pending = 0;
    try {
      last = await api("GET", "/api/wall");
      fetchedAt = Date.now();
      draw();
      document.body.dataset.wallReady = "1";
    } catch (e) { D.failed(e); }
  }
  // many changes at once (a power cut) make one fetch, not hundreds
  const soon = () => { if (!pending) pending = setTimeout(refresh, 500); };
  for (const type of ["snapshot", "alarm", "terminal", "changed", "tick"]) D.on(type, soon);
  setInterval(tickWait, 1000);
  setInterval(soon, 15000);
  refresh();
})();
