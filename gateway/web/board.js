// board.js: the dispatch board (dispatchers and supervisors).
//
// The map (GET /api/v1/map.svg, inlined so its order markers are clickable),
// the open orders by nearest deadline with a live countdown each, the
// warnings and breaches to acknowledge, the selected order with the
// nearest-crew ranking and its actions (review & dispatch, decline, reassign:
// supervisor), and the crews. Everything changes through the stream
// (common.js Stream): a timeline event carries the order's current brief, a
// crew event the crew; the snapshot is loaded by the API on start and on reset.
// It decides nothing: the gateway answers every action, and the stream shows
// its effect.

import {
	h, clear, $, t, label, api, apiText, loadSession, initChrome, hasRole, toast, errText,
	countdown, age, fmtWhen, Stream, orderDeadline,
	catName, typeName,
} from "/static/common.js";
import { lang } from "/static/i18n.js";

const OPEN = new Set(["recorded", "dispatched", "delivered", "accepted", "arrived", "completed",
	"reopened"]);
const TO_REVIEW = new Set(["recorded", "reopened"]);
const ON_WAY = new Set(["dispatched", "delivered", "accepted"]);
const MAP_MIN_GAP_MS = 2000;	// the map is fetched at most this often
const MAP_PERIOD_MS = 30000;	// and at least this often (colours age)

const orders = new Map();	// id -> brief
const crews = new Map();	// id -> crew
const alerts = new Map();	// "order:seq" -> alert
let selected = null;
let fresh = new Set();		// ids that just appeared (flash once)

// ---- the map ----

let mapAt = 0, mapBusy = false, mapTimer = null;

function mapSize() {
	const box = $("#map");
	const w = Math.max(100, Math.min(4000, Math.round(box.clientWidth || 1000)));
	const ht = Math.max(100, Math.min(4000, Math.round(box.clientHeight || 800)));

	return [w, ht];
}

async function loadMap() {
	const [w, ht] = mapSize();
	let text;

	mapBusy = true;
	mapAt = Date.now();
	try {
		// the map's words in the page's language (a toggle reloads the page)
		text = await apiText("/api/v1/map.svg?width=" + w + "&height=" + ht +
		    "&lang=" + lang());
	} catch (e) {
		mapBusy = false;
		return;
	}
	mapBusy = false;
	const doc = new DOMParser().parseFromString(text, "image/svg+xml");
	const root = doc.documentElement;

	if (!root || root.nodeName !== "svg")
		return;
	const svg = document.importNode(root, true);

	svg.setAttribute("width", "100%");
	svg.setAttribute("height", "100%");
	svg.setAttribute("class", "map-svg");
	svg.querySelectorAll("[data-order]").forEach((m) => {
		m.classList.add("marker");
		m.setAttribute("tabindex", "0");
		m.setAttribute("role", "button");
	});
	clear($("#map")).appendChild(svg);
	markSelected();
}

// At most once per MAP_MIN_GAP_MS: a burst of events makes one fetch.
function requestMap() {
	if (mapTimer !== null)
		return;
	const wait = Math.max(0, mapAt + MAP_MIN_GAP_MS - Date.now());

	mapTimer = window.setTimeout(() => {
		mapTimer = null;
		if (mapBusy)
			requestMap();
		else
			loadMap();
	}, wait);
}

function markSelected() {
	document.querySelectorAll("#map .sel").forEach((m) => m.classList.remove("sel"));
	if (selected)
		document.querySelectorAll('#map [data-order="' + CSS.escape(selected) + '"]')
		    .forEach((m) => m.classList.add("sel"));
}

function mapClick(ev) {
	const m = ev.target.closest ? ev.target.closest("[data-order]") : null;

	if (m)
		select(m.getAttribute("data-order"));
}

// ---- orders ----

function deadline(o) {
	return orderDeadline(o).ms;
}

function deadlineStage(o) {
	return orderDeadline(o).stage;
}

function crewName(o) {
	if (o.crew_name)
		return o.crew_name;
	if (o.crew && crews.has(o.crew))
		return crews.get(o.crew).name;
	return o.crew || "";
}

function badge(state) {
	return h("span", { class: "badge st-" + state }, label("state", state));
}

