/*
 * exact_sum.h
 *		Exact sums of numeric amounts.
 *
 * Money is summed exactly, never in float8, so a total does not depend on
 * the order in which a parallel plan happens to add it up.  Sums are kept
 * as a 128-bit integer scaled by 10^scale while they fit and fall back to
 * numeric arithmetic when an amount or the running total outgrows it.
 */
#ifndef SEGMENT_EXACT_SUM_H
#define SEGMENT_EXACT_SUM_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/numeric.h"

#include "compat.h"

#ifndef HAVE_INT128
#error "segment needs a compiler with a 128-bit integer type"
#endif

typedef struct ExactSum
{
	bool		is_numeric;		/* has the sum outgrown the integer form? */
	int32		scale;			/* decimal places of scaled */
	int128		scaled;			/* sum * 10^scale, while !is_numeric */
	Numeric		numeric;		/* the sum, once is_numeric */
} ExactSum;

extern void exact_sum_init(ExactSum *sum);
extern void exact_sum_add_numeric(ExactSum *sum, Datum amount,
								  MemoryContext sum_context);
extern void exact_sum_add_payload(ExactSum *sum, const char *payload,
								  Size len, MemoryContext sum_context);
extern void exact_sum_add(ExactSum *sum, const ExactSum *other,
						  MemoryContext sum_context);
extern Numeric exact_sum_get_numeric(const ExactSum *sum);
extern void exact_sum_serialize(StringInfo buf, const ExactSum *sum);
extern void exact_sum_deserialize(StringInfo buf, ExactSum *sum,
								  MemoryContext sum_context);

extern void pq_send_numeric(StringInfo buf, Numeric value);
extern Numeric pq_get_finite_numeric(StringInfo buf);
extern bool numeric_payload_is_finite(const char *payload, Size len);
extern double numeric_payload_to_double(const char *payload, Size len);
extern Numeric numeric_from_payload(const char *payload, Size len);

#endif							/* SEGMENT_EXACT_SUM_H */
