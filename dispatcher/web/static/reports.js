"use strict";
// The promise kept, per community and day: charts of the daily figures against the
// telecare targets (Chart.js, vendored), the table beneath, a date range and a
// community. The figures are the server's (GET /api/reports/daily); nothing is
// computed here but the drawing.
(() => {
  const { t, el } = D;
  const main = document.getElementById("main");
  const params = new URLSearchParams(location.search);
  const targets = D.boot.targets;
  // bright on the console's dark panels
  const COLORS = ["#3b9cff", "#ffc233", "#3ddc84", "#c77dff", "#ff8a65", "#4dd0e1", "#b0bec5", "#f06292"];
  Chart.defaults.color = "#a9b4c0";
  Chart.defaults.borderColor = "#313a46";
  Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
  const charts = [];
  const names = new Map();

  const from = el("input", { type: "date", id: "f-from", value: params.get("from") || "" });
  const to = el("input", { type: "date", id: "f-to", value: params.get("to") || "" });
  const community = el("select", { id: "f-community" }, el("option", { value: "" }, t("filter.all_communities")));
  const grid = el("div", { class: "charts", id: "charts" });
  const table = el("table", { class: "list report", id: "report" });

  // [title, figure, target percent or null, kind of chart]
  const FIGURES = [
    ["reports.answer_60", "acked_within_60s_pct", targets.answer_60, "line"],
    ["reports.answer_180", "acked_within_180s_pct", targets.answer_180, "line"],
    ["reports.attend_45", "attended_within_45min_pct", targets.attend_45, "line"],
    ["reports.median", "median_ack_s", null, "line"],
    ["reports.emergencies", "emergencies", null, "bar"],
    ["reports.service", "service", null, "bar"],
    ["reports.checkins", "checkins_missed", null, "bar"],
    ["reports.offline", "offline_terminal_minutes", null, "bar"],
  ];
  const COUNTS = new Set(["emergencies", "service", "checkins_missed"]);
  const COLUMNS = [
    ["col.date", "date"], ["col.community", "community_id"], ["col.emergencies", "emergencies"],
    ["col.answer_60", "acked_within_60s_pct", targets.answer_60],
    ["col.answer_180", "acked_within_180s_pct", targets.answer_180],
    ["col.median", "median_ack_s"], ["col.attend_45", "attended_within_45min_pct", targets.attend_45],
    ["col.service", "service_requests"], ["col.service_done", "service_done"],
    ["col.checkins", "checkins_missed"], ["col.terminals_offline", "terminals_offline"],
    ["col.offline_minutes", "offline_terminal_minutes"],
  ];

  function datasets(rows, days, ids, figure) {
    const value = (id, day, key) => {
      const row = rows.find((r) => r.community_id === id && r.date === day);
      return row ? row[key] : null;
    };
    const sets = [];
    ids.forEach((id, i) => {
      const color = COLORS[i % COLORS.length];
      if (figure === "service") {
        sets.push({ label: `${names.get(id) || id} · ${t("reports.requests")}`, backgroundColor: color,
          data: days.map((d) => value(id, d, "service_requests")) });
        sets.push({ label: `${names.get(id) || id} · ${t("reports.done")}`, backgroundColor: `${color}80`,
          data: days.map((d) => value(id, d, "service_done")) });
      } else {
        sets.push({ label: names.get(id) || id, borderColor: color, backgroundColor: color,
          data: days.map((d) => value(id, d, figure)), spanGaps: false, tension: 0 });
      }
    });
    return sets;
  }

  function draw(rows) {
    for (const chart of charts.splice(0)) chart.destroy();
    grid.replaceChildren();
    const days = [...new Set(rows.map((r) => r.date))].sort();
    const ids = [...new Set(rows.map((r) => r.community_id))].sort();
    for (const [title, figure, target, type] of FIGURES) {
      const sets = datasets(rows, days, ids, figure);
      if (target !== null) {
        sets.push({ label: t("reports.target", { pct: target }), data: days.map(() => target),
          borderColor: "#ff4d45", borderDash: [6, 4], pointRadius: 0, borderWidth: 2, fill: false });
      }
      const canvas = el("canvas", { "aria-label": t(title), role: "img" });
      grid.append(el("section", { class: "card chart", dataset: { figure } }, el("h2", {}, t(title)),
        el("div", { class: "chart-box" }, canvas)));
      charts.push(new Chart(canvas, {
        type,
        data: { labels: days.map((d) => d.slice(5)), datasets: sets },
        options: {
          animation: false, maintainAspectRatio: false,
          // counts are whole: no 0.2 emergencies on the axis
          scales: { y: { beginAtZero: true, suggestedMax: target !== null ? 100 : undefined,
            ticks: COUNTS.has(figure) ? { precision: 0 } : {} } },
          plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
        },
      }));
    }
    table.replaceChildren(
      el("thead", {}, el("tr", {}, COLUMNS.map(([key]) => el("th", {}, t(key))))),
      el("tbody", {}, rows.length ? rows.map((r) => el("tr", {}, COLUMNS.map(([, key, target]) => {
        const v = r[key];
        const below = target !== undefined && v !== null && v < target;
        const decimal = /_pct$|_s$|_minutes$/.test(key);
        const shown = key === "community_id" ? names.get(v) || v
          : v === null ? "—" : decimal ? v.toFixed(1) : String(v);
        return el("td", { class: below ? "below" : "" }, shown);
      }))) : [el("tr", {}, el("td", { colspan: COLUMNS.length }, t("reports.none")))]));
    document.body.dataset.charts = String(charts.length);
  }

  // the city against the targets first, then its communities, worst first (the server's order)
  const summary = el("section", { class: "card summary", id: "summary" });
  const SHARES = [["col.answer_60", "acked_within_60s_pct", "answer_60"],
    ["col.answer_180", "acked_within_180s_pct", "answer_180"],
    ["col.attend_45", "attended_within_45min_pct", "attend_45"]];
  function drawSummary(s) {
    const cell = (v, target) => el("td", { class: v !== null && v < target ? "below" : v === null ? "" : "met" },
      v === null ? "—" : `${v.toFixed(1)}%`);
    const line = (row, name, cls) => el("tr", { class: cls, dataset: { community: row.community_id || "" } },
      el("th", { scope: "row" }, name), el("td", {}, String(row.emergencies)),
      SHARES.map(([, key, target]) => cell(row[key], s.targets[target])));
    // a user with a scope sees its figures, named, not the city's
    const area = D.boot.user.area;
    const heading = area ? t("reports.summary.area", { area, from: s.first, to: s.last })
      : t("reports.summary", { from: s.first, to: s.last });
    summary.replaceChildren(el("h2", {}, heading),
      el("table", { class: "list", id: "summary-table" },
        el("thead", {}, el("tr", {}, el("th", {}, t("col.community")), el("th", {}, t("col.emergencies")),
          SHARES.map(([key, , target]) => el("th", {}, t(key), el("small", {}, t("reports.target", { pct: s.targets[target] })))))),
        el("tbody", {}, line(s.city, area || t("reports.city"), "city"),
          s.communities.map((c) => line(c, names.get(c.community_id) || c.community_id, "community")))));
  }

  async function load() {
    const q = new URLSearchParams();
    if (from.value) q.set("from", from.value);
    if (to.value) q.set("to", to.value);
    if (community.value) q.set("community", community.value);
    history.replaceState(null, "", `/reports${q.toString() ? `?${q}` : ""}`);
    try {
      const [rows, totals] = await Promise.all([
        D.api("GET", `/api/reports/daily?${q}`), D.api("GET", `/api/reports/summary?${q}`)]);
      drawSummary(totals);
      if (rows.length && !from.value) from.value = rows[0].date;
      if (rows.length && !to.value) to.value = rows[rows.length - 1].date;
      draw(rows);
    } catch (e) { D.failed(e); }
  }

  main.append(el("h1", {}, t("reports.title")),
    el("form", { class: "tools filters", onsubmit: (e) => { e.preventDefault(); load(); } },
      el("label", {}, t("filter.from"), from), el("label", {}, t("filter.to"), to),
      el("label", {}, t("filter.community"), community),
      el("button", { type: "submit", id: "search" }, t("action.search"))),
    summary, grid, table);

  D.api("GET", "/api/communities").then((list) => {
    for (const c of list) {
      names.set(c.id, c.name);
      community.append(el("option", { value: c.id, selected: c.id === params.get("community") }, c.name));
    }
    load();
  }).catch(D.failed);
})();