function renderOrders() {
	const list = [...orders.values()].sort((a, b) => {
		const da = deadline(a), db = deadline(b);

		if (da && db && da !== db)
			return da - db;
		if (!da !== !db)
			return da ? -1 : 1;
		return a.id < b.id ? -1 : 1;
	});
	const ul = clear($("#order-list"));

	$("#orders-count").textContent = t("board.count", { n: list.length });
	if (list.length === 0) {
		ul.appendChild(h("li", { class: "empty" }, t("board.orders_empty")));
		return;
	}
	for (const o of list) {
		const stage = deadlineStage(o);
		const li = h("li", {
			class: "order-row" + (o.id === selected ? " selected" : "") +
			    (fresh.has(o.id) ? " flash" : ""),
			data: { order: o.id, state: o.state }, tabindex: "0",
			on: { click: () => select(o.id), keydown: (e) => {
				if (e.key === "Enter")
					select(o.id);
			} },
		},
		h("div", { class: "row1" },
		    h("span", { class: "oid" }, o.id), badge(o.state),
		    h("span", { class: "grow" }),
		    countdown(deadline(o), "big")),
		h("div", { class: "row2" },
		    h("span", { class: "cat" }, catName(o)),
		    h("span", { class: "addr" }, o.address || "")),
		h("div", { class: "row3" },
		    h("span", { class: "crew" }, crewName(o) ? "⚒ " + crewName(o) : "—"),
		    h("span", { class: "grow" }),
		    stage ? h("span", { class: "due" }, label("stage", stage) + " " +
			fmtWhen(deadline(o))) : null));

		ul.appendChild(li);
	}
	fresh = new Set();
}

function upsertOrder(o, isNew) {
	if (!o || !o.id)
		return;
	if (OPEN.has(o.state)) {
		if (!orders.has(o.id) && isNew)
			fresh.add(o.id);
		orders.set(o.id, o);
	} else
		orders.delete(o.id);
}

// ---- alerts ----

function alertKey(orderId, seq) {
	return orderId + ":" + seq;
}

function renderAlerts() {
	const list = [...alerts.values()].sort((a, b) => b.at_ms - a.at_ms);
	const ul = clear($("#alert-list"));
	const canAck = hasRole("dispatcher", "supervisor");

	$("#alerts-count").textContent = list.length ? String(list.length) : "";
	$("#alerts-count").classList.toggle("hot", list.some((a) => a.kind === "breach"));
	if (list.length === 0) {
		ul.appendChild(h("li", { class: "empty" }, t("board.alerts_empty")));
		return;
	}
	for (const a of list) {
		const late = a.kind === "breach";

		ul.appendChild(h("li", { class: "alert " + a.kind, data: { order: a.order_id, seq: a.seq } },
		    h("span", { class: "badge " + (late ? "st-breach" : "st-warning") },
			label("alert", a.kind)),
		    h("div", { class: "alert-body" },
			h("div", null,
			    h("a", { href: "#", class: "oid", on: { click: (e) => {
				e.preventDefault();
				select(a.order_id);
			    } } }, a.order_id), " · ", label("stage", a.stage)),
			h("div", { class: "muted small" }, t("col.due") + " " + fmtWhen(a.due_ms) +
			    " · " + t("alert.at", { time: fmtWhen(a.at_ms) }))),
		    canAck ? h("button", { type: "button", class: "btn small", data: { action: "ack" },
			on: { click: (e) => ack(a, e.target) } }, t("board.ack")) : null));
	}
}

async function ack(a, btn) {
	btn.disabled = true;
	try {
		await api("POST", "/api/v1/alerts/ack", { order_id: a.order_id, seq: a.seq });
		alerts.delete(alertKey(a.order_id, a.seq));
		renderAlerts();
		toast(t("board.acked"));
	} catch (e) {
		btn.disabled = false;
		if (e.status === 409) {	/* someone else acknowledged it */
			alerts.delete(alertKey(a.order_id, a.seq));
			renderAlerts();
		} else
			toast(errText(e), "err");
	}
}

// ---- crews ----

function crewState(c) {
	if (c.state)
		return c.state;
	if (c.online !== true)	/* false, or never heard (null) */
		return "offline";
	return c.open_orders > 0 ? "busy" : "free";
}

