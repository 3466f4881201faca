// desk.js: the agents' callback desk.
//
// The queue of due callbacks (GET /api/v1/callbacks, then the stream:
// callback_due adds an order, a recorded callback removes it), oldest
// deadline first, each with a countdown to the 10-minute limit, the order's
// story in one line, the customer to call, the outcome buttons and a 1-5
// rating (POST /api/v1/orders/{id}/callback). Whether an order stays in the
// queue is the gateway's answer (state completed, no callback yet), never
// guessed here; "unreachable" keeps it due, "not_restored" sends it back to
// the supervisor, which the toast says.

import {
	h, clear, $, t, label, api, loadSession, initChrome, toast, errText, countdown, fmtWhen,
	Stream,
	catName,
} from "/static/common.js";

const queue = new Map();	// id -> callback item (order brief + desk fields)
const ratings = new Map();	// id -> rating chosen, kept across redraws
const notes = new Map();	// id -> note typed, kept across redraws
let fresh = new Set();

function due(o) {
	return o.callback_due_ms || 0;
}

function inQueue(o) {
	return o.state === "completed" && !o.callback_ms;
}

function arrivedMs(o) {
	return o.arrived_ms || null;
}

// What broke, who went, when and how they arrived, what they did, any delay.
function story(o) {
	const parts = [];
	const what = (o.summary ? o.summary + " · " : "") + (catName(o));
	const crew = o.crew_name || o.crew;
	const delay = o.delay_reason || (o.delay && o.delay.reason);
	const delayText = o.delay_text || (o.delay && o.delay.text);

	parts.push(h("span", { class: "s-broke" }, t("story.broke", { what })));
	if (crew)
		parts.push(h("span", { class: "s-went" }, t("story.went", { crew })));
	if (arrivedMs(o))
		parts.push(h("span", { class: "s-arrived " + (o.arrive_method === "gps" ? "gps" : "manual") },
		    t("story.arrived", { time: fmtWhen(arrivedMs(o)),
			how: label("arrive", o.arrive_method || "manual") })));
	else if (o.type === "repair")
		parts.push(h("span", { class: "s-arrived none" }, t("story.not_arrived")));
	if (o.completion_note)
		parts.push(h("span", { class: "s-did" }, t("story.did", { note: o.completion_note })));
	else if (o.result)
		parts.push(h("span", { class: "s-did" }, t("story.did", { note: o.result })));
	if (delay)
		parts.push(h("span", { class: "s-delay" }, t("story.delay", {
			reason: label("delay", delay) + (delayText ? " · " + delayText : "") })));
	const line = h("p", { class: "story" });

	parts.forEach((p, i) => {
		if (i)
			line.appendChild(h("span", { class: "sep" }, " · "));
		line.appendChild(p);
	});
	return line;
}

function ratingBox(o) {
	const box = h("div", { class: "rating", role: "radiogroup", "aria-label": t("desk.rating") },
	    h("span", { class: "muted small" }, t("desk.rating")));

	for (let n = 1; n <= 5; n++)
		box.appendChild(h("button", { type: "button", role: "radio",
		    class: "star" + (ratings.get(o.id) >= n ? " on" : ""),
		    "aria-checked": ratings.get(o.id) === n ? "true" : "false",
		    data: { rating: n }, title: String(n),
		    on: { click: () => {
			ratings.set(o.id, n);
			box.querySelectorAll(".star").forEach((s) => {
				s.classList.toggle("on", Number(s.dataset.rating) <= n);
				s.setAttribute("aria-checked", Number(s.dataset.rating) === n ? "true" : "false");
			});
		    } } }, "★"));
	return box;
}

const OUTCOMES = ["restored_satisfied", "restored_unsatisfied", "not_restored", "unreachable"];

function row(o) {
	const note = h("input", { type: "text", class: "note", placeholder: t("desk.note_ph"),
	    maxlength: "500", value: notes.get(o.id) || "" });

	note.addEventListener("input", () => notes.set(o.id, note.value));
	return h("li", { class: "cb-row" + (fresh.has(o.id) ? " flash" : ""), data: { order: o.id } },
	    h("div", { class: "cb-time" }, countdown(due(o), "huge", "callback"),
		h("div", { class: "muted small" }, t("col.due") + " " + fmtWhen(due(o))),
		o.callback_attempts ? h("div", { class: "badge st-reopened" },
		    t("desk.attempts", { n: o.callback_attempts })) : null),
	    h("div", { class: "cb-main" },
		h("div", { class: "cb-title" },
		    h("a", { class: "oid", href: "/order/" + encodeURIComponent(o.id),
			target: "_blank", rel: "noopener" }, o.id),
		    h("span", { class: "addr" }, o.address || "")),
		story(o),
		h("div", { class: "cb-customer" },
		    h("span", { class: "muted" }, t("desk.customer") + " "),
		    h("strong", null, o.customer || "—"), " ",
		    o.phone ? h("a", { class: "phone", href: "tel:" + o.phone }, o.phone) : null)),
	    h("div", { class: "cb-actions" },
		h("div", { class: "outcomes" }, OUTCOMES.map((oc) =>
		    h("button", { type: "button", class: "btn outcome oc-" + oc,
			data: { outcome: oc }, on: { click: (e) => record(o, oc, e.target) } },
			t("outcome." + oc)))),
		h("div", { class: "cb-extra" }, ratingBox(o), note)));
}

