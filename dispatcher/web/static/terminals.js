"use strict";
// Terminals: offline and low-battery ones first, with their residents. A terminal goes
// offline by saying nothing, so the list is also re-read every 30 s.
(() => {
  const { t, el } = D;
  const main = document.getElementById("main");
  const problems = el("input", { type: "checkbox", id: "problems", checked: true });
  const body = el("tbody");
  const columns = ["card.terminal", "card.online", "card.battery", "card.signal", "card.last_seen", "col.resident"];
  main.append(
    el("div", { class: "tools" }, el("h1", {}, t("terminals.title")),
      el("label", {}, problems, ` ${t("terminals.problems")}`)),
    el("table", { class: "list", id: "terminals" },
      el("thead", {}, el("tr", {}, columns.map((k) => el("th", {}, t(k))))), body));

  function row(x) {
    const r = x.resident;
    return el("tr", { class: `${x.online ? "" : "offline"} ${x.low_battery ? "low" : ""}`, dataset: { device: x.device_id } },
      el("td", {}, el("strong", {}, x.device_id),
        x.protocol === "dc09" ? el("small", { class: "protocol" }, ` ${t("protocol.dc09")}`) : null),
      el("td", { class: x.online ? "online" : "offline" }, t(x.online ? "card.online" : "card.offline")),
      el("td", { class: x.low_battery ? "low" : "" }, x.battery === null ? "—" : `${x.battery}%`),
      el("td", {}, x.rssi === null ? "—" : `${x.rssi} dBm`),
      el("td", {}, D.time(x.last_seen)),
      el("td", {}, r ? el("a", { href: `/residents/${encodeURIComponent(r.id)}` }, r.name) : "—",
        r ? el("small", {}, `${r.address} · ${r.community}`) : null));
  }

  let timer = 0;
  async function load() {
    clearTimeout(timer);
    try {
      const list = await D.api("GET", `/api/terminals?problems=${problems.checked ? 1 : 0}`);
      body.replaceChildren(...(list.length ? list.map(row) : [el("tr", {}, el("td", { colspan: 6 }, t("terminals.none")))]));
    } catch (e) { D.failed(e); }
    timer = setTimeout(load, 30000);
  }
  let soon = 0;
  const reload = () => { clearTimeout(soon); soon = setTimeout(load, 300); };
  problems.addEventListener("change", load);
  D.on("terminal", reload);
  D.on("snapshot", reload);
  load();
})();
