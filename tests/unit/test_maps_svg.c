/*
 * test_maps_svg.c: projection, Douglas-Peucker and the SVG writer (maps/svg.c).
 *
 * Projection values are worked by hand in the comments (equirectangular scale
 * from cos 41 deg; Web Mercator y = ln tan(45 + lat/2)). The SVG output is
 * checked for balanced tags, entity-only ampersands and escaped names by a
 * small checker below, not by string snapshots, so layout changes do not break
 * the test but malformed output does.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "maps.h"

#define NOW_MS	1764000000000LL
#define MIN_MS	60000LL

static void
near(double got, double want, double tol, const char *what)
{
	if (!(fabs(got - want) <= tol)) {
		print_error("%s: got %.6f want %.6f\n", what, got, want);
		fail();
	}
}

static void
test_proj_equirect(void **state)
{
	struct maps_proj p;
	double x, y;

	(void)state;
	/* 2 x 2 degrees at 41 N: 1.509 x 2 units; 800 px tall -> 400 px/unit,
	 * 603.8 px wide, centred: left edge at (1000 - 603.8) / 2 = 198.1 */
	assert_int_equal(maps_proj_fit(&p, MAPS_PROJ_EQUIRECT, 40, 110, 42, 112, 1000, 800, 0), 0);
	near(p.scale, 400, 1e-9, "scale");
	maps_proj_point(&p, 42, 110, &x, &y);
	near(x, (1000 - 2 * cos(41 * M_PI / 180) * 400) / 2, 1e-9, "top-left x");
	near(y, 0, 1e-9, "top-left y");
	maps_proj_point(&p, 40, 112, &x, &y);
	near(x, 1000 - (1000 - 2 * cos(41 * M_PI / 180) * 400) / 2, 1e-9, "bottom-right x");
	near(y, 800, 1e-9, "bottom-right y");
	maps_proj_point(&p, 41, 111, &x, &y);
	near(x, 500, 1e-9, "centre x");
	near(y, 400, 1e-9, "centre y");
	/* a margin shrinks the drawing: 760 px for 2 units */
	assert_int_equal(maps_proj_fit(&p, MAPS_PROJ_EQUIRECT, 40, 110, 42, 112, 1000, 800, 20), 0);
	near(p.scale, 380, 1e-9, "scale with margin");
	maps_proj_point(&p, 42, 111, &x, &y);
	near(y, 20, 1e-9, "top with margin");
}

static void
test_proj_mercator(void **state)
{
	struct maps_proj p;
	double x, y, x2, y2;

	(void)state;
	/* symmetric box: the origin is the centre; y span 2 ln tan(50 deg) = 0.35086 >
	 * x span 20 deg = 0.34907 rad, so height decides */
	assert_int_equal(maps_proj_fit(&p, MAPS_PROJ_MERCATOR, -10, -10, 10, 10, 500, 500, 0), 0);
	near(p.scale, 500 / (2 * log(tan(50 * M_PI / 180))), 1e-9, "scale");
	maps_proj_point(&p, 0, 0, &x, &y);
	near(x, 250, 1e-9, "x");
	near(y, 250, 1e-9, "y");
	maps_proj_point(&p, 10, 0, &x, &y);
	near(y, 0, 1e-9, "top");
	maps_proj_point(&p, -10, 0, &x, &y);
	near(y, 500, 1e-9, "bottom");
	/* Mercator stretches north: 5 deg at 5 N is shorter on screen than 5 deg at 10 N */
	maps_proj_point(&p, 5, 0, &x2, &y2);
	assert_true(250 - y2 < y2 - 0);
	/* beyond 85.05 deg the projection is clamped, not infinite */
	assert_int_equal(maps_proj_fit(&p, MAPS_PROJ_MERCATOR, 80, 0, 90, 10, 500, 500, 0), 0);
	maps_proj_point(&p, 89.9, 5, &x, &y);
	maps_proj_point(&p, 85.05112878, 5, &x2, &y2);
	assert_true(isfinite(y) && y == y2);

	assert_int_equal(maps_proj_fit(&p, MAPS_PROJ_MERCATOR, 42, 110, 40, 112, 500, 500, 0), -1);
	assert_int_equal(maps_proj_fit(&p, MAPS_PROJ_MERCATOR, 40, 110, 40, 110, 500, 500, 0), -1);
	assert_int_equal(maps_proj_fit(&p, MAPS_PROJ_MERCATOR, NAN, 110, 42, 112, 500, 500, 0), -1);
	assert_int_equal(maps_proj_fit(&p, MAPS_PROJ_MERCATOR, 40, 110, 42, 112, 500, 500, 250), -1);
	assert_int_equal(maps_proj_fit(&p, MAPS_PROJ_MERCATOR, 40, 110, 42, 190, 500, 500, 0), -1);
	assert_int_equal(maps_proj_fit(&p, (enum maps_proj_kind)5, 40, 110, 42, 112, 500, 500, 0), -1);
	/* a box that is a line still fits by its other side */
	assert_int_equal(maps_proj_fit(&p, MAPS_PROJ_EQUIRECT, 40, 110, 40, 112, 500, 500, 0), 0);
}

