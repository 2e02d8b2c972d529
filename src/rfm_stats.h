/*
 * rfm_stats.h
 *		Per-customer purchase behaviour: the rfm_stats type and the
 *		accumulator its aggregates share.
 */
#ifndef SEGMENT_RFM_STATS_H
#define SEGMENT_RFM_STATS_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "fmgr.h"

#include "exact_sum.h"

#define RFM_STATS_VERSION 1

/* Times and count of a customer's orders; every rfm_stats has one or more. */
typedef struct RfmOrders
{
	int64		order_count;
	TimestampTz first_order;
	TimestampTz previous_order; /* second latest; DT_NOBEGIN for one order */
	TimestampTz last_order;
} RfmOrders;

/*
 * The stored type.  The total amount follows as the payload of a numeric
 * (its bytes without a varlena header), so the value needs no alignment
 * beyond its own and reads the same from a packed datum.
 */
typedef struct RfmStats
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	uint8		version;		/* RFM_STATS_VERSION */
	uint8		flags;			/* reserved, zero */
	uint16		reserved;		/* zero */
	RfmOrders	orders;
	char		total[FLEXIBLE_ARRAY_MEMBER];
} RfmStats;

#define RFM_STATS_HEADER_SIZE	offsetof(RfmStats, total)

/* A read-only view of a stored value, packed or not. */
typedef struct RfmStatsView
{
	RfmOrders	orders;
	const char *total;			/* numeric payload */
	Size		total_len;
} RfmStatsView;

/* The aggregates' transition state. */
typedef struct RfmAccum
{
	RfmOrders	orders;			/* order_count = 0 until the first order */
	ExactSum	total;
} RfmAccum;

/* Adds one order: keeps the first, the latest and the second latest time. */
static inline void
rfm_orders_add(RfmOrders *orders, TimestampTz order_time)
{
	if (orders->order_count++ == 0)
	{
		orders->first_order = orders->last_order = order_time;
		orders->previous_order = DT_NOBEGIN;
		return;
	}
	if (order_time < orders->first_order)
		orders->first_order = order_time;
	if (order_time > orders->last_order)
	{
		orders->previous_order = orders->last_order;
		orders->last_order = order_time;
	}
	else if (order_time > orders->previous_order)
		orders->previous_order = order_time;
}

extern void rfm_orders_merge(RfmOrders *orders, const RfmOrders *other);
extern bool rfm_orders_check(const RfmOrders *orders, int sqlstate,
							 struct Node *escontext);
extern void rfm_stats_view(Datum stats, RfmStatsView *view);
extern RfmStats *rfm_stats_from_accum(const RfmAccum *accum);
extern RfmStats *rfm_stats_add_order(Datum stats, bool stats_null, TimestampTz order_time,
									 bool amount_null, Datum amount);

extern double rfm_recency_days(const RfmOrders *orders, TimestampTz as_of);
extern double days_between(TimestampTz from, TimestampTz to);

#endif							/* SEGMENT_RFM_STATS_H */