function renderCrews() {
	const list = [...crews.values()].sort((a, b) =>
	    (b.online === true) - (a.online === true) || (a.name < b.name ? -1 : 1));
	const tb = clear($("#crew-list"));

	$("#crews-count").textContent = String(list.length);
	tb.appendChild(h("thead", null, h("tr", null, h("th", null, t("col.name")),
	    h("th", null, t("col.state")), h("th", null, t("col.open")),
	    h("th", null, t("col.pos_age")))));
	const body = h("tbody");

	for (const c of list) {
		const st = crewState(c);

		body.appendChild(h("tr", { data: { crew: c.id } },
		    h("td", null, h("span", { class: "dot " + (c.online ? "on" : "off"),
			title: c.online ? t("crewstate.online") : t("crewstate.offline") }),
			c.name, h("span", { class: "muted small" }, " " + (c.branch || ""))),
		    h("td", null, h("span", { class: "badge cs-" + st }, label("crewstate", st))),
		    h("td", { class: "num" }, String(c.open_orders || 0)),
		    h("td", { class: "num" }, age(c.pos ? c.pos.at_ms : 0))));
	}
	tb.appendChild(body);
}

// ---- the selected order ----

let detailSeq = 0;

function select(id) {
	selected = id;
	document.querySelectorAll("#order-list .order-row").forEach((r) =>
	    r.classList.toggle("selected", r.dataset.order === id));
	markSelected();
	renderDetail();
}

async function renderDetail() {
	const box = $("#detail");
	const my = ++detailSeq;
	let o, cand = null;

	if (!selected) {
		clear(box).appendChild(h("p", { class: "empty" }, t("board.detail_empty")));
		return;
	}
	try {
		o = await api("GET", "/api/v1/orders/" + encodeURIComponent(selected));
	} catch (e) {
		if (my === detailSeq)
			clear(box).appendChild(h("p", { class: "form-error" }, errText(e)));
		return;
	}
	if (TO_REVIEW.has(o.state) || ON_WAY.has(o.state)) {
		try {
			cand = await api("GET", "/api/v1/orders/" + encodeURIComponent(o.id) +
			    "/candidates");
		} catch (e) {
			cand = null;
		}
	}
	if (my !== detailSeq)
		return;	/* another selection overtook this one */
	const note = box.querySelector("#act-note");
	const keepNote = note ? note.value : "";

	clear(box);
	box.dataset.order = o.id;
	box.dataset.state = o.state;
	box.appendChild(detailHead(o));
	box.appendChild(detailFacts(o));
	box.appendChild(detailStages(o));
	if (cand)
		box.appendChild(candidatesBlock(o, cand, keepNote));
	if (TO_REVIEW.has(o.state))
		box.appendChild(declineBlock(o));
}

function detailHead(o) {
	const dl = deadline(o);

	return h("div", { class: "detail-head" },
	    h("div", { class: "row1" }, h("span", { class: "oid big" }, o.id), badge(o.state),
		h("span", { class: "grow" }),
		h("a", { href: "/order/" + encodeURIComponent(o.id), class: "btn small ghost",
		    target: "_blank", rel: "noopener" }, t("board.open_order"))),
	    dl ? h("div", { class: "next" }, t("board.next") + ": " +
		label("stage", deadlineStage(o)) + " " + fmtWhen(dl) + " ",
		countdown(dl)) : null);
}

function fact(k, v) {
	return v ? [h("dt", null, k), h("dd", null, v)] : null;
}

function detailFacts(o) {
	return h("dl", { class: "facts" },
	    fact(t("col.type"), typeName(o) + " · " + (catName(o))),
	    fact(t("col.summary"), o.summary),
	    fact(t("col.address"), o.address),
	    fact(t("col.zone"), label("zone", o.zone) + (o.zone_name ? " · " + o.zone_name : "")),
	    fact(t("col.crew"), crewName(o)),
	    fact(t("col.customer"), o.customer ? o.customer + (o.phone ? " · " + o.phone : "") : ""),
	    fact(t("kind.recorded"), fmtWhen(o.created_ms)),
	    o.delay ? fact(t("kind.delay"), label("delay", o.delay.reason) +
		(o.delay.text ? " · " + o.delay.text : "")) : null);
}

