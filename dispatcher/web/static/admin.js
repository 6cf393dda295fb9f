"use strict";
// Administrators: community workers with their shifts, and residents with their
// contacts and terminal. The server checks everything by the rules of `dispatcher load`
// and answers 422 with every problem, which is shown as it comes.
(() => {
  const { t, el } = D;
  const main = document.getElementById("main");
  const parts = location.pathname.split("/");
  const input = (value, attrs = {}) => el("input", { value: value ?? "", ...attrs });
  const select = (value, options, attrs = {}) => el("select", attrs,
    options.map(([v, text]) => el("option", { value: v, selected: v === (value ?? "") }, text)));
  const errorsBox = el("div", { class: "errors", id: "errors", hidden: true });

  function showErrors(e) {
    const list = (e.data && e.data.errors) || [{ place: "", message: e.message }];
    errorsBox.replaceChildren(el("strong", {}, t("admin.errors")),
      el("ul", {}, list.map((x) => el("li", {}, x.place ? `${x.place}: ${x.message}` : x.message))));
    errorsBox.hidden = false;
  }
  async function save(method, path, body, done) {
    errorsBox.hidden = true;
    try {
      const result = await D.api(method, path, body);
      D.toast(t("admin.saved"));
      done(result);
    } catch (e) { if (e.status === 422) showErrors(e); else D.failed(e); }
  }
  function rowsEditor(items, columns, blank) {
    // a small table of inputs: columns are [key, label, make(value) -> input]
    const body = el("tbody");
    const add = (item) => body.append(el("tr", { class: "rows" },
      columns.map(([key, , make]) => el("td", {}, make(item[key], key))),
      el("td", {}, el("button", { type: "button", onclick: (ev) => ev.target.closest("tr").remove() }, t("action.remove")))));
    items.forEach(add);
    const table = el("table", { class: "list" },
      el("thead", {}, el("tr", {}, columns.map(([, text]) => el("th", {}, text)), el("th"))), body);
    const read = () => [...body.rows].map((tr) => Object.fromEntries(columns.map(([key], i) => {
      const field = tr.cells[i].firstChild;
      return [key, field.dataset.kind === "int" ? (field.value ? Number(field.value) : null) : field.value];
    })));
    return { node: el("div", {}, table, el("button", { type: "button", onclick: () => add(blank()) }, t("action.add"))), read };
  }
  const text = (v, key) => input(v, { dataset: { key } });
  const int = (v, key) => input(v, { type: "number", dataset: { key, kind: "int" } });

  function shiftsText(shifts) { return shifts.map((s) => `${s.days} ${s.start}-${s.end}`).join("; "); }
  function parseShifts(value) {
    // "mon-fri 08:00-20:00; sat,sun 20:00-08:00": checked on the server like the city file
    return value.split(";").map((s) => s.trim()).filter(Boolean).map((s) => {
      const [days, span = ""] = s.split(/\s+/);
      const [start, end] = span.split("-");
      return { days, start: start || "", end: end || "" };
    });
  }

  async function communities() {
    const list = await D.api("GET", "/api/communities");
    const residentId = input("", { id: "resident-id", placeholder: t("field.id") });
    main.replaceChildren(el("h1", {}, t("admin.title")), errorsBox,
      el("div", { class: "tools" }, el("strong", {}, t("admin.new_resident")), residentId,
        el("button", { type: "button", onclick: () => {
          if (residentId.value.trim()) location.href = `/admin/residents/${encodeURIComponent(residentId.value.trim())}`;
        } }, t("action.edit"))));
    for (const c of list) {
      const editor = rowsEditor(c.workers.map((w) => ({ ...w, shifts: shiftsText(w.shifts) })), [
        ["id", t("field.id"), text], ["name", t("field.name"), text], ["phone", t("field.phone"), text],
        // the shifts are typed in the city file's syntax: the example is code, as typed
        ["shifts", [t("admin.shifts"), " ", el("code", {}, "mon-fri 08:00-20:00")], text],
      ], () => ({ id: "", name: "", phone: "+86", shifts: "mon-sun 08:00-20:00" }));
      const submit = () => save("PUT", `/api/communities/${encodeURIComponent(c.id)}/workers`,
        { workers: editor.read().map((w) => ({ ...w, shifts: parseShifts(w.shifts) })) }, communities);
      main.append(section([`${c.name} · ${c.street} · ${c.district} `, el("code", {}, c.id)], editor.node,
        el("button", { type: "button", class: "resolve", onclick: submit }, t("action.save"))));
    }
  }
  function section(title, ...children) {
    return el("section", { class: "card" }, el("h2", {}, title), ...children);
  }

  async function resident(residentId) {
    let r = null;
    try { r = await D.api("GET", `/api/residents/${encodeURIComponent(residentId)}`); } catch (e) {
      if (e.status !== 404) { D.failed(e); return; }
    }
    const list = await D.api("GET", "/api/communities");
    const f = {
      name: input(r && r.name, { id: "f-name" }),
      birth_year: input(r && r.birth_year, { type: "number", id: "f-birth_year" }),
      community: select(r && r.community.id, list.map((c) => [c.id, c.name]), { id: "f-community" }),
      address: input(r && r.address, { id: "f-address", size: 50 }),
      language: select(r ? r.language : "zh-CN", [["zh-CN", t("language.zh-CN")], ["en", t("language.en")]], { id: "f-language" }),
      medical: el("textarea", { id: "f-medical", class: "note" }, r ? r.medical : ""),
      terminal: input(r && r.terminal && r.terminal.device_id, { id: "f-terminal" }),
    };
    const contacts = rowsEditor(r ? r.contacts : [], [
      ["priority", t("field.priority"), int], ["name", t("field.name"), text],
      ["relation", t("field.relation"), text], ["phone", t("field.phone"), text],
      ["channel", t("field.channel"), (v, key) => select(v, [["", "—"], ["voice", t("channel.voice")], ["sms", t("channel.sms")]], { dataset: { key } })],
    ], () => ({ priority: "", name: "", relation: "", phone: "+86", channel: "" }));
    const labels = { name: "field.name", birth_year: "field.birth_year", community: "card.community",
      address: "card.address", language: "field.language", medical: "card.medical", terminal: "card.terminal" };
    const submit = () => {
      const body = {
        name: f.name.value, birth_year: f.birth_year.value ? Number(f.birth_year.value) : null,
        community: f.community.value, address: f.address.value, language: f.language.value,
        medical: f.medical.value, terminal: f.terminal.value.trim() || null,
        contacts: contacts.read().map((c) => ({ ...c, channel: c.channel || null })),
      };
      save("PUT", `/api/residents/${encodeURIComponent(residentId)}`, body,
        () => { location.href = `/residents/${encodeURIComponent(residentId)}`; });
    };
    main.replaceChildren(el("h1", {}, `${t("admin.resident")} · ${residentId}`), errorsBox,
      el("div", { class: "form-grid" }, Object.entries(f).flatMap(([k, node]) => [el("label", {}, t(labels[k])), node])),
      section(t("card.contacts"), contacts.node),
      el("button", { type: "button", class: "resolve", id: "save", onclick: submit }, t("action.save")));
  }

  (parts[2] === "residents" && parts[3] ? resident(decodeURIComponent(parts[3])) : communities()).catch(D.failed);
})();