static void
test_simplify(void **state)
{
	double line[20], bump[] = { 0, 0, 1, 0, 2, 0.4, 3, 0, 4, 0 };
	/* a closed square ring with a vertex in the middle of its bottom edge */
	double sq[] = { 0, 0, 5, 0, 10, 0, 10, 10, 0, 10, 0, 0 };
	unsigned char keep[10];
	size_t stack[10];

	(void)state;
	for (int i = 0; i < 10; i++) {
		line[2 * i] = i;
		line[2 * i + 1] = 2 * i + 1;
	}
	assert_int_equal(maps_simplify(line, 10, 0.01, keep, stack), 2);
	assert_true(keep[0] && keep[9]);
	assert_int_equal(maps_simplify(bump, 5, 0.3, keep, stack), 3);
	assert_true(keep[0] && keep[2] && keep[4] && !keep[1] && !keep[3]);
	assert_int_equal(maps_simplify(bump, 5, 0.5, keep, stack), 2);
	/* tolerance 0 drops only points exactly on their chord */
	assert_int_equal(maps_simplify(bump, 5, 0.0, keep, stack), 5);
	assert_int_equal(maps_simplify(line, 10, 0.0, keep, stack), 2);
	assert_int_equal(maps_simplify(sq, 6, 0.1, keep, stack), 5);
	assert_true(keep[0] && !keep[1] && keep[2] && keep[3] && keep[4] && keep[5]);
	/* a tolerance larger than the square leaves only the closing pair */
	assert_int_equal(maps_simplify(sq, 6, 100, keep, stack), 2);
	assert_int_equal(maps_simplify(sq, 0, 1, keep, stack), 0);
	assert_int_equal(maps_simplify(sq, 1, 1, keep, stack), 1);
	assert_int_equal(maps_simplify(sq, 2, 1, keep, stack), 2);
}

/*
 * Well-formed enough to be served: the prolog, every tag closed in order, no
 * '<' or raw '&' in text or attribute values, attributes quoted. Returns the
 * number of elements, or -1 after printing the problem.
 */
static int
xml_check(const char *s)
{
	char stack[64][32];
	int sp = 0, elems = 0;
	const char *p = s;

	if (strncmp(p, "<?xml ", 6) != 0)
		return -1;
	p = strstr(p, "?>") + 2;
	while (*p != '\0') {
		if (*p == '&') {
			static const char *ents[] = { "&amp;", "&lt;", "&gt;", "&quot;", "&#39;" };
			size_t k;

			for (k = 0; k < 5; k++)
				if (strncmp(p, ents[k], strlen(ents[k])) == 0)
					break;
			if (k == 5) {
				print_error("raw '&' at: %.20s\n", p);
				return -1;
			}
			p++;
			continue;
		}
		if (*p != '<') {
			if (*p == '>') {
				print_error("raw '>' in text at: %.20s\n", p);
				return -1;
			}
			p++;
			continue;
		}
		if (p[1] == '/') {
			size_t n = strcspn(p + 2, ">");

			if (sp == 0 || strlen(stack[sp - 1]) != n || strncmp(stack[sp - 1], p + 2, n)) {
				print_error("unbalanced </%.*s>\n", (int)n, p + 2);
				return -1;
			}
			sp--;
			p += n + 3;
			continue;
		}
		{
			size_t n = strcspn(p + 1, " />");
			const char *q = p + 1 + n;
			int quoted = 0;

			if (n == 0 || n >= sizeof(stack[0]) || sp == 64)
				return -1;
			for (; *q != '\0' && (quoted || *q != '>'); q++) {
				if (*q == '"')
					quoted = !quoted;
				else if (quoted && (*q == '<' || (*q == '&' && strncmp(q, "&amp;", 5) &&
				    strncmp(q, "&lt;", 4) && strncmp(q, "&gt;", 4) && strncmp(q, "&quot;", 6) &&
				    strncmp(q, "&#39;", 5)))) {
					print_error("bad character in attribute of <%.*s>\n", (int)n, p + 1);
					return -1;
				}
			}
			if (*q != '>')
				return -1;
			elems++;
			if (q[-1] != '/') {
				memcpy(stack[sp], p + 1, n);
				stack[sp++][n] = '\0';
			}
			p = q + 1;
		}
	}
	if (sp != 0) {
		print_error("<%s> not closed\n", stack[sp - 1]);
		return -1;
	}
	return elems;
}

