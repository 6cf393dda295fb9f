"use strict";
// The live queue: unresolved alarms, most urgent first then oldest, ages ticking.
(() => {
  const { t, el, label } = D;
  const main = document.getElementById("main");
  const count = el("h1", { class: "count", id: "queue-count" });
  const body = el("tbody");
  const columns = ["col.kind", "col.resident", "col.address", "col.age", "col.step", "col.taken"];
  const table = el("table", { class: "queue", id: "queue" },
    el("thead", {}, el("tr", {}, columns.map((k) => el("th", {}, t(k))), el("th"))), body);
  const empty = el("p", { class: "empty", id: "queue-empty" }, t("queue.empty"));
  main.append(count, table, empty);
  D.keys(t("keys.queue"));
  let selected = null;

  function open(id, hash = "") { location.href = `/alarms/${id}${hash}`; }

  function row(a) {
    const r = a.resident;
    const taken = a.status === "acknowledged";
    const years = r && r.birth_year ? new Date(D.now()).getFullYear() - r.birth_year : null;
    return el("tr", {
      class: `alarm kind-${a.kind} status-${a.status}${a.id === selected ? " selected" : ""}`,
      dataset: { alarmId: a.id, kind: a.kind, status: a.status },
      // one click opens: at 3 a.m. nobody should have to know about double clicks
      onclick: () => open(a.id),
    },
    el("td", { class: "kind" }, el("span", { class: "badge" }, label("kind", a.kind)),
      el("small", {}, label("type", a.type))),
    el("td", { class: "resident" }, el("strong", {}, r ? r.name : a.type === "outage"
      ? t("outage.members", { n: a.members }) : a.device_id || "—"),
    years ? el("small", {}, t("age.years", { n: years })) : null),
    el("td", { class: "address" }, r ? r.address : "", el("small", {}, a.community || "")),
    el("td", { class: "age", dataset: { since: a.created_at } }, D.age(a.created_at)),
    el("td", { class: "step" }, t("step.n", { n: a.step + 1 }),
      a.round ? ` · ${t("round.n", { n: a.round + 1 })}` : "",
      a.cancel_requested_at ? el("div", { class: "flag cancel" }, t("cancel.requested")) : null,
      a.escalation_exhausted ? el("div", { class: "flag exhausted" }, t("exhausted")) : null,
      a.kind === "service" && a.provider_id ? el("div", { class: "flag service" },
        a.service_state ? label("sstate", a.service_state) : t("sstate.sent")) : null,
      a.arrived_at ? el("div", { class: "flag arrived" }, a.arrived_by ? t("arrived.by", { who: a.arrived_by }) : t("arrived.someone")) : null),
    el("td", { class: "taken" }, taken
      ? t("taken.by", { who: a.acknowledged_by })
      : el("span", { class: "nobody" }, t("taken.nobody"))),
    el("td", { class: "actions" },
      taken ? null : el("button", {
        class: "take", type: "button",
        onclick: (event) => { event.stopPropagation(); D.take(a.id); },
      }, `${t("action.take")} (T)`),
      el("a", { class: "button open", href: `/alarms/${a.id}` }, t("action.open"))));
  }

  const shown = new Set();
  function render() {
    const items = D.sortedQueue();
    // a new emergency takes the selection: the key the operator presses on hearing it
    // must act on it, not on whatever was selected before
    const fresh = items.some((a) => !shown.has(a.id) && a.kind === "emergency" && a.status === "open");
    shown.clear();
    for (const a of items) shown.add(a.id);
    if (fresh || !items.some((a) => a.id === selected)) selected = items.length ? items[0].id : null;
    body.replaceChildren(...items.map(row));
    table.hidden = items.length === 0;
    empty.hidden = items.length > 0;
    count.textContent = t("queue.count", { n: items.length });
    tick();
  }

  function tick() {
    for (const cell of body.querySelectorAll("td.age")) {
      cell.textContent = D.age(cell.dataset.since);
      const open = cell.parentElement.dataset.status === "open";
      cell.classList.toggle("late", open && D.seconds(cell.dataset.since) >= 60);
    }
  }

  function select(id) {
    selected = id;
    for (const tr of body.rows) tr.classList.toggle("selected", Number(tr.dataset.alarmId) === id);
    const current = body.querySelector("tr.selected");
    if (current) current.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    const items = D.sortedQueue();
    if (!items.length) return;
    const at = items.findIndex((a) => a.id === selected);
    select(items[Math.max(0, Math.min(items.length - 1, at + step))].id);
  }

  document.addEventListener("keydown", (event) => {
    if (!D.plainKey(event)) return;
    const key = event.key.toLowerCase();
    if (key === "j" || event.key === "ArrowDown") move(1);
    else if (key === "k" || event.key === "ArrowUp") move(-1);
    else if (event.key === "Enter" && selected !== null) open(selected);
    else if (key === "t" && selected !== null) D.take(selected);
    else if (key === "r" && selected !== null) open(selected, "#resolve");
    else return;
    event.preventDefault();
  });

  D.on("snapshot", render);
  D.on("alarm", render);
  setInterval(tick, 1000);
  render();
})();
