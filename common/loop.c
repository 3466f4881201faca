/*
 * loop.c: poll(2) loop with a binary min-heap of timers.
 *
 * Owns: the fd table (fixed, LOOP_MAX_FDS entries), the timer heap (pointers to
 * caller-owned struct loop_timer), prepare hooks. It does not own the fds.
 *
 * Callbacks may add and remove fds and timers freely, including their own:
 * the pass works on a snapshot of the pollfd array and checks each entry is
 * still registered (same fd, same generation) before calling it.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "grow.h"
#include "log.h"
#include "loop.h"

struct io {
	int		fd;		/* -1 = free slot */
	short		events;
	unsigned	gen;
	loop_io_cb	cb;
	void	       *arg;
};

struct prepare {
	loop_prepare_cb	cb;
	void	       *arg;
};

struct loop {
	struct io		 io[LOOP_MAX_FDS];
	int			 nio;		/* slots in use at the front (holes allowed) */
	unsigned		 gen;
	struct loop_timer	**heap;
	int			 nheap;
	size_t			 capheap;
	struct prepare		 prep[LOOP_MAX_PREPARE];
	int			 nprep;
	int64_t			 now;
	int			 stop;
	int			 signo;
};

static volatile sig_atomic_t loop_got_signal;

static void
loop_sighandler(int signo)
{
	loop_got_signal = signo;
}

struct loop *
loop_new(void)
{
	struct loop *l = calloc(1, sizeof(*l));
	int i;

	if (l == NULL)
		return NULL;
	for (i = 0; i < LOOP_MAX_FDS; i++)
		l->io[i].fd = -1;
	l->now = clock_mono(clock_system());
	return l;
}

void
loop_free(struct loop *l)
{
	if (l == NULL)
		return;
	free(l->heap);
	free(l);
}

static struct io *
io_find(struct loop *l, int fd)
{
	int i;

	for (i = 0; i < l->nio; i++)
		if (l->io[i].fd == fd)
			return &l->io[i];
	return NULL;
}

int
loop_io_add(struct loop *l, int fd, short events, loop_io_cb cb, void *arg)
{
	struct io *io = io_find(l, fd);
	int i;

	if (io == NULL) {
		for (i = 0; i < LOOP_MAX_FDS; i++)
			if (l->io[i].fd == -1)
				break;
		if (i == LOOP_MAX_FDS) {
			log_warnx("loop: fd table full (%d)", LOOP_MAX_FDS);
			return -1;
		}
		io = &l->io[i];
		if (i >= l->nio)
			l->nio = i + 1;
		io->fd = fd;
		io->gen = ++l->gen;
	}
	io->events = events;
	io->cb = cb;
	io->arg = arg;
	return 0;
}

int
loop_io_events(struct loop *l, int fd, short events)
{
	struct io *io = io_find(l, fd);

	if (io == NULL)
		return -1;
	io->events = events;
	return 0;
}

void
loop_io_del(struct loop *l, int fd)
{
	struct io *io = io_find(l, fd);

	if (io == NULL)
		return;
	io->fd = -1;
	io->cb = NULL;
	while (l->nio > 0 && l->io[l->nio - 1].fd == -1)
		l->nio--;
}

/* ---- timer heap ---- */

static int
tless(const struct loop_timer *a, const struct loop_timer *b)
{
	return a->due < b->due;
}

static void
heap_swap(struct loop *l, int i, int j)
{
	struct loop_timer *t = l->heap[i];

	l->heap[i] = l->heap[j];
	l->heap[j] = t;
	l->heap[i]->heap_idx = i;
	l->heap[j]->heap_idx = j;
}

static void
heap_up(struct loop *l, int i)
{
	while (i > 0) {
		int p = (i - 1) / 2;

		if (!tless(l->heap[i], l->heap[p]))
			break;
		heap_swap(l, i, p);
		i = p;
	}
}

static void
heap_down(struct loop *l, int i)
{
	for (;;) {
		int c = 2 * i + 1, m = i;

		if (c < l->nheap && tless(l->heap[c], l->heap[m]))
			m = c;
		if (c + 1 < l->nheap && tless(l->heap[c + 1], l->heap[m]))
			m = c + 1;
		if (m == i)
			break;
		heap_swap(l, i, m);
		i = m;
	}
}

void
loop_timer_init(struct loop_timer *t, loop_timer_cb cb, void *arg)
{
	memset(t, 0, sizeof(*t));
	t->heap_idx = -1;
	t->cb = cb;
	t->arg = arg;
}

int
loop_timer_armed(const struct loop_timer *t)
{
	return t->heap_idx >= 0;
}

void
loop_timer_stop(struct loop *l, struct loop_timer *t)
{
	int i = t->heap_idx;

	if (i < 0)
		return;
	l->nheap--;
	if (i != l->nheap) {
		l->heap[i] = l->heap[l->nheap];
		l->heap[i]->heap_idx = i;
		heap_down(l, i);
		heap_up(l, i);
	}
	t->heap_idx = -1;
}

