/*
 * rfm_stats_agg.c
 *		The aggregates rfm_stats(order_time, amount), which turns orders into
 *		per-customer statistics, and rfm_stats_merge(rfm_stats), which merges
 *		stored statistics (of partitions, shards or periods).
 *
 * Both share an internal transition state (RfmAccum) with combine,
 * serialize and deserialize functions, so both run in parallel plans.
 */
#include "postgres.h"

#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/timestamp.h"

#include "aggregate.h"
#include "rfm_stats.h"

PG_FUNCTION_INFO_V1(rfm_stats_transfn);
PG_FUNCTION_INFO_V1(rfm_stats_merge_transfn);
PG_FUNCTION_INFO_V1(rfm_stats_combinefn);
PG_FUNCTION_INFO_V1(rfm_stats_serializefn);
PG_FUNCTION_INFO_V1(rfm_stats_deserializefn);
PG_FUNCTION_INFO_V1(rfm_stats_finalfn);
PG_FUNCTION_INFO_V1(rfm_stats_of_order);
PG_FUNCTION_INFO_V1(rfm_stats_combine);

static RfmAccum *
accum_create(MemoryContext context)
{
	RfmAccum   *accum = MemoryContextAllocZero(context, sizeof(RfmAccum));

	exact_sum_init(&accum->total);
	return accum;
}

/*
 * Adds one order to a state, creating it when NULL.  An order without an
 * amount counts for recency and frequency but adds nothing to the total.
 * Infinite times and NaN or infinite amounts are errors.
 */
static RfmAccum *
accum_add_order(RfmAccum *accum, TimestampTz order_time, bool amount_null,
				Datum amount_datum, MemoryContext context)
{
	if (TIMESTAMP_NOT_FINITE(order_time))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("order time must be finite"),
				 errdetail("An order at %s cannot be placed in time.",
						   TIMESTAMP_IS_NOBEGIN(order_time) ? "-infinity" : "infinity"),
				 errhint("Leave such rows out, for example with WHERE isfinite(order_time).")));
	if (accum == NULL)
		accum = accum_create(context);
	if (!amount_null)
	{
		struct varlena *amount = PG_DETOAST_DATUM_PACKED(amount_datum);

		if (!numeric_payload_is_finite(VARDATA_ANY(amount), VARSIZE_ANY_EXHDR(amount)))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("order amount must be a finite number"),
					 errdetail("The order at %s has amount %s.",
							   timestamptz_to_str(order_time),
							   DatumGetCString(DirectFunctionCall1(numeric_out, amount_datum))),
					 errhint("Leave such rows out, or map them to a number first.")));
		exact_sum_add_payload(&accum->total, VARDATA_ANY(amount),
							  VARSIZE_ANY_EXHDR(amount), context);
	}
	rfm_orders_add(&accum->orders, order_time);
	return accum;
}

/* Adds the orders of a stored rfm_stats value to a state. */
static void
accum_add_stats(RfmAccum *accum, Datum stats, MemoryContext context)
{
	RfmStatsView view;

	rfm_stats_view(stats, &view);
	rfm_orders_merge(&accum->orders, &view.orders);
	exact_sum_add_payload(&accum->total, view.total, view.total_len, context);
}

/* Adds one order row; a row without a time is no order and is skipped. */
Datum
rfm_stats_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext context = aggregate_context(fcinfo, "rfm_stats_transfn");
	RfmAccum   *accum = PG_ARGISNULL(0) ? NULL : (RfmAccum *) PG_GETARG_POINTER(0);

	if (PG_ARGISNULL(1))
		PG_RETURN_STATE(accum);
	PG_RETURN_POINTER(accum_add_order(accum, PG_GETARG_TIMESTAMPTZ(1), PG_ARGISNULL(2),
									  PG_GETARG_DATUM(2), context));
}

/*
 * rfm_stats_of_order(order_time, amount): the statistics of a single order,
 * what the aggregate gives for one row; NULL for a NULL time.
 */
Datum
rfm_stats_of_order(PG_FUNCTION_ARGS)
{
	RfmAccum   *accum;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	accum = accum_add_order(NULL, PG_GETARG_TIMESTAMPTZ(0), PG_ARGISNULL(1),
							PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1),
							CurrentMemoryContext);
	PG_RETURN_POINTER(rfm_stats_from_accum(accum));
}

/*
 * The statistics of the orders of stats (none when stats_null) and one more
 * order, what rfm_stats_combine(stats, rfm_stats_of_order(order_time,
 * amount)) gives; the trigger of a maintained state merges each new order
 * with it.
 */
