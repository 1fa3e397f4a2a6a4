/*
 * jack_fixture.c: starting, watching and tearing down a private jackd for
 * the integration tests (see jack_fixture.h for the guarantees and for why
 * a guardian process owns jackd).
 *
 * Thread: the test thread, except on_signal() (whichever thread gets the
 * signal; async-signal-safe calls only) and the atexit hook. guard() runs in
 * the guardian process, forked from the test thread.
 *
 * The guardian and jackd each run in a process group of their own, so a
 * terminal's Ctrl-C reaches only the runner, which then stops the server
 * in order instead of racing it to /dev/shm.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "jack_fixture.h"

#include <portaudio.h>

#define SHM_DIR "/dev/shm"
#define READY_TIMEOUT_NS (10 * 1000000000ull)
#define READY_TIMEOUT_MS 10000
#define TERM_GRACE_MS 3000
#define SWEEP_GRACE_MS 2000
#define CLIENT_DEATH_GRACE_MS 300
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
 * to its whole group. Returns true when the server exited with status 0
 * after the SIGTERM, which is when it removed its own files. */
static bool terminate(pid_t pid)
{
    int status = 0;

    if (reap_within(pid, 0, &status))
        return false; /* died before we asked: it cannot have cleaned up */
    kill(pid, SIGTERM);
    if (reap_within(pid, TERM_GRACE_MS, &status))
        return WIFEXITED(status) && WEXITSTATUS(status) == 0;
    kill(-pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return false;
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
                       const char (*prefix)[SL_TEST_JACK_PREFIX_MAX])
{
    for (int i = 0; i < 2; i++)
        if (strncmp(entry, prefix[i], strlen(prefix[i])) == 0)
            return true;
    return false;
}

/* Removes (when `remove`) or counts the /dev/shm entries with one of the
 * prefixes. */
static int sweep_named(const char (*prefix)[SL_TEST_JACK_PREFIX_MAX],
                       bool remove)
{
    DIR *d = opendir(SHM_DIR);
    struct dirent *e;
    int count = 0;

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        if (!has_prefix(e->d_name, prefix))
            continue;
        count++;
        if (remove)
            unlinkat(dirfd(d), e->d_name, 0);
    }
    closedir(d);
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

/* ---- JACK's server registry -------------------------------------------- */

/* The pid JACK's shared registry lists for server `name`, or 0. A server
 * removes its entry only when it exits cleanly, and jackd reclaims a stale
 * entry only when a server of the same name starts again; with unique names
 * every unclean exit would hold one of the registry's 8 server slots for
 * good, until no server can start on the machine ("Too many servers
 * already active"). The entry is a pid_t followed by "jack-<uid>:<name>:"
 * (jackd 1.9.21, shm.c). */
static pid_t registered_pid(const char *name)
{
    char key[SL_TEST_JACK_NAME_MAX + 32], buf[1 << 17];
    pid_t pid = 0;
    int fd = open(SHM_DIR "/jack-shm-registry", O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return 0;
    ssize_t len = read(fd, buf, sizeof buf);
    close(fd);
    int key_len = snprintf(key, sizeof key, "jack-%u:%s:", (unsigned)getuid(),
                           name) + 1; /* the NUL too: no prefix matches */
    const char *at = len > 0 ? memmem(buf, (size_t)len, key, (size_t)key_len)
                             : NULL;
    if (at != NULL && at - buf >= (ptrdiff_t)sizeof pid)
        memcpy(&pid, at - sizeof pid, sizeof pid);
    return pid;
}

bool sl_test_jack_registered(const char *name)
{
    return registered_pid(name) != 0;
}

/* ---- the guardian ------------------------------------------------------ */

/* Leaves open only standard input, output and error and `keep`, so that the
 * guardian holds no other fixture's pipe (which would hide the runner's
 * death from that fixture's guardian) and no pipe a test reads to EOF. */
static void close_all_but(int keep[3])
{
    unsigned from = 3;

    for (int i = 1; i < 3; i++) /* three elements: insertion sort */
        for (int k = i; k > 0 && keep[k - 1] > keep[k]; k--) {
            int t = keep[k];
            keep[k] = keep[k - 1];
            keep[k - 1] = t;
        }
    for (int i = 0; i < 3; i++) {
        if (keep[i] < (int)from)
            continue;
        if (keep[i] > (int)from)
            close_range(from, (unsigned)keep[i] - 1, 0);
        from = (unsigned)keep[i] + 1;
    }
    close_range(from, ~0u, 0);
}

/* In jackd's process between fork and exec. */
static void exec_jackd(char *const argv[], int log_fd, pid_t guardian)
{
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != guardian) /* it died before prctl took effect */
        _exit(127);
    signal(SIGPIPE, SIG_DFL); /* the guardian's, not jackd's */
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    execvp(argv[0], argv);
    _exit(127);
}

/* Frees the registry slot a server of this name left behind, the only way
 * JACK offers: start a server of the same name (it reclaims the stale
 * entry), and stop it cleanly as soon as it has registered. Without clients
 * it exits cleanly. */
static void unregister(const sl_test_jack *j, char *const argv[])
{
    pid_t self = getpid(), again = fork();
    int status;

    if (again == 0)
        exec_jackd(argv, j->log_fd, self);
    if (again < 0)
        return;
    for (int waited = 0; waited < READY_TIMEOUT_MS; waited += POLL_MS) {
        if (registered_pid(j->name) == again)
            break;
        if (reap_within(again, POLL_MS, &status))
            return; /* could not start: nothing more we can do */
    }
    terminate(again);
}

typedef enum wake { STOP_ASKED, OWNER_GONE, JACKD_DIED } wake;

/* Waits for a reason to end: the runner's stop byte, the end of the pipe
 * without one (the runner died: the kernel closed its end), or jackd's
 * exit on its own. */
static wake wait_for_stop(int control, pid_t jackd)
{
    struct pollfd p = {.fd = control, .events = POLLIN};
    int status;
    char cue;

    for (;;) {
        if (poll(&p, 1, 100) > 0)
            return read(control, &cue, 1) == 1 ? STOP_ASKED : OWNER_GONE;
        if (waitpid(jackd, &status, WNOHANG) == jackd)
            return JACKD_DIED;
    }
}

/* The guardian's whole life: start jackd, report its pid, wait, stop it,
 * sweep. Exits 0 when jackd stopped cleanly, 1 when it had to be killed or
 * died on its own (the runner sees the latter as a failed start). */
static void guard(const sl_test_jack *j, char *const argv[], int control,
                  int report)
{
    sigset_t none;
    int null_fd = open("/dev/null", O_RDWR);

    setpgid(0, 0);
    for (size_t i = 0; i < N_INTERRUPTS; i++)
        signal(interrupt_signals[i], SIG_DFL);
    signal(SIGPIPE, SIG_IGN); /* a dead runner must not kill us mid-report */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int fd = 0; fd < 3 && null_fd >= 0; fd++)
        dup2(null_fd, fd);
    close_all_but((int[3]){control, report, j->log_fd});

    pid_t self = getpid(), jackd = fork();
    if (jackd == 0)
        exec_jackd(argv, j->log_fd, self);
    if (jackd < 0)
        _exit(2);
    if (write(report, &jackd, sizeof jackd) != (ssize_t)sizeof jackd) {
        /* The runner is gone already; fall through to the cleanup. */
    }
    close(report);
    wake why = wait_for_stop(control, jackd);
    /* Measured: a SIGTERM that races jackd's noticing that the owner's
     * clients died leaves it stuck for seconds and then killed, with all
     * its files left; 100 ms later it shuts down cleanly. */
    if (why == OWNER_GONE)
        sleep_ms(CLIENT_DEATH_GRACE_MS);
    bool clean = why != JACKD_DIED && terminate(jackd);
    if (registered_pid(j->name) != 0)
        unregister(j, argv);
    sweep_named(j->shm_prefix, true);
    if (!clean)
        sweep_segments(j);
    _exit(clean ? 0 : 1);
}

