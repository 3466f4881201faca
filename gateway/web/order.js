// order.js: one order for disputes: /order/{id}.
//
// Its facts, every stage's deadline and verdict, the arrival evidence (the
// deciding GPS fixes, or a declaration by hand), the map framed on the order
// with the crew's track (GET /api/v1/map.svg?order=ID, dispatcher and
// supervisor only; others get the track as a table alone), the timeline and
// every message to and from the device. It shows what the gateway stored and
// judges nothing itself. New entries of this order arrive through the stream
// and reload the page's data (at most every 2 s).

import {
	h, clear, $, t, label, api, apiText, loadSession, initChrome, fmtTime, countdown, Stream,
	errText, orderDeadline,
	catName, typeName,
} from "/static/common.js";
import { lang } from "/static/i18n.js";

const id = decodeURIComponent(location.pathname.replace(/^\/order\//, "").replace(/\/$/, ""));
let mapOk = true;

function badge(state) {
	return h("span", { class: "badge st-" + state }, label("state", state));
}

function num(v, digits) {
	return v === null || v === undefined ? "—" : Number(v).toFixed(digits);
}

function renderHead(o) {
	const box = clear($("#order-head"));
	const { ms: next, stage } = orderDeadline(o);

	document.title = o.id + " · " + t("app.name");
	box.appendChild(h("div", { class: "row1" }, h("span", { class: "oid big" }, o.id), badge(o.state),
	    h("span", { class: "muted" }, typeName(o) + " · " + (catName(o))),
	    h("span", { class: "grow" }),
	    next ? h("span", null, label("stage", stage) + " " + fmtTime(next, true) + " ") : null,
	    next ? countdown(next, "big") : null));
	const f = (k, v) => (v ? [h("dt", null, k), h("dd", null, v)] : null);

	box.appendChild(h("dl", { class: "facts wide" },
	    f(t("col.address"), o.address),
	    f(t("col.summary"), o.summary),
	    f(t("col.zone"), label("zone", o.zone) + (o.zone_name ? " · " + o.zone_name : "") +
		" · r " + o.radius_m + " m · " + num(o.site && o.site.lat, 5) + ", " +
		num(o.site && o.site.lon, 5)),
	    f(t("col.crew"), o.crew ? (o.crew_name || o.crew) + " · " + (o.device || "") : ""),
	    f(t("col.customer"), o.customer ? o.customer + (o.phone ? " · " + o.phone : "") : ""),
	    f(t("kind.delay"), o.delay ? label("delay", o.delay.reason) +
		(o.delay.text ? " · " + o.delay.text : "") : ""),
	    f(t("kind.callback"), o.callback_outcome ? t("outcome." + o.callback_outcome) +
		(o.rating ? " · " + "★".repeat(o.rating) : "") +
		(o.callback_note ? " · " + o.callback_note : "") : "")));
}

function renderStages(o) {
	const tb = h("tbody");

	for (const s of o.sla || []) {
		if (s.verdict === "n/a" && !s.due_ms)
			continue;
		const limit = s.limit_wd !== undefined ? s.limit_wd + " wd" :
		    (s.limit_min >= 60 ? (s.limit_min / 60).toFixed(s.limit_min % 60 ? 1 : 0) + " h" :
			(s.limit_min < 1 ? Math.round(s.limit_min * 60) + " s" : s.limit_min + " min"));

		tb.appendChild(h("tr", { data: { stage: s.stage } },
		    h("td", null, label("stage", s.stage)),
		    h("td", { class: "num" }, limit),
		    h("td", null, fmtTime(s.start_ms, true)),
		    h("td", null, fmtTime(s.due_ms, true)),
		    h("td", null, fmtTime(s.done_ms, true)),
		    h("td", null, h("span", { class: "badge v-" + s.verdict.replace("/", "") },
			label("verdict", s.verdict)),
			s.warned ? h("span", { class: "badge st-warning" }, t("kind.warning")) : null,
			s.late_evidence ? h("span", { class: "muted small" }, " late evidence") : null)));
	}
	clear($("#stages")).appendChild(h("table", { class: "grid" },
	    h("thead", null, h("tr", null, ["col.stage", "col.limit", "col.start", "col.due",
		"col.done", "col.verdict"].map((k) => h("th", null, t(k))))), tb));
}

function fixTable(fixes) {
	return h("table", { class: "grid compact" },
	    h("thead", null, h("tr", null, ["col.time", "col.lat", "col.lon", "col.eph", "col.speed"]
		.map((k) => h("th", null, t(k))))),
	    h("tbody", null, fixes.map((x) => h("tr", null,
		h("td", null, fmtTime(x.t_ms || x.at_ms, true)),
		h("td", { class: "num" }, num(x.lat, 6)), h("td", { class: "num" }, num(x.lon, 6)),
		h("td", { class: "num" }, num(x.eph_m, 1)),
		h("td", { class: "num" }, num(x.speed_mps, 1))))));
}

function renderEvidence(o) {
	const box = clear($("#evidence"));
	const arr = (o.timeline || []).filter((e) => e.kind === "arrived");

	if (arr.length === 0) {
		box.appendChild(h("p", { class: "empty" }, t("order.no_arrival")));
		return;
	}
	for (const e of arr) {
		const d = e.detail || {};
		const gps = d.method === "gps";

		box.appendChild(h("div", { class: "evidence " + (gps ? "gps" : "manual"),
		    data: { method: d.method || "" } },
		    h("p", null, h("span", { class: "badge " + (gps ? "v-met" : "st-warning") },
			label("arrive", d.method || "manual")), " ", fmtTime(e.at_ms, true),
			d.verdict ? " · " + d.verdict + (d.minutes !== undefined ?
			    " (" + Number(d.minutes).toFixed(1) + " / " + d.limit_min + " min)" : "") : ""),
		    h("p", null, gps ? t("order.gps_verified", { dist: num(d.dist_m, 0),
			dwell: Math.round((d.dwell_ms || 0) / 1000) }) : t("order.manual_declared")),
		    d.note ? h("p", { class: "muted" }, d.note) : null,
		    d.time_check ? h("p", { class: "muted small" }, "time_check: " +
			JSON.stringify(d.time_check)) : null,
		    d.late_evidence ? h("p", { class: "muted small" }, "late evidence") : null,
		    Array.isArray(d.track) && d.track.length ? fixTable(d.track) :
			(d.fix ? fixTable([d.fix]) : null)));
	}
}

// A timeline detail in one line: key=value, arrays as their length.
function detailText(d) {
	const out = [];

	for (const [k, v] of Object.entries(d || {})) {
		if (Array.isArray(v))
			out.push(k + ": " + v.length);
		else if (v !== null && typeof v === "object" && typeof v.lat === "number")
			out.push(k + ": " + num(v.lat, 6) + ", " + num(v.lon, 6) +
			    (v.eph_m !== null && v.eph_m !== undefined ? " ±" + num(v.eph_m, 0) + " m" : ""));
		else if (v !== null && typeof v === "object")
			out.push(k + ": " + JSON.stringify(v));
		else if (/_ms$/.test(k) && typeof v === "number" && v > 1e12)	/* a time */
			out.push(k.replace(/_ms$/, "") + ": " + fmtTime(v, true));
		else if (/_ms$/.test(k) && typeof v === "number")	/* a duration */
			out.push(k.replace(/_ms$/, "") + ": " + (v / 1000).toFixed(1) + " s");
		else if (typeof v === "number" && !Number.isInteger(v))
			out.push(k + ": " + v.toFixed(2));
		else if (k === "reason")
			out.push(k + ": " + label("delay", v));
		else
			out.push(k + ": " + v);
	}
	return out.join(" · ");
}

function renderTimeline(o) {
	const rows = (o.timeline || []).map((e) => h("tr", { class: "k-" + e.kind, data: { kind: e.kind } },
	    h("td", { class: "num" }, String(e.seq)),
	    h("td", null, fmtTime(e.at_ms, true),
		e.rx_ms && Math.abs(e.rx_ms - e.at_ms) >= 1000 ?
		    h("div", { class: "muted small" }, "rx " + fmtTime(e.rx_ms)) : null),
	    h("td", null, h("span", { class: "kind" }, label("kind", e.kind))),
	    h("td", null, e.actor),
	    h("td", { class: "detail-cell" }, detailText(e.detail))));

	clear($("#timeline")).appendChild(h("table", { class: "grid" },
	    h("thead", null, h("tr", null, ["col.seq", "col.time", "col.kind", "col.actor",
		"col.detail"].map((k) => h("th", null, t(k))))), h("tbody", null, rows)));
}

function renderTrack(tr) {
	const pts = tr.points || [];

	$("#track-count").textContent = String(pts.length) + (tr.truncated ? "+" : "");
	clear($("#track")).appendChild(pts.length ? fixTable(pts) :
	    h("p", { class: "empty" }, t("order.none")));
}

// A message's payload: the telling fields on one line, the whole JSON on request.
function payload(p) {
	const o = p || {};
	const bits = [];

	for (const k of ["order_id", "msg_id", "method", "dist", "dwell", "reason", "note"])
		if (o[k] !== undefined && o[k] !== null && o[k] !== "")
			bits.push(k + ": " + (typeof o[k] === "number" && !Number.isInteger(o[k]) ?
			    o[k].toFixed(1) : o[k]));
	if (Array.isArray(o.track))
		bits.push("track: " + o.track.length);
	if (o.sig)
		bits.push("signed");
	else if (o.mac)
		bits.push("MAC");
	return h("details", null, h("summary", null, bits.join(" · ") || "{…}"),
	    h("code", null, JSON.stringify(p)));
}

function renderMessages(m) {
	const up = m.uplink || [];
	const down = m.downlink || [];

	clear($("#uplink")).appendChild(up.length ? h("table", { class: "grid compact" },
	    h("thead", null, h("tr", null, ["col.seq", "col.type", "col.dev", "col.time", "col.status",
		"col.detail"].map((k) => h("th", null, t(k))))),
	    h("tbody", null, up.map((x) => h("tr", null,
		h("td", { class: "num" }, String(x.seq)), h("td", null, x.type), h("td", null, x.dev),
		h("td", null, fmtTime(x.at_ms, true), h("div", { class: "muted small" },
		    "rx " + fmtTime(x.rx_ms))),
		h("td", null, x.status),
		h("td", { class: "detail-cell" }, payload(x.payload)))))) :
	    h("p", { class: "empty" }, t("order.none")));
	clear($("#downlink")).appendChild(down.length ? h("table", { class: "grid compact" },
	    h("thead", null, h("tr", null, ["col.id", "col.type", "col.dev", "col.sent",
		"col.attempts", "col.acked"].map((k) => h("th", null, t(k))))),
	    h("tbody", null, down.map((x) => h("tr", null,
		h("td", null, h("code", null, x.msg_id)), h("td", null, x.kind), h("td", null, x.dev),
		h("td", null, fmtTime(x.created_ms, true), x.last_sent_ms &&
		    x.last_sent_ms !== x.created_ms ? h("div", { class: "muted small" },
			"last " + fmtTime(x.last_sent_ms)) : null),
		h("td", { class: "num" }, String(x.attempts)),
		h("td", null, fmtTime(x.acked_ms, true)))))) :
	    h("p", { class: "empty" }, t("order.none")));
}

async function renderMap() {
	const box = $("#order-map");

	if (!mapOk)
		return;
	try {
		const w = Math.max(100, Math.min(4000, Math.round(box.clientWidth || 700)));
		const ht = Math.max(100, Math.min(4000, Math.round(box.clientHeight || 460)));
		// the map's words in the page's language (a toggle reloads the page)
		const text = await apiText("/api/v1/map.svg?order=" + encodeURIComponent(id) +
		    "&width=" + w + "&height=" + ht + "&lang=" + lang());
		const doc = new DOMParser().parseFromString(text, "image/svg+xml");

		if (!doc.documentElement || doc.documentElement.nodeName !== "svg")
			return;
		const svg = document.importNode(doc.documentElement, true);

		svg.setAttribute("width", "100%");
		svg.setAttribute("height", "100%");
		svg.setAttribute("class", "map-svg");
		clear(box).appendChild(svg);
	} catch (e) {
		if (e.status === 403) {	/* the map is the dispatchers'; the table stays */
			mapOk = false;
			box.classList.add("none");
			clear(box).appendChild(h("p", { class: "hint" }, errText(e)));
		}
	}
}

async function load() {
	let o;

	try {
		o = await api("GET", "/api/v1/orders/" + encodeURIComponent(id));
	} catch (e) {
		clear($("#order-head")).appendChild(h("p", { class: "form-error" },
		    e.status === 404 ? t("order.not_found") : errText(e)));
		return;
	}
	renderHead(o);
	renderStages(o);
	renderEvidence(o);
	renderTimeline(o);
	const enc = encodeURIComponent(id);
	const [tr, m] = await Promise.all([
		api("GET", "/api/v1/orders/" + enc + "/track").catch(() => ({ points: [] })),
		api("GET", "/api/v1/orders/" + enc + "/messages").catch(() => ({})),
	]);

	renderTrack(tr);
	renderMessages(m);
	renderMap();
}

let timer = null, lastLoad = 0;

function reloadSoon() {
	if (timer !== null)
		return;
	timer = window.setTimeout(() => {
		timer = null;
		lastLoad = Date.now();
		load();
	}, Math.max(0, lastLoad + 2000 - Date.now()));
}

async function main() {
	await loadSession();
	initChrome("order");
	lastLoad = Date.now();
	new Stream({ load, timeline: (ev) => {
		if (ev.order_id === id)
			reloadSoon();
	} }).start();
}

main();
