"use strict";
// Residents: search by name, phone, address or terminal id; one resident's card.
(() => {
  const { t, el } = D;
  const main = document.getElementById("main");
  const admin = D.boot.user.role === "admin";
  const supervisor = admin || D.boot.user.role === "supervisor";
  const parts = location.pathname.split("/");

  async function showCard(residentId) {
    const path = `/api/residents/${encodeURIComponent(residentId)}`;
    async function save(body) {
      try {
        await D.api("PUT", `${path}/checkin`, body);
        D.toast(t("admin.saved"));
        await showCard(residentId);
      } catch (e) { D.failed(e); }
    }
    try {
      const r = await D.api("GET", path);
      main.replaceChildren(
        el("div", { class: "tools" }, el("a", { class: "button", href: "/residents" }, t("nav.residents")),
          admin ? el("a", { class: "button", href: `/admin/residents/${encodeURIComponent(r.id)}` }, t("action.edit")) : null,
          supervisor ? el("a", { class: "button", id: "audit-link", href: `/audit?resident_id=${encodeURIComponent(r.id)}` }, t("action.audit")) : null),
        el("div", { class: "alarm-grid" },
          el("div", {}, Cards.resident(r, { link: false }), Cards.checkin(r.checkin, supervisor ? save : null),
            Cards.terminal(r.terminal), Cards.alarms(r.alarms)),
          el("div", {}, Cards.contacts(r.contacts), Cards.workers(r.workers))));
    } catch (e) { main.replaceChildren(el("p", { class: "errors" }, e.message)); }
  }

  function showSearch() {
    const input = el("input", { type: "search", id: "search", placeholder: t("residents.search"), autofocus: true });
    const body = el("tbody");
    main.append(el("div", { class: "tools" }, el("h1", {}, t("residents.title")), input),
      el("table", { class: "list", id: "residents" }, body));
    let timer = 0;
    async function search() {
      try {
        const found = await D.api("GET", `/api/residents?q=${encodeURIComponent(input.value)}`);
        body.replaceChildren(...(found.length ? found.map((r) => el("tr", {},
          el("td", {}, el("a", { href: `/residents/${encodeURIComponent(r.id)}` }, el("strong", {}, r.name))),
          el("td", {}, r.address, el("small", {}, r.community)),
          el("td", {}, r.terminal || "—"),
          el("td", {}, r.id))) : [el("tr", {}, el("td", {}, t("residents.none")))]));
      } catch (e) { D.failed(e); }
    }
    input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(search, 250); });
    input.focus();
    search();
  }

  if (parts.length > 2 && parts[2]) showCard(decodeURIComponent(parts[2]));
  else showSearch();
})();
