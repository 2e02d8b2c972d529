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
#include "utils/memutils.h"
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
/*
 * A customer's prediction, and what it was computed from.  Each predictive
 * segment's rule asks for the same customer's prediction in turn, from call
 * sites of their own, so the last one is kept for the backend: the
 * function is immutable, and the inputs, the models' bytes included, are
 * compared whole.
 */
typedef struct Prediction
{
	/* the inputs */
	char	   *models;			/* the two model tuples, one after the other */
	Size		bgnbd_length;
	Size		gamma_gamma_length;
	bool		has_threshold;
	double		high_value_threshold;
	double		unit_days;
	int64		order_count;
	TimestampTz first_order;
	TimestampTz last_order;
	double		mean_value;
	TimestampTz as_of;
	/* what they give */
	PurchaseSummary summary;
	double		p_alive;
	double		expected_90d;
	double		spend;			/* NaN: none */
	double		value;			/* NaN: none */
} Prediction;

static Prediction last_prediction;

static bool
same_inputs(const Prediction *a, const Prediction *b, const char *bgnbd, const char *gamma_gamma)
{
	return a->models != NULL &&
		a->bgnbd_length == b->bgnbd_length && a->gamma_gamma_length == b->gamma_gamma_length &&
		a->has_threshold == b->has_threshold &&
		(!a->has_threshold || a->high_value_threshold == b->high_value_threshold) &&
		a->unit_days == b->unit_days && a->order_count == b->order_count &&
		a->first_order == b->first_order && a->last_order == b->last_order &&
		a->mean_value == b->mean_value && a->as_of == b->as_of &&
		memcmp(a->models, bgnbd, b->bgnbd_length) == 0 &&
		memcmp(a->models + a->bgnbd_length, gamma_gamma, b->gamma_gamma_length) == 0;
}

static void
predict(FunctionCallInfo fcinfo, Prediction *p)
{
	BgnbdParameters purchases;
	GammaGammaParameters spend_model;
	PurchaseSummary *c = &p->summary;

	bgnbd_argument(fcinfo, ARG_BGNBD, &purchases);
	gamma_gamma_argument(fcinfo, ARG_GAMMA_GAMMA, &spend_model);
	summarize_purchases(p->order_count, p->first_order, p->last_order, p->mean_value,
						Max(p->as_of, p->last_order), p->unit_days, c);
	bgnbd_check_customer(c->frequency, c->recency, c->age);
	p->p_alive = bgnbd_alive(&purchases, c->frequency, c->recency, c->age);
	p->expected_90d = bgnbd_expected(&purchases, 90 / p->unit_days, c->frequency, c->recency, c->age);
	p->spend = NAN;
	p->value = NAN;
	if (c->frequency == 0 || c->mean_value > 0)
	{
		p->spend = gamma_gamma_spend(&spend_model, c->frequency, Max(c->mean_value, 0));
		p->value = lifetime_value(&purchases, &spend_model, c->frequency, c->recency, c->age,
								  Max(c->mean_value, 0), LIFETIME_MONTHS, MONTHLY_DISCOUNT, 30 / p->unit_days);
	}
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
	HeapTupleHeader bgnbd;
	HeapTupleHeader gamma_gamma;
	Prediction	asked = {0};
	Datum		values[CUSTOMER_PREDICTION_FIELDS];
	bool		nulls[CUSTOMER_PREDICTION_FIELDS] = {0};
	TupleDesc	descriptor;

	for (int i = 0; i <= ARG_AS_OF; i++)
		if (i != ARG_HIGH_VALUE && PG_ARGISNULL(i))
			PG_RETURN_NULL();
	asked.order_count = PG_GETARG_INT64(ARG_ORDER_COUNT);
	if (asked.order_count < 1)
		PG_RETURN_NULL();
	bgnbd = PG_GETARG_HEAPTUPLEHEADER(ARG_BGNBD);
	gamma_gamma = PG_GETARG_HEAPTUPLEHEADER(ARG_GAMMA_GAMMA);
	asked.bgnbd_length = HeapTupleHeaderGetDatumLength(bgnbd);
	asked.gamma_gamma_length = HeapTupleHeaderGetDatumLength(gamma_gamma);
	asked.has_threshold = !PG_ARGISNULL(ARG_HIGH_VALUE);
	asked.high_value_threshold = asked.has_threshold ? PG_GETARG_FLOAT8(ARG_HIGH_VALUE) : 0;
	asked.unit_days = unit_days(PG_GETARG_INTERVAL_P(ARG_UNIT));
	asked.first_order = PG_GETARG_TIMESTAMPTZ(ARG_FIRST_ORDER);
	asked.last_order = PG_GETARG_TIMESTAMPTZ(ARG_LAST_ORDER);
	asked.mean_value = DatumGetFloat8(DirectFunctionCall1(numeric_float8, PG_GETARG_DATUM(ARG_AVERAGE_ORDER_VALUE)));
	asked.as_of = PG_GETARG_TIMESTAMPTZ(ARG_AS_OF);

	if (!same_inputs(&last_prediction, &asked, (char *) bgnbd, (char *) gamma_gamma))
	{
		/* kept only once computed: an error leaves no half-made entry */
		predict(fcinfo, &asked);
		asked.models = MemoryContextAlloc(TopMemoryContext, asked.bgnbd_length + asked.gamma_gamma_length);
		memcpy(asked.models, bgnbd, asked.bgnbd_length);
		memcpy(asked.models + asked.bgnbd_length, gamma_gamma, asked.gamma_gamma_length);
		if (last_prediction.models != NULL)
			pfree(last_prediction.models);
		last_prediction = asked;
	}

	descriptor = model_result_descriptor(fcinfo, CUSTOMER_PREDICTION_FIELDS);
	values[0] = Float8GetDatum(last_prediction.summary.frequency);
	values[1] = Float8GetDatum(last_prediction.summary.recency);
	values[2] = Float8GetDatum(last_prediction.summary.age);
	values[3] = Float8GetDatum(last_prediction.p_alive);
	values[4] = Float8GetDatum(last_prediction.expected_90d);
	values[5] = Float8GetDatum(last_prediction.spend);
	nulls[5] = isnan(last_prediction.spend);
	values[6] = Float8GetDatum(last_prediction.value);
	nulls[6] = isnan(last_prediction.value);
	nulls[7] = nulls[6] || !last_prediction.has_threshold;
	if (!nulls[7])
		values[7] = CStringGetTextDatum(predicted_segment(last_prediction.p_alive, last_prediction.value,
														  last_prediction.high_value_threshold));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(descriptor, values, nulls)));
}
