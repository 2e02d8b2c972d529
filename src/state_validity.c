/*
 * state_validity.c
 *		How long a customer's stored scores and lifecycle stage stay true
 *		while no order arrives.
 *
 * Time alone moves a customer only through comparisons of the days since
 * the last order (recency thresholds; the at-risk and lapsed limits of the
 * lifecycle) and of the days since the first order (the new-customer
 * window) with fixed numbers of days.  The stored columns of a maintained
 * state are therefore true from the time they were computed until the first
 * of those moments; the views derive a customer again once it has passed,
 * and refresh_due_segments() rewrites exactly those rows.
 *
 * The moment returned is a lower bound: every limit the stage could use is
 * a candidate, whether or not it applies to this customer, and each is
 * taken a millisecond early so that rounding of days to double precision
 * can never make a stored value outlive its truth.
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

/* How much earlier than computed a limit is assumed to be crossed. */
#define VALIDITY_MARGIN_USECS	INT64CONST(1000)

/*
 * Keeps in *until the earliest of it and the moment "days after from",
 * counting only moments after as_of (less the margin).
 */
static void
consider(TimestampTz *until, TimestampTz as_of, TimestampTz from, double days)
{
	double		usecs = days * (double) USECS_PER_DAY;
	TimestampTz moment;

	/* negative, NaN, or past the end of time: never crossed */
	if (!(usecs >= 0) || usecs >= (double) (END_TIMESTAMP - from))
		return;
	moment = from + (TimestampTz) usecs - VALIDITY_MARGIN_USECS;
	if (moment + 2 * VALIDITY_MARGIN_USECS <= as_of)
		return;					/* crossed well before as_of */
	if (moment < *until)
		*until = moment;
}

/*
 * The time until which rfm_score(stats, t, thresholds) and
 * lifecycle_stage(stats, t) (default parameters) stay what they are at
 * as_of, a finite time, for a customer with these orders; infinity if
 * forever.  Without bins (no thresholds) only the lifecycle limits count.
 */
TimestampTz
segments_valid_until_of(const RfmOrders *orders, TimestampTz as_of, const RfmBins *bins)
{
	TimestampTz until = DT_NOEND;
	LifecycleParams params;
	double		limits[4];

	Assert(!TIMESTAMP_NOT_FINITE(as_of));
	if (bins != NULL)
		for (int i = 0; i < bins->count[RFM_RECENCY] - 1; i++)
			consider(&until, as_of, orders->last_order, bins->threshold[RFM_RECENCY][i]);

	lifecycle_params_default(&params);
	consider(&until, as_of, orders->first_order, params.new_days);
	limits[0] = params.at_risk_days;
	limits[1] = params.lapsed_days;
	limits[2] = limits[3] = -1;
	if (orders->order_count >= 2)
	{
		double		gap = days_between(orders->first_order, orders->last_order) /
			(double) (orders->order_count - 1);

		limits[2] = params.at_risk_multiple * gap;
		limits[3] = params.lapsed_multiple * gap;
	}
	for (int i = 0; i < (int) lengthof(limits); i++)
		consider(&until, as_of, orders->last_order, limits[i]);
	return until;
}

/*
 * segments_valid_until(stats, as_of, thresholds): segments_valid_until_of
 * for SQL; NULL for NULL stats or as_of.
 */
Datum
segments_valid_until(PG_FUNCTION_ARGS)
{
	RfmStatsView stats;
	TimestampTz as_of;
	RfmBins		bins;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	rfm_stats_view(PG_GETARG_DATUM(0), &stats);
	as_of = PG_GETARG_TIMESTAMPTZ(1);
	if (TIMESTAMP_NOT_FINITE(as_of))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of must be a finite time")));
	if (!PG_ARGISNULL(2))
		rfm_bins_from_thresholds(DatumGetRfmThresholdsP(PG_GETARG_DATUM(2)), &bins);
	PG_RETURN_TIMESTAMPTZ(segments_valid_until_of(&stats.orders, as_of,
												  PG_ARGISNULL(2) ? NULL : &bins));
}
