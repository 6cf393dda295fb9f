"use strict";
// The map: open alarms and offline terminals (GET /api/map) where the terminal last said
// it was, else at the resident's home, coloured by kind; a click opens the alarm. Tiles
// only when `dashboard.map_tiles` is set; without them, the markers over the city's
// extent on a plain grid. Fetched again when the live feed says something changed.
(() => {
  const { t, el, api, label } = D;
  const main = document.getElementById("main");
  const COLORS = { emergency: "#ff4d45", service: "#3ddc84", checkin: "#ffc233", device: "#c77dff", offline: "#a9b4c0" };
  const box = el("div", { id: "map" });
  const note = el("p", { class: "map-note", id: "map-note", hidden: true }, t("map.no_tiles"));
  const count = el("p", { id: "map-count" });
  // colours by the style object: the page's CSP refuses style attributes
  const swatch = (c) => { const s = el("span"); s.style.background = c; return s; };
  const legend = el("div", { class: "map-legend" }, el("h2", {}, t("map.legend")),
    ...["emergency", "service", "checkin", "device"].map((k) =>
      el("div", {}, swatch(COLORS[k]), label("kind", k))),
    el("div", {}, swatch(COLORS.offline), t("map.offline")));
  // every marker as a line too: a map without tiles still says who and where to go
  const listed = el("ul", { id: "map-list" });
  const side = el("aside", { class: "map-side" }, note, count, legend, el("h2", {}, t("map.list")), listed);
  main.append(el("section", { class: "map-page" }, box, side));

  let map = null;
  let layer = null;
  let framed = false;

  function colour(m) { return m.what === "offline" ? COLORS.offline : COLORS[m.kind] || COLORS.device; }
  function caption(m) {
    const who = m.name || m.device_id || m.community_id || "";
    const what = m.what === "offline" ? t("map.offline") : `${label("kind", m.kind)} · ${label("what", m.type)}`;
    return `${who} · ${what}`;
  }
  function start(data) {
    map = L.map(box, { zoomControl: true, attributionControl: Boolean(data.tiles) });
    if (data.tiles) {
      L.tileLayer(data.tiles, { attribution: data.attribution || "", maxZoom: 19 }).addTo(map);
    } else {
      box.classList.add("plain");
      note.hidden = false;
    }
    L.control.scale({ imperial: false }).addTo(map);
    layer = L.layerGroup().addTo(map);
    const e = data.extent;
    if (e) map.fitBounds([[e[0], e[1]], [e[2], e[3]]], { padding: [30, 30] });
    else map.setView([0, 0], 2);
  }
  function draw(data) {
    if (!map) start(data);
    layer.clearLayers();
    const placed = [];
    const unplaced = [];
    for (const m of data.markers) (m.lat === null || m.lon === null ? unplaced : placed).push(m);
    // the most urgent drawn last, on top of any neighbour at the same door
    const RANK = { offline: 0, device: 1, checkin: 2, service: 3, emergency: 4 };
    const rank = (m) => (m.what === "offline" ? 0 : RANK[m.kind] ?? 1) * 10 + (m.status === "open" ? 1 : 0);
    placed.sort((a, b) => rank(a) - rank(b));
    for (const m of placed) {
      const dot = L.circleMarker([m.lat, m.lon], {
        radius: m.kind === "emergency" ? 11 : 8, color: "#0b0f14", weight: 2,
        fillColor: colour(m), fillOpacity: 0.95,
      }).bindTooltip(caption(m));
      if (m.alarm_id) dot.on("click", () => { location.href = `/alarms/${m.alarm_id}`; });
      dot.addTo(layer);
    }
    if (!framed && !data.extent && placed.length) {
      map.fitBounds(placed.map((m) => [m.lat, m.lon]), { padding: [30, 30], maxZoom: 16 });
      framed = true;
    }
    const alarms = data.markers.filter((m) => m.what === "alarm").length;
    count.textContent = data.markers.length
      ? t("map.count", { alarms, offline: data.markers.length - alarms }) : t("map.none");
    const line = (m) => {
      const text = m.lat === null ? `${caption(m)} · ${t("map.no_place")}` : caption(m);
      return el("li", {}, swatch(colour(m)),
        m.alarm_id ? el("a", { href: `/alarms/${m.alarm_id}` }, text) : text);
    };
    listed.replaceChildren(...[...placed].reverse().concat(unplaced).map(line));
    document.body.dataset.mapReady = String(placed.length);
  }

  let pending = 0;
  async function refresh() {
    pending = 0;
    try { draw(await api("GET", "/api/map")); } catch (e) { D.failed(e); }
  }
  const soon = () => { if (!pending) pending = setTimeout(refresh, 1000); };
  for (const type of ["alarm", "terminal"]) D.on(type, soon);
  setInterval(soon, 30000);
  // Leaflet's stylesheet first: the map measures itself when it starts
  const css = el("link", { rel: "stylesheet", href: "/static/vendor/leaflet/leaflet.css" });
  css.addEventListener("load", refresh, { once: true });
  document.head.append(css, el("link", { rel: "stylesheet", href: "/static/map.css" }));
})();
