/*
 * faultvfs.h: TEST ONLY. A SQLite VFS that wraps the default one and makes
 * writes fail on command, so the fault tests (tests/integration/test_faults_*)
 * can prove that a failed write never leaves a half-done state. It is
 * registered only when LINECREW_FAULT_VFS is set in the environment; without
 * it nothing changes.
 */
#ifndef LC_FAULTVFS_H
#define LC_FAULTVFS_H

/* Read LINECREW_FAULT_VFS once and, when set, register the fault VFS as
 * SQLite's default before the first database is opened. Called by db_open;
 * idempotent. Returns 0 (also when unset), -1 with a log line when the value
 * is malformed or registration fails (the caller refuses to open then, so a
 * typo cannot silently run a fault test without faults). */
int	faultvfs_init(void);

#endif
