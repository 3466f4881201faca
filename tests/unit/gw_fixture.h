/*
 * gw_fixture.h: the temporary database and virtual clock the gateway's unit
 * tests run on (test_gw_*.c): a new file under /tmp, the store opened on it,
 * and on teardown the store closed and the file removed with its -wal and
 * -shm companions.
 *
 * Header-only (static inline) so that every test binary stays one .c file
 * and the Makefile's test_gw_% rule needs nothing more. It sets up only what
 * every test needs; each test's own settings (conf values, tokens, metrics)
 * stay in its setup().
 */
#ifndef GW_FIXTURE_H
#define GW_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../gateway/gateway.h"
#include "clock.h"
#include "log.h"

#define FX_PATH_MAX	64	/* bytes of a fixture's database path, NUL included */

/*
 * Log to stderr, make an empty file /tmp/NAME.XXXXXX (its name into path)
 * and open the store on it into *out. 0, or -1 (the file may be left: the
 * test fails anyway).
 */
static inline int
fx_store_open(char path[FX_PATH_MAX], const char *name, struct store **out)
{
	int fd;

	log_init("test", 1, 0);
	snprintf(path, FX_PATH_MAX, "/tmp/%s.XXXXXX", name);
	if ((fd = mkstemp(path)) == -1)
		return -1;
	close(fd);
	return (*out = store_open(path)) == NULL ? -1 : 0;
}

/* Close st and remove the database at path with its -wal and -shm files. */
static inline void
fx_store_close(struct store *st, const char *path)
{
	char p[FX_PATH_MAX + 8];

	store_close(st);
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

/* A test's teardown: fx_store_close(st, path), then free(fixture). 0. */
static inline int
fx_teardown(struct store *st, const char *path, void *fixture)
{
	fx_store_close(st, path);
	free(fixture);
	return 0;
}

/* gw reading conf and a virtual clock vc that starts at t0_ms. */
static inline void
fx_gw_init(struct gw *gw, struct gw_conf *conf, struct vclock *vc, int64_t t0_ms)
{
	vclock_init(vc, t0_ms);
	gw->conf = conf;
	gw->clock = &vc->clock;
}

#endif
