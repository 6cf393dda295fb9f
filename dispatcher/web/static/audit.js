"use strict";
// The audit log, for supervisors: who viewed or changed a resident's record, when and
// from where, newest first.
(() => {
  const { t, el } = D;
  const main = document.getElementById("main");
  const params = new URLSearchParams(location.search);
  const resident = el("input", { id: "resident-id", placeholder: t("audit.resident"),
    value: params.get("resident_id") || "" });
  const body = el("tbody");

  function detail(d) {
    if (!d) return "";
    // field names are codes: the catalog words them (an unknown one stays as it is)
    if (d.fields) {
      const fields = d.fields.map((f) => D.label("audit.field", f)).join("、");
      return d.created ? `${t("audit.created")} · ${fields}` : fields;
    }
    if (d.workers) return d.workers.join("、");
    return Object.entries(d).map(([k, v]) => `${D.label("audit.field", k)}${t("sep.colon")}${v}`).join(" · ");
  }

  async function load() {
    const id = resident.value.trim();
    history.replaceState(null, "", id ? `/audit?resident_id=${encodeURIComponent(id)}` : "/audit");
    try {
      const lines = await D.api("GET", `/api/audit?limit=500${id ? `&resident_id=${encodeURIComponent(id)}` : ""}`);
      body.replaceChildren(...(lines.length ? lines.map((a) => el("tr", { class: "line", dataset: { action: a.action } },
        el("td", {}, D.time(a.at)),
        el("td", {}, el("strong", {}, a.actor), el("small", {}, ` ${t(`role.${a.role}`)}`)),
        el("td", {}, t(`audit.${a.action}`)),
        el("td", {}, a.resident_id ? el("a", { href: `/residents/${encodeURIComponent(a.resident_id)}` }, a.resident_id) : "—"),
        el("td", {}, a.alarm_id ? el("a", { href: `/alarms/${a.alarm_id}` }, `#${a.alarm_id}`) : "—"),
        el("td", {}, a.address || "—"),
        el("td", {}, detail(a.detail)))) : [el("tr", {}, el("td", { colspan: 7 }, t("audit.none")))]));
      document.body.dataset.rows = String(body.querySelectorAll("tr.line").length);
    } catch (e) { D.failed(e); }
  }

  main.append(el("h1", {}, t("audit.title")),
    el("form", { class: "tools", onsubmit: (e) => { e.preventDefault(); load(); } },
      resident, el("button", { type: "submit", id: "search" }, t("action.search"))),
    el("table", { class: "list", id: "audit" },
      el("thead", {}, el("tr", {}, ["col.time", "col.who", "col.action", "col.resident", "col.alarm",
        "col.address_from", "col.detail"].map((k) => el("th", {}, t(k))))),
      body));
  load();
})();
