/*
 * state_row.c
 *		What a maintained state row stores beside a customer's statistics:
 *		the scores against the attachment's stored thresholds, the
 *		lifecycle stage, the segments of the score's cell, the analysis
 *		time they were computed at and the span over which time alone
 *		leaves them unchanged.
 *
 * state_values() is the one computation of those values: the fold of
 * orders into the state (state_fold.c), the refresh functions and the
 * views of a maintained attachment all call it.
 *
 * A customer whose last order is later than the analysis time is judged at
 * that order (recency 0), and the span starts at that order: before it, the
 * views judge the customer by the orders up to the analysis time instead.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "lifecycle.h"
#include "rfm.h"
#include "segment_set.h"
#include "state.h"

PG_FUNCTION_INFO_V1(state_values);

/*
 * The span to store for values computed at scored_at, which hold over
 * [true_from, true_until).  Any span inside that one is true; the one
 * stored keeps the row's previous bounds while they stay inside it and
 * around scored_at, so that the indexed bounds rarely change and most
 * rewrites of a row are heap-only updates.  A new bound is scored_at for
 * the start (the latest start, so the most likely to be kept next time)
 * and the true end.
 */
static void
span_to_store(bool previous_known, TimestampTz previous_from, TimestampTz previous_until,
			  TimestampTz scored_at, TimestampTz true_from, TimestampTz true_until,
			  TimestampTz *from, TimestampTz *until)
{
	*from = scored_at;
	*until = true_until;
	if (previous_known)
	{
		if (true_from <= previous_from && previous_from <= scored_at)
			*from = previous_from;
		if (scored_at < previous_until && previous_until <= true_until)
			*until = previous_until;
	}
}

/*
 * What state_values() keeps across the rows of a statement (fn_extra): its
 * result's tuple descriptor, and the last array of cells' segments it was
 * given, split into elements, so that a statement writing many rows with
 * the same array splits it once.
 */
typedef struct StateValuesCache
{
	TupleDesc	desc;
	struct varlena *cells;		/* a copy of the array last seen */
	Datum	   *elements;		/* point into that copy */
	bool	   *nulls;
	int			count;
	int			bins;			/* count = bins^3, else 0 */
} StateValuesCache;

/* The cache, with cells split for this array (compared by its bytes). */
static StateValuesCache *
state_values_cache(FunctionCallInfo fcinfo, ArrayType *cells)
{
	StateValuesCache *cache = (StateValuesCache *) fcinfo->flinfo->fn_extra;
	MemoryContext caller;

	if (cache == NULL)
	{
		TupleDesc	desc;

		if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "state_values must return a composite type");
		cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(StateValuesCache));
		caller = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		cache->desc = BlessTupleDesc(CreateTupleDescCopy(desc));
		MemoryContextSwitchTo(caller);
		fcinfo->flinfo->fn_extra = cache;
	}
	if (cells != NULL &&
		(cache->cells == NULL || VARSIZE(cache->cells) != VARSIZE(cells) ||
		 memcmp(cache->cells, cells, VARSIZE(cells)) != 0))
	{
		int16		typlen;
		bool		typbyval;
		char		typalign;

		if (cache->cells != NULL)
		{
			pfree(cache->cells);
			pfree(cache->elements);
			pfree(cache->nulls);
		}
		caller = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		cache->cells = palloc(VARSIZE(cells));
		memcpy(cache->cells, cells, VARSIZE(cells));
		get_typlenbyvalalign(ARR_ELEMTYPE(cells), &typlen, &typbyval, &typalign);
		deconstruct_array((ArrayType *) cache->cells, ARR_ELEMTYPE(cells), typlen, typbyval, typalign,
						  &cache->elements, &cache->nulls, &cache->count);
		MemoryContextSwitchTo(caller);
		for (cache->bins = 1; cache->bins * cache->bins * cache->bins < cache->count; cache->bins++)
			;
		if (cache->bins * cache->bins * cache->bins != cache->count)
			cache->bins = 0;
	}
	return cache;
}

/*
 * The segments of a score cell, from the segments of every cell of the
 * grid in the order of their codes (the attachment's cell_segments, bins^3
 * of them); the empty set when there is no such cell.
 */
static Datum
cell_segments_of(const StateValuesCache *cache, int16 scores)
{
	int			position = rfm_cell_position(scores, cache->bins);

	if (position < 0 || cache->nulls[position])
		return PointerGetDatum(segment_set_from_labels(NULL, 0));
	return cache->elements[position];
}

/*
 * The position of a score cell in the grid of bins^3 cells in the order of
 * their codes (that of the attachment's cell_segments); -1 if the scores
 * are not a cell of that grid.
 */