static int
count(const char *s, const char *what)
{
	int n = 0;

	for (; (s = strstr(s, what)) != NULL; s++)
		n++;
	return n;
}

static const char *zone_doc =
    "{\"type\":\"FeatureCollection\",\"features\":["
    "{\"type\":\"Feature\",\"properties\":{\"zone\":\"urban\",\"name\":\"Tom & Jerry's <zone>\"},"
    "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[111.6,40.8],[111.8,40.8],"
    "[111.8,40.9],[111.6,40.9]],[[111.65,40.83],[111.7,40.83],[111.7,40.86],[111.65,40.86]]]}},"
    "{\"type\":\"Feature\",\"properties\":{\"zone\":\"remote\",\"name\":\"tiny\"},"
    "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[111.61,40.81],[111.61001,40.81],"
    "[111.61001,40.81001]]]}}]}";

static void
test_svg_render(void **state)
{
	struct maps_zones *z = NULL;
	struct maps_svg_opts o;
	struct maps_buf out;
	const struct maps_svg_order orders[] = {
		{ "LC-1", 40.84, 111.75, NOW_MS - 5 * MIN_MS },		/* overdue */
		{ "LC-2", 40.85, 111.70, NOW_MS + 10 * MIN_MS },	/* < 30 min */
		{ "<b>LC-3</b>", 40.82, 111.62, NOW_MS + 90 * MIN_MS },	/* < 2 h */
		{ "LC-4", 40.88, 111.78, NOW_MS + 300 * MIN_MS },	/* later */
		{ "LC-5", NAN, NAN, NOW_MS },				/* not drawn */
	};
	const struct maps_svg_crew crews[] = {
		{ "crew-north", 40.83, 111.69, NOW_MS - 12 * MIN_MS },
		{ "crew-\"x\"", 40.86, 111.72, NOW_MS - 200 * MIN_MS },
		{ "crew-lost", NAN, NAN, 0 },
	};
	int elems;

	(void)state;
	assert_int_equal(maps_zones_parse(zone_doc, strlen(zone_doc), MAPS_WGS84, &z, NULL, 0),
	    MAPS_OK);
	for (int pk = 0; pk < 2; pk++) {
		maps_svg_defaults(&o);
		o.proj = pk ? MAPS_PROJ_EQUIRECT : MAPS_PROJ_MERCATOR;
		o.title = "board & co";
		maps_buf_init(&out, 1 << 20);
		assert_int_equal(maps_svg_render(&out, &o, z, orders, 5, crews, 3, NOW_MS), MAPS_OK);
		elems = xml_check(out.p);
		if (elems < 0) {
			print_error("%s\n", out.p);
			fail();
		}
		assert_non_null(strstr(out.p, "<title>board &amp; co</title>"));
		assert_non_null(strstr(out.p, "Tom &amp; Jerry&#39;s &lt;zone&gt; (urban)"));
		assert_null(strstr(out.p, "tiny"));	/* below the tolerance: not drawn */
		assert_int_equal(count(out.p, "<path "), 1);
		assert_int_equal(count(out.p, "Z"), 2);	/* shell and hole */
		assert_non_null(strstr(out.p, "&lt;b&gt;LC-3&lt;/b&gt;: 90 min left"));
		assert_non_null(strstr(out.p, "LC-1: overdue 5 min"));
		assert_non_null(strstr(out.p, "LC-2: 10 min left"));
		assert_non_null(strstr(out.p, "crew-north \xc2\xb7 12 min</text>"));
		assert_non_null(strstr(out.p, "crew-&quot;x&quot; \xc2\xb7 3 h</text>"));
		assert_null(strstr(out.p, "crew-lost"));
		assert_null(strstr(out.p, "LC-5"));
		/* 4 orders + 4 legend circles; one colour each */
		assert_int_equal(count(out.p, "<circle "), 8);
		assert_int_equal(count(out.p, "fill=\"#d7191c\""), 2);
		assert_int_equal(count(out.p, "fill=\"#1a9641\""), 2);
		maps_buf_free(&out);
	}
	maps_zones_free(z);
}

