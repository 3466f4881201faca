/*
 * faultvfs.c: TEST ONLY fault injection under SQLite (issue 8).
 *
 * When LINECREW_FAULT_VFS is set, faultvfs_init() registers a VFS that wraps
 * the default one ("unix") and forwards every call, except that xWrite and
 * xTruncate can fail. The variable is a comma-separated list:
 *
 *   write=N      the N-th write (xWrite/xTruncate, any file and thread of the
 *                process) counted while armed fails, once
 *   sticky       with write=N: that write and every later one fail while armed
 *   err=full     the failure is SQLITE_FULL (default); err=ioerr gives
 *                SQLITE_IOERR_WRITE
 *   arm=PATH     count (and fail) only while the file PATH exists; without
 *                arm, counting starts with the first write
 *   full=PATH    every write fails with SQLITE_FULL while PATH exists (a disk
 *                that fills and empties again, without a mount)
 *
 * Every injected failure is logged ("faultvfs: write N fails (injected ...)")
 * so a test knows whether its fault fired. It does not simulate power loss
 * (dropping unsynced writes), short reads or allocation failures, and it is
 * never registered in production: the variable is documented as test-only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "faultvfs.h"
#include "log.h"

#define FAULTVFS_PATH_MAX	1024

struct ffile {
	sqlite3_file	 base;		/* must be first: SQLite casts */
	sqlite3_file	*real;		/* the wrapped file, right after us */
};

static struct {
	int		 done;		/* init ran */
	sqlite3_vfs	 vfs;
	sqlite3_vfs	*real;
	long		 write_n;	/* 0: no counted fault */
	int		 sticky;
	int		 err;
	char		 arm[FAULTVFS_PATH_MAX];
	char		 full[FAULTVFS_PATH_MAX];
	long		 count;		/* writes counted while armed */
} fv;

static int
exists(const char *p)
{
	return p[0] != '\0' && access(p, F_OK) == 0;
}

/* 0 to let the write through, else the SQLite code to fail it with. */
static int
fault(const char *op)
{
	long n;

	if (exists(fv.full)) {
		log_warnx("faultvfs: %s fails (injected SQLITE_FULL: %s exists)", op, fv.full);
		return SQLITE_FULL;
	}
	if (fv.write_n <= 0 || (fv.arm[0] != '\0' && !exists(fv.arm)))
		return 0;
	/* the gateway's checkpointer thread writes too (common/db.c) */
	n = __atomic_add_fetch(&fv.count, 1, __ATOMIC_SEQ_CST);
	if (n == fv.write_n || (fv.sticky && n > fv.write_n)) {
		log_warnx("faultvfs: write %ld fails (injected %s, %s)", n,
		    fv.err == SQLITE_FULL ? "SQLITE_FULL" : "SQLITE_IOERR_WRITE", op);
		return fv.err;
	}
	return 0;
}

static int
f_close(sqlite3_file *f)
{
	struct ffile *p = (struct ffile *)f;
	int rc = SQLITE_OK;

	if (p->real->pMethods != NULL)
		rc = p->real->pMethods->xClose(p->real);
	return rc;
}

static int
f_read(sqlite3_file *f, void *b, int n, sqlite3_int64 off)
{
	struct ffile *p = (struct ffile *)f;

	return p->real->pMethods->xRead(p->real, b, n, off);
}

static int
f_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 off)
{
	struct ffile *p = (struct ffile *)f;
	int rc;

	if ((rc = fault("xWrite")) != 0)
		return rc;
	return p->real->pMethods->xWrite(p->real, b, n, off);
}

static int
f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	struct ffile *p = (struct ffile *)f;
	int rc;

	if ((rc = fault("xTruncate")) != 0)
		return rc;
	return p->real->pMethods->xTruncate(p->real, size);
}

static int
f_sync(sqlite3_file *f, int flags)
{
	struct ffile *p = (struct ffile *)f;

	return p->real->pMethods->xSync(p->real, flags);
}

static int
f_size(sqlite3_file *f, sqlite3_int64 *size)
{
	struct ffile *p = (struct ffile *)f;

	return p->real->pMethods->xFileSize(p->real, size);
}

