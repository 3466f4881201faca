// login.js: the login page: a token in, a session cookie out
// (POST /api/v1/session), then on to `next` or the role's home.
// It never stores the token: the cookie is HttpOnly and the token field is
// cleared as soon as the answer arrives.

import { t, lang, setLang, applyStatic } from "/static/i18n.js";

const HOME = { dispatcher: "/board", supervisor: "/board", admin: "/board", agent: "/desk",
	department: "/reports" };

// Only a path on this site: "/x", never "//host" or "http://...".
function safeNext(v) {
	return typeof v === "string" && /^\/(?![\/\\])/.test(v) ? v : null;
}

function go(role) {
	const next = safeNext(new URLSearchParams(location.search).get("next"));

	location.assign(next && next !== "/login" ? next : (HOME[role] || "/reports"));
}

async function submit(ev) {
	const box = document.getElementById("login-error");
	const field = document.getElementById("token");
	const btn = document.getElementById("login-submit");
	let r;

	ev.preventDefault();
	box.hidden = true;
	btn.disabled = true;
	try {
		r = await fetch("/api/v1/session", { method: "POST", credentials: "same-origin",
			headers: { "Content-Type": "application/json" },
			body: JSON.stringify({ token: field.value.trim() }) });
	} catch (e) {
		box.textContent = t("err.network");
		box.hidden = false;
		btn.disabled = false;
		return;
	}
	field.value = "";
	btn.disabled = false;
	if (r.ok) {
		const s = await r.json();

		go(s.role);
		return;
	}
	if (r.status === 401)
		box.textContent = t("login.bad");
	else {
		const b = await r.json().catch(() => null);

		box.textContent = t("login.error", { msg: b && b.error ? b.error.message : "HTTP " + r.status });
	}
	box.hidden = false;
	field.focus();
}

applyStatic();
document.title = t("login.title") + " · " + t("app.name");
document.getElementById("login").addEventListener("submit", submit);
document.getElementById("lang").addEventListener("click", () => {
	setLang(lang() === "en" ? "zh" : "en");
	applyStatic();
	document.title = t("login.title") + " · " + t("app.name");
});
// Already logged in (a valid cookie): straight on.
fetch("/api/v1/session", { credentials: "same-origin" }).then(async (r) => {
	if (r.ok)
		go((await r.json()).role);
}).catch(() => {});