/* The order page's layers: a geofence ring to scale, a track simplified and
 * cleaned of unusable points, labelled marks, the focused order in full and
 * the others dimmed, an order with no deadline pending in grey. */
static void
test_svg_layers(void **state)
{
	struct maps_svg_opts o;
	struct maps_buf out;
	const struct maps_svg_order orders[] = {
		{ "LC-1", 40.840, 111.750, 0 },				/* nothing pending */
		{ "LC-2", 40.845, 111.745, NOW_MS + 10 * MIN_MS },
	};
	const struct maps_svg_crew crew = { "crew-a", 40.845, 111.758, NOW_MS - 2 * MIN_MS };
	/* B lies on the chord A-C (equirectangular keeps straight lines straight):
	 * dropped; the NaN point is skipped; A, C and D stay. */
	const double track[] = { 40.835, 111.745, 40.840, 111.750, 40.845, 111.755, NAN, NAN,
		40.845, 111.758 };
	const struct maps_svg_line line = { track, 5, "track", NULL, "crew-a & co" };
	const struct maps_svg_ring ring = { 40.840, 111.750, 500, "geofence", "site <LC-1>" };
	const struct maps_svg_mark marks[] = {
		{ 40.835, 111.745, "track-start", "#ffffff", "<start>", "start 09:00 & on", 0 },
		{ NAN, 111.0, "never", NULL, "gone", NULL, 1 },
	};
	const char *p, *q;
	double r;

	(void)state;
	maps_svg_defaults(&o);
	o.proj = MAPS_PROJ_EQUIRECT;
	o.minlat = 40.83;
	o.maxlat = 40.85;
	o.minlon = 111.74;
	o.maxlon = 111.76;
	o.focus_order = "LC-1";
	o.rings = &ring;
	o.nrings = 1;
	o.lines = &line;
	o.nlines = 1;
	o.marks = marks;
	o.nmarks = 2;
	maps_buf_init(&out, 1 << 20);
	assert_int_equal(maps_svg_render(&out, &o, NULL, orders, 2, &crew, 1, NOW_MS), MAPS_OK);
	if (xml_check(out.p) < 0) {
		print_error("%s\n", out.p);
		fail();
	}
	/* 960 x 760 px for 0.02 deg of latitude and 0.02 * cos 40.84 of longitude:
	 * latitude decides, 38,000 px/deg; 500 m = 500 / 111,194.93 deg = 170.87 px */
	assert_non_null(p = strstr(out.p, "<circle class=\"geofence\""));
	assert_non_null(p = strstr(p, " r=\""));
	r = strtod(p + 4, NULL);
	near(r, 170.87, 0.1, "geofence radius px");
	assert_non_null(strstr(out.p, "<title>site &lt;LC-1&gt;</title>"));
	/* the track: 3 points of 5 */
	assert_non_null(p = strstr(out.p, "<polyline class=\"track\""));
	assert_non_null(p = strstr(p, "points=\""));
	q = strchr(p + 8, '"');
	{
		int commas = 0;

		for (const char *k = p; k < q; k++)
			commas += *k == ',';
		assert_int_equal(commas, 3);
	}
	assert_non_null(strstr(out.p, "<title>crew-a &amp; co</title></polyline>"));
	/* marks: escaped, the NaN one not drawn */
	assert_non_null(strstr(out.p, "&lt;start&gt;</text><title>start 09:00 &amp; on</title>"));
	assert_null(strstr(out.p, "gone"));
	/* the focus in full and grey (no deadline), the other dimmed */
	assert_non_null(strstr(out.p, "<circle data-order=\"LC-1\" cx="));
	assert_non_null(strstr(out.p, "LC-1: no deadline pending</title>"));
	assert_non_null(strstr(out.p, "<circle data-order=\"LC-2\" class=\"dim\""));
	assert_non_null(strstr(out.p, "<g data-crew=\"crew-a\">"));
	assert_int_equal(count(out.p, "fill=\"#999999\""), 1);
	maps_buf_free(&out);

	/* bad layers: a ring without a radius, a line or marks without points */
	maps_buf_init(&out, 1 << 16);
	{
		struct maps_svg_ring bad = ring;

		bad.radius_m = 0;
		o.rings = &bad;
		assert_int_equal(maps_svg_render(&out, &o, NULL, orders, 2, NULL, 0, NOW_MS),
		    MAPS_E_ARG);
		bad.radius_m = NAN;
		assert_int_equal(maps_svg_render(&out, &o, NULL, orders, 2, NULL, 0, NOW_MS),
		    MAPS_E_ARG);
		o.rings = &ring;
	}
	{
		struct maps_svg_line bad = line;

		bad.latlon = NULL;
		o.lines = &bad;
		assert_int_equal(maps_svg_render(&out, &o, NULL, orders, 2, NULL, 0, NOW_MS),
		    MAPS_E_ARG);
		o.lines = &line;
	}
	o.marks = NULL;
	assert_int_equal(maps_svg_render(&out, &o, NULL, orders, 2, NULL, 0, NOW_MS), MAPS_E_ARG);
	assert_int_equal(out.len, 0);
	maps_buf_free(&out);
}