static int
f_lock(sqlite3_file *f, int l)
{
	struct ffile *p = (struct ffile *)f;

	return p->real->pMethods->xLock(p->real, l);
}

static int
f_unlock(sqlite3_file *f, int l)
{
	struct ffile *p = (struct ffile *)f;

	return p->real->pMethods->xUnlock(p->real, l);
}

static int
f_check(sqlite3_file *f, int *out)
{
	struct ffile *p = (struct ffile *)f;

	return p->real->pMethods->xCheckReservedLock(p->real, out);
}

static int
f_fctl(sqlite3_file *f, int op, void *arg)
{
	struct ffile *p = (struct ffile *)f;

	return p->real->pMethods->xFileControl(p->real, op, arg);
}

static int
f_sector(sqlite3_file *f)
{
	struct ffile *p = (struct ffile *)f;

	return p->real->pMethods->xSectorSize(p->real);
}

static int
f_devchar(sqlite3_file *f)
{
	struct ffile *p = (struct ffile *)f;

	return p->real->pMethods->xDeviceCharacteristics(p->real);
}

static int
f_shmmap(sqlite3_file *f, int pg, int sz, int extend, void volatile **out)
{
	struct ffile *p = (struct ffile *)f;

	return p->real->pMethods->xShmMap(p->real, pg, sz, extend, out);
}

static int
f_shmlock(sqlite3_file *f, int off, int n, int flags)
{
	struct ffile *p = (struct ffile *)f;

	return p->real->pMethods->xShmLock(p->real, off, n, flags);
}

static void
f_shmbarrier(sqlite3_file *f)
{
	struct ffile *p = (struct ffile *)f;

	p->real->pMethods->xShmBarrier(p->real);
}

static int
f_shmunmap(sqlite3_file *f, int del)
{
	struct ffile *p = (struct ffile *)f;

	return p->real->pMethods->xShmUnmap(p->real, del);
}

static int
f_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
	struct ffile *p = (struct ffile *)f;

	return p->real->pMethods->xFetch(p->real, off, n, pp);
}

static int
f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *ptr)
{
	struct ffile *p = (struct ffile *)f;

	return p->real->pMethods->xUnfetch(p->real, off, ptr);
}

/* Version 3 methods; the shm and mmap entries are used only when the wrapped
 * file's own methods have them (checked at open). */
static const sqlite3_io_methods f_methods = {
	3, f_close, f_read, f_write, f_truncate, f_sync, f_size, f_lock, f_unlock,
	f_check, f_fctl, f_sector, f_devchar, f_shmmap, f_shmlock, f_shmbarrier,
	f_shmunmap, f_fetch, f_unfetch
};

static int
v_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *outflags)
{
	struct ffile *p = (struct ffile *)f;
	int rc;

	(void)vfs;
	p->real = (sqlite3_file *)(p + 1);
	p->base.pMethods = NULL;
	rc = fv.real->xOpen(fv.real, name, p->real, flags, outflags);
	/* the wrapped unix files are version 3; anything less would need its
	 * own table, which this test tool does not offer */
	if (rc == SQLITE_OK && p->real->pMethods != NULL && p->real->pMethods->iVersion >= 3)
		p->base.pMethods = &f_methods;
	else if (rc == SQLITE_OK) {
		if (p->real->pMethods != NULL)
			p->real->pMethods->xClose(p->real);
		rc = SQLITE_CANTOPEN;
	}
	return rc;
}

static int
v_delete(sqlite3_vfs *vfs, const char *name, int sync)
{
	(void)vfs;
	return fv.real->xDelete(fv.real, name, sync);
}

static int
v_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	(void)vfs;
	return fv.real->xAccess(fv.real, name, flags, out);
}

static int
v_fullpath(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	(void)vfs;
	return fv.real->xFullPathname(fv.real, name, n, out);
}

static void *
v_dlopen(sqlite3_vfs *vfs, const char *name)
{
	(void)vfs;
	return fv.real->xDlOpen(fv.real, name);
}

