// reports.js: compliance statistics for a period (GET /api/v1/stats).
//
// A period (today, this week, this month, or custom days; days are
// Asia/Shanghai days, weeks start on Monday), a grouping (zone, branch, crew,
// type, shift), a table of every rate and three bar charts drawn here as SVG:
// on-time arrival by zone, completion within the limit (12 h) and callback
// within 10 minutes by the chosen grouping. The CSV is the gateway's own
// (format=csv), downloaded with the session cookie. Rates are the gateway's;
// nothing is recomputed here.

import {
	h, clear, $, t, label, api, loadSession, initChrome, serverNow, shanghaiDay,
	shanghaiMidnight, errText, setServerNow, Stream,
} from "/static/common.js";

const REFRESH_MS = 10000;	// while orders change, the figures are redrawn at most this often

const DAY_MS = 86400000;

function addDays(day, n) {
	return shanghaiDay(shanghaiMidnight(day) + n * DAY_MS + 12 * 3600000);
}

// [from_ms, to_ms) of the chosen period.
function period() {
	const which = document.querySelector('input[name="period"]:checked').value;
	const today = shanghaiDay(serverNow());
	let from = today, to = addDays(today, 1);

	if (which === "week") {
		const [y, m, d] = today.split("-").map(Number);
		const dow = (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7;	/* Monday 0 */

		from = addDays(today, -dow);
		to = addDays(from, 7);
	} else if (which === "month") {
		from = today.slice(0, 8) + "01";
		const [y, m] = today.split("-").map(Number);

		to = m === 12 ? (y + 1) + "-01-01" : y + "-" + String(m + 1).padStart(2, "0") + "-01";
	} else if (which === "custom") {
		from = $("#rep-from").value || today;
		to = addDays($("#rep-to").value || from, 1);
	}
	return { from_ms: shanghaiMidnight(from), to_ms: shanghaiMidnight(to), from,
		to: addDays(to, -1) };
}

function pct(v) {
	return v === null || v === undefined ? "—" : (v * 100).toFixed(1) + "%";
}

function mins(v) {
	return v === null || v === undefined ? "—" : Number(v).toFixed(1);
}

function groupLabel(g, by) {
	if (by === "zone")
		return label("zone", g.key) + (g.label && g.label !== g.key ? " · " + g.label : "");
	if (by === "type")
		return g.label || label("type", g.key);
	return g.label || String(g.key);
}

function rateClass(v) {
	if (v === null || v === undefined)
		return "bar-none";
	if (v >= 0.95)
		return "bar-good";
	if (v >= 0.8)
		return "bar-fair";
	return "bar-poor";
}

// A horizontal bar chart of one rate per group, 0..100 %.
function barChart(groups, field, judged, by) {
	const rowH = 24, labelW = 110, barW = 250, valueW = 100;
	const n = Math.max(groups.length, 1);
	const W = labelW + barW + valueW, H = n * rowH + 24;
	const svg = h("svg", { viewBox: "0 0 " + W + " " + H, class: "bars", role: "img",
	    preserveAspectRatio: "xMinYMin meet" });

	if (groups.length === 0) {
		svg.appendChild(h("text", { x: 8, y: 20, class: "muted" }, t("rep.empty")));
		return svg;
	}
	[0, 0.5, 0.8, 1].forEach((v) => {
		const x = labelW + v * barW;

		svg.appendChild(h("line", { x1: x, x2: x, y1: 0, y2: n * rowH, class: "tick" }));
		svg.appendChild(h("text", { x, y: n * rowH + 16, class: "tick-label",
		    "text-anchor": "middle" }, Math.round(v * 100) + "%"));
	});
	groups.forEach((g, i) => {
		const y = i * rowH;
		const v = g[field];
		const lab = groupLabel(g, by);

		svg.appendChild(h("text", { x: labelW - 8, y: y + 17, "text-anchor": "end",
		    class: "bar-label" }, lab.length > 12 ? lab.slice(0, 11) + "…" : lab,
		    h("title", null, lab)));
		svg.appendChild(h("rect", { x: labelW, y: y + 5, width: barW, height: rowH - 10,
		    class: "bar-bg" }));
		if (v !== null && v !== undefined)
			svg.appendChild(h("rect", { x: labelW, y: y + 5, width: Math.max(1, v * barW),
			    height: rowH - 10, class: "bar " + rateClass(v) },
			    h("title", null, lab + ": " + pct(v))));
		svg.appendChild(h("text", { x: labelW + barW + 8, y: y + 17, class: "bar-value" },
		    v === null || v === undefined ? t("rep.no_data") :
			pct(v) + (judged && g[judged] !== undefined ? " (" + g[judged] + ")" : "")));
	});
	return svg;
}

function table(r, by) {
	const cols = [
		["rep.col.orders", (g) => String(g.orders)],
		["rep.col.arrival", (g) => pct(g.arrival_on_time_rate)],
		["rep.col.arrival_avg", (g) => mins(g.arrival_avg_min)],
		["rep.col.arrival_p90", (g) => mins(g.arrival_p90_min)],
		["rep.col.completion", (g) => pct(g.completion_in_limit_rate)],
		["rep.col.handling", (g) => pct(g.handling_in_limit_rate)],
		["rep.col.callback", (g) => pct(g.callback_rate)],
		["rep.col.callback10", (g) => pct(g.callback_in_10min_rate)],
		["rep.col.answer", (g) => pct(g.answered_in_12s_rate)],
		["rep.col.breaches", (g) => String(g.breaches)],
	];
	const line = (g, name) => h("tr", null, h("th", { scope: "row" }, name),
	    cols.map(([, f]) => h("td", { class: "num" }, f(g))));

	return h("table", { class: "grid report", data: { by } },
	    h("thead", null, h("tr", null, h("th", null, t("by." + by)),
		cols.map(([k]) => h("th", { class: "num" }, t(k))))),
	    h("tbody", null, (r.groups || []).map((g) => line(g, groupLabel(g, by)))),
	    r.total ? h("tfoot", null, line(r.total, t("rep.total"))) : null);
}

async function show(ev) {
	if (ev)
		ev.preventDefault();
	const p = period();
	const by = $("#rep-by").value;
	const q = "from_ms=" + p.from_ms + "&to_ms=" + p.to_ms;

	$("#rep-range").textContent = t("rep.range", { from: p.from, to: p.to });
	$("#rep-csv").href = "/api/v1/stats?" + q + "&by=" + by + "&format=csv";
	$("#rep-csv").setAttribute("download", "linecrew-" + by + "-" + p.from + "-" + p.to + ".csv");
	try {
		const [r, z] = await Promise.all([
			api("GET", "/api/v1/stats?" + q + "&by=" + by),
			by === "zone" ? null : api("GET", "/api/v1/stats?" + q + "&by=zone"),
		]);
		const zone = z || r;

		if (typeof r.as_of_ms === "number")
			setServerNow(r.as_of_ms);
		clear($("#chart-arrival")).appendChild(barChart(zone.groups || [],
		    "arrival_on_time_rate", "arrivals_judged", "zone"));
		clear($("#chart-completion")).appendChild(barChart(r.groups || [],
		    "completion_in_limit_rate", "completions_judged", by));
		clear($("#chart-callback")).appendChild(barChart(r.groups || [],
		    "callback_in_10min_rate", "callbacks_done", by));
		const tbl = clear($("#rep-table"));

		tbl.appendChild(table(r, by));
		if (!(r.groups || []).length)
			tbl.appendChild(h("p", { class: "empty" }, t("rep.empty")));
	} catch (e) {
		clear($("#rep-table")).appendChild(h("p", { class: "form-error" }, errText(e)));
	}
}

function customShown() {
	const custom = document.querySelector('input[name="period"]:checked').value === "custom";

	document.querySelectorAll(".period .custom").forEach((l) => l.classList.toggle("off", !custom));
}

async function main() {
	await loadSession();
	initChrome("reports");
	const today = shanghaiDay(serverNow());

	$("#rep-from").value = today;
	$("#rep-to").value = today;
	$("#rep-form").addEventListener("submit", show);
	document.querySelectorAll('input[name="period"]').forEach((r) => r.addEventListener("change",
	    () => {
		customShown();
		if (r.value !== "custom")
			show();
	    }));
	$("#rep-by").addEventListener("change", () => show());
	customShown();
	// Live: a change of any order redraws the figures, at most every REFRESH_MS.
	let timer = null;

	new Stream({ load: () => show(), timeline: () => {
		if (timer === null)
			timer = window.setTimeout(() => {
				timer = null;
				show();
			}, REFRESH_MS);
	} }).start();
}

main();
