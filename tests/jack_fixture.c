/*
 * jack_fixture.c: starting, watching and tearing down a private jackd for
 * the integration tests (see jack_fixture.h for the guarantees).
 *
 * Thread: the test thread, except on_signal() (whichever thread gets the
 * signal; async-signal-safe calls only) and the atexit hook.
 *
 * jackd runs in its own process group so a terminal's Ctrl-C reaches only
 * the runner: the runner then stops the server in order (SIGTERM, wait)
 * instead of racing it to /dev/shm.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "jack_fixture.h"

#define SHM_DIR "/dev/shm"
#define READY_TIMEOUT_NS (10 * 1000000000ull)
#define TERM_GRACE_MS 3000
#define POLL_MS 10
#define MAX_RUNNING 8

/* The running servers, for the signal and exit hooks. Slots are claimed and
 * cleared with atomics because on_signal() may read them at any moment. */
static sl_test_jack *_Atomic running[MAX_RUNNING];

static const int interrupt_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT,
                                        SIGABRT};
#define N_INTERRUPTS (sizeof interrupt_signals / sizeof interrupt_signals[0])
static struct sigaction previous[N_INTERRUPTS];
static bool hooks_installed;

/* ---- waiting for the process ------------------------------------------- */

/* Sleeps without touching signal state; poll() is async-signal-safe. */
static void sleep_ms(int ms)
{
    poll(NULL, 0, ms);
}

/* Reaps `pid` if it has exited within `ms` milliseconds. Returns 1 when it
 * is gone (reaped here or by someone else), 0 when it still runs.
 * Async-signal-safe. */
static int reap_within(pid_t pid, int ms, int *status)
{
    for (int waited = 0;; waited += POLL_MS) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD))
            return 1;
        if (waited >= ms)
            return 0;
        sleep_ms(POLL_MS);
    }
}

/* SIGTERM, a grace period for jackd to clean up after itself, then SIGKILL
 * to the whole group. Returns 1 when the server exited on its own after
 * SIGTERM, 0 when it had to be killed or had died before. Async-signal-safe.
 */
static int terminate(pid_t pid)
{
    int status = 0;

    if (reap_within(pid, 0, &status))
        return 0; /* died before we asked: it cannot have cleaned up */
    kill(pid, SIGTERM);
    if (reap_within(pid, TERM_GRACE_MS, &status))
        return WIFEXITED(status);
    kill(-pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return 0;
}

/* ---- /dev/shm ---------------------------------------------------------- */

static int segment_number(const char *entry, unsigned *n)
{
    unsigned uid, num;
    char tail;

    if (sscanf(entry, "jack-%u-%u%c", &uid, &num, &tail) != 2)
        return 0;
    if (uid != (unsigned)getuid() || num >= SL_TEST_JACK_MAX_SEGMENTS)
        return 0;
    *n = num;
    return 1;
}

static void scan_segments(unsigned char *bits)
{
    DIR *d = opendir(SHM_DIR);
    struct dirent *e;
    unsigned n;

    memset(bits, 0, SL_TEST_JACK_MAX_SEGMENTS / 8);
    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL)
        if (segment_number(e->d_name, &n))
            bits[n / 8] |= (unsigned char)(1u << (n % 8));
    closedir(d);
}