function render() {
	const list = [...queue.values()].sort((a, b) => due(a) - due(b) || (a.id < b.id ? -1 : 1));
	const ul = $("#queue");

	$("#queue-count").textContent = list.length ? String(list.length) : "";
	document.title = (list.length ? "(" + list.length + ") " : "") + t("nav.desk") + " · " +
	    t("app.name");
	// Rows are kept and moved, not rebuilt, so an agent typing a note or
	// choosing a rating is not interrupted by another order's event.
	const want = new Set(list.map((o) => o.id));

	ul.querySelectorAll(":scope > li").forEach((li) => {
		if (!li.dataset.order || !want.has(li.dataset.order))
			li.remove();
	});
	if (list.length === 0) {
		ul.appendChild(h("li", { class: "empty" }, t("desk.empty")));
		return;
	}
	let prev = null;

	for (const o of list) {
		let li = ul.querySelector(':scope > li[data-order="' + CSS.escape(o.id) + '"]');

		if (!li || li.dataset.v !== version(o)) {
			const nli = row(o);

			nli.dataset.v = version(o);
			if (li)
				li.replaceWith(nli);
			li = nli;
		}
		if (prev ? prev.nextSibling !== li : ul.firstChild !== li)
			ul.insertBefore(li, prev ? prev.nextSibling : ul.firstChild);
		prev = li;
	}
	fresh = new Set();
}

// What a row shows; a redraw happens only when this changes.
function version(o) {
	return [o.callback_due_ms, o.callback_attempts, o.completion_note, o.arrived_ms,
		o.crew_name, o.delay_reason, o.customer, o.phone, o.summary].join("|");
}

async function record(o, outcome, btn) {
	const body = { outcome };
	const rating = ratings.get(o.id);
	const note = (notes.get(o.id) || "").trim();

	if (!rating && (outcome === "restored_satisfied" || outcome === "restored_unsatisfied")) {
		toast(t("desk.need_rating"), "err");
		return;
	}
	if (rating)
		body.rating = rating;
	if (note)
		body.note = note;
	const li = btn.closest("li");

	li.querySelectorAll("button").forEach((b) => (b.disabled = true));
	let r;

	try {
		r = await api("POST", "/api/v1/orders/" + encodeURIComponent(o.id) + "/callback", body);
	} catch (e) {
		li.querySelectorAll("button").forEach((b) => (b.disabled = false));
		toast(errText(e), "err");
		return;
	}
	if (outcome === "not_restored")
		toast(t("desk.reopened"), "warn");
	else if (outcome === "unreachable")
		toast(t("desk.retry", { n: r.callback_attempts || 1 }), "warn");
	else
		toast(t("desk.recorded", { outcome: t("outcome." + outcome) }));
	ratings.delete(o.id);
	notes.delete(o.id);
	upsert(r, false);
	li.querySelectorAll("button").forEach((b) => (b.disabled = false));
	render();
}

function upsert(o, add) {
	if (!o || !o.id)
		return;
	if (!inQueue(o)) {
		queue.delete(o.id);
		return;
	}
	const had = queue.get(o.id);

	if (!had && !add)
		return;
	if (!had)
		fresh.add(o.id);
	queue.set(o.id, Object.assign(had || {}, o));
}

// The desk's extra fields (completion note, ...) come with GET /api/v1/callbacks.
let enrichTimer = null;

function enrichSoon() {
	if (enrichTimer !== null)
		return;
	enrichTimer = window.setTimeout(async () => {
		enrichTimer = null;
		try {
			const r = await api("GET", "/api/v1/callbacks?limit=1000");

			for (const o of r.callbacks || [])
				if (queue.has(o.id))
					queue.set(o.id, Object.assign(queue.get(o.id), o));
			render();
		} catch (e) {
			/* the next event or the snapshot tries again */
		}
	}, 50);
}

function onTimeline(ev) {
	const o = ev.order;

	if (!o)
		return;
	const add = ev.kind === "callback_due";

	upsert(o, add);
	render();
	if (add)
		enrichSoon();
}

async function load() {
	const r = await api("GET", "/api/v1/callbacks?limit=1000");

	queue.clear();
	for (const o of r.callbacks || [])
		queue.set(o.id, o);
	render();
}

async function main() {
	await loadSession();
	initChrome("desk");
	new Stream({ load, timeline: onTimeline }).start();
}

main();