// The stages that have a deadline: when due, the verdict, the time left of a pending one.
function detailStages(o) {
	const rows = (o.sla || []).filter((x) => x.due_ms).map((x) => h("tr", { data: { stage: x.stage } },
	    h("td", null, label("stage", x.stage)),
	    h("td", null, fmtWhen(x.due_ms)),
	    h("td", null, h("span", { class: "badge v-" + x.verdict.replace("/", "") },
		label("verdict", x.verdict))),
	    h("td", { class: "num" }, x.verdict === "pending" && !x.done_ms ? countdown(x.due_ms) :
		(x.done_ms ? fmtWhen(x.done_ms) : ""))));

	return rows.length ? h("div", { class: "block" }, h("h3", null, t("order.stages")),
	    h("table", { class: "grid compact" }, h("tbody", null, rows))) : h("span");
}

function candidatesBlock(o, cand, keepNote) {
	const review = TO_REVIEW.has(o.state);
	const can = hasRole("supervisor");
	const list = cand.candidates || [];
	const block = h("div", { class: "block" },
	    h("h3", null, t("board.candidates") + (cand.arrive_due_ms ? " · " +
		t("stage.arrival") + " " + fmtWhen(cand.arrive_due_ms) : "")));

	if (!can)
		block.appendChild(h("p", { class: "hint" }, t("board.need_supervisor")));
	if (list.length === 0)
		block.appendChild(h("p", { class: "empty" }, t("board.no_candidates")));
	else {
		const tb = h("tbody");

		for (const c of list) {
			const act = review ? "dispatch" : "reassign";

			tb.appendChild(h("tr", { data: { crew: c.crew } },
			    h("td", null, c.name || c.crew,
				h("div", { class: "muted small" }, label("crewstate", c.state))),
			    h("td", { class: "num" }, c.dist_m !== null && c.dist_m !== undefined ?
				(c.dist_m >= 1000 ? (c.dist_m / 1000).toFixed(1) + " km" :
				    Math.round(c.dist_m) + " m") : "—"),
			    h("td", { class: "num" }, c.eta_min !== null && c.eta_min !== undefined ?
				Math.round(c.eta_min) + "–" + Math.round(c.eta_hi_min) + " min" : "—"),
			    h("td", null, h("span", { class: "badge reach-" + c.reach },
				label("reach", c.reach))),
			    h("td", null, h("button", { type: "button", class: "btn small " +
				(review ? "primary" : ""), disabled: !can,
				data: { action: act, crew: c.crew },
				on: { click: (e) => (review ? dispatch(o, c, e.target) :
				    reassign(o, c, e.target)) } },
				t(review ? "board.dispatch" : "board.reassign")))));
		}
		block.appendChild(h("table", { class: "grid compact" },
		    h("thead", null, h("tr", null, h("th", null, t("col.crew")),
			h("th", null, t("col.dist")), h("th", null, t("col.eta")),
			h("th", null, t("col.reach")), h("th", null, t("col.action")))), tb));
	}
	if ((cand.excluded || []).length)
		block.appendChild(h("p", { class: "muted small" }, t("board.excluded") + ": " +
		    cand.excluded.map((x) => (crews.get(x.crew) ? crews.get(x.crew).name : x.crew) +
			" (" + label("crewstate", x.why) + ")").join(", ")));
	block.appendChild(h("input", { id: "act-note", type: "text", class: "wide",
	    placeholder: t("board.note"), value: keepNote || "", maxlength: "500" }));
	return block;
}

function actNote() {
	const n = $("#act-note");

	return n && n.value.trim() ? n.value.trim() : undefined;
}

async function dispatch(o, c, btn) {
	const body = { action: "dispatch", crew: c.crew };
	const note = actNote();

	if (note)
		body.note = note;
	btn.disabled = true;
	try {
		await api("POST", "/api/v1/orders/" + encodeURIComponent(o.id) + "/review", body,
		    { minimal: true });
		toast(t("board.dispatched_to", { crew: c.name || c.crew }));
	} catch (e) {
		btn.disabled = false;
		toast(errText(e), "err");
	}
	renderDetail();
}

async function reassign(o, c, btn) {
	const body = { crew: c.crew };
	const note = actNote();

	if (note)
		body.note = note;
	btn.disabled = true;
	try {
		await api("POST", "/api/v1/orders/" + encodeURIComponent(o.id) + "/reassign", body,
		    { minimal: true });
		toast(t("board.reassigned", { crew: c.name || c.crew }));
	} catch (e) {
		btn.disabled = false;
		toast(errText(e), "err");
	}
	renderDetail();
}

