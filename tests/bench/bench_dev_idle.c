/*
 * bench_dev_idle.c: how small and how quiet linecrew-device is when nothing
 * happens: resident memory and wake-ups per minute of the daemon, idle,
 * connected to a real mosquitto and a real gpsd (with no receiver, so no fix
 * arrives) and holding no order; then the same with one open order.
 *
 * Wake-ups are the daemon's context switches (voluntary + involuntary, from
 * /proc/<pid>/status) over a window: every return from ppoll counts, so this
 * is what the battery sees. It prints, per the contract of tests/bench/run:
 *
 *   BENCH dev_idle rss KiB <min> <median> <max>
 *   BENCH dev_idle wakeups per_min <min> <median> <max>
 *
 * over LINECREW_BENCH_RUNS windows (default 3) of LINECREW_BENCH_IDLE_S
 * seconds each (default 20). It measures; it asserts nothing about the figures.
 * It does not replace the harness's device part of tests/bench/run; it needs
 * only the binaries, mosquitto and gpsd.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RUNS_MAX	32

static pid_t kids[3];
static int nkids;

static int
free_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static pid_t
spawn(char *const argv[], const char *log)
{
	pid_t p = fork();
	int fd;

	if (p == 0) {
		if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644)) >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		setsid();
		execv(argv[0], argv);
		_exit(127);
	}
	if (p > 0)
		kids[nkids++] = p;
	return p;
}

static void
stop_all(void)
{
	int i;

	for (i = nkids - 1; i >= 0; i--) {
		kill(kids[i], SIGTERM);
		waitpid(kids[i], NULL, 0);
	}
	nkids = 0;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int
can_connect_unix(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), ok;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {	/* a socket path too long to reach */
		if (fd >= 0)
			close(fd);
		return 0;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* Field "key:" of /proc/pid/status as a number, or -1. */
static long
proc_status(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			v = strtol(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static long
switches(pid_t pid)
{
	return proc_status(pid, "voluntary_ctxt_switches") +
	    proc_status(pid, "nonvoluntary_ctxt_switches");
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
report(const char *metric, const char *unit, double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	printf("BENCH dev_idle %s %s %.1f %.1f %.1f\n", metric, unit, v[0], v[n / 2], v[n - 1]);
}

static long
env_long(const char *k, long def, long lo, long hi)
{
	const char *s = getenv(k);
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return def;
	v = strtol(s, &end, 10);
	return *end == '\0' && v >= lo && v <= hi ? v : def;
}

int
main(void)
{
	char dir[] = "/tmp/bench_dev_idle.XXXXXX", path[512], conf[512], sock[512], dev[512];
	char mport[16], gport[16], log[512];
	const char *build = getenv("LINECREW_BUILD");
	double rss[RUNS_MAX], wak[RUNS_MAX];
	long runs = env_long("LINECREW_BENCH_RUNS", 3, 1, RUNS_MAX);
	long win_s = env_long("LINECREW_BENCH_IDLE_S", 20, 1, 3600);
	pid_t dpid;
	FILE *f;
	long s0, s1;
	int i, mp = free_port(), gp = free_port();

	if (mkdtemp(dir) == NULL || mp < 0 || gp < 0) {
		perror("bench_dev_idle: set up");
		return 1;
	}
	snprintf(mport, sizeof(mport), "%d", mp);
	snprintf(gport, sizeof(gport), "%d", gp);
	snprintf(conf, sizeof(conf), "%s/mosquitto.conf", dir);
	if ((f = fopen(conf, "w")) == NULL)
		return 1;
	fprintf(f, "listener %d 127.0.0.1\nallow_anonymous true\n", mp);
	fclose(f);
	snprintf(log, sizeof(log), "%s/mosquitto.log", dir);
	spawn((char *const[]){ "/usr/sbin/mosquitto", "-c", conf, NULL }, log);
	snprintf(log, sizeof(log), "%s/gpsd.log", dir);
	spawn((char *const[]){ "/usr/sbin/gpsd", "-N", "-n", "-S", gport, NULL }, log);

	snprintf(path, sizeof(path), "%s/device.conf", dir);
	snprintf(sock, sizeof(sock), "%s/dev.sock", dir);
	if ((f = fopen(path, "w")) == NULL)
		return 1;
	fprintf(f, "id bench-idle\nmqtt_plain_dev yes\nmqtt_port %d\ngpsd_port %d\njournal %s/dev.db\n"
	    "ctl_socket %s\n", mp, gp, dir, sock);
	fclose(f);
	sleep_ms(500);		/* the broker and gpsd start listening */
	snprintf(dev, sizeof(dev), "%s/bin/linecrew-device", build ? build : "build");
	snprintf(log, sizeof(log), "%s/device.log", dir);
	dpid = spawn((char *const[]){ dev, "-f", path, "run", NULL }, log);
	for (i = 0; i < 100 && !can_connect_unix(sock); i++)
		sleep_ms(100);
	if (!can_connect_unix(sock)) {
		fprintf(stderr, "bench_dev_idle: %s did not start (log %s)\n", dev, log);
		stop_all();
		return 1;
	}
	sleep_ms(2000);		/* connected to the broker and gpsd, settled */
	for (i = 0; i < runs; i++) {
		s0 = switches(dpid);
		sleep_ms(win_s * 1000);
		s1 = switches(dpid);
		wak[i] = (double)(s1 - s0) * 60.0 / (double)win_s;
		rss[i] = (double)proc_status(dpid, "VmRSS");
	}
	printf("# linecrew-device idle (broker and gpsd connected, no fix, no order): "
	    "%ld window(s) of %ld s; peak RSS %ld KiB\n", runs, win_s, proc_status(dpid, "VmHWM"));
	report("rss", "KiB", rss, (int)runs);
	report("wakeups", "per_min", wak, (int)runs);
	stop_all();
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		fprintf(stderr, "bench_dev_idle: could not remove %s\n", dir);
	return 0;
}
