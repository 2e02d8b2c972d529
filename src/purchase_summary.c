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
#include "purchase_summary.h"
#include "rfm_stats.h"

PG_FUNCTION_INFO_V1(purchase_summary);

PG_FUNCTION_INFO_V1(purchase_summary_of_columns);

#define PURCHASE_SUMMARY_FIELDS 4

/* a month counts 30 days, as extract(epoch from interval) counts it */
double
unit_days(const Interval *unit)
{
	double		days = unit->month * (double) DAYS_PER_MONTH + unit->day +
		unit->time / (double) USECS_PER_DAY;

	if (!(days > 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the unit of time must be positive")));
	return days;
}

void
summarize_purchases(int64 order_count, TimestampTz first_order, TimestampTz last_order, double mean_value,
					TimestampTz as_of, double unit_days, PurchaseSummary *summary)
{
	if (TIMESTAMP_NOT_FINITE(first_order) || TIMESTAMP_NOT_FINITE(last_order) || TIMESTAMP_NOT_FINITE(as_of))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("order times and the analysis time must be finite")));
	if (last_order < first_order || as_of < last_order)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the first order, the last order and the analysis time must come in that order")));
	summary->frequency = (double) (order_count - 1);
	summary->recency = days_between(first_order, last_order) / unit_days;
	summary->age = days_between(first_order, as_of) / unit_days;
	summary->mean_value = mean_value;
}

static Datum
summary_datum(FunctionCallInfo fcinfo, const PurchaseSummary *summary)
{
	Datum		values[PURCHASE_SUMMARY_FIELDS];
	bool		nulls[PURCHASE_SUMMARY_FIELDS] = {0};
	TupleDesc	descriptor = model_result_descriptor(fcinfo, PURCHASE_SUMMARY_FIELDS);

	values[0] = Float8GetDatum(summary->frequency);
	values[1] = Float8GetDatum(summary->recency);
	values[2] = Float8GetDatum(summary->age);
	values[3] = Float8GetDatum(summary->mean_value);
	return HeapTupleGetDatum(heap_form_tuple(descriptor, values, nulls));
}

/* purchase_summary(stats, as_of, unit) */
Datum
purchase_summary(PG_FUNCTION_ARGS)
{
	RfmStatsView view;
	TimestampTz as_of = PG_GETARG_TIMESTAMPTZ(1);
	double		days = unit_days(PG_GETARG_INTERVAL_P(2));
	double		total;
	PurchaseSummary summary;

	rfm_stats_view(PG_GETARG_DATUM(0), &view);
	/* an order after as_of is the error rfm_score reports */
	(void) rfm_recency_days(&view.orders, as_of);
	total = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
											   NumericGetDatum(numeric_from_payload(view.total, view.total_len))));
	summarize_purchases(view.orders.order_count, view.orders.first_order, view.orders.last_order,
						total / (double) view.orders.order_count, as_of, days, &summary);
	PG_RETURN_DATUM(summary_datum(fcinfo, &summary));
}

/*
 * purchase_summary(order_count, first_order_time, last_order_time,
 * average_order_value, as_of, unit): the same from the columns of a
 * customers view, which judges a customer whose last order is after as_of
 * at that order; NULL without orders.
 */
Datum
purchase_summary_of_columns(PG_FUNCTION_ARGS)
{
	int64		order_count = PG_GETARG_INT64(0);
	TimestampTz first_order = PG_GETARG_TIMESTAMPTZ(1);
	TimestampTz last_order = PG_GETARG_TIMESTAMPTZ(2);
	double		mean_value = DatumGetFloat8(DirectFunctionCall1(numeric_float8, PG_GETARG_DATUM(3)));
	TimestampTz as_of = PG_GETARG_TIMESTAMPTZ(4);
	double		days = unit_days(PG_GETARG_INTERVAL_P(5));
	PurchaseSummary summary;

	if (order_count < 1)
		PG_RETURN_NULL();
	summarize_purchases(order_count, first_order, last_order, mean_value, Max(as_of, last_order), days,
						&summary);
	PG_RETURN_DATUM(summary_datum(fcinfo, &summary));
}
