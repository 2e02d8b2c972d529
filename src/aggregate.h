/*
 * aggregate.h
 *		What the aggregates with an internal transition state share.
 */
#ifndef SEGMENT_AGGREGATE_H
#define SEGMENT_AGGREGATE_H

#include "postgres.h"

#include "fmgr.h"

/* The aggregate's memory context; an error outside an aggregate. */
static inline MemoryContext
aggregate_context(FunctionCallInfo fcinfo, const char *caller)
{
	MemoryContext context;

	if (!AggCheckCallContext(fcinfo, &context))
		elog(ERROR, "%s called in non-aggregate context", caller);
	return context;
}

/* Returns a transition state, which is NULL until the first input. */
#define PG_RETURN_STATE(state) \
	do { \
		if ((state) == NULL) \
			PG_RETURN_NULL(); \
		PG_RETURN_POINTER(state); \
	} while (0)

#endif							/* SEGMENT_AGGREGATE_H */
