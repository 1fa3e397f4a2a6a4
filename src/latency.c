/*
 * latency.c: the ring's target fill and its adaptation (see latency.h).
 *
 * Thread: whichever thread owns the controller; pure arithmetic on it.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <sluice/error.h>
#include "latency.h"

#define DEFAULT_PERIODS 4
#define DEFAULT_CEILING_TIMES 8
#define DEFAULT_FACTOR 1.5
#define DEFAULT_HOLD_NS 1000000000ull
#define DEFAULT_QUIET_NS 10000000000ull

void sl__latency_config_default(sl__latency_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->rate = 48000;
    cfg->period = 256;
    cfg->grow_factor = DEFAULT_FACTOR;
    cfg->hold_ns = DEFAULT_HOLD_NS;
    cfg->quiet_ns = DEFAULT_QUIET_NS;
}

/* `ms` at `rate` in whole periods, rounded up; at least one period. */
static size_t ms_to_frames(double ms, unsigned rate, size_t period)
{
    double frames = ceil(ms * rate / 1000.0 - 1e-9);
    double periods = ceil(frames / (double)period);

    if (periods < 1.0)
        periods = 1.0;
    if (periods > (double)(SIZE_MAX / period))
        return SIZE_MAX / period * period;
    return (size_t)periods * period;
}

static bool valid_ms(double ms)
{
    return isfinite(ms) && ms >= 0.0;
}

int sl__latency_init(sl__latency *l, const sl__latency_config *cfg,
                     uint64_t now_ns)
{
    if (cfg->rate == 0 || cfg->period == 0 || !valid_ms(cfg->target_ms) ||
        !valid_ms(cfg->max_ms) || !isfinite(cfg->grow_factor) ||
        cfg->grow_factor < 0.0)
        return SL_EINVAL;
    memset(l, 0, sizeof *l);
    l->rate = cfg->rate;
    l->period = cfg->period;
    l->adaptive = cfg->adaptive;
    l->grow_factor = cfg->grow_factor > 0.0 ? cfg->grow_factor
                                            : DEFAULT_FACTOR;
    l->hold_ns = cfg->hold_ns ? cfg->hold_ns : DEFAULT_HOLD_NS;
    l->quiet_ns = cfg->quiet_ns ? cfg->quiet_ns : DEFAULT_QUIET_NS;
    l->floor = cfg->target_ms > 0.0
                   ? ms_to_frames(cfg->target_ms, l->rate, l->period)
                   : DEFAULT_PERIODS * l->period;
    l->ceiling = cfg->max_ms > 0.0
                     ? ms_to_frames(cfg->max_ms, l->rate, l->period)
                     : DEFAULT_CEILING_TIMES * l->floor;
    if (l->ceiling < l->floor)
        l->ceiling = l->floor;
    if (cfg->limit_frames > 0) {
        if (l->ceiling > cfg->limit_frames)
            l->ceiling = cfg->limit_frames;
        if (l->floor > cfg->limit_frames)
            l->floor = cfg->limit_frames;
    }
    if (!l->adaptive)
        l->ceiling = l->floor;
    l->target = l->floor;
    l->now = now_ns;
    l->last_underrun = now_ns;
    l->last_change = now_ns;
    return SL_OK;
}

size_t sl__latency_target(const sl__latency *l)
{
    return l->target;
}

size_t sl__latency_floor(const sl__latency *l)
{
    return l->floor;
}

size_t sl__latency_ceiling(const sl__latency *l)
{
    return l->ceiling;
}

double sl__latency_ms(const sl__latency *l, size_t frames)
{
    return (double)frames * 1000.0 / l->rate;
}

/* The next target up: times the factor, at least one period more, rounded
 * up to whole periods, at most the ceiling. */
static size_t grown(const sl__latency *l)
{
    double want = ceil((double)l->target * l->grow_factor - 1e-9);
    double at_least = (double)l->target + (double)l->period;
    double ceiling = (double)l->ceiling;

    if (want < at_least)
        want = at_least;
    want = ceil(want / (double)l->period) * (double)l->period;
    return want >= ceiling ? l->ceiling : (size_t)want;
}

/* The next target down: the whole number of periods below it (one
 * period less, or down to a multiple from a ceiling the limit cut), at
 * least the floor. */
static size_t shrunk(const sl__latency *l)
{
    size_t down = (l->target - 1) / l->period * l->period;

    return down > l->floor ? down : l->floor;
}

static bool report(sl__latency *l, size_t to, sl__latency_reason why,
                   uint64_t underruns, sl__latency_change *change)
{
    if (change != NULL) {
        change->from_frames = l->target;
        change->to_frames = to;
        change->reason = why;
        change->underruns = underruns;
    }
    l->target = to;
    l->last_change = l->now;
    return true;
}

bool sl__latency_update(sl__latency *l, uint64_t now_ns, uint64_t underruns,
                        sl__latency_change *change)
{
    if (now_ns > l->now)
        l->now = now_ns;
    if (underruns < l->underruns_seen) /* a new sink: a new baseline */
        l->underruns_seen = underruns;
    if (underruns > l->underruns_seen) {
        l->underruns_seen = underruns;
        l->last_underrun = l->now;
        if (!l->adaptive || l->target >= l->ceiling ||
            (l->grown && l->now - l->last_grow < l->hold_ns))
            return false;
        l->grown = true;
        l->last_grow = l->now;
        return report(l, grown(l), SL__LATENCY_GROW, underruns, change);
    }
    if (l->adaptive && l->target > l->floor &&
        l->now - l->last_underrun >= l->quiet_ns &&
        l->now - l->last_change >= l->quiet_ns)
        return report(l, shrunk(l), SL__LATENCY_SHRINK, underruns, change);
    return false;
}

double sl__latency_output_s(size_t fill_frames, unsigned rate,
                            double device_s)
{
    return rate ? (double)fill_frames / rate + device_s : device_s;
}
