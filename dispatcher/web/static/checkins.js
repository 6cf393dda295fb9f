"use strict";
// Today's check-ins: who has checked in and who has not, missed first, by community.
(() => {
  const { t, el, label } = D;
  const main = document.getElementById("main");
  const filter = el("select", { id: "community" }, el("option", { value: "" }, t("checkins.all")));
  const counts = el("p", { id: "checkin-counts", class: "off" });
  const body = el("tbody");
  const table = el("table", { class: "list", id: "checkins" },
    el("thead", {}, el("tr", {}, ["field.name", "card.community", "checkin.window", "checkins.state",
      "checkin.last_press", "checkin.paused_until"].map((k) => el("th", {}, t(k))), el("th"))), body);
  const empty = el("p", { class: "off", hidden: true }, t("checkins.none"));
  main.append(el("div", { class: "tools" }, el("h1", {}, t("checkins.title")), filter), counts, table, empty);

  function row(c) {
    return el("tr", { class: `cstate-row-${c.state}`, dataset: { resident: c.resident_id, state: c.state } },
      el("td", {}, el("a", { href: `/residents/${encodeURIComponent(c.resident_id)}` }, el("strong", {}, c.name)),
        el("small", {}, c.address)),
      el("td", {}, c.community),
      el("td", {}, c.window),
      el("td", {}, el("span", { class: `cstate cstate-${c.state}` }, label("cstate", c.state))),
      el("td", {}, el("time", {}, D.time(c.last_press_at))),
      el("td", {}, c.paused_until ? `${c.paused_until}${c.pause_reason ? ` · ${c.pause_reason}` : c.pause_reason_withheld ? ` · ${t("checkin.reason_withheld")}` : ""}` : ""),
      el("td", {}, c.alarm_id ? el("a", { class: "button", href: `/alarms/${c.alarm_id}` }, t("action.open")) : null));
  }

  async function load() {
    try {
      const query = filter.value ? `?community=${encodeURIComponent(filter.value)}` : "";
      const list = await D.api("GET", `/api/checkins${query}`);
      const n = (...states) => list.filter((c) => states.includes(c.state)).length;
      counts.textContent = t("checkins.counts", { missed: n("missed"), due: n("due"),
        ok: n("checked_in", "late"), paused: n("paused"), waiting: n("waiting") });
      body.replaceChildren(...list.map(row));
      table.hidden = list.length === 0;
      empty.hidden = list.length > 0;
    } catch (e) { D.failed(e); }
  }

  (async () => {
    try {
      for (const c of await D.api("GET", "/api/communities")) filter.append(el("option", { value: c.id }, c.name));
    } catch (e) { D.failed(e); }
    filter.addEventListener("change", load);
    await load();
  })();
  // a missed check-in opens or closes: the list changes with it
  D.on("alarm", (a) => { if (a.kind === "checkin") load(); });
  setInterval(load, 30000);
})();