/* Marks in `bits` every segment some live process has mapped. */
static void scan_mapped(unsigned char *bits)
{
    DIR *proc = opendir("/proc");
    struct dirent *e;
    char path[300], line[512];

    memset(bits, 0, SL_TEST_JACK_MAX_SEGMENTS / 8);
    if (proc == NULL)
        return;
    while ((e = readdir(proc)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/maps", e->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue; /* exited meanwhile */
        while (fgets(line, sizeof line, f) != NULL) {
            char *at = strstr(line, SHM_DIR "/jack-");
            unsigned n;
            line[strcspn(line, "\n")] = '\0';
            /* sizeof counts the NUL: it steps over the "/" as well. */
            if (at != NULL && segment_number(at + sizeof SHM_DIR, &n))
                bits[n / 8] |= (unsigned char)(1u << (n % 8));
        }
        fclose(f);
    }
    closedir(proc);
}

int sl_test_jack_orphan_segments(unsigned char *bits)
{
    unsigned char mapped[SL_TEST_JACK_MAX_SEGMENTS / 8];
    int count = 0;

    scan_segments(bits);
    scan_mapped(mapped);
    for (size_t i = 0; i < sizeof mapped; i++) {
        bits[i] &= (unsigned char)~mapped[i];
        count += __builtin_popcount(bits[i]);
    }
    return count;
}

/* The entries jackd names after its server start with one of these: the
 * socket jack_<name>_<uid>_<n> and the semaphores jack_sem.<uid>_<name>_*. */
static void make_prefixes(char (*prefix)[SL_TEST_JACK_PREFIX_MAX],
                          const char *name)
{
    snprintf(prefix[0], sizeof prefix[0], "jack_%s_", name);
    snprintf(prefix[1], sizeof prefix[1], "jack_sem.%u_%s_",
             (unsigned)getuid(), name);
}

static bool has_prefix(const char *entry,
                       char (*prefix)[SL_TEST_JACK_PREFIX_MAX])
{
    for (int i = 0; i < 2; i++)
        if (strncmp(entry, prefix[i], strlen(prefix[i])) == 0)
            return true;
    return false;
}

/* Removes (when `remove`) or counts the /dev/shm entries with one of the
 * prefixes. Reads the directory with the raw getdents64 system call rather
 * than opendir(), which allocates, so that the signal handler can use it.
 * Async-signal-safe. */
static int sweep_named(char (*prefix)[SL_TEST_JACK_PREFIX_MAX],
                       bool remove)
{
    char buf[4096] __attribute__((aligned(8)));
    int count = 0;
    long len;
    int dir = open(SHM_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (dir < 0)
        return 0;
    while ((len = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0) {
        for (long at = 0; at < len;) {
            struct dirent64 *e = (struct dirent64 *)(buf + at);
            at += e->d_reclen;
            if (!has_prefix(e->d_name, prefix))
                continue;
            count++;
            if (remove)
                unlinkat(dir, e->d_name, 0);
        }
    }
    close(dir);
    return count;
}

int sl_test_jack_shm_entries(const char *name)
{
    char prefix[2][SL_TEST_JACK_PREFIX_MAX];

    make_prefixes(prefix, name);
    return sweep_named(prefix, false);
}

/* Removes the segments that appeared after `j` started and that no live
 * process maps: a killed server's. Segments of other servers (other runs,
 * other users of this machine) either predate the start or are mapped. */
static void sweep_segments(const sl_test_jack *j)
{
    unsigned char orphans[SL_TEST_JACK_MAX_SEGMENTS / 8];
    char path[64];

    sl_test_jack_orphan_segments(orphans);
    for (unsigned n = 0; n < SL_TEST_JACK_MAX_SEGMENTS; n++) {
        unsigned char bit = (unsigned char)(1u << (n % 8));
        if ((orphans[n / 8] & bit) && !(j->segments_before[n / 8] & bit)) {
            snprintf(path, sizeof path, SHM_DIR "/jack-%u-%u",
                     (unsigned)getuid(), n);
            unlink(path);
        }
    }
}

/* ---- signal and exit hooks --------------------------------------------- */

static void on_signal(int sig)
{
    int saved = errno;
    pid_t self = getpid();

    for (int i = 0; i < MAX_RUNNING; i++) {
        sl_test_jack *j = atomic_exchange(&running[i], NULL);
        if (j != NULL && j->owner == self) {
            terminate(j->pid);
            sweep_named(j->shm_prefix, true);
        }
    }
    /* Die (or run the handler that was there before) as if we had never
     * caught it; the signal stays blocked until this handler returns. */
    for (size_t i = 0; i < N_INTERRUPTS; i++)
        if (interrupt_signals[i] == sig)
            sigaction(sig, &previous[i], NULL);
    raise(sig);
    errno = saved;
}

static void at_exit(void)
{
    for (int i = 0; i < MAX_RUNNING; i++) {
        sl_test_jack *j = atomic_load(&running[i]);
        if (j != NULL)
            sl_test_jack_stop(j);
    }
}

static void install_hooks(void)
{
    struct sigaction sa;

    if (hooks_installed)
        return;
    hooks_installed = true;
    atexit(at_exit);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    /* A second interrupt of another kind must not cut short the wait for
     * jackd to clean up. */
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < N_INTERRUPTS; i++)
        sigaddset(&sa.sa_mask, interrupt_signals[i]);
    for (size_t i = 0; i < N_INTERRUPTS; i++) {
        sigaction(interrupt_signals[i], NULL, &previous[i]);
        /* Whoever ignores a signal (nohup) keeps ignoring it. */
        if (previous[i].sa_handler != SIG_IGN)
            sigaction(interrupt_signals[i], &sa, NULL);
    }
}

static int track(sl_test_jack *j)
{
    for (int i = 0; i < MAX_RUNNING; i++) {
        sl_test_jack *expected = NULL;
        if (atomic_compare_exchange_strong(&running[i], &expected, j))
            return 0;
    }
    fprintf(stderr, "jack fixture: more than %d servers at once\n",
            MAX_RUNNING);
    return -1;
}

static void untrack(sl_test_jack *j)
{
    for (int i = 0; i < MAX_RUNNING; i++) {
        sl_test_jack *expected = j;
        atomic_compare_exchange_strong(&running[i], &expected, NULL);
    }
}

/* ---- processes --------------------------------------------------------- */

bool sl_test_jack_server_alive(const char *name)
{
    DIR *proc = opendir("/proc");
    struct dirent *e;
    char path[300], args[1024];
    bool alive = false;

    if (proc == NULL)
        return false;
    while (!alive && (e = readdir(proc)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            continue;
        /* A zombie's cmdline is empty, so only live processes match. */
        ssize_t len = read(fd, args, sizeof args - 1);
        close(fd);
        if (len <= 0)
            continue;
        args[len] = '\0';
        if (strstr(args, "jackd") == NULL)
            continue;
        for (char *a = args; a < args + len; a += strlen(a) + 1)
            if (strcmp(a, name) == 0)
                alive = true;
    }
    closedir(proc);
    return alive;
}

/* In the child between fork and exec: async-signal-safe calls only. */
static void exec_jackd(const char *jackd, char *const argv[], int log_fd,
                       pid_t parent)
{
    sigset_t none;
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) /* the runner died before prctl took effect */
        _exit(127);
    for (size_t i = 0; i < N_INTERRUPTS; i++)
        signal(interrupt_signals[i], SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (null_fd >= 0)
        dup2(null_fd, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    execvp(jackd, argv);
    _exit(127);
}

static int spawn(sl_test_jack *j)
{
    const char *jackd = getenv("JACKD");
    char rate[16], period[16];
    pid_t parent = getpid();

    if (jackd == NULL || *jackd == '\0')
        jackd = "jackd";
    snprintf(rate, sizeof rate, "%u", j->rate);
    snprintf(period, sizeof period, "%u", j->period);
    char *const argv[] = {(char *)jackd, "--no-realtime", "-n", j->name,
                          "-d", "dummy", "-r", rate, "-p", period, NULL};

    pid_t pid = fork();
    if (pid == 0)
        exec_jackd(jackd, argv, j->log_fd, parent);
    if (pid < 0) {
        fprintf(stderr, "jack fixture: fork: %s\n", strerror(errno));
        return -1;
    }
    /* Also from this side, so a kill(-pid) right away cannot miss. */
    setpgid(pid, pid);
    j->pid = pid;
    return 0;
}

/* ---- readiness --------------------------------------------------------- */

static char last_jack_error[256];

/* Failed connection attempts while jackd comes up are expected; keep only
 * the last message, for the report if the server never comes up. */
static void quiet_jack_error(const char *msg)
{
    snprintf(last_jack_error, sizeof last_jack_error, "%s", msg);
}

static void print_jack_error(const char *msg)
{
    fprintf(stderr, "%s\n", msg);
}

jack_client_t *sl_test_jack_client(const sl_test_jack *j, const char *client)
{
    jack_status_t status;

    return jack_client_open(client, JackNoStartServer | JackServerName,
                            &status, j->name);
}

/* Checks the server really runs the asked configuration. */
static int check_config(const sl_test_jack *j, jack_client_t *c)
{
    jack_nframes_t rate = jack_get_sample_rate(c);
    jack_nframes_t period = jack_get_buffer_size(c);

    if (rate == j->rate && period == j->period)
        return 0;
    fprintf(stderr, "jack fixture: %s runs at %u Hz, %u frames, not %u, %u\n",
            j->name, (unsigned)rate, (unsigned)period, j->rate, j->period);
    return -1;
}

static int wait_ready(sl_test_jack *j)
{
    uint64_t deadline = sl__now_ns() + READY_TIMEOUT_NS;
    int status, result = -1;

    last_jack_error[0] = '\0';
    jack_set_error_function(quiet_jack_error);
    for (;;) {
        jack_client_t *c = sl_test_jack_client(j, "sl-fixture-probe");
        if (c != NULL) {
            result = check_config(j, c);
            jack_client_close(c);
            break;
        }
        /* Reaped here, the pid stays set, so that teardown still sweeps
         * what a server that died while starting left behind. */
        if (waitpid(j->pid, &status, WNOHANG) == j->pid) {
            fprintf(stderr, "jack fixture: jackd exited while starting\n");
            break;
        }
        if (sl__now_ns() > deadline) {
            fprintf(stderr, "jack fixture: %s not ready in %llu s: %s\n",
                    j->name, READY_TIMEOUT_NS / 1000000000ull,
                    last_jack_error);
            break;
        }
        sleep_ms(POLL_MS * 5);
    }
    jack_set_error_function(print_jack_error);
    return result;
}

static void print_log(const sl_test_jack *j)
{
    char buf[4096];
    ssize_t len;

    fprintf(stderr, "---- jackd -n %s ----\n", j->name);
    /* pread: jackd shares the file offset, which sits at the end. */
    for (off_t at = 0; (len = pread(j->log_fd, buf, sizeof buf, at)) > 0;
         at += len)
        fwrite(buf, 1, (size_t)len, stderr);
    fprintf(stderr, "---- end of jackd log ----\n");
}

/* ---- start and stop ---------------------------------------------------- */

static void make_name(sl_test_jack *j)
{
    static unsigned counter;

    snprintf(j->name, sizeof j->name, "sltest-%ld-%u", (long)getpid(),
             ++counter);
}

static int open_log(sl_test_jack *j)
{
    j->log_fd = memfd_create("jackd-log", MFD_CLOEXEC);
    if (j->log_fd >= 0)
        return 0;
    fprintf(stderr, "jack fixture: memfd_create: %s\n", strerror(errno));
    return -1;
}

static void close_log(sl_test_jack *j)
{
    if (j->log_fd >= 0)
        close(j->log_fd);
    j->log_fd = -1;
}

/* Takes the server down and removes everything it may have left. */
static void teardown(sl_test_jack *j)
{
    untrack(j);
    if (j->pid > 0 && !terminate(j->pid))
        sweep_segments(j);
    j->pid = 0;
    sweep_named(j->shm_prefix, true);
    const char *current = getenv("JACK_DEFAULT_SERVER");
    if (current != NULL && strcmp(current, j->name) == 0)
        unsetenv("JACK_DEFAULT_SERVER");
}

int sl_test_jack_start(sl_test_jack *j, unsigned rate, unsigned period)
{
    sl_test_jack_stop(j); /* a restart must not lose track of a server */
    memset(j, 0, sizeof *j);
    j->rate = rate;
    j->period = period;
    j->owner = getpid();
    make_name(j);
    make_prefixes(j->shm_prefix, j->name);
    install_hooks();
    scan_segments(j->segments_before);
    if (open_log(j) != 0)
        goto fail;
    if (spawn(j) != 0)
        goto fail_log;
    if (track(j) != 0)
        goto fail_server;
    if (wait_ready(j) != 0)
        goto fail_server;
    setenv("JACK_DEFAULT_SERVER", j->name, 1);
    return 0;

fail_server:
    print_log(j);
    teardown(j);
fail_log:
    close_log(j);
fail:
    j->pid = 0;
    return -1;
}

void sl_test_jack_stop(sl_test_jack *j)
{
    if (j->owner != getpid())
        return; /* a forked child's copy: the server is its parent's */
    teardown(j);
    close_log(j);
}
