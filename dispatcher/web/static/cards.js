"use strict";
// Cards shared by the alarm view and the residents view: who the resident is, the
// terminal, whom to call (contacts, community workers on shift) with their phones. Given
// `call(target)` (the alarm view), each phone has a button: the operator's phone rings,
// then that person's (docs/api.md).
const Cards = (() => {
  const { t, el, label } = D;
  const colon = t("sep.colon"); // full-width in Chinese, ": " in English

  const card = (title, ...children) => el("section", { class: "card" }, el("h2", {}, title), ...children);
  // phones that replied STOP (the alarm view sets them): no SMS reaches them
  const optedOut = new Set();
  const phone = (number, call, target) => el("span", { class: "phone-line" },
    el("a", { class: "phone", href: `tel:${number}` }, D.phone(number)),
    optedOut.has(number) ? el("span", { class: "flag opted-out" }, t("nstatus.opted_out")) : null,
    call ? el("button", { type: "button", class: "call", dataset: { call: target },
      title: `${t("action.call")} ${number}`, onclick: () => call(target) }, t("action.call")) : null);
  const none = () => el("p", { class: "off" }, t("card.none"));

  function resident(r, { link = true, call = null } = {}) {
    if (!r) return card(t("card.resident"), none());
    const c = r.community;
    return card(t("card.resident"),
      el("div", { class: "name", id: "resident-name" }, r.name,
        r.age ? el("span", { class: "off" }, ` · ${t("age.years", { n: r.age })}`) : null),
      el("div", {}, `${t("card.address")}${colon}`, el("strong", {}, r.address)),
      el("div", {}, `${t("card.community")}${colon}${c.name} · ${c.street} · ${c.district}`),
      el("div", {}, `${t("card.language")}${colon}${label("language", r.language)}`),
      r.phone ? el("div", {}, `${t("field.phone")}${colon}`, phone(r.phone, call, "resident")) : null,
      r.service_default ? el("div", { class: "service-default" },
        `${t("card.service_default")}${colon}${D.upperFirst(label("category", r.service_default))}`) : null,
      el("div", { class: "medical", id: "medical" }, `${t("card.medical")}${colon}`,
        r.medical_withheld ? el("span", { class: "off" }, t("card.medical_withheld")) : r.medical || t("card.none")),
      link ? el("small", {}, el("a", { href: `/residents/${encodeURIComponent(r.id)}` }, r.id)) : null);
  }

  function terminal(term) {
    if (!term) return card(t("card.terminal"), none());
    const state = term.online
      ? el("span", { class: "online" }, t("card.online"))
      : el("span", { class: "offline" }, t("card.offline"));
    const battery = term.battery === null ? "—" : `${term.battery}%`;
    return card(t("card.terminal"),
      el("div", {}, el("strong", {}, term.device_id), " · ", state,
        ` · ${t(`protocol.${term.protocol || "mqtt"}`)}`),
      el("div", {}, `${t("card.battery")}${colon}`,
        el("span", { class: term.low_battery ? "low" : "" }, battery),
        ` · ${t("card.signal")}${colon}${term.rssi === null ? "—" : `${term.rssi} dBm`}`),
      el("div", {}, `${t("card.last_seen")}${colon}${D.time(term.last_seen)}`));
  }

  function contacts(list, call = null) {
    return card(t("card.contacts"), list.length ? el("ul", { class: "people", id: "contacts" },
      list.map((c) => el("li", {},
        el("strong", {}, `${c.priority}. ${c.name}`),
        c.relation ? el("span", { class: "off" }, c.relation) : null,
        phone(c.phone, call, `contact:${c.priority}`),
        c.channel ? el("span", { class: "off" }, label("channel", c.channel)) : null))) : none());
  }

  function workers(list, call = null) {
    return card(t("card.workers"), list.length ? el("ul", { class: "people", id: "workers" },
      list.map((w) => el("li", {},
        el("strong", {}, w.name),
        phone(w.phone, call, `worker:${w.id}`),
        el("span", { class: w.on_shift ? "on" : "off" }, t(w.on_shift ? "card.on_shift" : "card.off_shift")),
        el("span", { class: "off" }, w.shifts.map(D.shift).join("；"))))) : none());
  }

  // a resident's daily check-in; `save(body)` (supervisors) sets the window and the pause
  function checkin(c, save) {
    const state = el("strong", { class: `cstate cstate-${c.state}`, id: "checkin-state" }, label("cstate", c.state));
    const rows = [
      el("div", {}, `${t("checkin.window")}${colon}`, el("strong", {}, c.window || t("card.none")), " · ", state),
      c.paused_until ? el("div", { id: "checkin-paused" },
        `${t("checkin.paused_until")} ${c.paused_until}${c.pause_reason ? ` · ${c.pause_reason}` : c.pause_reason_withheld ? ` · ${t("checkin.reason_withheld")}` : ""}`) : null,
      el("div", {}, `${t("checkin.last_press")}${colon}${D.time(c.last_press_at)}`),
    ];
    if (!save) return card(t("card.checkin"), rows);
    const windowInput = el("input", { id: "checkin-window", value: c.window || "", placeholder: t("checkin.window_hint"), size: 14 });
    const until = el("input", { id: "checkin-until", type: "date", value: c.paused_until || "" });
    const reason = el("input", { id: "checkin-reason", value: c.pause_reason || "", size: 24 });
    const form = el("div", { class: "form-grid" },
      el("label", { for: "checkin-window" }, t("checkin.window")), windowInput,
      el("label", { for: "checkin-until" }, t("checkin.paused_until")), until,
      el("label", { for: "checkin-reason" }, t("checkin.reason")), reason);
    const buttons = el("div", { class: "buttons" },
      el("button", { type: "button", class: "resolve", id: "checkin-save", onclick: () => save({
        window: windowInput.value.trim() || null,
        paused_until: until.value || null,
        reason: reason.value.trim() || null,
      }) }, t("action.save")),
      c.paused_until ? el("button", { type: "button", id: "checkin-resume",
        onclick: () => save({ paused_until: null, reason: null }) }, t("checkin.resume")) : null);
    return card(t("card.checkin"), rows, form, buttons);
  }

  function alarms(list) {
    return card(t("card.alarms"), list.length ? el("ul", { class: "timeline" },
      list.map((a) => el("li", {},
        el("time", {}, D.time(a.created_at)),
        el("a", { href: `/alarms/${a.id}` }, `${label("kind", a.kind)} · ${label("type", a.type)}`),
        ` · ${label("status", a.status)}`,
        a.outcome ? ` · ${label("outcome", a.outcome)}` : ""))) : none());
  }

  return { card, phone, optedOut, resident, terminal, contacts, workers, checkin, alarms, none };
})();
