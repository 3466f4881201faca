/*
 * loop.h: the one event loop of each daemon: poll(2) over a small fd table plus a
 * binary-heap timer queue (libuv's timer design). One thread; nothing here blocks
 * except poll itself.
 *
 * "now" is read once per pass from the monotonic clock (loop_now); timers are
 * in monotonic milliseconds. Prepare hooks run before every poll: libmosquitto
 * and libmicrohttpd use them to update the fd they want watched and the events
 * (POLLOUT when they have data queued) and to arm their own timeouts.
 *
 * SIGINT and SIGTERM stop the loop: loop_run() blocks them and unblocks them only
 * inside ppoll(), so a signal is never lost between a check and the wait. The
 * handler only sets a sig_atomic_t flag.
 */
#ifndef LC_LOOP_H
#define LC_LOOP_H

#include <stdint.h>

struct loop;

typedef void (*loop_io_cb)(int fd, short revents, void *arg);
typedef void (*loop_timer_cb)(void *arg);
typedef void (*loop_prepare_cb)(void *arg);

/* A timer is allocated by the caller and must outlive its being armed. */
struct loop_timer {
	int64_t		due;		/* monotonic ms */
	int64_t		repeat;		/* ms, 0 = one-shot */
	int		heap_idx;	/* -1 when not armed */
	loop_timer_cb	cb;
	void	       *arg;
};

/* Returns NULL on allocation failure. clock may be NULL for the system clock. */
struct loop    *loop_new(void);
void		loop_free(struct loop *);

/* Watch fd for events (POLLIN/POLLOUT). Adding an fd already watched replaces
 * its callback and events. Returns 0, or -1 if the table is full (LOOP_MAX_FDS). */
int		loop_io_add(struct loop *, int fd, short events, loop_io_cb, void *arg);
int		loop_io_events(struct loop *, int fd, short events);
void		loop_io_del(struct loop *, int fd);

void		loop_timer_init(struct loop_timer *, loop_timer_cb, void *arg);
/* (Re)arm: first expiry after delay_ms, then every repeat_ms if > 0. */
void		loop_timer_start(struct loop *, struct loop_timer *, int64_t delay_ms,
		    int64_t repeat_ms);
void		loop_timer_stop(struct loop *, struct loop_timer *);
int		loop_timer_armed(const struct loop_timer *);

/* Run cb before every poll. At most LOOP_MAX_PREPARE hooks; returns 0 / -1. */
int		loop_prepare_add(struct loop *, loop_prepare_cb, void *arg);
/* Remove the hook added with exactly this cb and arg (no-op if absent). */
void		loop_prepare_del(struct loop *, loop_prepare_cb, void *arg);

/* Run until loop_stop() or SIGINT/SIGTERM. Returns 0, or -1 on a poll error. */
int		loop_run(struct loop *);
/* Run one pass, waiting at most max_wait_ms (tests and tools). */
int		loop_once(struct loop *, int max_wait_ms);
void		loop_stop(struct loop *);
/* Monotonic ms as read at the start of this pass. */
int64_t		loop_now(const struct loop *);
/* The signal that stopped the loop, or 0. */
int		loop_signal(const struct loop *);

#define LOOP_MAX_FDS		256
#define LOOP_MAX_PREPARE	16

#endif
