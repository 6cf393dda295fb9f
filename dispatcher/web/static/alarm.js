"use strict";
// One alarm: who needs help and what is known about them, whom to call, who has been
// called with what result, and the actions. Reloaded whenever the alarm changes.
(() => {
  const { t, el, label } = D;
  const id = Number(location.pathname.split("/")[2]);
  const main = document.getElementById("main");
  D.keys(t("keys.alarm"));
  let ctx = null;
  let loading = false;
  let again = false;

  // made once, so a reload while the operator types keeps the text
  const note = el("textarea", { class: "note", id: "note", placeholder: t("note.placeholder") });
  const noteBox = Cards.card(t("action.note"), note,
    el("button", { type: "button", onclick: () => saveNote(note.value) }, t("action.save")));
  note.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) saveNote(note.value);
  });

  const outcomes = el("div", { id: "outcomes" });
  const resolveNote = el("textarea", { class: "note", id: "resolve-note" });
  const resolveDialog = el("dialog", { id: "resolve-dialog" },
    el("form", { method: "dialog", onsubmit: (event) => { event.preventDefault(); resolve(); } },
      el("h2", {}, t("resolve.title")), el("p", {}, t("resolve.outcome")), outcomes,
      el("label", {}, t("resolve.note"), resolveNote),
      el("div", { class: "buttons" },
        el("button", { type: "button", onclick: () => resolveDialog.close() }, t("action.cancel")),
        el("button", { type: "submit", class: "resolve", id: "resolve-confirm" }, t("action.confirm")))));
  resolveDialog.addEventListener("keydown", (event) => {
    const choice = outcomes.querySelectorAll("input")[Number(event.key) - 1];
    if (choice && event.target !== resolveNote) { choice.checked = true; event.preventDefault(); }
  });
  const ambulanceDialog = el("dialog", { id: "ambulance-dialog" },
    el("form", { method: "dialog", onsubmit: (event) => { event.preventDefault(); ambulance(); } },
      el("h2", {}, t("ambulance.confirm")),
      el("div", { class: "buttons" },
        el("button", { type: "button", onclick: () => ambulanceDialog.close() }, t("action.cancel")),
        el("button", { type: "submit", class: "ambulance", id: "ambulance-confirm" }, t("action.confirm")))));
  // arrival counts in the city's reports (attendance time): never recorded by a slip
  const arrivedDialog = el("dialog", { id: "arrived-dialog" },
    el("form", { method: "dialog", onsubmit: (event) => { event.preventDefault(); arrived(); } },
      el("h2", {}, t("arrived.confirm")),
      el("label", {}, t("arrived.who"), el("input", { id: "arrived-who", list: "arrived-people", autocomplete: "off" })),
      el("datalist", { id: "arrived-people" }),
      el("div", { class: "buttons" },
        el("button", { type: "button", onclick: () => arrivedDialog.close() }, t("action.cancel")),
        el("button", { type: "submit", class: "take", id: "arrived-confirm" }, t("action.confirm")))));
  document.body.append(resolveDialog, ambulanceDialog, arrivedDialog);
  const dialogs = [resolveDialog, ambulanceDialog, arrivedDialog];

  async function load() {
    if (loading) { again = true; return; }
    loading = true;
    try {
      ctx = await D.api("GET", `/api/alarms/${id}/context`);
      render();
    } catch (e) {
      main.replaceChildren(el("p", { class: "errors" }, e.message));
    } finally {
      loading = false;
      if (again) { again = false; load(); }
    }
  }

  function actions(a) {
    const open = a.status === "open";
    const done = a.status === "resolved";
    return el("div", { class: "actions" },
      open ? el("button", { type: "button", class: "take", id: "take", onclick: take }, `${t("action.take")} (T)`) : null,
      done ? null : el("button", { type: "button", onclick: () => note.focus() }, `${t("action.note")} (N)`),
      done || !doorstep(a) ? null : el("button", { type: "button", class: "ambulance", id: "ambulance",
        onclick: () => ambulanceDialog.showModal() }, `${t("action.ambulance")} (A)`),
      done || !doorstep(a) ? null : el("button", { type: "button", id: "arrived",
        onclick: showArrived }, `${t("action.arrived")} (D)`),
      done ? null : el("button", { type: "button", class: "resolve", id: "resolve",
        onclick: openResolve }, `${t("action.resolve")} (R)`),
      done ? el("a", { class: "button", href: "/history" }, t("action.back_history")) : null,
      el("a", { class: "button", href: "/queue" }, `${t("action.back")} (Esc)`));
  }

  // an ambulance and someone at the door are for a person in need, not for a device
  const doorstep = (a) => a.kind !== "device";
  const arrivedBy = (a) => (a.arrived_by ? t("arrived.by", { who: a.arrived_by }) : t("arrived.someone"));

  function head(a) {
    const r = a.resident;
    const who = r ? r.name : a.type === "outage"
      ? `${a.community} · ${a.status === "resolved"
        ? t("outage.held", { n: a.outage_members.length }) : t("outage.members", { n: a.members })}`
      : a.device_id || "";
    return el("section", { class: `alarm-head kind-${a.kind} status-${a.status}`, id: "alarm-head",
      dataset: { status: a.status } },
    el("h1", {}, el("span", { class: "badge" }, label("kind", a.kind)), ` ${label("type", a.type)} · `, who),
    el("div", { class: "meta" },
      el("span", { class: "age", dataset: { since: a.created_at, until: a.resolved_at || "" } },
        D.age(a.created_at, a.resolved_at)),
      el("span", { id: "taken-by" }, a.acknowledged_by && a.status === "acknowledged"
        ? ` · ${t("taken.by", { who: a.acknowledged_by })}` : ` · ${label("status", a.status)}`),
      ` · ${t("step.n", { n: a.step + 1 })}`,
      a.outcome ? ` · ${label("outcome", a.outcome)}` : ""),
    a.cancel_requested_at ? el("div", { class: "flag cancel" }, t("cancel.requested")) : null,
    a.escalation_exhausted ? el("div", { class: "flag exhausted" }, t("exhausted")) : null,
    a.arrived_at ? el("div", { class: "flag arrived", id: "arrived-flag" },
      `${arrivedBy(a)} · ${D.time(a.arrived_at)}`) : null,
    a.kind === "service" ? el("div", { class: "flag service", id: "service-flag" }, serviceLine(a)) : null,
    actions(a));
  }

  function serviceLine(a) {
    const provider = a.providers.find((p) => p.id === a.provider_id);
    if (!a.provider_id) return t("service.none");
    const state = a.service_state ? label("sstate", a.service_state) : t("sstate.sent");
    return `${t("service.provider", { name: provider ? provider.name : a.provider_id })} · ${state}`;
  }

  // the community's providers by category: the operator picks one and sends the request
  function providers(a) {
    const open = a.status !== "resolved";
    const rows = a.providers.map((p) => el("tr", { dataset: { provider: p.id },
      class: p.id === a.provider_id ? "chosen" : "" },
    el("td", {}, D.upperFirst(label("category", p.category))),
    el("td", {}, el("strong", {}, p.name)),
    el("td", {}, Cards.phone(p.phone, call, `provider:${p.id}`)),
    el("td", {}, open ? el("button", { type: "button", class: "dispatch",
      onclick: () => act("POST", `/api/alarms/${id}/dispatch`, { provider_id: p.id }) },
    t("action.dispatch")) : null)));
    const states = open && a.provider_id ? el("div", { class: "buttons", id: "service-states" },
      ["on_the_way", "done"].map((s) => el("button", { type: "button", dataset: { state: s },
        onclick: () => act("POST", `/api/alarms/${id}/service`, { state: s }) }, label("sstate", s)))) : null;
    return Cards.card(t("card.providers"), el("p", {}, serviceLine(a)), rows.length
      ? el("table", { class: "list", id: "providers" }, el("tbody", {}, rows)) : Cards.none(), states);
  }

  // an outage: every terminal it holds or held, still down first
  function outage(a) {
    const list = a.outage_members;
    const back = list.filter((m) => m.left_at).length;
    const rows = list.map((m) => el("tr", { class: m.left_at ? "back" : "down", dataset: { device: m.device_id } },
      el("td", {}, el("strong", {}, m.device_id)),
      el("td", {}, m.resident ? m.resident.name : "—", m.resident ? el("small", {}, m.resident.address) : null),
      el("td", {}, label("reason", m.reason)),
      el("td", {}, el("time", {}, D.time(m.joined_at))),
      el("td", { class: m.left_at ? "online" : "offline" },
        m.left_at ? `${t("outage.back")} ${D.time(m.left_at)}` : t("outage.down"))));
    return Cards.card(t("card.outage"),
      el("p", { id: "outage-summary" }, t("outage.summary", { total: list.length, held: list.length - back, back })),
      el("table", { class: "list", id: "outage-members" }, el("tbody", {}, rows)));
  }

  function notifications(list) {
    const rows = list.map((n) => el("tr", {},
      el("td", {}, el("time", {}, D.time(n.created_at))),
      el("td", {}, n.recipient_key === "operators" ? t("recipient.operators") : n.recipient, n.phone ? el("small", { class: "id" }, D.phone(n.phone)) : null),
      el("td", {}, label("channel", n.channel)),
      // the provider's own status and error are its words (English codes): on hover only
      el("td", { class: `ns-${n.status}`, title: [n.provider_status, n.last_error].filter(Boolean).join(" · ") || null },
        label("nstatus", n.status))));
    return Cards.card(t("card.notifications"), list.length
      ? el("table", { class: "list", id: "notifications" }, el("tbody", {}, rows)) : Cards.none());
  }

  // a call's line: whom, and who answered for how long (rules/calls.py writes the data)
  function callDetail(kind, d) {
    const who = { name: d.name, role: t(`call.to.${d.to.split(":")[0]}`) };
    if (kind === "call_placed") {
      const line = t("call.line.placed", { ...who, operator: d.operator });
      return d.provider === "log" ? `${line} · ${t("call.line.log_only")}` : line;
    }
    if (kind === "call_connected") return t("call.line.connected", who);
    if (kind === "call_failed") return d.error || "";
    const outcome = label("call.outcome", d.outcome);
    if (d.leg === "operator") return t("call.line.operator", { operator: d.operator, outcome });
    if (!d.answered) return t("call.line.unanswered", { ...who, outcome });
    const s = d.duration_s || 0;
    const duration = s < 60 ? t("call.duration.s", { s }) : t("call.duration.ms", { m: Math.floor(s / 60), s: s % 60 });
    return t("call.line.talked", { ...who, duration });
  }

  // what the engine decided, from its codes and names (old lines have only English `detail`)
  function factsLine(kind, f) {
    const channels = (list) => list.map((c) => label("channel", c)).join("、");
    const names = (list) => (list.length ? list.join("、") : t("fact.nobody"));
    if (kind === "exhausted") return t("fact.exhausted", { rounds: f.rounds, names: names(f.alerted) });
    if (kind === "ack_overdue") {
      return t("fact.ack_overdue", { who: f.taken_by, m: f.minutes, names: names(f.alerted) });
    }
    if (f.next_now) return t("fact.next_now");
    // the operators' queue is reached on the dashboard only: its name says it all
    const parts = (f.reached || []).map((r) => (r.key === "operators" ? t("recipient.operators")
      : t("fact.reached", { name: r.name, channels: channels(r.channels) })));
    for (const m of f.missing || []) {
      const arg = m.why === "no_provider_category" || m.why === "no_default_service" ? label("category", m.arg) : m.arg;
      parts.push(t(`fact.missing.${m.why}`, { arg }));
    }
    if (f.unreachable) parts.push(t("fact.unreachable", { channels: channels(f.unreachable.channels), names: names(f.unreachable.names) }));
    return parts.join("；");
  }

  const OPTED_OUT = "the recipient replied STOP"; // rules/notifications.py's reason

  function detail(d, kind) {
    if (!d) return "";
    if (kind && kind.startsWith("call_") && d.call) return callDetail(kind, d);
    if (d.facts) {
      const parts = [];
      if (d.step !== undefined && d.step !== null) parts.push(t("step.n", { n: d.step + 1 }));
      parts.push(factsLine(kind, d.facts));
      return parts.filter(Boolean).join(" · ");
    }
    const parts = [];
    if (d.note) parts.push(d.note);
    if (d.outcome) parts.push(label("outcome", d.outcome));
    if (d.provider) parts.push(d.provider);
    if (d.state) parts.push(label("sstate", d.state));
    if (d.reason) parts.push(label("reason", d.reason));
    if (d.via) parts.push(label("via", d.via));
    if (d.window) parts.push(`${d.day} ${d.window}`);
    if (d.recipient) parts.push(`${d.recipient} · ${label("channel", d.channel)}`);
    if (d.status) parts.push(label("nstatus", d.status));
    if (d.step !== undefined && d.step !== null) parts.push(t("step.n", { n: d.step + 1 }));
    if (d.code) parts.push(`${d.code} ${codeMeaning(d)}`);
    if (d.detail) parts.push(d.detail);
    // a provider's error is its own words: ours in the reader's, the provider's on hover
    if (d.error) parts.push(d.error === OPTED_OUT ? t("nstatus.opted_out") : t("timeline.provider_error"));
    return parts.join(" · ");
  }

  // a DC-09 terminal's Contact ID or SIA code, in words (the catalog's cid.NNN, sia.XX)
  function codeMeaning(d) {
    const key = d.cid ? `cid.${d.cid}` : d.sia ? `sia.${d.sia}` : null;
    const words = key ? t(key) : null;
    const restore = d.qualifier === "3" ? ` ${t("cid.restore")}` : "";
    return words && words !== key ? `${words}${restore}` : t("cid.unknown");
  }

  // lines that say the same thing within a few minutes (an outage's three hundred
  // terminals joining, between other lines) are one line, with how many and which
  const GROUP_MS = 5 * 60 * 1000;
  function grouped(list) {
    const groups = [];
    const open = new Map();
    for (const e of list) {
      const text = detail(e.data, e.kind);
      const key = `${e.kind}\u0000${e.actor}\u0000${text}`;
      const same = open.get(key);
      if (same && Date.parse(e.at) - Date.parse(same.until) <= GROUP_MS) {
        same.devices.push(e.device_id);
        same.until = e.at;
      } else {
        const group = { ...e, text, devices: [e.device_id], until: e.at };
        open.set(key, group);
        groups.push(group);
      }
    }
    return groups;
  }

  function timeline(list) {
    return Cards.card(t("card.timeline"), el("ol", { class: "timeline", id: "timeline" },
      grouped(list).map((g) => {
        const devices = [...new Set(g.devices.filter(Boolean))];
        const many = g.devices.length > 1;
        return el("li", { class: `kind-${g.kind}${many ? " grouped" : ""}`, dataset: { count: g.devices.length },
          title: g.data && g.data.error ? g.data.error : null },
          el("time", {}, D.time(g.at)), many && g.until !== g.at ? el("time", {}, `–${D.time(g.until)}`) : null,
          el("strong", {}, label("log", g.kind)),
          g.actor ? ` (${label("actor", g.actor)}) ` : " ", g.text,
          many ? el("span", { class: "devices" }, ` · ${t("timeline.times", { n: g.devices.length })}`,
            devices.length > 1 ? el("small", { class: "device-ids" },
              devices.slice(0, 12).flatMap((d, i) => [i ? "、" : "", el("span", { class: "id" }, d)]),
              devices.length > 12 ? t("timeline.more", { n: devices.length - 12 }) : "") : null) : null);
      })));
  }

  function render() {
    const a = ctx;
    Cards.optedOut.clear();
    for (const number of a.sms_opted_out || []) Cards.optedOut.add(number);
    const left = a.type === "outage"
      ? [outage(a), Cards.workers(a.workers, call)]
      : [Cards.resident(a.resident, { call }), a.kind === "service" ? providers(a) : null,
        Cards.contacts(a.contacts, call), Cards.workers(a.workers, call), Cards.terminal(a.terminal)];
    main.replaceChildren(head(a), el("div", { class: "alarm-grid" },
      el("div", {}, left),
      el("div", {}, a.status === "resolved" ? null : noteBox, notifications(a.notifications),
        timeline(a.timeline))));
    if (location.hash === "#resolve") {
      history.replaceState(null, "", location.pathname);
      openResolve();
    }
  }

  async function act(method, path, body) {
    try {
      await D.api(method, path, body);
      await load();
      return true;
    } catch (e) { D.failed(e); return false; }
  }
  // the operator's own phone rings first; once answered, the other party's
  async function call(target) {
    try {
      const placed = await D.api("POST", `/api/alarms/${id}/call`, { to: target });
      D.toast(placed.provider === "log" ? t("call.log_only")
        : t("call.ringing_you", { phone: placed.operator_phone, name: placed.name }), placed.provider === "log");
      await load();
    } catch (e) { D.failed(e); }
  }
  async function take() { if (await D.take(id)) await load(); }
  async function saveNote(text) {
    if (text.trim() && await act("POST", `/api/alarms/${id}/notes`, { note: text.trim() })) note.value = "";
  }
  async function ambulance() {
    ambulanceDialog.close();
    await act("POST", `/api/alarms/${id}/notes`, { note: t("ambulance.note") });
  }
  // the operator names who is at the door (offered: the workers, contacts and providers)
  function showArrived() {
    const names = [...(ctx.workers || []), ...(ctx.contacts || []), ...(ctx.providers || [])]
      .map((p) => p.name).filter(Boolean);
    document.getElementById("arrived-people").replaceChildren(...[...new Set(names)].map((n) => el("option", { value: n })));
    document.getElementById("arrived-who").value = "";
    arrivedDialog.showModal();
  }
  async function arrived() {
    arrivedDialog.close();
    const who = document.getElementById("arrived-who").value.trim();
    await act("POST", `/api/alarms/${id}/arrived`, who ? { who } : undefined);
  }
  function openResolve() {
    if (!ctx || ctx.status === "resolved" || resolveDialog.open) return;
    const called = ctx.timeline.some((e) => e.kind === "note" && e.data && e.data.note === t("ambulance.note"));
    outcomes.replaceChildren(...ctx.outcomes.map((o, i) => el("label", { class: "choice" },
      el("input", { type: "radio", name: "outcome", value: o,
        checked: called ? o === "ambulance_called" : i === 0 }), ` ${i + 1}  ${label("outcome", o)}`)));
    resolveDialog.showModal();
  }
  async function resolve() {
    const chosen = outcomes.querySelector("input:checked");
    if (!chosen) return;
    const body = { outcome: chosen.value };
    if (resolveNote.value.trim()) body.note = resolveNote.value.trim();
    try {
      await D.api("POST", `/api/alarms/${id}/resolve`, body);
      resolveDialog.close();
      location.href = "/queue";
    } catch (e) { D.failed(e); }
  }

  document.addEventListener("keydown", (event) => {
    if (!ctx || dialogs.some((d) => d.open) || !D.plainKey(event)) return;
    const key = event.key.toLowerCase();
    if (key === "t" && ctx.status === "open") take();
    else if (key === "n" && ctx.status !== "resolved") note.focus();
    else if (key === "a" && ctx.status !== "resolved" && doorstep(ctx)) ambulanceDialog.showModal();
    else if (key === "d" && ctx.status !== "resolved" && doorstep(ctx)) showArrived();
    else if (key === "r") openResolve();
    else if (event.key === "Escape") location.href = "/queue";
    else return;
    event.preventDefault();
  });
  // reconnected: catch up on whatever happened meanwhile. Not on the first snapshot,
  // which comes right after the page's own load: each load is an audited view
  let missed = false;
  D.on("down", () => { missed = true; });
  D.on("snapshot", () => { if (missed) { missed = false; load(); } });
  D.on("alarm", (a) => { if (a.id === id && (!ctx || a.rev !== ctx.rev || a.status !== ctx.status)) load(); });
  setInterval(() => {
    for (const cell of main.querySelectorAll(".age")) cell.textContent = D.age(cell.dataset.since, cell.dataset.until);
  }, 1000);
  load();
})();
