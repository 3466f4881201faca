// common.js: what every page shares: the session, the JSON API, the live
// stream, time in Asia/Shanghai, countdowns, the header and toasts.
//
// It does not know any page's layout: pages import what they need. No data
// from the server is ever put into innerHTML; h() builds elements and text
// nodes, so a customer's name or a crew's note cannot become markup.

import { t, label, lang, setLang, applyStatic } from "/static/i18n.js";

export { t, label };

const TZ = "Asia/Shanghai";
const MIN_MS = 60000;

// ---- elements ----

// h("div", {class: "x", data: {order: id}, on: {click: fn}, title: "..."}, child, ...)
// Children: nodes, strings (as text), arrays of children, null/false (skipped).
export function h(tag, attrs, ...children) {
	const svgTags = ["svg", "rect", "text", "g", "line", "path", "title", "circle"];
	const el = svgTags.includes(tag) ?
	    document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);

	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === null || v === undefined || v === false)
			continue;
		if (k === "class")
			el.setAttribute("class", v);
		else if (k === "data")
			for (const [dk, dv] of Object.entries(v))
				el.dataset[dk] = dv;
		else if (k === "on")
			for (const [ev, fn] of Object.entries(v))
				el.addEventListener(ev, fn);
		else if (k === "text")
			el.textContent = v;
		else if (k === "value")
			el.value = v;
		else
			el.setAttribute(k, v === true ? "" : v);
	}
	append(el, children);
	return el;
}

function append(el, children) {
	for (const c of children) {
		if (c === null || c === undefined || c === false)
			continue;
		if (Array.isArray(c))
			append(el, c);
		else if (c instanceof Node)
			el.appendChild(c);
		else
			el.appendChild(document.createTextNode(String(c)));
	}
}

export function clear(el) {
	while (el.firstChild)
		el.removeChild(el.firstChild);
	return el;
}

export const $ = (sel, root) => (root || document).querySelector(sel);

// ---- time ----

let offsetMs = 0;	// server clock - our clock, from the stream's hello

export function setServerNow(serverMs) {
	offsetMs = serverMs - Date.now();
}

export function serverNow() {
	return Date.now() + offsetMs;
}

const fmtCache = {};

function fmt(key, opts) {
	const k = lang() + key;

	if (!fmtCache[k])
		fmtCache[k] = new Intl.DateTimeFormat(lang() === "en" ? "en-GB" : "zh-CN",
		    Object.assign({ timeZone: TZ, hourCycle: "h23" }, opts));
	return fmtCache[k];
}

function parts(ms) {
	const o = {};

	for (const p of fmt("parts", { year: "numeric", month: "2-digit", day: "2-digit",
	    hour: "2-digit", minute: "2-digit", second: "2-digit" }).formatToParts(new Date(ms)))
		o[p.type] = p.value;
	return o;
}

// "14:05:09", or "2026-11-25 14:05:09" with date, in Asia/Shanghai.
export function fmtTime(ms, withDate) {
	if (ms === null || ms === undefined || ms === 0)
		return "—";
	const p = parts(ms);
	const hh = p.hour === "24" ? "00" : p.hour;
	const time = hh + ":" + p.minute + ":" + p.second;

	return withDate ? p.year + "-" + p.month + "-" + p.day + " " + time : time;
}

// Date and time, the date only when it is not today (Asia/Shanghai).
export function fmtWhen(ms) {
	if (ms === null || ms === undefined || ms === 0)
		return "—";
	return shanghaiDay(ms) === shanghaiDay(serverNow()) ? fmtTime(ms) : fmtTime(ms, true);
}

// "YYYY-MM-DD" of ms in Asia/Shanghai.
export function shanghaiDay(ms) {
	const p = parts(ms);

	return p.year + "-" + p.month + "-" + p.day;
}

// The UTC ms of 00:00 Asia/Shanghai (UTC+8 all year, no summer time) of "YYYY-MM-DD".
export function shanghaiMidnight(day) {
	const [y, m, d] = day.split("-").map(Number);

	return Date.UTC(y, m - 1, d) - 8 * 3600 * 1000;
}

function pad2(n) {
	return n < 10 ? "0" + n : String(n);
}

