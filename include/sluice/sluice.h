/*
 * sluice/sluice.h: the whole public interface of libsluice in one include.
 */
#ifndef SLUICE_SLUICE_H
#define SLUICE_SLUICE_H

#include <sluice/common.h>
#include <sluice/error.h>
#include <sluice/version.h>
#include <sluice/ring.h>
#include <sluice/pool.h>
#include <sluice/effect.h>
#include <sluice/chain.h>
#include <sluice/node.h>
#include <sluice/scheduler.h>
#include <sluice/source.h>
#include <sluice/events.h>
#include <sluice/device.h>
#include <sluice/engine.h>
#include <sluice/track.h>

#endif /* SLUICE_SLUICE_H */
