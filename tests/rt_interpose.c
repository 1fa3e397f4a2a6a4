/*
 * rt_interpose.c: wrappers of the calls the real-time path must never
 * make (see rt_interpose.h). Each wrapper counts a violation when its
 * thread is marked, then forwards to the real function found with
 * dlsym(RTLD_NEXT).
 *
 * Bootstrapping: the real functions are looked up on the first call of
 * any wrapper. dlsym may itself call malloc or calloc (for its error
 * state) before the real allocator is known; those calls are served from a
 * small static arena, and free() ignores pointers into it.
 *
 * Thread: any thread; the wrappers run wherever the calls are made.
 */
#include "config.h"

#include "rt_interpose.h"

#if defined(__has_feature)
#  if __has_feature(realtime_sanitizer) || __has_feature(address_sanitizer) || \
      __has_feature(thread_sanitizer)
#    define SANITIZER_OWNS_ALLOCATOR 1
#  endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#  define SANITIZER_OWNS_ALLOCATOR 1
#endif

#ifdef SANITIZER_OWNS_ALLOCATOR

bool sl_test_rt_available(void) { return false; }
void sl_test_rt_hook(bool entering) { (void)entering; }
void sl_test_rt_reset(void) {}
uint64_t sl_test_rt_violations(void) { return 0; }
uint64_t sl_test_rt_entries(void) { return 0; }
const char *sl_test_rt_first_violation(void) { return ""; }

#else

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static __thread bool on_rt __attribute__((tls_model("initial-exec")));
static atomic_uint_fast64_t violations;
static atomic_uint_fast64_t entries;
static _Atomic(const char *) first_violation;

bool sl_test_rt_available(void)
{
    return true;
}

void sl_test_rt_hook(bool entering)
{
    on_rt = entering;
    if (entering)
        atomic_fetch_add_explicit(&entries, 1, memory_order_relaxed);
}

void sl_test_rt_reset(void)
{
    atomic_store(&violations, 0);
    atomic_store(&entries, 0);
    atomic_store(&first_violation, NULL);
}

uint64_t sl_test_rt_violations(void)
{
    return atomic_load(&violations);
}

uint64_t sl_test_rt_entries(void)
{
    return atomic_load(&entries);
}

const char *sl_test_rt_first_violation(void)
{
    const char *f = atomic_load(&first_violation);
    return f != NULL ? f : "";
}

/* Counts a violation when the calling thread is marked. Calls nothing
 * that is interposed. */
static void check(const char *what)
{
    const char *none = NULL;

    if (!on_rt)
        return;
    atomic_fetch_add_explicit(&violations, 1, memory_order_relaxed);
    atomic_compare_exchange_strong(&first_violation, &none, what);
}

/* ---------------------------------------------------------------- lookup */

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static void *(*real_aligned_alloc)(size_t, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);
static int (*real_mutex_lock)(pthread_mutex_t *);
static int (*real_mutex_trylock)(pthread_mutex_t *);
static int (*real_cond_wait)(pthread_cond_t *, pthread_mutex_t *);
static int (*real_cond_timedwait)(pthread_cond_t *, pthread_mutex_t *,
                                  const struct timespec *);
static int (*real_nanosleep)(const struct timespec *, struct timespec *);
static int (*real_clock_nanosleep)(clockid_t, int, const struct timespec *,
                                   struct timespec *);
static int (*real_usleep)(useconds_t);
static ssize_t (*real_write)(int, const void *, size_t);
static int (*real_vfprintf)(FILE *, const char *, va_list);
static int (*real_puts)(const char *);
static int (*real_fputs)(const char *, FILE *);
static size_t (*real_fwrite)(const void *, size_t, size_t, FILE *);

static _Alignas(16) unsigned char arena[16384];
static atomic_size_t arena_used;
static atomic_int lookup_state; /* 0 not yet, 1 in progress, 2 done */

static void *arena_alloc(size_t n)
{
    size_t off = atomic_fetch_add(&arena_used, (n + 15) & ~(size_t)15);

    if (off + n > sizeof arena)
        abort();
    return arena + off;
}

static bool in_arena(const void *p)
{
    return (const unsigned char *)p >= arena &&
           (const unsigned char *)p < arena + sizeof arena;
}

/* The new condition variable ABI; plain dlsym finds the 2.2.5 one. */
static void *cond_symbol(const char *name)
{
    void *f = dlvsym(RTLD_NEXT, name, "GLIBC_2.3.2");
    return f != NULL ? f : dlsym(RTLD_NEXT, name);
}

#define LOOK(var, name) (*(void **)&(var) = dlsym(RTLD_NEXT, name))