// A countdown: "42:10", "3:42:10", "26 h"; negative: overdue.
export function fmtLeft(ms) {
	const neg = ms < 0;
	let s = Math.floor(Math.abs(ms) / 1000);
	let txt;

	if (s >= 48 * 3600)
		txt = t("t.h", { n: Math.floor(s / 3600) });
	else {
		const hh = Math.floor(s / 3600);

		s -= hh * 3600;
		txt = (hh > 0 ? hh + ":" + pad2(Math.floor(s / 60)) : pad2(Math.floor(s / 60))) +
		    ":" + pad2(s % 60);
	}
	return neg ? t("t.overdue", { t: txt }) : txt;
}

// An age: "12 s", "5 min", "3 h".
export function fmtAge(ms) {
	const s = Math.max(0, Math.floor(ms / 1000));

	if (s < 60)
		return t("t.s", { n: s });
	if (s < 3600)
		return t("t.m", { n: Math.floor(s / 60) });
	return t("t.h", { n: Math.floor(s / 3600) });
}

// The colour class of time left. Board scale, as the map's legend: overdue,
// < 30 min, < 2 h, later. Callback scale (a 10-minute limit): overdue,
// < 2 min, < 5 min, later.
export function leftClass(ms, scale) {
	const [near, far] = scale === "callback" ? [2 * MIN_MS, 5 * MIN_MS] : [30 * MIN_MS, 120 * MIN_MS];

	if (ms < 0)
		return "left-over";
	if (ms < near)
		return "left-30";
	if (ms < far)
		return "left-120";
	return "left-ok";
}

// The order's category and type in the page's language (the server sends both).
export function catName(o) {
	return (lang() === "en" && o.category_en) ? o.category_en : (o.category_name || "");
}

export function typeName(o) {
	return lang() === "en" ? (o.type || "") : (o.type_name || o.type || "");
}

// The deadline an order is up against: the gateway's deadline_ms (the earliest
// pending one) or, when it gives none because the stage is already breached, the
// earliest stage still not done, so an overdue order shows how late it is.
// {ms, stage}, ms null when nothing is due.
export function orderDeadline(o) {
	if (o.deadline_ms)
		return { ms: o.deadline_ms, stage: o.deadline_stage };
	let best = null;

	for (const s of o.sla || [])
		if (s.due_ms && !s.done_ms && (s.verdict === "pending" || s.verdict === "breached") &&
		    (best === null || s.due_ms < best.ms))
			best = { ms: s.due_ms, stage: s.stage };
	if (best)
		return best;
	return { ms: o.next_due_ms || null, stage: o.next_stage || null };
}

// Every element with data-deadline="ms" shows its countdown, updated every second.
function tickCountdowns() {
	const now = serverNow();

	document.querySelectorAll("[data-deadline]").forEach((el) => {
		const d = Number(el.dataset.deadline);

		if (!d) {
			el.textContent = "—";
			return;
		}
		const left = d - now;
		const cls = leftClass(left, el.dataset.scale);

		el.textContent = fmtLeft(left);
		if (el.dataset.leftClass !== cls) {
			if (el.dataset.leftClass)
				el.classList.remove(el.dataset.leftClass);
			el.classList.add(cls);
			el.dataset.leftClass = cls;
		}
	});
	document.querySelectorAll("[data-since]").forEach((el) => {
		const s = Number(el.dataset.since);

		el.textContent = s ? fmtAge(now - s) : t("t.never");
	});
	const clock = document.getElementById("clock");

	if (clock)
		clock.textContent = fmtTime(now, true);
}

let ticker = null;

export function startTicker(extra) {
	if (ticker)
		return;
	tickCountdowns();
	ticker = window.setInterval(() => {
		tickCountdowns();
		if (extra)
			extra();
	}, 1000);
}

// A countdown to deadlineMs that the ticker keeps up to date; scale: leftClass's.
export function countdown(deadlineMs, cls, scale) {
	const el = h("span", { class: "countdown " + (cls || ""), data: { deadline: deadlineMs || 0 } });
	const now = serverNow();

	if (scale)
		el.dataset.scale = scale;
	if (deadlineMs) {
		el.textContent = fmtLeft(deadlineMs - now);
		el.dataset.leftClass = leftClass(deadlineMs - now, scale);
		el.classList.add(el.dataset.leftClass);
	} else
		el.textContent = "—";
	return el;
}

export function age(sinceMs) {
	return h("span", { class: "age", data: { since: sinceMs || 0 } },
	    sinceMs ? fmtAge(serverNow() - sinceMs) : t("t.never"));
}