/* Well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF);
 * 0 or -1 after printing where it breaks. */
static int
utf8_check(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		unsigned c = *p;
		int n = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 :
		    (c & 0xf8) == 0xf0 ? 3 : -1;
		unsigned cp = n == 0 ? c : n == 1 ? (c & 0x1f) : n == 2 ? (c & 0x0f) : (c & 0x07);

		for (int k = 1; n > 0 && k <= n; k++) {
			if ((p[k] & 0xc0) != 0x80) {
				n = -1;
				break;
			}
			cp = (cp << 6) | (p[k] & 0x3f);
		}
		if (n < 0 || (n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff)) {
			print_error("bad UTF-8 at byte %td: %.12s\n", (const char *)p - s,
			    (const char *)p);
			return -1;
		}
		p += n + 1;
	}
	return 0;
}

/* The words: English by default and unchanged, Chinese from its table in
 * every place the map writes words (legend, tooltips, durations, zone class),
 * a caller's table escaped, a table with a hole refused. */
static void
test_svg_labels(void **state)
{
	struct maps_zones *z = NULL;
	struct maps_svg_opts o;
	struct maps_buf out, en;
	struct maps_svg_labels odd;
	const struct maps_svg_order orders[] = {
		{ "LC-1", 40.84, 111.75, NOW_MS - 5 * MIN_MS },
		{ "LC-2", 40.85, 111.70, NOW_MS + 10 * MIN_MS },
		{ "LC-3", 40.86, 111.72, NOW_MS + 300 * MIN_MS },
		{ "LC-4", 40.87, 111.73, 0 },
	};
	const struct maps_svg_crew crew = { "crew-north", 40.83, 111.69, NOW_MS - 12 * MIN_MS };
	const struct maps_svg_ring ring = { 40.840, 111.750, 500, "geofence", NULL };
	static const char *const en_legend[] = {
		"<text x=\"24\" y=\"18\">overdue</text>",
		"<text x=\"104\" y=\"18\">&lt; 30 min</text>",
		"<text x=\"184\" y=\"18\">&lt; 2 h</text>",
		"<text x=\"254\" y=\"18\">later</text>",
		"<text x=\"324\" y=\"18\">crew \xc2\xb7 position age</text>",
		"<text x=\"24\" y=\"36\">urban zone</text>",
		"<text x=\"108\" y=\"36\">rural</text>",
		"<text x=\"188\" y=\"36\">remote</text>",
		"<text x=\"30\" y=\"54\">track</text>",
		"<text x=\"108\" y=\"54\">geofence</text>",
	};
	static const char *const zh_legend[] = {
		"<text x=\"24\" y=\"18\">已超时</text>",
		"<text x=\"104\" y=\"18\">&lt; 30 分钟</text>",
		"<text x=\"184\" y=\"18\">&lt; 2 小时</text>",
		"<text x=\"254\" y=\"18\">充裕</text>",
		"<text x=\"324\" y=\"18\">班组 \xc2\xb7 位置时效</text>",
		"<text x=\"24\" y=\"36\">城区</text>",
		"<text x=\"108\" y=\"36\">农村</text>",
		"<text x=\"188\" y=\"36\">边远地区</text>",
		"<text x=\"30\" y=\"54\">轨迹</text>",
		"<text x=\"108\" y=\"54\">电子围栏</text>",
	};

	(void)state;
	assert_int_equal(maps_zones_parse(zone_doc, strlen(zone_doc), MAPS_WGS84, &z, NULL, 0),
	    MAPS_OK);
	maps_svg_defaults(&o);
	assert_ptr_equal(o.labels, &maps_svg_labels_en);
	o.rings = &ring;
	o.nrings = 1;
	maps_buf_init(&en, 1 << 20);
	assert_int_equal(maps_svg_render(&en, &o, z, orders, 4, &crew, 1, NOW_MS), MAPS_OK);
	assert_true(xml_check(en.p) > 0);
	for (size_t i = 0; i < sizeof(en_legend) / sizeof(en_legend[0]); i++)
		if (strstr(en.p, en_legend[i]) == NULL) {
			print_error("English legend: no %s\n", en_legend[i]);
			fail();
		}
	assert_non_null(strstr(en.p, "LC-3: 5 h left</title>"));
	assert_non_null(strstr(en.p, "LC-4: no deadline pending</title>"));

	o.labels = &maps_svg_labels_zh;
	maps_buf_init(&out, 1 << 20);
	assert_int_equal(maps_svg_render(&out, &o, z, orders, 4, &crew, 1, NOW_MS), MAPS_OK);
	if (xml_check(out.p) < 0 || utf8_check(out.p) < 0) {
		print_error("%s\n", out.p);
		fail();
	}
	for (size_t i = 0; i < sizeof(zh_legend) / sizeof(zh_legend[0]); i++)
		if (strstr(out.p, zh_legend[i]) == NULL) {
			print_error("Chinese legend: no %s\n", zh_legend[i]);
			fail();
		}
	assert_non_null(strstr(out.p, "<title>LC-1：已超时 5 分钟</title>"));
	assert_non_null(strstr(out.p, "<title>LC-2：剩余 10 分钟</title>"));
	assert_non_null(strstr(out.p, "<title>LC-3：剩余 5 小时</title>"));
	assert_non_null(strstr(out.p, "<title>LC-4：无待到期时限</title>"));
	assert_non_null(strstr(out.p, "crew-north \xc2\xb7 12 分钟</text>"));
	assert_non_null(strstr(out.p, "Tom &amp; Jerry&#39;s &lt;zone&gt; (城区)</title>"));
	/* the class stays the data's word: the pages style and pick by it */
	assert_non_null(strstr(out.p, "<path class=\"urban\""));
	assert_null(strstr(out.p, "overdue"));
	assert_null(strstr(out.p, " min"));
	assert_null(strstr(out.p, " left"));
	assert_null(strstr(out.p, "urban zone"));
	/* only the words differ: the same elements in the same places */
	assert_int_equal(xml_check(out.p), xml_check(en.p));
	maps_buf_free(&out);

	/* a caller's words are escaped like any caller string */
	odd = maps_svg_labels_en;
	odd.overdue = "late & <gone>";
	o.labels = &odd;
	maps_buf_init(&out, 1 << 20);
	assert_int_equal(maps_svg_render(&out, &o, z, orders, 4, &crew, 1, NOW_MS), MAPS_OK);
	assert_true(xml_check(out.p) > 0);
	assert_non_null(strstr(out.p, ">late &amp; &lt;gone&gt;</text>"));
	maps_buf_free(&out);
	/* a table with a hole, or none: refused before a byte is written */
	odd.zone_legend[MAPS_ZONE_REMOTE] = NULL;
	maps_buf_init(&out, 1 << 16);
	assert_int_equal(maps_svg_render(&out, &o, z, orders, 4, &crew, 1, NOW_MS), MAPS_E_ARG);
	o.labels = NULL;
	assert_int_equal(maps_svg_render(&out, &o, z, orders, 4, &crew, 1, NOW_MS), MAPS_E_ARG);
	assert_int_equal(out.len, 0);
	maps_buf_free(&out);
	maps_buf_free(&en);
	maps_zones_free(z);
}

