"use strict";
// Cards shared by the alarm view and the residents view: who the resident is, the
// terminal, whom to call (contacts, community workers on shift) with their phones.
const Cards = (() => {
  const { t, el, label } = D;

  const card = (title, ...children) => el("section", { class: "card" }, el("h2", {}, title), ...children);
  const phone = (number) => el("a", { class: "phone", href: `tel:${number}` }, number);
  const none = () => el("p", { class: "off" }, t("card.none"));

  function resident(r, { link = true } = {}) {
    if (!r) return card(t("card.resident"), none());
    const c = r.community;
    return card(t("card.resident"),
      el("div", { class: "name", id: "resident-name" }, r.name,
        r.age ? el("span", { class: "off" }, ` · ${t("age.years", { n: r.age })}`) : null),
      el("div", {}, `${t("card.address")}：`, el("strong", {}, r.address)),
      el("div", {}, `${t("card.community")}：${c.name} · ${c.street} · ${c.district}`),
      el("div", {}, `${t("card.language")}：${label("language", r.language)}`),
      el("div", { class: "medical", id: "medical" }, `${t("card.medical")}：`,
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
      el("div", {}, el("strong", {}, term.device_id), " · ", state),
      el("div", {}, `${t("card.battery")}：`,
        el("span", { class: term.low_battery ? "low" : "" }, battery),
        ` · ${t("card.signal")}：${term.rssi === null ? "—" : `${term.rssi} dBm`}`),
      el("div", {}, `${t("card.last_seen")}：${D.time(term.last_seen)}`));
  }

  function contacts(list) {
    return card(t("card.contacts"), list.length ? el("ul", { class: "people", id: "contacts" },
      list.map((c) => el("li", {},
        el("strong", {}, `${c.priority}. ${c.name}`),
        c.relation ? el("span", { class: "off" }, c.relation) : null,
        phone(c.phone),
        c.channel ? el("span", { class: "off" }, label("channel", c.channel)) : null))) : none());
  }

  function workers(list) {
    return card(t("card.workers"), list.length ? el("ul", { class: "people", id: "workers" },
      list.map((w) => el("li", {},
        el("strong", {}, w.name),
        phone(w.phone),
        el("span", { class: w.on_shift ? "on" : "off" }, t(w.on_shift ? "card.on_shift" : "card.off_shift")),
        el("span", { class: "off" }, w.shifts.map((s) => `${s.days} ${s.start}–${s.end}`).join("; "))))) : none());
  }

  function alarms(list) {
    return card(t("card.alarms"), list.length ? el("ul", { class: "timeline" },
      list.map((a) => el("li", {},
        el("time", {}, D.time(a.created_at)),
        el("a", { href: `/alarms/${a.id}` }, `${label("kind", a.kind)} · ${label("type", a.type)}`),
        ` · ${label("status", a.status)}`,
        a.outcome ? ` · ${label("outcome", a.outcome)}` : ""))) : none());
  }

  return { card, resident, terminal, contacts, workers, alarms, none };
})();