int
rfm_cell_position(int16 scores, int bins)
{
	int			position = 0;

	for (int d = 0; d < RFM_DIMENSIONS; d++)
	{
		int			score = rfm_score_of(scores, (RfmDimension) d);

		if (score < 1 || score > bins)
			return -1;
		position = position * bins + score - 1;
	}
	return position;
}

/*
 * What a customer with these statistics is at analysis time as_of: the
 * scores against bins (NULL: none, *scores left alone) and the lifecycle
 * stage.  A customer whose last order is later is judged at that order.
 */
void
state_judge(const RfmStatsView *view, TimestampTz as_of, const RfmBins *bins,
			const LifecycleParams *lifecycle, int16 *scores, LifecycleStage *stage)
{
	TimestampTz judged_at = Max(as_of, view->orders.last_order);

	if (bins != NULL)
	{
		double		customer[RFM_DIMENSIONS];

		rfm_customer_values(view, judged_at, customer);
		*scores = rfm_bins_score(bins, customer);
	}
	*stage = lifecycle_stage_of(&view->orders, judged_at, lifecycle);
}

/*
 * state_values(stats, as_of, thresholds, cell_segments, previous_from,
 * previous_until, lifecycle_limits): (scores, lifecycle_stage, segments,
 * scored_at, valid_until, valid_from) of a state row with these statistics
 * at analysis time as_of, the stage judged with the attachment's limits
 * (NULL: the defaults).  NULL thresholds give NULL scores and no segments;
 * cell_segments are the segments of every score cell in the order of
 * their codes; NULL stats give NULL; previous_from and previous_until are
 * the row's stored span, NULL if it has none.
 */
Datum
state_values(PG_FUNCTION_ARGS)
{
	StateValuesCache *cache;
	RfmStatsView view;
	TimestampTz as_of;
	TimestampTz judged_at;
	LifecycleParams lifecycle;
	RfmBins		bins;
	const RfmBins *scoring_bins = NULL;
	TimestampTz true_from;
	TimestampTz true_until;
	int16		scores = 0;
	LifecycleStage stage;
	TimestampTz from;
	TimestampTz until;
	Datum		values[6];
	bool		nulls[6] = {false, false, false, false, false, false};

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	cache = state_values_cache(fcinfo, PG_ARGISNULL(3) ? NULL : PG_GETARG_ARRAYTYPE_P(3));

	rfm_stats_view(PG_GETARG_DATUM(0), &view);
	as_of = PG_GETARG_TIMESTAMPTZ(1);
	if (TIMESTAMP_NOT_FINITE(as_of))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of must be a finite time")));
	judged_at = Max(as_of, view.orders.last_order);

	if (!PG_ARGISNULL(2))
	{
		rfm_bins_from_thresholds(DatumGetRfmThresholdsP(PG_GETARG_DATUM(2)), &bins);
		scoring_bins = &bins;
	}
	/* the declaration of 0.6.0 has no limits: the library may be newer than the SQL */
	lifecycle_params_from_array(PG_NARGS() < 7 || PG_ARGISNULL(6) ? NULL : PG_GETARG_ARRAYTYPE_P(6), &lifecycle);
	state_judge(&view, as_of, scoring_bins, &lifecycle, &scores, &stage);
	if (scoring_bins == NULL)
	{
		nulls[0] = true;
		values[2] = PointerGetDatum(segment_set_from_labels(NULL, 0));
	}
	else
	{
		values[0] = RfmGetDatum(scores);
		values[2] = PG_ARGISNULL(3) ? PointerGetDatum(segment_set_from_labels(NULL, 0))
			: cell_segments_of(cache, scores);
	}
	values[1] = CStringGetTextDatum(lifecycle_stage_name(stage));
	values[3] = TimestampTzGetDatum(as_of);
	segments_validity_of(&view.orders, judged_at, scoring_bins, &lifecycle, &true_from, &true_until);
	span_to_store(!PG_ARGISNULL(4) && !PG_ARGISNULL(5),
				  PG_ARGISNULL(4) ? 0 : PG_GETARG_TIMESTAMPTZ(4),
				  PG_ARGISNULL(5) ? 0 : PG_GETARG_TIMESTAMPTZ(5),
				  as_of, true_from, true_until, &from, &until);
	/* before its last order, the customer is judged without the later ones */
	from = Max(from, view.orders.last_order);
	values[4] = TimestampTzGetDatum(until);
	values[5] = TimestampTzGetDatum(from);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(cache->desc, values, nulls)));
}