static void
test_svg_limits(void **state)
{
	struct maps_svg_opts o;
	struct maps_buf out;
	char mem[512];
	const struct maps_svg_order od = { "LC-1", 40.84, 111.75, NOW_MS };
	struct maps_zones *z = NULL;

	(void)state;
	maps_svg_defaults(&o);
	/* no zones, one point: the box comes from the point */
	maps_buf_init(&out, 1 << 16);
	assert_int_equal(maps_svg_render(&out, &o, NULL, &od, 1, NULL, 0, NOW_MS), MAPS_OK);
	assert_true(xml_check(out.p) > 0);
	assert_non_null(strstr(out.p, "cx=\"500.0\" cy=\"400.0\""));
	maps_buf_free(&out);
	/* nothing at all and no box */
	maps_buf_init(&out, 1 << 16);
	assert_int_equal(maps_svg_render(&out, &o, NULL, NULL, 0, NULL, 0, NOW_MS), MAPS_E_ARG);
	maps_buf_free(&out);
	/* the cap: a small fixed buffer is full, never a cut document reported OK */
	assert_int_equal(maps_zones_parse(zone_doc, strlen(zone_doc), MAPS_WGS84, &z, NULL, 0),
	    MAPS_OK);
	maps_buf_fixed(&out, mem, sizeof(mem));
	assert_int_equal(maps_svg_render(&out, &o, z, &od, 1, NULL, 0, NOW_MS), MAPS_E_FULL);
	assert_true(out.full && out.len < sizeof(mem) && mem[out.len] == '\0');
	maps_zones_free(z);
	o.tol_px = NAN;
	maps_buf_init(&out, 1 << 16);
	assert_int_equal(maps_svg_render(&out, &o, NULL, &od, 1, NULL, 0, NOW_MS), MAPS_E_ARG);
	maps_buf_free(&out);
}