function declineBlock(o) {
	const can = hasRole("supervisor");
	const reason = h("select", { id: "decline-reason", disabled: !can },
	    ["duplicate", "planned_outage", "arrears", "customer_internal"].map((r) =>
		h("option", { value: r }, label("decline", r))));
	const dup = h("input", { id: "decline-dup", type: "text", placeholder: t("board.duplicate_of"),
	    disabled: !can, maxlength: "40" });
	const note = h("input", { id: "decline-note", type: "text", placeholder: t("board.note"),
	    disabled: !can, maxlength: "500" });
	const btn = h("button", { type: "button", class: "btn danger", disabled: !can,
	    data: { action: "decline" } }, t("board.confirm_decline"));

	reason.addEventListener("change", () => {
		dup.hidden = reason.value !== "duplicate";
	});
	btn.addEventListener("click", async () => {
		const body = { action: "decline", reason: reason.value };

		if (reason.value === "duplicate" && dup.value.trim())
			body.duplicate_of = dup.value.trim();
		if (note.value.trim())
			body.note = note.value.trim();
		btn.disabled = true;
		try {
			await api("POST", "/api/v1/orders/" + encodeURIComponent(o.id) + "/review", body,
		    { minimal: true });
			toast(t("board.declined"));
		} catch (e) {
			btn.disabled = false;
			toast(errText(e), "err");
		}
		renderDetail();
	});
	return h("details", { class: "block" }, h("summary", null, t("board.decline")),
	    h("div", { class: "form-row" }, h("label", null, t("board.decline_reason")), reason),
	    h("div", { class: "form-row" }, dup), h("div", { class: "form-row" }, note), btn);
}

// ---- the stream ----

let detailTimer = null;

function detailChanged() {
	if (detailTimer !== null)
		return;
	detailTimer = window.setTimeout(() => {
		detailTimer = null;
		renderDetail();
	}, 300);
}

function onTimeline(ev) {
	upsertOrder(ev.order, ev.kind === "recorded" || ev.kind === "reopened");
	if (ev.kind === "warning" || ev.kind === "breach") {
		const d = ev.detail || {};

		alerts.set(alertKey(ev.order_id, ev.seq), { id: ev.id, order_id: ev.order_id,
			seq: ev.seq, kind: ev.kind, stage: d.stage, due_ms: d.due_ms, at_ms: ev.at_ms,
			order: ev.order });
		renderAlerts();
	} else if (ev.kind === "alert_ack") {
		const d = ev.detail || {};

		alerts.delete(alertKey(ev.order_id, d.seq));
		renderAlerts();
	}
	renderOrders();
	if (ev.order_id === selected)
		detailChanged();
	requestMap();
}

function onCrew(c) {
	if (!c || !c.id)
		return;
	crews.set(c.id, Object.assign(crews.get(c.id) || {}, c));
	renderCrews();
	requestMap();
}

async function load() {
	const [os, cs, as] = await Promise.all([
		api("GET", "/api/v1/orders?limit=1000"),
		api("GET", "/api/v1/crews"),
		api("GET", "/api/v1/alerts"),
	]);

	orders.clear();
	for (const o of os.orders || [])
		upsertOrder(o, false);
	crews.clear();
	for (const c of cs.crews || [])
		crews.set(c.id, c);
	alerts.clear();
	for (const a of as.alerts || [])
		alerts.set(alertKey(a.order_id, a.seq), a);
	renderOrders();
	renderCrews();
	renderAlerts();
	if (selected)
		renderDetail();
	loadMap();
}

async function main() {
	await loadSession();
	initChrome("board");
	$("#map").addEventListener("click", mapClick);
	$("#map").addEventListener("keydown", (e) => {
		if (e.key === "Enter")
			mapClick(e);
	});
	window.setInterval(requestMap, MAP_PERIOD_MS);
	let resizeTimer = null;

	window.addEventListener("resize", () => {
		window.clearTimeout(resizeTimer);
		resizeTimer = window.setTimeout(requestMap, 500);
	});
	new Stream({ load, timeline: onTimeline, crew: onCrew }).start();
}

main();
