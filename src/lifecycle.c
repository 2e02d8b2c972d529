/*
 * lifecycle.c
 *		Lifecycle stages: lifecycle_stage(stats, as_of, ...) says whether a
 *		customer is a prospect, new, active, at risk, lapsed or reactivated,
 *		judged against the customer's own buying rhythm; lifecycle_stages()
 *		lists the stages.
 *
 * With recency = recency_days(stats, as_of), and all day counts fractional
 * (microseconds / 86,400,000,000 in double precision):
 *
 * - NULL stats (no orders): prospect.  NULL as_of: NULL, even for a
 *	 prospect.  A NULL tuning parameter is an error (22004), checked first.
 * - Thresholds.  A customer has a rhythm when they have rhythm_min_orders
 *	 orders or more and their mean gap g = (last - first) / (orders - 1)
 *	 days (what mean_days_between_orders returns) is at least one day:
 *	 then at_risk_after = at_risk_multiple * g, lapsed_after =
 *	 lapsed_multiple * g.  Otherwise at_risk_after = at_risk_days and
 *	 lapsed_after = lapsed_days.  Orders closer together than a day on
 *	 average (several orders on one date with date-only order times, or a
 *	 burst of orders minutes apart) show no rhythm: with it, both thresholds
 *	 would be minutes or 0 and the customer lapsed the next day.  A product
 *	 that overflows double precision is an infinite threshold, never
 *	 exceeded.
 * - recency > lapsed_after: lapsed; else recency > at_risk_after: at_risk.
 * - Otherwise reactivated if the customer bought again after having lapsed:
 *	 two or more orders, and the gap before the last order (last - previous,
 *	 days_before_last_order) is greater than the lapsed threshold that
 *	 applied just before the last order, computed from the orders before it
 *	 (orders - 1 of them, first to previous) by the same rule: if orders - 1
 *	 >= rhythm_min_orders and their mean gap (previous - first) / (orders -
 *	 2) days is at least one day, lapsed_multiple times that gap, else
 *	 lapsed_days.
 * - Otherwise new if the first order is at most new_days before as_of
 *	 (as_of - first <= new_days days), else active.
 * - Thresholds compare strictly: a recency or a gap equal to its threshold
 *	 is not beyond it.  "new" is inclusive: a first order exactly new_days
 *	 ago is still new.
 * - Parameters (22023 otherwise): new_days, at_risk_days and lapsed_days
 *	 finite and >= 0; the multiples finite and > 0; lapsed_multiple >=
 *	 at_risk_multiple; lapsed_days >= at_risk_days; rhythm_min_orders >= 2.
 *	 They are checked on every call, whatever the customer.
 * - An order after as_of or an infinite as_of: the errors of recency_days
 *	 (22023); an infinite as_of is rejected for prospects too.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/timestamp.h"

#include "lifecycle.h"

PG_FUNCTION_INFO_V1(lifecycle_stage);
PG_FUNCTION_INFO_V1(lifecycle_stages);

static const char *const stage_name[LIFECYCLE_NUM_STAGES] = {
	[LIFECYCLE_PROSPECT] = "prospect",
	[LIFECYCLE_NEW] = "new",
	[LIFECYCLE_ACTIVE] = "active",
	[LIFECYCLE_AT_RISK] = "at_risk",
	[LIFECYCLE_LAPSED] = "lapsed",
	[LIFECYCLE_REACTIVATED] = "reactivated",
};

static const char *const stage_description[LIFECYCLE_NUM_STAGES] = {
	[LIFECYCLE_PROSPECT] = "Has not ordered yet (no rfm_stats).",
	[LIFECYCLE_NEW] = "First ordered at most new_days days ago and has not fallen behind since.",
	[LIFECYCLE_ACTIVE] = "First ordered more than new_days days ago and keeps ordering within the at-risk threshold.",
	[LIFECYCLE_AT_RISK] = "Has gone longer without ordering than at_risk_multiple times the usual gap between orders (at_risk_days for customers without a rhythm), but has not lapsed.",
	[LIFECYCLE_LAPSED] = "Has gone longer without ordering than lapsed_multiple times the usual gap between orders (lapsed_days for customers without a rhythm).",
	[LIFECYCLE_REACTIVATED] = "Ordered again after a gap long enough to have lapsed, and has not fallen behind since.",
};

/* The SQL names of the tuning parameters, arguments 2 to 7 of lifecycle_stage. */
static const char *const param_name[] = {
	"new_days", "at_risk_multiple", "lapsed_multiple",
	"rhythm_min_orders", "at_risk_days", "lapsed_days"
};