// ---- session and API ----

let session = null;

export class ApiError extends Error {
	constructor(status, body) {
		const e = body && body.error;

		super(e && e.message ? e.message : "HTTP " + status);
		this.status = status;
		this.field = e ? e.field : null;
	}
}

function toLogin() {
	const next = location.pathname + location.search;

	location.assign("/login?next=" + encodeURIComponent(next));
}

// A JSON API call with the session cookie (and its CSRF token on writes).
// Resolves to the parsed body; rejects with ApiError; a lost session goes to /login.
// opts.minimal: the caller does not read the answer (the stream brings the
// change), so the gateway may skip rendering the order ("Prefer: return=minimal").
export async function api(method, path, body, opts) {
	const headers = { "Accept": "application/json" };
	const init = { method, headers, credentials: "same-origin", cache: "no-store" };
	let r;

	if (body !== undefined) {
		headers["Content-Type"] = "application/json";
		init.body = JSON.stringify(body);
	}
	if (opts && opts.minimal)
		headers["Prefer"] = "return=minimal";
	if (method !== "GET" && method !== "HEAD" && session && session.csrf)
		headers["X-CSRF-Token"] = session.csrf;
	try {
		r = await fetch(path, init);
	} catch (e) {
		throw new ApiError(0, { error: { message: t("err.network") } });
	}
	if (r.status === 401 && !path.startsWith("/api/v1/session")) {
		toLogin();
		throw new ApiError(401, null);
	}
	const type = r.headers.get("Content-Type") || "";
	const data = type.includes("json") ? await r.json().catch(() => null) : await r.text();

	if (!r.ok)
		throw new ApiError(r.status, typeof data === "object" ? data : null);
	return data;
}

export async function apiText(path) {
	const r = await fetch(path, { credentials: "same-origin", cache: "no-store" });

	if (r.status === 401) {
		toLogin();
		throw new ApiError(401, null);
	}
	if (!r.ok)
		throw new ApiError(r.status, null);
	return r.text();
}

export function currentSession() {
	return session;
}

export function hasRole(...roles) {
	return session !== null && (session.role === "admin" || roles.includes(session.role));
}

// The page's session (GET /api/v1/session); no session: to /login.
export async function loadSession() {
	try {
		session = await api("GET", "/api/v1/session");
	} catch (e) {
		if (e.status === 401)
			toLogin();
		throw e;
	}
	return session;
}

// ---- header, language, toasts ----

// The top bar every signed-in page shares, built into the page's empty
// <header id="top" class="top">: brand, nav, live-connection state, clock,
// who is signed in, language toggle and logout. Labels carry data-i18n, so
// applyStatic() translates them like the rest of the page.
function buildTop() {
	const top = $("#top");

	if (!top || top.firstChild)
		return;
	const nav = (page, key) => h("a", { href: "/" + page, data: { nav: page, i18n: key } }, t(key));
	const btn = (id, key) => h("button", { id, type: "button", class: "btn ghost", data: { i18n: key } }, t(key));

	append(top, [
		h("a", { class: "brand", href: "/" },
		    h("img", { src: "/static/favicon.svg", alt: "", width: 24, height: 24 }),
		    h("span", { data: { i18n: "app.name" } }, t("app.name"))),
		h("nav", { class: "main" },
		    nav("board", "nav.board"), nav("desk", "nav.desk"), nav("reports", "nav.reports")),
		h("span", { class: "spacer" }),
		h("span", { id: "conn", class: "conn", data: { state: "connecting", i18n: "conn.connecting" } },
		    t("conn.connecting")),
		h("span", { id: "clock", class: "clock" }),
		h("span", { id: "who", class: "who" }),
		btn("lang", "nav.lang"),
		btn("logout", "nav.logout"),
	]);
}

export function initChrome(page) {
	buildTop();
	applyStatic();
	document.body.dataset.page = page;
	document.querySelectorAll("nav.main a[data-nav]").forEach((a) => {
		const n = a.dataset.nav;
		const ok = n === "reports" || (n === "board" && hasRole("dispatcher", "supervisor")) ||
		    (n === "desk" && hasRole("agent"));

		a.hidden = !ok;
		if (n === page)
			a.classList.add("current");
	});
	const who = $("#who");

	if (who && session)
		who.textContent = session.name + " · " + label("role", session.role);
	const lg = $("#lang");

	if (lg)
		lg.addEventListener("click", () => {
			setLang(lang() === "en" ? "zh" : "en");
			location.reload();
		});
	const out = $("#logout");

	if (out)
		out.addEventListener("click", async () => {
			try {
				await api("DELETE", "/api/v1/session");
			} finally {
				location.assign("/login");
			}
		});
	startTicker();
}

