/* A small persistent thread pool for the engine's loops.
 *
 * et_parallel_run(fn, ctx) runs fn(ctx, t, threads) for t = 0..threads-1:
 * the caller runs t = 0, pool workers the rest. Each part is a fixed share
 * of the work (no work stealing), so results depend only on the thread
 * count. While a region runs, OpenBLAS is switched to one thread so that
 * the GEMMs the parts call run in the calling thread instead of waking
 * OpenBLAS's own threads (which would oversubscribe the cores and then
 * spin-wait), and restored afterwards.
 *
 * Workers spin briefly after a region (the next one usually follows within
 * microseconds), then sleep on a condition variable. */
#include <cblas.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "emotrace/clock.h"
#include "emotrace/error.h"
#include "emotrace/nn.h"

#define POOL_MAX_THREADS 64
/* How long a worker (or the waiting caller) spins before sleeping: regions
 * of a pass follow each other within microseconds, and a futex wake-up
 * costs tens of them. */
#ifndef POOL_SPIN_NS
#define POOL_SPIN_NS 200000
#endif

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake; /* workers wait here for a new generation */
    pthread_cond_t done; /* the caller waits here for remaining == 0 */
    int workers;         /* started workers (guarded by lock) */
    atomic_ulong generation;
    atomic_int remaining; /* workers yet to finish the current region */
    /* The current region, written before generation is bumped. */
    et_parallel_fn fn;
    void *ctx;
    int threads;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, 0, 0};

static unsigned long start_generation[POOL_MAX_THREADS];
static atomic_int configured_threads;
/* Per calling thread (a batch job): its share of the cores, 0: not set. */
static _Thread_local int local_threads;
/* Set while this thread runs a part of a region: nested regions run inline. */
static _Thread_local int in_region;
/* One region at a time; a second caller thread runs its region inline. */
static atomic_flag busy = ATOMIC_FLAG_INIT;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;


static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Turn n (from 1) of a spin-wait: 1 once POOL_SPIN_NS have passed since the
 * clock was first read (*deadline starts at 0), else a pause and 0. */
static int spin_expired(unsigned n, double *deadline)
{
    if ((n & 63) == 0) { /* check the clock now and then */
        double now = et_now_seconds();
        if (!*deadline)
            *deadline = now + POOL_SPIN_NS * 1e-9;
        else if (now > *deadline)
            return 1;
    }
    cpu_relax();
    return 0;
}

/* Spins until *value != unwanted or POOL_SPIN_NS pass; returns the value. */
static unsigned long spin_while_equal(atomic_ulong *value, unsigned long unwanted)
{
    double deadline = 0;
    for (unsigned n = 1;; n++) {
        unsigned long v = atomic_load_explicit(value, memory_order_acquire);
        if (v != unwanted || spin_expired(n, &deadline))
            return v;
    }
}

/* Spins until *value is 0 or POOL_SPIN_NS pass; returns the value. */
static int spin_until_zero(atomic_int *value)
{
    double deadline = 0;
    for (unsigned n = 1;; n++) {
        int v = atomic_load_explicit(value, memory_order_acquire);
        if (v == 0 || spin_expired(n, &deadline))
            return v;
    }
}

static void *worker_main(void *arg)
{
    int index = (int)(intptr_t)arg; /* 1-based: the caller is thread 0 */
    /* Set before the worker was created, so a region published before the
     * worker first runs is not missed. */
    unsigned long seen = start_generation[index];
    in_region = 1;
    for (;;) {
        unsigned long g = spin_while_equal(&pool.generation, seen);
        if (g == seen) {
            pthread_mutex_lock(&pool.lock);
            while ((g = atomic_load(&pool.generation)) == seen)
                pthread_cond_wait(&pool.wake, &pool.lock);
            pthread_mutex_unlock(&pool.lock);
        }
        seen = g;
        if (index < pool.threads)
            pool.fn(pool.ctx, index, pool.threads);
        if (atomic_fetch_sub_explicit(&pool.remaining, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&pool.lock);
            pthread_cond_signal(&pool.done);
            pthread_mutex_unlock(&pool.lock);
        }
    }
    return NULL;
}

/* In a forked child only the forking thread exists: start over. */
static void atfork_child(void)
{
    pthread_mutex_init(&pool.lock, NULL);
    pthread_cond_init(&pool.wake, NULL);
    pthread_cond_init(&pool.done, NULL);
    pool.workers = 0;
    atomic_store(&pool.remaining, 0);
    atomic_flag_clear(&busy);
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, atfork_child);
}