static void
v_dlerror(sqlite3_vfs *vfs, int n, char *msg)
{
	(void)vfs;
	fv.real->xDlError(fv.real, n, msg);
}

static void (*
v_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
	(void)vfs;
	return fv.real->xDlSym(fv.real, h, sym);
}

static void
v_dlclose(sqlite3_vfs *vfs, void *h)
{
	(void)vfs;
	fv.real->xDlClose(fv.real, h);
}

static int
v_random(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return fv.real->xRandomness(fv.real, n, out);
}

static int
v_sleep(sqlite3_vfs *vfs, int us)
{
	(void)vfs;
	return fv.real->xSleep(fv.real, us);
}

static int
v_time(sqlite3_vfs *vfs, double *out)
{
	(void)vfs;
	return fv.real->xCurrentTime(fv.real, out);
}

static int
v_lasterr(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return fv.real->xGetLastError(fv.real, n, out);
}

static int
v_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	(void)vfs;
	return fv.real->xCurrentTimeInt64(fv.real, out);
}

/* Parse one "key=value" or "key" item into fv. -1 on an unknown or bad item. */
static int
parse_item(const char *it, size_t n)
{
	char buf[FAULTVFS_PATH_MAX + 16], *end;
	const char *v;

	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, it, n);
	buf[n] = '\0';
	v = strchr(buf, '=');
	v = v ? v + 1 : "";
	if (strcmp(buf, "sticky") == 0)
		fv.sticky = 1;
	else if (strncmp(buf, "write=", 6) == 0) {
		errno = 0;
		fv.write_n = strtol(v, &end, 10);
		if (errno || *end != '\0' || fv.write_n < 1)
			return -1;
	} else if (strcmp(buf, "err=full") == 0)
		fv.err = SQLITE_FULL;
	else if (strcmp(buf, "err=ioerr") == 0)
		fv.err = SQLITE_IOERR_WRITE;
	else if (strncmp(buf, "arm=", 4) == 0 && v[0] != '\0')
		snprintf(fv.arm, sizeof(fv.arm), "%s", v);
	else if (strncmp(buf, "full=", 5) == 0 && v[0] != '\0')
		snprintf(fv.full, sizeof(fv.full), "%s", v);
	else
		return -1;
	return 0;
}

int
faultvfs_init(void)
{
	const char *spec = getenv("LINECREW_FAULT_VFS"), *p, *q;

	if (fv.done)
		return 0;
	fv.done = 1;
	if (spec == NULL || spec[0] == '\0')
		return 0;
	fv.err = SQLITE_FULL;
	for (p = spec; *p; p = *q ? q + 1 : q) {
		q = strchr(p, ',');
		if (q == NULL)
			q = p + strlen(p);
		if (parse_item(p, (size_t)(q - p)) == -1) {
			log_warnx("LINECREW_FAULT_VFS: bad item \"%.*s\" in \"%s\"", (int)(q - p), p,
			    spec);
			return -1;
		}
	}
	if ((fv.real = sqlite3_vfs_find(NULL)) == NULL) {
		log_warnx("faultvfs: no default SQLite VFS");
		return -1;
	}
	fv.vfs = (sqlite3_vfs){
		.iVersion = 2, .szOsFile = (int)sizeof(struct ffile) + fv.real->szOsFile,
		.mxPathname = fv.real->mxPathname, .zName = "linecrew-fault",
		.xOpen = v_open, .xDelete = v_delete, .xAccess = v_access,
		.xFullPathname = v_fullpath, .xDlOpen = v_dlopen, .xDlError = v_dlerror,
		.xDlSym = v_dlsym, .xDlClose = v_dlclose, .xRandomness = v_random,
		.xSleep = v_sleep, .xCurrentTime = v_time, .xGetLastError = v_lasterr,
		.xCurrentTimeInt64 = v_time64,
	};
	if (sqlite3_vfs_register(&fv.vfs, 1) != SQLITE_OK) {
		log_warnx("faultvfs: cannot register the VFS");
		return -1;
	}
	log_warnx("TEST ONLY: SQLite writes fail on command (LINECREW_FAULT_VFS=%s)", spec);
	return 0;
}