static void lookup(void)
{
    int expected = 0;

    if (!atomic_compare_exchange_strong(&lookup_state, &expected, 1)) {
        while (atomic_load(&lookup_state) != 2)
            ; /* another thread is looking up: only at start-up */
        return;
    }
    LOOK(real_calloc, "calloc");
    LOOK(real_malloc, "malloc");
    LOOK(real_realloc, "realloc");
    LOOK(real_free, "free");
    LOOK(real_aligned_alloc, "aligned_alloc");
    LOOK(real_posix_memalign, "posix_memalign");
    LOOK(real_mutex_lock, "pthread_mutex_lock");
    LOOK(real_mutex_trylock, "pthread_mutex_trylock");
    *(void **)&real_cond_wait = cond_symbol("pthread_cond_wait");
    *(void **)&real_cond_timedwait = cond_symbol("pthread_cond_timedwait");
    LOOK(real_nanosleep, "nanosleep");
    LOOK(real_clock_nanosleep, "clock_nanosleep");
    LOOK(real_usleep, "usleep");
    LOOK(real_write, "write");
    LOOK(real_vfprintf, "vfprintf");
    LOOK(real_puts, "puts");
    LOOK(real_fputs, "fputs");
    LOOK(real_fwrite, "fwrite");
    atomic_store(&lookup_state, 2);
}

/* True when the real functions are usable; false only while lookup() is
 * running on this thread (dlsym allocating). */
static bool ready(void)
{
    if (atomic_load_explicit(&lookup_state, memory_order_acquire) == 2)
        return true;
    if (atomic_load(&lookup_state) == 1)
        return false;
    lookup();
    return true;
}

/* ---------------------------------------------------------------- memory */

void *malloc(size_t n)
{
    if (!ready() || real_malloc == NULL)
        return arena_alloc(n);
    check("malloc");
    return real_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    if (!ready() || real_calloc == NULL)
        return arena_alloc(n * size); /* static: already zero */
    check("calloc");
    return real_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    check("realloc");
    if (in_arena(p)) {
        void *q = malloc(n);
        size_t left = (size_t)(arena + sizeof arena - (unsigned char *)p);
        if (q != NULL)
            memcpy(q, p, n < left ? n : left);
        return q;
    }
    ready();
    return real_realloc(p, n);
}

void free(void *p)
{
    if (p == NULL || in_arena(p))
        return;
    check("free");
    ready();
    real_free(p);
}

void *aligned_alloc(size_t align, size_t n)
{
    check("aligned_alloc");
    ready();
    return real_aligned_alloc(align, n);
}

int posix_memalign(void **p, size_t align, size_t n)
{
    check("posix_memalign");
    ready();
    return real_posix_memalign(p, align, n);
}

/* ---------------------------------------------------------------- locks */

int pthread_mutex_lock(pthread_mutex_t *m)
{
    check("pthread_mutex_lock");
    ready();
    return real_mutex_lock(m);
}

int pthread_mutex_trylock(pthread_mutex_t *m)
{
    check("pthread_mutex_trylock");
    ready();
    return real_mutex_trylock(m);
}

int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    check("pthread_cond_wait");
    ready();
    return real_cond_wait(c, m);
}

int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
                           const struct timespec *t)
{
    check("pthread_cond_timedwait");
    ready();
    return real_cond_timedwait(c, m, t);
}

/* ---------------------------------------------------------------- sleeps */

int nanosleep(const struct timespec *t, struct timespec *rem)
{
    check("nanosleep");
    ready();
    return real_nanosleep(t, rem);
}

int clock_nanosleep(clockid_t clk, int flags, const struct timespec *t,
                    struct timespec *rem)
{
    check("clock_nanosleep");
    ready();
    return real_clock_nanosleep(clk, flags, t, rem);
}

int usleep(useconds_t us)
{
    check("usleep");
    ready();
    return real_usleep(us);
}

/* ---------------------------------------------------------------- output */

ssize_t write(int fd, const void *buf, size_t n)
{
    check("write");
    ready();
    return real_write(fd, buf, n);
}

int vfprintf(FILE *f, const char *fmt, va_list ap)
{
    check("vfprintf");
    ready();
    return real_vfprintf(f, fmt, ap);
}

int vprintf(const char *fmt, va_list ap)
{
    return vfprintf(stdout, fmt, ap);
}

int fprintf(FILE *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vfprintf(f, fmt, ap);
    va_end(ap);
    return r;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vfprintf(stdout, fmt, ap);
    va_end(ap);
    return r;
}

/* The _FORTIFY_SOURCE entry points libjack calls. */
int __vfprintf_chk(FILE *f, int flag, const char *fmt, va_list ap);
int __fprintf_chk(FILE *f, int flag, const char *fmt, ...);
int __printf_chk(int flag, const char *fmt, ...);

int __vfprintf_chk(FILE *f, int flag, const char *fmt, va_list ap)
{
    (void)flag;
    return vfprintf(f, fmt, ap);
}

int __fprintf_chk(FILE *f, int flag, const char *fmt, ...)
{
    va_list ap;
    (void)flag;
    va_start(ap, fmt);
    int r = vfprintf(f, fmt, ap);
    va_end(ap);
    return r;
}

int __printf_chk(int flag, const char *fmt, ...)
{
    va_list ap;
    (void)flag;
    va_start(ap, fmt);
    int r = vfprintf(stdout, fmt, ap);
    va_end(ap);
    return r;
}

int puts(const char *s)
{
    check("puts");
    ready();
    return real_puts(s);
}

int fputs(const char *s, FILE *f)
{
    check("fputs");
    ready();
    return real_fputs(s, f);
}

size_t fwrite(const void *p, size_t size, size_t n, FILE *f)
{
    check("fwrite");
    ready();
    return real_fwrite(p, size, n, f);
}

#endif /* sanitizers */