/* Forks the guardian, which starts jackd, and learns jackd's pid. */
static int spawn(sl_test_jack *j)
{
    const char *jackd = getenv("JACKD");
    char rate[16], period[16];
    int control[2], report[2];

    if (jackd == NULL || *jackd == '\0')
        jackd = "jackd";
    snprintf(rate, sizeof rate, "%u", j->rate);
    snprintf(period, sizeof period, "%u", j->period);
    /* --sync: the server waits for every client in each cycle. In the
     * default asynchronous mode a client that runs late on a loaded
     * machine has its period dropped or repeated without any xrun being
     * reported, and a capture test cannot tell that from a broken sink;
     * with the dummy driver there is no hardware deadline to miss, so a
     * late client only stretches the cycle. */
    char *const argv[] = {(char *)jackd, "--no-realtime", "--sync",
                          "-n", j->name, "-d", "dummy", "-r", rate,
                          "-p", period, NULL};

    if (pipe2(control, O_CLOEXEC) != 0)
        goto fail;
    if (pipe2(report, O_CLOEXEC) != 0)
        goto fail_control;
    pid_t guardian = fork();
    if (guardian == 0) {
        close(control[1]);
        close(report[0]);
        guard(j, argv, control[0], report[1]);
    }
    if (guardian < 0)
        goto fail_report;
    close(control[0]);
    close(report[1]);
    j->guardian = guardian;
    j->control_fd = control[1];
    if (read(report[0], &j->pid, sizeof j->pid) != (ssize_t)sizeof j->pid)
        j->pid = 0; /* the guardian could not fork: a failed start */
    close(report[0]);
    return 0;

fail_report:
    close(report[0]);
    close(report[1]);
fail_control:
    close(control[0]);
    close(control[1]);
fail:
    fprintf(stderr, "jack fixture: cannot start a guardian: %s\n",
            strerror(errno));
    return -1;
}