/* Sets the defaults of lifecycle_stage()'s SQL signature. */
void
lifecycle_params_default(LifecycleParams *params)
{
	params->new_days = LIFECYCLE_DEFAULT_NEW_DAYS;
	params->at_risk_multiple = LIFECYCLE_DEFAULT_AT_RISK_MULTIPLE;
	params->lapsed_multiple = LIFECYCLE_DEFAULT_LAPSED_MULTIPLE;
	params->rhythm_min_orders = LIFECYCLE_DEFAULT_RHYTHM_MIN_ORDERS;
	params->at_risk_days = LIFECYCLE_DEFAULT_AT_RISK_DAYS;
	params->lapsed_days = LIFECYCLE_DEFAULT_LAPSED_DAYS;
}

static void
check_days(const char *name, double value)
{
	if (isnan(value) || isinf(value) || value < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a finite number of days, zero or more, not %s",
						name, float8out_internal(value)),
				 errhint("The defaults are new_days 30, at_risk_days 90 and lapsed_days 180.")));
}

static void
check_multiple(const char *name, double value)
{
	if (isnan(value) || isinf(value) || value <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a finite number greater than zero, not %s",
						name, float8out_internal(value)),
				 errhint("It multiplies the customer's mean gap between orders; the defaults are at_risk_multiple 2 and lapsed_multiple 4.")));
}

/* Rejects tuning parameters that make no sense (22023). */
void
lifecycle_params_check(const LifecycleParams *params)
{
	check_days("new_days", params->new_days);
	check_multiple("at_risk_multiple", params->at_risk_multiple);
	check_multiple("lapsed_multiple", params->lapsed_multiple);
	if (params->rhythm_min_orders < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rhythm_min_orders must be 2 or more, not %d",
						params->rhythm_min_orders),
				 errhint("A gap between orders needs at least two orders; the default is 3.")));
	check_days("at_risk_days", params->at_risk_days);
	check_days("lapsed_days", params->lapsed_days);
	if (params->lapsed_multiple < params->at_risk_multiple)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lapsed_multiple must not be less than at_risk_multiple"),
				 errdetail("lapsed_multiple is %s, at_risk_multiple is %s.",
						   float8out_internal(params->lapsed_multiple),
						   float8out_internal(params->at_risk_multiple)),
				 errhint("A customer is at risk before lapsing: pass a lapsed_multiple at least as large.")));
	if (params->lapsed_days < params->at_risk_days)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lapsed_days must not be less than at_risk_days"),
				 errdetail("lapsed_days is %s, at_risk_days is %s.",
						   float8out_internal(params->lapsed_days),
						   float8out_internal(params->at_risk_days)),
				 errhint("A customer is at risk before lapsing: pass a lapsed_days at least as large.")));
}

/* The shortest mean gap between orders, in days, that makes a rhythm. */
#define RHYTHM_MIN_GAP_DAYS 1.0

/*
 * The mean gap in days of order_count orders from first to last, or 0 when
 * they show no rhythm: too few orders, or closer together than a day on
 * average.
 */
static double
rhythm_gap(int64 order_count, TimestampTz first, TimestampTz last,
		   const LifecycleParams *params)
{
	double		gap;

	if (order_count < params->rhythm_min_orders)
		return 0;
	gap = days_between(first, last) / (double) (order_count - 1);
	return gap >= RHYTHM_MIN_GAP_DAYS ? gap : 0;
}

/*
 * The stage of a customer with one or more orders at as_of, as described at
 * the top of this file; params must have passed lifecycle_params_check.
 */
LifecycleStage
lifecycle_stage_of(const RfmOrders *orders, TimestampTz as_of,
				   const LifecycleParams *params)
{
	double		recency = rfm_recency_days(orders, as_of);
	double		gap;
	double		at_risk_after;
	double		lapsed_after;

	Assert(orders->order_count >= 1);
	gap = rhythm_gap(orders->order_count, orders->first_order,
					 orders->last_order, params);
	if (gap > 0)
	{
		at_risk_after = params->at_risk_multiple * gap;
		lapsed_after = params->lapsed_multiple * gap;
	}
	else
	{
		at_risk_after = params->at_risk_days;
		lapsed_after = params->lapsed_days;
	}

	if (recency > lapsed_after)
		return LIFECYCLE_LAPSED;
	if (recency > at_risk_after)
		return LIFECYCLE_AT_RISK;

	if (orders->order_count >= 2)
	{
		/* the lapsed threshold of the orders before the last one */
		double		gap_before = rhythm_gap(orders->order_count - 1,
											orders->first_order,
											orders->previous_order, params);
		double		lapsed_before;

		if (gap_before > 0)
			lapsed_before = params->lapsed_multiple * gap_before;
		else
			lapsed_before = params->lapsed_days;
		if (days_between(orders->previous_order, orders->last_order) > lapsed_before)
			return LIFECYCLE_REACTIVATED;
	}

	if (days_between(orders->first_order, as_of) <= params->new_days)
		return LIFECYCLE_NEW;
	return LIFECYCLE_ACTIVE;
}

/* The SQL name of a stage, such as "at_risk". */
const char *
lifecycle_stage_name(LifecycleStage stage)
{
	Assert(stage >= 0 && stage < LIFECYCLE_NUM_STAGES);
	return stage_name[stage];
}