/* The buffer itself: growth to the cap, escaping, fixed memory. */
static void
test_buf(void **state)
{
	struct maps_buf b;
	char mem[8], big[300];

	(void)state;
	maps_buf_init(&b, 10);
	assert_int_equal(maps_buf_put(&b, "123456789", 9), 0);	/* 9 + NUL = the cap */
	assert_int_equal(maps_buf_put(&b, "x", 1), -1);
	assert_true(b.full);
	assert_int_equal(maps_buf_printf(&b, "%d", 1), -1);
	assert_string_equal(b.p, "123456789");
	maps_buf_free(&b);

	maps_buf_init(&b, 1 << 20);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(maps_buf_printf(&b, "%s|%s", big, big), 0);	/* past the small path */
	assert_int_equal(b.len, 2 * 299 + 1);
	assert_int_equal(maps_buf_xml(&b, "<a href=\"x\">&'</a>"), 0);
	assert_non_null(strstr(b.p, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"));
	assert_int_equal(maps_buf_json(&b, "q\"\\\n\x01é"), 0);
	assert_non_null(strstr(b.p, "\"q\\\"\\\\\\u000a\\u0001é\""));
	maps_buf_free(&b);

	maps_buf_fixed(&b, mem, sizeof(mem));
	assert_int_equal(maps_buf_xml(&b, "a&b"), 0);
	assert_string_equal(mem, "a&amp;b");
	assert_int_equal(maps_buf_xml(&b, "c"), -1);	/* 8 + NUL > 8 */
	assert_string_equal(mem, "a&amp;b");
	maps_buf_free(&b);	/* a fixed buffer is not freed */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proj_equirect),
		cmocka_unit_test(test_proj_mercator),
		cmocka_unit_test(test_simplify),
		cmocka_unit_test(test_svg_render),
		cmocka_unit_test(test_svg_limits),
		cmocka_unit_test(test_svg_layers),
		cmocka_unit_test(test_svg_labels),
		cmocka_unit_test(test_buf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
