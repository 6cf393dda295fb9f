"use strict";
// The history: alarms by status, local dates, community, kind and resident, newest
// first, page after page; the filters live in the address, so a search can be shared.
// Supervisors export the same rows as CSV.
(() => {
  const { t, el, label } = D;
  const main = document.getElementById("main");
  const params = new URLSearchParams(location.search);
  const supervisor = D.boot.user.role !== "operator";
  const PAGE = 100;

  const select = (id, options, value) => el("select", { id },
    options.map(([v, text]) => el("option", { value: v, selected: v === value }, text)));
  const f = {
    status: select("f-status", [["all", t("filter.all")], ["resolved", label("status", "resolved")],
      ["open", label("status", "open")], ["acknowledged", label("status", "acknowledged")]],
    params.get("status") || "all"),
    from: el("input", { type: "date", id: "f-from", value: params.get("from") || "" }),
    to: el("input", { type: "date", id: "f-to", value: params.get("to") || "" }),
    community: select("f-community", [["", t("filter.all_communities")]], ""),
    kind: select("f-kind", [["", t("filter.all")],
      ...["emergency", "service", "device", "checkin"].map((k) => [k, label("kind", k)])],
    params.get("kind") || ""),
    q: el("input", { type: "search", id: "f-q", placeholder: t("filter.q"), value: params.get("q") || "" }),
  };
  const body = el("tbody");
  const more = el("button", { type: "button", id: "more", hidden: true, onclick: () => load(true) }, t("action.more"));
  const exportLink = el("a", { class: "button", id: "export", hidden: !supervisor }, t("action.export"));
  const labelled = (key, node) => el("label", {}, t(key), node);

  function query() {
    const q = new URLSearchParams();
    for (const [key, node] of Object.entries(f)) if (node.value) q.set(key, node.value.trim());
    return q;
  }

  let last = null;
  async function load(next = false) {
    const q = query();
    const shown = q.toString();
    history.replaceState(null, "", `/history?${q}`);
    exportLink.href = `/api/alarms.csv?${q}`;
    q.set("limit", String(PAGE));
    const paged = ["all", "resolved"].includes(f.status.value);
    if (next && last !== null) q.set("before", String(last));
    try {
      const found = await D.api("GET", `/api/alarms?${q}`);
      if (!next) body.replaceChildren();
      body.append(...found.map(row));
      if (!body.rows.length) body.append(el("tr", {}, el("td", { colspan: 8 }, t("history.none"))));
      last = found.length ? found[found.length - 1].id : last;
      more.hidden = !(paged && found.length === PAGE);
      document.body.dataset.rows = String(body.querySelectorAll("tr.alarm").length);
      document.body.dataset.shown = shown; // which search the table shows (for tests)
    } catch (e) { D.failed(e); }
  }

  function row(a) {
    const who = a.resident ? a.resident.name : a.device_id || "—";
    // not the queue's colours: a closed alarm of last week is no emergency now
    return el("tr", { class: "alarm", dataset: { id: a.id, kind: a.kind, status: a.status } },
      el("td", {}, el("a", { href: `/alarms/${a.id}` }, D.time(a.created_at))),
      el("td", {}, el("span", { class: "badge" }, label("kind", a.kind)), ` ${label("type", a.type)}`),
      el("td", {}, el("strong", {}, who), a.resident ? el("small", {}, ` ${a.resident.id}`) : null),
      el("td", {}, a.community || "—"),
      el("td", {}, label("status", a.status)),
      el("td", {}, a.acknowledged_by || "—"),
      el("td", {}, a.outcome ? label("outcome", a.outcome) : "—"),
      el("td", {}, a.resolved_by ? `${D.label("actor", a.resolved_by)} · ${D.time(a.resolved_at)}` : "—"));
  }

  main.append(el("h1", {}, t("history.title")),
    el("form", { class: "tools filters", id: "filters", onsubmit: (e) => { e.preventDefault(); load(); } },
      labelled("filter.status", f.status), labelled("filter.from", f.from), labelled("filter.to", f.to),
      labelled("filter.community", f.community), labelled("filter.kind", f.kind), f.q,
      el("button", { type: "submit", id: "search" }, t("action.search")), exportLink),
    el("table", { class: "list", id: "history" },
      el("thead", {}, el("tr", {}, ["col.time", "col.kind", "col.resident", "col.community",
        "col.status", "col.taken", "col.outcome", "col.closed_by"].map((k) => el("th", {}, t(k))))),
      body),
    more);

  D.api("GET", "/api/communities").then((list) => {
    f.community.append(...list.map((c) => el("option", { value: c.id, selected: c.id === params.get("community") }, c.name)));
    load();
  }).catch(D.failed);
})();
