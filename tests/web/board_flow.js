// board_flow.js: the browser half of tests/integration/test_web_board.py.
//
// Drives Debian's chromium (headless, through playwright-core; no browser is
// ever downloaded) against a real gateway that the Python test started with a
// real broker, a real device and gpsfake. Usage:
//
//     NODE_PATH=build/web-test/node_modules node tests/web/board_flow.js CONFIG.json
//
// CONFIG: {"url", "tokens": {"dispatcher","supervisor","agent"}, "crew", "device_cmd":
// [argv to run `linecrew-device -f CONF`], "artifacts", "site": [lat, lon]}.
// Output, one per line: `CHECK {"ok":bool,"name":...,"detail":...}` (the Python
// test turns them into TAP), `INFO text`, and at the end `RESULT {...}` with
// the order id, the measured completion->callback latency and the screenshots.
// No timing is asserted: waits are generous, the latency is reported.
"use strict";

const fs = require("fs");
const path = require("path");
const { spawnSync } = require("child_process");
const { chromium } = require("playwright-core");

const cfg = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const WAIT = Number(process.env.LINECREW_WEB_WAIT_MS || 20000);	// per step
const result = { screenshots: {}, order: null, latency_ms: null };
let failed = 0;

function check(ok, name, detail) {
	if (!ok)
		failed++;
	console.log("CHECK " + JSON.stringify({ ok: !!ok, name, detail: ok ? undefined :
		String(detail === undefined ? "" : detail).slice(0, 2000) }));
	return !!ok;
}

function info(s) {
	console.log("INFO " + s);
}

// A step that may throw: a failure is one failed check, the flow goes on when it can.
// fn returns true (or an object it made), false, or a string saying what was wrong.
async function step(name, fn) {
	try {
		const v = await fn();
		const bad = v === false || typeof v === "string";

		check(!bad, name, typeof v === "string" ? v : "returned false");
		return bad ? undefined : v;
	} catch (e) {
		check(false, name, e && e.stack ? e.stack.split("\n").slice(0, 4).join(" | ") : e);
		return undefined;
	}
}

