/*
 * segment_set_gin.c
 *		The GIN operator class segment_set_ops: &&, @>, <@, = and ?.
 *
 * The keys of a set are the 32-bit hashes of its labels (hash_any of the
 * bytes), deduplicated: small fixed-size keys however long the labels.  Two
 * labels can share a hash, so a key match only says that an item may match:
 * every strategy asks for a recheck, except @> of the empty set, which every
 * non-NULL item satisfies.
 *
 * Empty query sets need a search mode: x @> '{}' is true for every non-NULL
 * item (GIN_SEARCH_MODE_ALL); x <@ q holds for the empty item whatever q is,
 * and x = '{}' only for it (GIN_SEARCH_MODE_INCLUDE_EMPTY); x && '{}' is
 * never true (no keys, default mode: no match).
 */
#include "postgres.h"

#include "access/gin.h"
#include "access/stratnum.h"
#include "fmgr.h"

#include "compat.h"
#include "segment_set.h"

#define SEGMENT_SET_OVERLAP_STRATEGY	1	/* && */
#define SEGMENT_SET_CONTAINS_STRATEGY	2	/* @> */
#define SEGMENT_SET_CONTAINED_STRATEGY	3	/* <@ */
#define SEGMENT_SET_EQUAL_STRATEGY		4	/* = */
#define SEGMENT_SET_HAS_STRATEGY		5	/* ? */

PG_FUNCTION_INFO_V1(segment_set_gin_extract_value);
PG_FUNCTION_INFO_V1(segment_set_gin_extract_query);
PG_FUNCTION_INFO_V1(segment_set_gin_consistent);
PG_FUNCTION_INFO_V1(segment_set_gin_triconsistent);

static int
int32_cmp(const void *a, const void *b)
{
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	return (x > y) - (x < y);
}

/* The keys of a set: its labels' hashes, sorted and unique. */
static Datum *
set_keys(Datum set, int32 *nkeys)
{
	SegmentSetView view;
	SegmentSetIter iter;
	SegmentSetLabel label;
	int32	   *hashes;
	Datum	   *keys;
	int			count = 0;

	segment_set_view((struct varlena *) PG_DETOAST_DATUM_PACKED(set), &view);
	*nkeys = 0;
	if (view.count == 0)
		return NULL;
	hashes = palloc(sizeof(int32) * view.count);
	segment_set_iter_init(&iter, &view);
	while (segment_set_iter_next(&iter, &label))
		hashes[count++] = segment_set_label_key(label.data, label.len);
	qsort(hashes, count, sizeof(int32), int32_cmp);
	keys = palloc(sizeof(Datum) * count);
	for (int i = 0; i < count; i++)
		if (i == 0 || hashes[i] != hashes[i - 1])
			keys[(*nkeys)++] = Int32GetDatum(hashes[i]);
	pfree(hashes);
	return keys;
}

/* GIN extractValue: the keys of an indexed set. */
Datum
segment_set_gin_extract_value(PG_FUNCTION_ARGS)
{
	int32	   *nkeys = (int32 *) PG_GETARG_POINTER(1);

	PG_RETURN_POINTER(set_keys(PG_GETARG_DATUM(0), nkeys));
}

/* GIN extractQuery: the keys of the query and, for empty sets, the search mode. */
Datum
segment_set_gin_extract_query(PG_FUNCTION_ARGS)
{
	int32	   *nkeys = (int32 *) PG_GETARG_POINTER(1);
	StrategyNumber strategy = PG_GETARG_UINT16(2);
	int32	   *search_mode = (int32 *) PG_GETARG_POINTER(6);
	Datum	   *keys;

	if (strategy == SEGMENT_SET_HAS_STRATEGY)
	{
		text	   *label = PG_GETARG_TEXT_PP(0);

		keys = palloc(sizeof(Datum));
		keys[0] = Int32GetDatum(segment_set_label_key(VARDATA_ANY(label),
													  VARSIZE_ANY_EXHDR(label)));
		*nkeys = 1;
		PG_RETURN_POINTER(keys);
	}

	keys = set_keys(PG_GETARG_DATUM(0), nkeys);
	switch (strategy)
	{
		case SEGMENT_SET_OVERLAP_STRATEGY:
			/* no keys: nothing overlaps the empty set, the default mode */
			break;
		case SEGMENT_SET_CONTAINS_STRATEGY:
			if (*nkeys == 0)
				*search_mode = GIN_SEARCH_MODE_ALL;
			break;
		case SEGMENT_SET_CONTAINED_STRATEGY:
			*search_mode = GIN_SEARCH_MODE_INCLUDE_EMPTY;
			break;
		case SEGMENT_SET_EQUAL_STRATEGY:
			if (*nkeys == 0)
				*search_mode = GIN_SEARCH_MODE_INCLUDE_EMPTY;
			break;
		default:
			elog(ERROR, "segment_set_ops: unknown strategy number %d", strategy);
	}
	PG_RETURN_POINTER(keys);
}