RfmStats *
rfm_stats_add_order(Datum stats, bool stats_null, TimestampTz order_time,
					bool amount_null, Datum amount)
{
	RfmAccum   *accum = accum_add_order(NULL, order_time, amount_null, amount,
										CurrentMemoryContext);

	if (!stats_null)
		accum_add_stats(accum, stats, CurrentMemoryContext);
	return rfm_stats_from_accum(accum);
}

/*
 * rfm_stats_combine(a, b): the statistics of the orders of both, what
 * rfm_stats_merge gives for two values; a NULL side is no orders.
 */
Datum
rfm_stats_combine(PG_FUNCTION_ARGS)
{
	RfmAccum   *accum = accum_create(CurrentMemoryContext);

	for (int i = 0; i < 2; i++)
		if (!PG_ARGISNULL(i))
			accum_add_stats(accum, PG_GETARG_DATUM(i), CurrentMemoryContext);
	if (accum->orders.order_count == 0)
		PG_RETURN_NULL();
	PG_RETURN_POINTER(rfm_stats_from_accum(accum));
}

/* Merges one stored rfm_stats value; NULLs are skipped. */
Datum
rfm_stats_merge_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext context = aggregate_context(fcinfo, "rfm_stats_merge_transfn");
	RfmAccum   *accum = PG_ARGISNULL(0) ? NULL : (RfmAccum *) PG_GETARG_POINTER(0);

	if (PG_ARGISNULL(1))
		PG_RETURN_STATE(accum);
	if (accum == NULL)
		accum = accum_create(context);
	accum_add_stats(accum, PG_GETARG_DATUM(1), context);
	PG_RETURN_POINTER(accum);
}

/* Combines two partial states, either of which may be NULL. */
Datum
rfm_stats_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext context = aggregate_context(fcinfo, "rfm_stats_combinefn");
	RfmAccum   *accum = PG_ARGISNULL(0) ? NULL : (RfmAccum *) PG_GETARG_POINTER(0);
	RfmAccum   *other = PG_ARGISNULL(1) ? NULL : (RfmAccum *) PG_GETARG_POINTER(1);

	if (other == NULL)
		PG_RETURN_STATE(accum);
	if (accum == NULL)
		accum = accum_create(context);
	rfm_orders_merge(&accum->orders, &other->orders);
	exact_sum_add(&accum->total, &other->total, context);
	PG_RETURN_POINTER(accum);
}

/* Serializes a state for a parallel worker's partial aggregate. */
Datum
rfm_stats_serializefn(PG_FUNCTION_ARGS)
{
	RfmAccum   *accum = (RfmAccum *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint64(&buf, accum->orders.order_count);
	pq_sendint64(&buf, accum->orders.first_order);
	pq_sendint64(&buf, accum->orders.previous_order);
	pq_sendint64(&buf, accum->orders.last_order);
	exact_sum_serialize(&buf, &accum->total);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* Reads a serialized state; the bytes are checked, not trusted. */
Datum
rfm_stats_deserializefn(PG_FUNCTION_ARGS)
{
	MemoryContext context = aggregate_context(fcinfo, "rfm_stats_deserializefn");
	bytea	   *bytes = PG_GETARG_BYTEA_PP(0);
	RfmAccum   *accum = accum_create(context);
	StringInfoData buf;

	buf.data = VARDATA_ANY(bytes);
	buf.len = VARSIZE_ANY_EXHDR(bytes);
	buf.maxlen = buf.len;
	buf.cursor = 0;

	accum->orders.order_count = pq_getmsgint64(&buf);
	accum->orders.first_order = pq_getmsgint64(&buf);
	accum->orders.previous_order = pq_getmsgint64(&buf);
	accum->orders.last_order = pq_getmsgint64(&buf);
	/* a state exists only once it has an order, so the usual checks hold */
	rfm_orders_check(&accum->orders, ERRCODE_INVALID_BINARY_REPRESENTATION, NULL);
	exact_sum_deserialize(&buf, &accum->total, context);
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(accum);
}

/* The rfm_stats value of a state; NULL when no order was seen. */
Datum
rfm_stats_finalfn(PG_FUNCTION_ARGS)
{
	RfmAccum   *accum = PG_ARGISNULL(0) ? NULL : (RfmAccum *) PG_GETARG_POINTER(0);

	if (accum == NULL || accum->orders.order_count == 0)
		PG_RETURN_NULL();
	PG_RETURN_POINTER(rfm_stats_from_accum(accum));
}