/* Starts workers until there are count - 1; returns the threads available. */
static int ensure_workers(int count)
{
    pthread_once(&atfork_once, register_atfork);
    pthread_mutex_lock(&pool.lock);
    while (pool.workers < count - 1) {
        pthread_t tid;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        start_generation[pool.workers + 1] = atomic_load(&pool.generation);
        int rc = pthread_create(&tid, &attr, worker_main, (void *)(intptr_t)(pool.workers + 1));
        pthread_attr_destroy(&attr);
        if (rc != 0)
            break;
        pool.workers++;
    }
    int available = pool.workers + 1;
    pthread_mutex_unlock(&pool.lock);
    return available < count ? available : count;
}

void et_nn_set_threads(int threads)
{
    atomic_store(&configured_threads, threads > 0 ? threads : 0);
}

void et_nn_set_local_threads(int threads)
{
    local_threads = threads > 0 ? threads : 0;
}

int et_nn_threads(void)
{
    int n = local_threads ? local_threads : atomic_load(&configured_threads);
    if (n <= 0)
        n = openblas_get_num_threads();
    if (n < 1)
        n = 1;
    return n < POOL_MAX_THREADS ? n : POOL_MAX_THREADS;
}

static void run_inline(et_parallel_fn fn, void *ctx)
{
    int was = in_region;
    in_region = 1;
    fn(ctx, 0, 1);
    in_region = was;
}

int et_parallel_run(int max_threads, et_parallel_fn fn, void *ctx)
{
    /* Nested, or another thread of the program runs a region: inline. */
    if (in_region || atomic_flag_test_and_set(&busy)) {
        run_inline(fn, ctx);
        return 1;
    }
    int threads = et_nn_threads();
    if (max_threads > 0 && threads > max_threads)
        threads = max_threads;
    if (threads > 1)
        threads = ensure_workers(threads);
    /* Also when the region runs on this thread alone: its GEMMs are sized
     * for one thread, and waking OpenBLAS's threads would leave them
     * spinning on the cores the next region needs. */
    int blas_threads = openblas_get_num_threads();
    if (blas_threads != 1)
        openblas_set_num_threads(1);
    if (threads <= 1) {
        run_inline(fn, ctx);
    } else {
        pool.fn = fn;
        pool.ctx = ctx;
        pool.threads = threads;
        pthread_mutex_lock(&pool.lock);
        atomic_store(&pool.remaining, pool.workers);
        atomic_fetch_add(&pool.generation, 1);
        pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.lock);

        in_region = 1;
        fn(ctx, 0, threads);
        in_region = 0;

        if (spin_until_zero(&pool.remaining) != 0) {
            pthread_mutex_lock(&pool.lock);
            while (atomic_load(&pool.remaining) != 0)
                pthread_cond_wait(&pool.done, &pool.lock);
            pthread_mutex_unlock(&pool.lock);
        }
    }
    if (blas_threads != 1)
        openblas_set_num_threads(blas_threads);
    atomic_flag_clear(&busy);
    return threads;
}

/* The region et_parallel_try runs: the parts' own function, and the first
 * failure by part number (the parts' error messages are per thread). */
typedef struct {
    et_parallel_try_fn fn;
    void *ctx;
    pthread_mutex_t lock;
    int failed; /* the lowest part that failed so far; INT_MAX: none */
    int rc;
    char message[1024];
} try_region;

static void try_part(void *ctx, int t, int threads)
{
    try_region *r = ctx;
    int rc = r->fn(r->ctx, t, threads);
    if (rc == ET_OK)
        return;
    pthread_mutex_lock(&r->lock);
    if (t < r->failed) {
        r->failed = t;
        r->rc = rc;
        snprintf(r->message, sizeof r->message, "%s", et_error_message());
    }
    pthread_mutex_unlock(&r->lock);
}

int et_parallel_try(int max_threads, et_parallel_try_fn fn, void *ctx)
{
    try_region r = {fn, ctx, PTHREAD_MUTEX_INITIALIZER, INT_MAX, ET_OK, ""};
    et_parallel_run(max_threads, try_part, &r);
    pthread_mutex_destroy(&r.lock);
    return r.rc == ET_OK ? ET_OK : et_error_set(r.rc, "%s", r.message);
}