/* GIN consistent: may an item with these keys match?  Mostly with a recheck. */
Datum
segment_set_gin_consistent(PG_FUNCTION_ARGS)
{
	bool	   *check = (bool *) PG_GETARG_POINTER(0);
	StrategyNumber strategy = PG_GETARG_UINT16(1);
	int32		nkeys = PG_GETARG_INT32(3);
	bool	   *recheck = (bool *) PG_GETARG_POINTER(5);
	bool		result;

	*recheck = true;
	switch (strategy)
	{
		case SEGMENT_SET_OVERLAP_STRATEGY:
			result = false;
			for (int i = 0; i < nkeys && !result; i++)
				result = check[i];
			break;
		case SEGMENT_SET_CONTAINS_STRATEGY:
		case SEGMENT_SET_EQUAL_STRATEGY:
			result = true;
			for (int i = 0; i < nkeys && result; i++)
				result = check[i];
			/* every non-NULL set contains the empty set */
			if (strategy == SEGMENT_SET_CONTAINS_STRATEGY && nkeys == 0)
				*recheck = false;
			break;
		case SEGMENT_SET_CONTAINED_STRATEGY:
			/* the item may have labels the query lacks, or none at all */
			result = true;
			break;
		case SEGMENT_SET_HAS_STRATEGY:
			result = check[0];
			break;
		default:
			elog(ERROR, "segment_set_ops: unknown strategy number %d", strategy);
	}
	PG_RETURN_BOOL(result);
}

/*
 * GIN triConsistent: as consistent, with keys that may be present.  A key
 * match is never certain (hashes collide), so the answer is GIN_MAYBE or
 * GIN_FALSE, GIN_TRUE only for @> '{}'.
 */
Datum
segment_set_gin_triconsistent(PG_FUNCTION_ARGS)
{
	GinTernaryValue *check = (GinTernaryValue *) PG_GETARG_POINTER(0);
	StrategyNumber strategy = PG_GETARG_UINT16(1);
	int32		nkeys = PG_GETARG_INT32(3);
	GinTernaryValue result;

	switch (strategy)
	{
		case SEGMENT_SET_OVERLAP_STRATEGY:
			result = GIN_FALSE;
			for (int i = 0; i < nkeys && result == GIN_FALSE; i++)
				if (check[i] != GIN_FALSE)
					result = GIN_MAYBE;
			break;
		case SEGMENT_SET_CONTAINS_STRATEGY:
		case SEGMENT_SET_EQUAL_STRATEGY:
			result = GIN_MAYBE;
			for (int i = 0; i < nkeys && result == GIN_MAYBE; i++)
				if (check[i] == GIN_FALSE)
					result = GIN_FALSE;
			if (strategy == SEGMENT_SET_CONTAINS_STRATEGY && nkeys == 0)
				result = GIN_TRUE;
			break;
		case SEGMENT_SET_CONTAINED_STRATEGY:
			result = GIN_MAYBE;
			break;
		case SEGMENT_SET_HAS_STRATEGY:
			result = check[0] == GIN_FALSE ? GIN_FALSE : GIN_MAYBE;
			break;
		default:
			elog(ERROR, "segment_set_ops: unknown strategy number %d", strategy);
	}
	PG_RETURN_GIN_TERNARY_VALUE(result);
}
