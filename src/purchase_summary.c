/*
 * purchase_summary.c
 *		purchase_summary(stats, as_of, unit): the inputs of the BG/NBD and
 *		Gamma-Gamma models read from a customer's rfm_stats.
 *
 * Repeat purchases are counted as orders after the first, because rfm_stats
 * counts orders; the lifetimes library counts distinct days with a purchase
 * instead, which is the same when a customer buys at most once a day (sum
 * orders by day before rfm_stats to get its count).  The mean value is the
 * mean of all orders, the first included: rfm_stats keeps the total, not the
 * first order's amount.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "funcapi.h"
#include "datatype/timestamp.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/timestamp.h"

#include "exact_sum.h"
#include "model_tuple.h"
#include "rfm_stats.h"

PG_FUNCTION_INFO_V1(purchase_summary);

#define PURCHASE_SUMMARY_FIELDS 4

Datum
purchase_summary(PG_FUNCTION_ARGS)
{
	RfmStatsView view;
	TimestampTz as_of = PG_GETARG_TIMESTAMPTZ(1);
	Interval   *unit = PG_GETARG_INTERVAL_P(2);
	double		unit_days;
	double		mean_value;
	Datum		values[PURCHASE_SUMMARY_FIELDS];
	bool		nulls[PURCHASE_SUMMARY_FIELDS] = {0};
	TupleDesc	descriptor = model_result_descriptor(fcinfo, PURCHASE_SUMMARY_FIELDS);

	/* a month counts 30 days, as extract(epoch from interval) counts it */
	unit_days = unit->month * (double) DAYS_PER_MONTH + unit->day +
		unit->time / (double) USECS_PER_DAY;
	if (!(unit_days > 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the unit of time must be positive")));

	rfm_stats_view(PG_GETARG_DATUM(0), &view);
	/* an order after as_of is the error rfm_score reports */
	(void) rfm_recency_days(&view.orders, as_of);
	mean_value = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
													NumericGetDatum(numeric_from_payload(view.total, view.total_len))))
		/ (double) view.orders.order_count;

	values[0] = Float8GetDatum((double) (view.orders.order_count - 1));
	values[1] = Float8GetDatum(days_between(view.orders.first_order, view.orders.last_order) / unit_days);
	values[2] = Float8GetDatum(days_between(view.orders.first_order, as_of) / unit_days);
	values[3] = Float8GetDatum(mean_value);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(descriptor, values, nulls)));
}