async function apiAs(token, method, p, body) {
	const r = await fetch(cfg.url + p, {
		method, headers: { "Authorization": "Bearer " + token, "Content-Type": "application/json" },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	const text = await r.text();
	let data = text;

	try {
		data = JSON.parse(text);
	} catch (e) { /* not JSON */ }
	return { status: r.status, data };
}

function device(...args) {
	const r = spawnSync(cfg.device_cmd[0], cfg.device_cmd.slice(1).concat(args),
	    { encoding: "utf8", timeout: 30000 });

	return { code: r.status, out: (r.stdout || "") + (r.stderr || "") };
}

// Console errors and uncaught exceptions of every page, CSP violations included.
const pageErrors = [];

function watch(page, who) {
	page.on("console", (m) => {
		if (m.type() === "error" && !/Failed to load resource.*(401|403|404)/.test(m.text()))
			pageErrors.push(who + ": " + m.text());
	});
	page.on("pageerror", (e) => pageErrors.push(who + ": " + e.message));
}

async function login(browser, role, viewport, wantPath) {
	const ctx = await browser.newContext({ viewport, locale: "zh-CN", timezoneId: "Asia/Shanghai",
		deviceScaleFactor: 1 });
	const page = await ctx.newPage();

	watch(page, role);
	await page.goto(cfg.url + wantPath);
	check(page.url().includes("/login?next="), role + ": " + wantPath +
	    " without a session goes to the login page", page.url());
	await page.fill("#token", cfg.tokens[role]);
	await Promise.all([
		page.waitForURL((u) => u.pathname === wantPath, { timeout: WAIT }),
		page.click("#login-submit"),
	]);
	await page.waitForSelector('body[data-conn="connected"]', { timeout: WAIT });
	// A mark that a reload would wipe: "live, without a reload" is checked by it.
	await page.evaluate(() => { window.__lcMark = "still-here"; });
	return { ctx, page };
}

async function notReloaded(page) {
	return (await page.evaluate(() => window.__lcMark)) === "still-here";
}

async function rowState(page, sel, id, states, timeout) {
	try {
		await page.waitForFunction(([s, oid, want]) => {
			const r = document.querySelector(s + ' [data-order="' + oid + '"]');

			return r && want.includes(r.dataset.state);
		}, [sel, id, states], { timeout: timeout || WAIT });
	} catch (e) {
		const now = await page.evaluate(([s, oid]) => {
			const r = document.querySelector(s + ' [data-order="' + oid + '"]');

			return "row state " + (r ? r.dataset.state + " " + r.outerHTML.slice(0, 300) :
			    "absent") + ", stream " + document.body.dataset.conn;
		}, [sel, id]);

		throw new Error("waiting for " + states.join("|") + " of " + id + ": " + now);
	}
	return true;
}

async function shot(page, name, fullPage) {
	const p = path.join(cfg.artifacts, name + ".png");

	await page.screenshot({ path: p, fullPage: !!fullPage });
	result.screenshots[name] = p;
	return true;
}

async function main() {
	fs.mkdirSync(cfg.artifacts, { recursive: true });
	const browser = await chromium.launch({
		executablePath: cfg.chromium || "/usr/bin/chromium",
		args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
	});
	info("chromium " + browser.version());
	try {
		await flow(browser);
	} finally {
		await browser.close();
	}
}

async function flow(browser) {
	const wide = { width: 1920, height: 1080 }, laptop = { width: 1366, height: 768 };

	// --- a dispatcher and a supervisor log in through the login page
	const D = await step("dispatcher logs in through the login page and gets the board",
	    () => login(browser, "dispatcher", wide, "/board"));
	const S = await step("supervisor logs in and gets the board",
	    () => login(browser, "supervisor", wide, "/board"));

	if (!D || !S)
		return;

	// --- an agent records an order by the API: it appears on both boards live
	const r = await apiAs(cfg.tokens.agent, "POST", "/api/v1/orders", {
		category: 2, address: "新城区 海拉尔东路 12 号 3 单元", summary: "整栋楼停电，楼道有焦糊味",
		site: { lat: cfg.site[0], lon: cfg.site[1], crs: "wgs84" },
		customer: "王女士", phone: "13800000000",
	});

	if (!check(r.status === 201, "an agent records an order by the API", JSON.stringify(r.data)))
		return;
	const id = r.data.id;

	result.order = id;
	info("order " + id);
	if (!(await step("the new order appears on the dispatcher's board without a reload", async () => {
		await D.page.waitForSelector('#order-list [data-order="' + id + '"]', { timeout: WAIT });
		return notReloaded(D.page);
	})))
		return;
	if (!(await step("the new order appears on the supervisor's board, to review", async () => {
		await rowState(S.page, "#order-list", id, ["recorded"]);
		return notReloaded(S.page);
	})))
		return;
	await step("its countdown ticks (review deadline) and is coloured by time left", async () => {
		const sel = '#order-list [data-order="' + id + '"] .countdown';
		const a = await S.page.textContent(sel);

		await S.page.waitForFunction(([s, v]) => document.querySelector(s).textContent !== v,
		    [sel, a], { timeout: 5000 });
		return /left-(ok|120|30|over)/.test(await S.page.getAttribute(sel, "class"));
	});

	// --- the dispatcher sees the ranking but may not dispatch
	await step("dispatcher: the nearest-crew ranking, dispatch not allowed (supervisor only)",
	    async () => {
		await D.page.click('#order-list [data-order="' + id + '"]');
		const b = await D.page.waitForSelector('#detail button[data-action="dispatch"][data-crew="' +
		    cfg.crew + '"]', { timeout: WAIT });

		return (await b.isDisabled()) && (await D.page.isVisible("#detail .hint"));
	});

	// --- the supervisor reviews and dispatches it by clicking
	// The supervisor selects it on the map (its marker), then dispatches from the ranking.
	if (!(await step("supervisor: select the order's map marker, review & dispatch by clicking",
	    async () => {
		await S.page.locator('#map [data-order="' + id + '"]').first().click({ timeout: WAIT });
		await S.page.waitForSelector('#detail[data-order="' + id + '"]', { timeout: WAIT });
		const b = await S.page.waitForSelector('#detail button[data-action="dispatch"][data-crew="' +
		    cfg.crew + '"]:not([disabled])', { timeout: WAIT });

		await b.click();
		await rowState(S.page, "#order-list", id, ["dispatched", "delivered", "accepted", "arrived"]);
		return true;
	})))
		return;
	if (!(await step("the device's delivery shows on the board without a reload", async () => {
		await rowState(S.page, "#order-list", id, ["delivered", "accepted", "arrived"]);
		return notReloaded(S.page);
	})))
		return;

	// --- the crew accepts; gpsfake drives it to the site; the device decides arrival
	const acc = device("accept", id);

	check(acc.code === 0, "the crew accepts on the device", acc.out);
	if (!(await step("the board marks the order arrived (GPS, from the device) without a reload",
	    async () => {
		await rowState(D.page, "#order-list", id, ["arrived"], 90000);
		await rowState(S.page, "#order-list", id, ["arrived"], WAIT);
		return (await notReloaded(D.page)) && (await notReloaded(S.page));
	})))
		return;
	await step("the map keeps the order's marker, the list and the map agree on the selection",
	    async () => {
		await S.page.waitForSelector('#map [data-order="' + id + '"].sel', { timeout: WAIT });
		await S.page.waitForSelector('#order-list .selected[data-order="' + id + '"]',
		    { timeout: WAIT });
		await S.page.waitForSelector('#detail[data-order="' + id + '"][data-state="arrived"]',
		    { timeout: WAIT });
		return true;
	});
	await step("the crews list shows the crew with a position age", async () => {
		await S.page.waitForFunction((c) => {
			const r = document.querySelector('#crew-list tr[data-crew="' + c + '"] .age');

			return r && !/无位置|no position/.test(r.textContent);
		}, cfg.crew, { timeout: WAIT });
		return true;
	});
	await step("board screenshot (1920x1080)", () => shot(S.page, "board"));

	// --- an agent logs in in a second browser context: the desk
	const A = await step("agent logs in (1366x768) and gets the desk",
	    () => login(browser, "agent", laptop, "/desk"));

	if (!A)
		return;
	await A.page.evaluate((oid) => {
		window.__seen = null;
		const seen = () => {
			if (window.__seen === null && document.querySelector('#queue [data-order="' + oid + '"]'))
				window.__seen = performance.timeOrigin + performance.now();
		};

		new MutationObserver(seen).observe(document.getElementById("queue"),
		    { childList: true, subtree: true });
		seen();
	}, id);
	const note = "更换 17 号杆 100A 熔断器，线路恢复送电";
	const t0 = Date.now();
	const comp = device("complete", id, note);

	check(comp.code === 0, "the crew completes on the device", comp.out);
	if (!(await step("the callback appears on the desk without a reload", async () => {
		await A.page.waitForSelector('#queue [data-order="' + id + '"]', { timeout: WAIT });
		const seen = await A.page.evaluate(() => window.__seen);

		result.latency_ms = seen ? Math.round(seen - t0) : null;
		console.log("completion->callback in browser: " + result.latency_ms + " ms");
		return (await notReloaded(A.page)) && seen !== null;
	})))
		return;
	await step("the desk row tells the story: fault, crew, GPS-verified arrival, what was done",
	    async () => {
		const sel = '#queue [data-order="' + id + '"] .story';

		await A.page.waitForFunction(([s, n]) => {
			const el = document.querySelector(s);

			return el && el.textContent.includes(n);
		}, [sel, note], { timeout: WAIT });
		const txt = await A.page.textContent(sel);

		return (txt.includes("GPS") && txt.includes("整栋楼停电")) || txt;
	});
	await step("the desk row shows the customer's name and number", async () => {
		const txt = await A.page.textContent('#queue [data-order="' + id + '"] .cb-customer');

		return txt.includes("王女士") && txt.includes("13800000000");
	});
	await step("desk screenshot (1366x768)", () => shot(A.page, "desk"));

	// --- the agent records the outcome by clicking
	await step("the agent records rating 5 and 恢复供电且满意 by clicking", async () => {
		const row = '#queue [data-order="' + id + '"]';

		await A.page.click(row + ' .star[data-rating="5"]');
		await A.page.click(row + ' button[data-outcome="restored_satisfied"]');
		await A.page.waitForSelector(".toast", { timeout: WAIT });
		await A.page.waitForSelector(row, { state: "detached", timeout: WAIT });
		return true;
	});
	await step("the board drops the closed order without a reload", async () => {
		await S.page.waitForSelector('#order-list [data-order="' + id + '"]',
		    { state: "detached", timeout: WAIT });
		return notReloaded(S.page);
	});

	// --- the order page and the reports
	const O = await S.ctx.newPage();

	watch(O, "supervisor-order");
	await step("the order page: stages with verdicts, GPS arrival evidence, track, messages",
	    async () => {
		await O.goto(cfg.url + "/order/" + encodeURIComponent(id));
		await O.waitForSelector('#stages tr[data-stage="arrival"]', { timeout: WAIT });
		await O.waitForSelector('#evidence [data-method="gps"] table', { timeout: WAIT });
		await O.waitForSelector('#timeline tr[data-kind="callback"]', { timeout: WAIT });
		await O.waitForSelector("#uplink table", { timeout: WAIT });
		await O.waitForSelector("#order-map svg", { timeout: WAIT });
		return true;
	});
	await step("order page screenshot", () => shot(O, "order", true));
	await step("the reports page: table, charts and the CSV link", async () => {
		await O.goto(cfg.url + "/reports");
		await O.waitForSelector("#rep-table table.report tbody tr", { timeout: WAIT });
		await O.waitForSelector("#chart-arrival svg rect.bar", { timeout: WAIT });
		const href = await O.getAttribute("#rep-csv", "href");
		const csv = await O.request.get(cfg.url + href);
		const body = await csv.text();

		return (csv.status() === 200 && /text\/csv/.test(csv.headers()["content-type"] || "") &&
		    body.split("\n").length >= 2) || ("CSV " + csv.status() + " " + body.slice(0, 200));
	});
	await step("reports screenshot", () => shot(O, "reports", true));

	// --- the wrong roles
	const F = await A.ctx.newPage();

	await step("an agent opening /board gets the forbidden page (403)", async () => {
		const resp = await F.goto(cfg.url + "/board");

		await F.waitForSelector('[data-error="forbidden"]', { timeout: WAIT });
		return resp.status() === 403;
	});
	await step("forbidden screenshot", () => shot(F, "forbidden"));
	await step("the agent's cookie on GET /api/v1/map.svg: 403", async () => {
		const res = await F.request.get(cfg.url + "/api/v1/map.svg");

		return res.status() === 403 || "status " + res.status();
	});
	await step("the agent's cookie (with its CSRF token) on POST /api/v1/alerts/ack: 403",
	    async () => {
		const s = await (await F.request.get(cfg.url + "/api/v1/session")).json();
		const res = await F.request.post(cfg.url + "/api/v1/alerts/ack", {
			headers: { "X-CSRF-Token": s.csrf, "Content-Type": "application/json" },
			data: { order_id: id, seq: 1 } });
		const b = await res.json().catch(() => ({}));

		return (res.status() === 403 && !(b.error && b.error.field === "X-CSRF-Token")) ||
		    "status " + res.status() + " " + JSON.stringify(b);
	});
	await step("a write with the cookie but without X-CSRF-Token: 403 naming it", async () => {
		const res = await F.request.post(cfg.url + "/api/v1/orders/" + id + "/callback",
		    { headers: { "Content-Type": "application/json" }, data: { outcome: "unreachable" } });
		const b = await res.json().catch(() => ({}));

		return (res.status() === 403 && b.error && b.error.field === "X-CSRF-Token") ||
		    "status " + res.status() + " " + JSON.stringify(b);
	});
	await step("a dispatcher opening /desk gets the forbidden page (403)", async () => {
		const P = await D.ctx.newPage();
		const resp = await P.goto(cfg.url + "/desk");

		await P.waitForSelector('[data-error="forbidden"]', { timeout: WAIT });
		return resp.status() === 403;
	});
	await step("the dispatcher's cookie on GET /api/v1/callbacks (agents'): 403", async () => {
		const res = await D.page.request.get(cfg.url + "/api/v1/callbacks");

		return res.status() === 403 || "status " + res.status();
	});

	// --- logout
	await step("logout ends the session: back to /login, the cookie no longer works", async () => {
		await Promise.all([A.page.waitForURL((u) => u.pathname === "/login", { timeout: WAIT }),
			A.page.click("#logout")]);
		const res = await A.page.request.get(cfg.url + "/api/v1/session");

		return res.status() === 401 || "status " + res.status();
	});
	check(pageErrors.length === 0, "no page logged an error (CSP violations included)",
	    pageErrors.join("\n"));
}

main().then(() => {
	console.log("RESULT " + JSON.stringify(result));
	process.exit(failed ? 1 : 0);
}, (e) => {
	check(false, "browser flow ran", e && e.stack ? e.stack : e);
	console.log("RESULT " + JSON.stringify(result));
	process.exit(1);
});