/* A one-sentence description of a stage. */
const char *
lifecycle_stage_description(LifecycleStage stage)
{
	Assert(stage >= 0 && stage < LIFECYCLE_NUM_STAGES);
	return stage_description[stage];
}

/*
 * The limits an attachment keeps, a float8[] of lifecycle_stage()'s six
 * arguments after as_of, in their order; NULL for the defaults.  Checked as
 * lifecycle_stage() checks them.
 */
void
lifecycle_params_from_array(ArrayType *limits, LifecycleParams *params)
{
	Datum	   *values;
	bool	   *nulls;
	int			count;

	lifecycle_params_default(params);
	if (limits == NULL)
		return;
	if (ARR_ELEMTYPE(limits) != FLOAT8OID)
		elog(ERROR, "lifecycle limits must be a double precision[]");
	deconstruct_array(limits, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &values, &nulls, &count);
	if (ARR_NDIM(limits) != 1 || count != (int) lengthof(param_name))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lifecycle limits must be %d numbers, not %d", (int) lengthof(param_name), count)));
	for (int i = 0; i < count; i++)
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not be NULL", param_name[i])));
	params->new_days = DatumGetFloat8(values[0]);
	params->at_risk_multiple = DatumGetFloat8(values[1]);
	params->lapsed_multiple = DatumGetFloat8(values[2]);
	if (!(DatumGetFloat8(values[3]) >= PG_INT32_MIN && DatumGetFloat8(values[3]) <= PG_INT32_MAX) ||
		DatumGetFloat8(values[3]) != rint(DatumGetFloat8(values[3])))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rhythm_min_orders must be a whole number")));
	params->rhythm_min_orders = (int32) DatumGetFloat8(values[3]);
	params->at_risk_days = DatumGetFloat8(values[4]);
	params->lapsed_days = DatumGetFloat8(values[5]);
	lifecycle_params_check(params);
}

/*
 * lifecycle_stage(stats, as_of, new_days, at_risk_multiple, lapsed_multiple,
 * rhythm_min_orders, at_risk_days, lapsed_days): not strict, since NULL stats
 * is a prospect.
 */
Datum
lifecycle_stage(PG_FUNCTION_ARGS)
{
	LifecycleParams params;
	LifecycleStage stage;
	TimestampTz as_of;

	for (int i = 0; i < (int) lengthof(param_name); i++)
		if (PG_ARGISNULL(2 + i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not be NULL", param_name[i]),
					 errhint("Leave the argument out to use its default.")));
	params.new_days = PG_GETARG_FLOAT8(2);
	params.at_risk_multiple = PG_GETARG_FLOAT8(3);
	params.lapsed_multiple = PG_GETARG_FLOAT8(4);
	params.rhythm_min_orders = PG_GETARG_INT32(5);
	params.at_risk_days = PG_GETARG_FLOAT8(6);
	params.lapsed_days = PG_GETARG_FLOAT8(7);
	lifecycle_params_check(&params);

	if (PG_ARGISNULL(1))
		PG_RETURN_NULL();
	as_of = PG_GETARG_TIMESTAMPTZ(1);

	if (PG_ARGISNULL(0))
	{
		/* rfm_recency_days' error, so that it does not depend on the row */
		if (TIMESTAMP_NOT_FINITE(as_of))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("as_of must be a finite time")));
		stage = LIFECYCLE_PROSPECT;
	}
	else
	{
		RfmStatsView view;

		rfm_stats_view(PG_GETARG_DATUM(0), &view);
		stage = lifecycle_stage_of(&view.orders, as_of, &params);
	}
	PG_RETURN_TEXT_P(cstring_to_text(lifecycle_stage_name(stage)));
}

/* lifecycle_stages(): every stage with its position (1 to 6) and description. */
Datum
lifecycle_stages(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext oldcontext;
		TupleDesc	tupdesc;

		funcctx = SRF_FIRSTCALL_INIT();
		oldcontext = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "return type must be a row type");
		funcctx->tuple_desc = BlessTupleDesc(tupdesc);
		funcctx->max_calls = LIFECYCLE_NUM_STAGES;
		MemoryContextSwitchTo(oldcontext);
	}

	funcctx = SRF_PERCALL_SETUP();
	if (funcctx->call_cntr < funcctx->max_calls)
	{
		LifecycleStage stage = (LifecycleStage) funcctx->call_cntr;
		Datum		values[3];
		bool		nulls[3] = {false, false, false};
		HeapTuple	tuple;

		values[0] = PointerGetDatum(cstring_to_text(lifecycle_stage_name(stage)));
		values[1] = Int32GetDatum((int32) stage + 1);
		values[2] = PointerGetDatum(cstring_to_text(lifecycle_stage_description(stage)));
		tuple = heap_form_tuple(funcctx->tuple_desc, values, nulls);
		SRF_RETURN_NEXT(funcctx, HeapTupleGetDatum(tuple));
	}
	SRF_RETURN_DONE(funcctx);
}
