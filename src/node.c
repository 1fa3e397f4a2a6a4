/*
 * node.c: the node base: initialization and the lock-free service class.
 * Any thread; every function here is RT-safe.
 */
#include "config.h"

#include <stdatomic.h>

#include <sluice/error.h>
#include <sluice/node.h>

static int valid_class(sl_service_class c)
{
    return c == SL_CLASS_IDLE || c == SL_CLASS_WARM || c == SL_CLASS_AUDIBLE;
}

void sl_node_init(sl_node *node, const sl_node_vtable *vtable,
                  sl_service_class service_class)
{
    node->vtable = vtable;
    atomic_init(&node->service_class,
                valid_class(service_class) ? (int)service_class
                                           : (int)SL_CLASS_IDLE);
}

void sl_node_set_class(sl_node *node, sl_service_class service_class)
{
    int c = valid_class(service_class) ? (int)service_class
                                       : (int)SL_CLASS_IDLE;

    /* relaxed: the class carries no data with it; the scheduler reads it
     * once per pass and any value it sees is a valid class. */
    atomic_store_explicit(&node->service_class, c, memory_order_relaxed);
}

sl_service_class sl_node_get_class(const sl_node *node)
{
    return (sl_service_class)atomic_load_explicit(
        (_Atomic int *)&node->service_class, memory_order_relaxed);
}

const char *sl_node_outcome_name(int outcome)
{
    switch (outcome) {
    case SL_NODE_PROGRESS:
        return "PROGRESS";
    case SL_NODE_WAITING:
        return "WAITING";
    case SL_NODE_BACKPRESSURED:
        return "BACKPRESSURED";
    case SL_NODE_PENDING:
        return "PENDING";
    case SL_NODE_DONE:
        return "DONE";
    default:
        return outcome < 0 ? sl_error_name(outcome) : "UNKNOWN";
    }
}
