/*
 * state_validity.c
 *		How long a customer's stored scores and lifecycle stage stay true
 *		while no order arrives.
 *
 * Time alone moves a customer only through comparisons of the days since
 * the last order (recency thresholds; the at-risk and lapsed limits of the
 * lifecycle) and of the days since the first order (the new-customer
 * window) with fixed numbers of days.  The stored columns of a maintained
 * state are therefore true between the last of those moments before the
 * time they were computed and the first one after; the views derive a
 * customer again outside that span, and refresh_due_segments() rewrites
 * the rows whose span has ended.
 *
 * The span returned is a conservative one: every limit the stage could use
 * is a candidate, whether or not it applies to this customer, and each is
 * taken a millisecond early (or late) so that rounding of days to double
 * precision can never make a stored value outlive its truth.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "utils/timestamp.h"

#include "lifecycle.h"
#include "rfm_stats.h"
#include "rfm_thresholds.h"
#include "state.h"

PG_FUNCTION_INFO_V1(segments_valid_until);
PG_FUNCTION_INFO_V1(segments_valid_from);

/* Appends the moment "days after from", unless it is never reached. */
static void
add_limit(TimestampTz *moments, int *count, TimestampTz from, double days)
{
	double		usecs = days * (double) USECS_PER_DAY;

	/* negative, NaN, or past the end of time: never crossed */
	if (!(usecs >= 0) || usecs >= (double) (END_TIMESTAMP - from))
		return;
	Assert(*count < STATE_MAX_MOMENTS);
	moments[(*count)++] = from + (TimestampTz) usecs;
}

/*
 * The moments at which rfm_score(stats, t, thresholds) or
 * lifecycle_stage(stats, t, <lifecycle>) (NULL: the defaults) may change as t grows,
 * for a customer with these orders: the recency thresholds (with bins) and
 * every limit of the lifecycle, after the last or first order, in no
 * particular order; returns how many (at most STATE_MAX_MOMENTS).
 */
int
segments_change_moments(const RfmOrders *orders, const RfmBins *bins, const LifecycleParams *lifecycle,
						TimestampTz *moments)
{
	int			count = 0;
	LifecycleParams params;

	if (bins != NULL)
		for (int i = 0; i < bins->count[RFM_RECENCY] - 1; i++)
			add_limit(moments, &count, orders->last_order, bins->threshold[RFM_RECENCY][i]);

	if (lifecycle != NULL)
		params = *lifecycle;
	else
		lifecycle_params_default(&params);
	add_limit(moments, &count, orders->first_order, params.new_days);
	add_limit(moments, &count, orders->last_order, params.at_risk_days);
	add_limit(moments, &count, orders->last_order, params.lapsed_days);
	if (orders->order_count >= 2)
	{
		double		gap = days_between(orders->first_order, orders->last_order) /
			(double) (orders->order_count - 1);

		add_limit(moments, &count, orders->last_order, params.at_risk_multiple * gap);
		add_limit(moments, &count, orders->last_order, params.lapsed_multiple * gap);
	}
	return count;
}

/*
 * The span around as_of, a finite time, over which rfm_score(stats, t,
 * thresholds) and lifecycle_stage(stats, t, <lifecycle>) (NULL: the defaults) stay what
 * they are at as_of, for a customer with these orders: *until, infinity if
 * forever, and *from, minus infinity if always.  A time before the last
 * order counts as the last order (that is how the customer is judged
 * then), so only limits after the last order bound the start.  Without
 * bins (no thresholds) only the lifecycle limits count.
 */
void
segments_validity_of(const RfmOrders *orders, TimestampTz as_of, const RfmBins *bins,
					 const LifecycleParams *lifecycle, TimestampTz *from, TimestampTz *until)
{
	TimestampTz moments[STATE_MAX_MOMENTS];
	int			count = segments_change_moments(orders, bins, lifecycle, moments);

	Assert(!TIMESTAMP_NOT_FINITE(as_of));
	*from = DT_NOBEGIN;
	*until = DT_NOEND;
	for (int i = 0; i < count; i++)
	{
		/* crossed after as_of (even a margin early): an end */
		if (moments[i] + STATE_MOMENT_MARGIN_USECS > as_of)
			*until = Min(*until, moments[i] - STATE_MOMENT_MARGIN_USECS);
		/* crossed by as_of (even a margin late), after the last order: a start */
		if (moments[i] - STATE_MOMENT_MARGIN_USECS <= as_of &&
			moments[i] + STATE_MOMENT_MARGIN_USECS > orders->last_order)
			*from = Max(*from, moments[i] + STATE_MOMENT_MARGIN_USECS);
	}
}

/* The arguments of the two SQL functions; false for a NULL result. */
static bool
validity_arguments(FunctionCallInfo fcinfo, RfmStatsView *stats, TimestampTz *as_of, RfmBins *bins)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		return false;
	rfm_stats_view(PG_GETARG_DATUM(0), stats);
	*as_of = PG_GETARG_TIMESTAMPTZ(1);
	if (TIMESTAMP_NOT_FINITE(*as_of))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of must be a finite time")));
	if (!PG_ARGISNULL(2))
		rfm_bins_from_thresholds(DatumGetRfmThresholdsP(PG_GETARG_DATUM(2)), bins);
	return true;
}

/*
 * segments_valid_until(stats, as_of, thresholds): the end of
 * segments_validity_of(), for SQL; NULL for NULL stats or as_of.
 */
Datum
segments_valid_until(PG_FUNCTION_ARGS)
{
	RfmStatsView stats;
	TimestampTz as_of;
	RfmBins		bins;
	TimestampTz from;
	TimestampTz until;

	if (!validity_arguments(fcinfo, &stats, &as_of, &bins))
		PG_RETURN_NULL();
	segments_validity_of(&stats.orders, as_of, PG_ARGISNULL(2) ? NULL : &bins, NULL, &from, &until);
	PG_RETURN_TIMESTAMPTZ(until);
}

/* segments_valid_from(stats, as_of, thresholds): its start. */
Datum
segments_valid_from(PG_FUNCTION_ARGS)
{
	RfmStatsView stats;
	TimestampTz as_of;
	RfmBins		bins;
	TimestampTz from;
	TimestampTz until;

	if (!validity_arguments(fcinfo, &stats, &as_of, &bins))
		PG_RETURN_NULL();
	segments_validity_of(&stats.orders, as_of, PG_ARGISNULL(2) ? NULL : &bins, NULL, &from, &until);
	PG_RETURN_TIMESTAMPTZ(from);
}