/* ---- signal and exit hooks --------------------------------------------- */

/* A byte, then the end of the pipe: unlike the bare end of the pipe that
 * a dying runner leaves, this says that the runner and its clients are
 * alive. Async-signal-safe. */
static void ask_guardian_to_stop(sl_test_jack *j)
{
    if (j->control_fd < 0)
        return;
    if (write(j->control_fd, "q", 1) != 1) {
        /* The guardian is gone: nothing left to stop. */
    }
    close(j->control_fd);
    j->control_fd = -1;
}

/* Closes the guardians' pipes first and only then waits, so that several
 * servers stop in parallel. */
static void on_signal(int sig)
{
    int saved = errno;
    pid_t self = getpid();
    pid_t guardians[MAX_RUNNING];
    int n = 0, status;

    for (int i = 0; i < MAX_RUNNING; i++) {
        sl_test_jack *j = atomic_exchange(&running[i], NULL);
        if (j != NULL && j->owner == self) {
            ask_guardian_to_stop(j);
            guardians[n++] = j->guardian;
        }
    }
    for (int i = 0; i < n; i++)
        reap_within(guardians[i], TERM_GRACE_MS + SWEEP_GRACE_MS, &status);
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
        /* The guardian exits (after sweeping) when jackd dies. */
        if (j->pid == 0 ||
            waitpid(j->guardian, &status, WNOHANG) == j->guardian) {
            j->guardian = 0;
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
    int status;

    untrack(j);
    ask_guardian_to_stop(j);
    if (j->guardian > 0)
        while (waitpid(j->guardian, &status, 0) < 0 && errno == EINTR)
            ;
    j->guardian = 0;
    j->pid = 0;
    const char *current = getenv("JACK_DEFAULT_SERVER");
    if (current != NULL && strcmp(current, j->name) == 0)
        unsetenv("JACK_DEFAULT_SERVER");
}

int sl_test_jack_start(sl_test_jack *j, unsigned rate, unsigned period)
{
    sl_test_jack_stop(j); /* a restart must not lose track of a server */
    memset(j, 0, sizeof *j);
    j->control_fd = -1;
    j->log_fd = -1;
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
    return -1;
}

void sl_test_jack_stop(sl_test_jack *j)
{
    if (j->owner != getpid())
        return; /* a forked child's copy: the server is its parent's */
    teardown(j);
    close_log(j);
}

/* ---- PortAudio ----------------------------------------------------------- */

int sl_test_pa_initialize(void)
{
    FILE *chatter = tmpfile();
    int saved = dup(STDERR_FILENO);
    PaError err;

    fflush(stderr);
    if (chatter != NULL && saved >= 0)
        dup2(fileno(chatter), STDERR_FILENO);
    err = Pa_Initialize();
    fflush(stderr);
    if (saved >= 0) {
        dup2(saved, STDERR_FILENO);
        close(saved);
    }
    if (err != paNoError && chatter != NULL) {
        char line[512];
        rewind(chatter);
        while (fgets(line, sizeof line, chatter) != NULL)
            fputs(line, stderr);
    }
    if (chatter != NULL)
        fclose(chatter);
    if (err != paNoError)
        fprintf(stderr, "Pa_Initialize: %s\n", Pa_GetErrorText(err));
    return err;
}
