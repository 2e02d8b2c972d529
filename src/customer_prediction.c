/*
 * customer_prediction.c
 *		predict_customer(): what the fitted models of an attachment say of
 *		one customer of its customers view, for the predictions view and the
 *		predictive segments.
 *
 * The lifetime value is lifetimes' default: 12 months of 30 days,
 * discounted 1% a month.  The predictive segment crosses value with
 * activity: high value when the lifetime value the customer would bring if
 * still active (the lifetime value over P(alive), since a customer who has
 * left buys nothing) reaches the attachment's threshold; active when
 * P(alive) is at least one half.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/timestamp.h"

#include "bgnbd.h"
#include "gamma_gamma.h"
#include "model_tuple.h"
#include "purchase_summary.h"

PG_FUNCTION_INFO_V1(predict_customer);

#define CUSTOMER_PREDICTION_FIELDS 8
#define LIFETIME_MONTHS 12
#define MONTHLY_DISCOUNT 0.01
#define LIKELY_ACTIVE 0.5

enum
{
	ARG_BGNBD,
	ARG_GAMMA_GAMMA,
	ARG_HIGH_VALUE,
	ARG_UNIT,
	ARG_ORDER_COUNT,
	ARG_FIRST_ORDER,
	ARG_LAST_ORDER,
	ARG_AVERAGE_ORDER_VALUE,
	ARG_AS_OF
};

static const char *
predicted_segment(double p_alive, double value, double high_value_threshold)
{
	bool		active = p_alive >= LIKELY_ACTIVE;

	if (p_alive > 0 && value / p_alive >= high_value_threshold)
		return active ? "High value, active" : "High value, likely to churn";
	return active ? "Active" : "Likely to churn";
}

/*
 * predict_customer(bgnbd, gamma_gamma, high_value_threshold, unit,
 * order_count, first_order_time, last_order_time, average_order_value,
 * as_of): NULL without models or orders; spend and value NULL when refunds
 * leave a repeat buyer's mean at or below zero; segment NULL without a
 * threshold.
 */
Datum
predict_customer(PG_FUNCTION_ARGS)
{
	BgnbdParameters purchases;
	GammaGammaParameters spend_model;
	PurchaseSummary c;
	Datum		values[CUSTOMER_PREDICTION_FIELDS];
	bool		nulls[CUSTOMER_PREDICTION_FIELDS] = {0};
	TupleDesc	descriptor;
	double		days;
	double		p_alive;
	double		value = NAN;
	double		spend = NAN;

	for (int i = 0; i <= ARG_AS_OF; i++)
		if (i != ARG_HIGH_VALUE && PG_ARGISNULL(i))
			PG_RETURN_NULL();
	if (PG_GETARG_INT64(ARG_ORDER_COUNT) < 1)
		PG_RETURN_NULL();
	bgnbd_argument(fcinfo, ARG_BGNBD, &purchases);
	gamma_gamma_argument(fcinfo, ARG_GAMMA_GAMMA, &spend_model);
	days = unit_days(PG_GETARG_INTERVAL_P(ARG_UNIT));
	summarize_purchases(PG_GETARG_INT64(ARG_ORDER_COUNT), PG_GETARG_TIMESTAMPTZ(ARG_FIRST_ORDER),
						PG_GETARG_TIMESTAMPTZ(ARG_LAST_ORDER),
						DatumGetFloat8(DirectFunctionCall1(numeric_float8, PG_GETARG_DATUM(ARG_AVERAGE_ORDER_VALUE))),
						Max(PG_GETARG_TIMESTAMPTZ(ARG_AS_OF), PG_GETARG_TIMESTAMPTZ(ARG_LAST_ORDER)), days, &c);
	bgnbd_check_customer(c.frequency, c.recency, c.age);

	p_alive = bgnbd_alive(&purchases, c.frequency, c.recency, c.age);
	if (c.frequency == 0 || c.mean_value > 0)
	{
		spend = gamma_gamma_spend(&spend_model, c.frequency, Max(c.mean_value, 0));
		value = lifetime_value(&purchases, &spend_model, c.frequency, c.recency, c.age, Max(c.mean_value, 0),
							   LIFETIME_MONTHS, MONTHLY_DISCOUNT, 30 / days);
	}

	descriptor = model_result_descriptor(fcinfo, CUSTOMER_PREDICTION_FIELDS);
	values[0] = Float8GetDatum(c.frequency);
	values[1] = Float8GetDatum(c.recency);
	values[2] = Float8GetDatum(c.age);
	values[3] = Float8GetDatum(p_alive);
	values[4] = Float8GetDatum(bgnbd_expected(&purchases, 90 / days, c.frequency, c.recency, c.age));
	values[5] = Float8GetDatum(spend);
	nulls[5] = isnan(spend);
	values[6] = Float8GetDatum(value);
	nulls[6] = isnan(value);
	nulls[7] = nulls[6] || PG_ARGISNULL(ARG_HIGH_VALUE);
	if (!nulls[7])
		values[7] = CStringGetTextDatum(predicted_segment(p_alive, value,
														  PG_GETARG_FLOAT8(ARG_HIGH_VALUE)));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(descriptor, values, nulls)));
}
