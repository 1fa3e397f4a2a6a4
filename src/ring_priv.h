/*
 * ring_priv.h: internal hooks of the PCM ring, for the engine and tests.
 */
#ifndef SLUICE_RING_PRIV_H
#define SLUICE_RING_PRIV_H

#include <sluice/ring.h>

/* Empties the ring and sets both free-running indices to `start`, so tests
 * can run the ring across the wrap point of the index type. Same contract
 * as sl_ring_reset(): both sides quiescent. */
void sl__ring_reset_at(sl_ring *ring, size_t start);

#endif /* SLUICE_RING_PRIV_H */