void
loop_timer_start(struct loop *l, struct loop_timer *t, int64_t delay_ms, int64_t repeat_ms)
{
	loop_timer_stop(l, t);
	if (grow(&l->heap, &l->capheap, (size_t)l->nheap + 1, sizeof(*l->heap), 16) == -1)
		fatal("loop: timer heap");	/* cannot keep a promise to run later */
	t->due = clock_mono(clock_system()) + (delay_ms > 0 ? delay_ms : 0);
	t->repeat = repeat_ms > 0 ? repeat_ms : 0;
	t->heap_idx = l->nheap;
	l->heap[l->nheap++] = t;
	heap_up(l, t->heap_idx);
}

int
loop_prepare_add(struct loop *l, loop_prepare_cb cb, void *arg)
{
	if (l->nprep == LOOP_MAX_PREPARE)
		return -1;
	l->prep[l->nprep].cb = cb;
	l->prep[l->nprep].arg = arg;
	l->nprep++;
	return 0;
}

void
loop_prepare_del(struct loop *l, loop_prepare_cb cb, void *arg)
{
	int i;

	for (i = 0; i < l->nprep; i++)
		if (l->prep[i].cb == cb && l->prep[i].arg == arg) {
			memmove(&l->prep[i], &l->prep[i + 1],
			    (size_t)(l->nprep - i - 1) * sizeof(l->prep[0]));
			l->nprep--;
			return;
		}
}

static void
run_timers(struct loop *l)
{
	int budget = 10000;	/* a zero-repeat storm must not starve I/O */

	while (l->nheap > 0 && l->heap[0]->due <= l->now && budget-- > 0) {
		struct loop_timer *t = l->heap[0];

		loop_timer_stop(l, t);
		if (t->repeat > 0) {
			t->due = l->now + t->repeat;
			t->heap_idx = l->nheap;
			l->heap[l->nheap++] = t;
			heap_up(l, t->heap_idx);
		}
		t->cb(t->arg);
	}
}

int
loop_once(struct loop *l, int max_wait_ms)
{
	struct pollfd pfd[LOOP_MAX_FDS];
	unsigned gens[LOOP_MAX_FDS];
	struct timespec ts, *tsp = NULL;
	sigset_t empty;
	int64_t wait = max_wait_ms;
	int i, n = 0, rc;

	/* Timers first, then the prepare hooks: a timer's work (a publish, a
	 * store write joining the gateway's group commit) is seen by the hooks
	 * that set the polled events and end the group before this poll. */
	l->now = clock_mono(clock_system());
	run_timers(l);
	if (l->stop)
		return 0;
	for (i = 0; i < l->nprep; i++)
		l->prep[i].cb(l->prep[i].arg);

	for (i = 0; i < l->nio; i++) {
		if (l->io[i].fd < 0 || l->io[i].events == 0)
			continue;
		pfd[n].fd = l->io[i].fd;
		pfd[n].events = l->io[i].events;
		pfd[n].revents = 0;
		gens[n] = l->io[i].gen;
		n++;
	}
	if (l->nheap > 0) {
		/* now, not the pass's start: a hook may have armed a timer */
		int64_t d = l->heap[0]->due - clock_mono(clock_system());

		if (d < 0)
			d = 0;
		if (wait < 0 || d < wait)
			wait = d;
	}
	if (wait >= 0) {
		ts.tv_sec = wait / 1000;
		ts.tv_nsec = (wait % 1000) * 1000000;
		tsp = &ts;
	}
	sigemptyset(&empty);
	rc = ppoll(pfd, (nfds_t)n, tsp, &empty);
	if (loop_got_signal) {
		l->signo = loop_got_signal;
		l->stop = 1;
		return 0;
	}
	if (rc < 0) {
		if (errno == EINTR)
			return 0;
		log_warn("loop: poll");
		return -1;
	}
	l->now = clock_mono(clock_system());
	for (i = 0; i < n && rc > 0; i++) {
		struct io *io;

		if (pfd[i].revents == 0)
			continue;
		rc--;
		io = io_find(l, pfd[i].fd);
		if (io == NULL || io->gen != gens[i] || io->cb == NULL)
			continue;	/* removed or replaced during this pass */
		io->cb(pfd[i].fd, pfd[i].revents, io->arg);
	}
	run_timers(l);
	return 0;
}

int
loop_run(struct loop *l)
{
	struct sigaction sa;
	sigset_t block, old;
	int rc = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = loop_sighandler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);

	l->stop = 0;
	while (!l->stop && rc == 0)
		rc = loop_once(l, -1);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}

void
loop_stop(struct loop *l)
{
	l->stop = 1;
}

int64_t
loop_now(const struct loop *l)
{
	return l->now;
}

int
loop_signal(const struct loop *l)
{
	return l->signo;
}