export function toast(msg, kind) {
	let box = $("#toasts");

	if (!box) {
		box = h("div", { id: "toasts", class: "toasts", role: "status", "aria-live": "polite" });
		document.body.appendChild(box);
	}
	const el = h("div", { class: "toast " + (kind || "ok") }, msg);

	box.appendChild(el);
	window.setTimeout(() => el.classList.add("fade"), 4500);
	window.setTimeout(() => el.remove(), 5200);
}

export function errText(e) {
	if (e && e.status === 403)
		return t("err.forbidden", { msg: e.message });
	return t("err.generic", { msg: e && e.message ? e.message : String(e) });
}

// ---- the live stream ----

// Stream: EventSource on /api/v1/stream. handlers:
//   load()          async: (re)load the page's snapshot by the API
//   timeline(ev)    one timeline entry {id, order_id, seq, kind, at_ms, detail, order}
//   crew(c)         one crew as GET /api/v1/crews lists it
// The snapshot is loaded after the first hello, after a hello that could not
// resume, and on `reset`. Events that arrive while it loads are held and
// applied after it: they are full-state upserts, so the newest wins.
export class Stream {
	constructor(handlers) {
		this.h = handlers;
		this.es = null;
		this.lastId = null;
		this.loading = null;
		this.held = [];
		this.first = true;
		this.retry = null;
	}

	start() {
		const url = "/api/v1/stream" + (this.lastId !== null ? "?after=" + this.lastId : "");

		this.state("connecting");
		this.es = new EventSource(url);
		this.es.addEventListener("hello", (m) => this.onHello(m));
		this.es.addEventListener("timeline", (m) => this.onEvent("timeline", m));
		this.es.addEventListener("crew", (m) => this.onEvent("crew", m));
		this.es.addEventListener("reset", () => this.snapshot());
		this.es.addEventListener("error", () => this.onError());
	}

	state(s) {
		const el = $("#conn");

		if (el) {
			el.dataset.state = s;
			el.textContent = t("conn." + s);
		}
		document.body.dataset.conn = s;
	}

	onHello(m) {
		let d;

		try {
			d = JSON.parse(m.data);
		} catch (e) {
			return;
		}
		if (typeof d.now_ms === "number")
			setServerNow(d.now_ms);
		this.state("connected");
		if (this.first || d.resume_from === null || d.resume_from === undefined) {
			this.first = false;
			this.snapshot();
		}
	}

	onEvent(kind, m) {
		let d;

		if (m.lastEventId)
			this.lastId = m.lastEventId;
		try {
			d = JSON.parse(m.data);
		} catch (e) {
			return;
		}
		if (this.loading) {
			this.held.push([kind, d]);
			return;
		}
		this.apply(kind, d);
	}

	apply(kind, d) {
		try {
			if (kind === "timeline" && this.h.timeline)
				this.h.timeline(d);
			else if (kind === "crew" && this.h.crew)
				this.h.crew(d);
		} catch (e) {
			console.error("stream event", kind, e);
		}
	}

	async snapshot() {
		if (this.loading)
			return this.loading;
		this.loading = (async () => {
			try {
				await this.h.load();
			} catch (e) {
				if (e.status !== 401)
					toast(errText(e), "err");
			}
			const held = this.held;

			this.held = [];
			this.loading = null;
			for (const [k, d] of held)
				this.apply(k, d);
		})();
		return this.loading;
	}

	onError() {
		this.state("reconnecting");
		// EventSource retries by itself (sending Last-Event-ID) unless the
		// server refused it (no session, 5xx): then it is CLOSED and we ask
		// again ourselves, after checking that the session still exists.
		if (this.es.readyState === EventSource.CLOSED && this.retry === null) {
			this.retry = window.setTimeout(async () => {
				this.retry = null;
				try {
					await api("GET", "/api/v1/session");
				} catch (e) {
					if (e.status === 401)
						return;
				}
				this.start();
			}, 3000);
		}
	}
}
