/*
 * segment_set_agg.c
 *		segment_set_agg(text): the aggregate that gathers the labels of a
 *		group into a segment_set, with its parallel support.
 */
#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/memutils.h"

#include "compat.h"
#include "segment_set.h"

PG_FUNCTION_INFO_V1(segment_set_agg_transfn);
PG_FUNCTION_INFO_V1(segment_set_agg_combinefn);
PG_FUNCTION_INFO_V1(segment_set_agg_serializefn);
PG_FUNCTION_INFO_V1(segment_set_agg_deserializefn);
PG_FUNCTION_INFO_V1(segment_set_agg_finalfn);

/*
 * segment_set_agg(text): the set of the labels of a group, NULLs skipped.
 *
 * The state keeps the labels as they come, in one buffer; when their number
 * doubles it is sorted and deduplicated, so a group with many repeated
 * labels stays small.
 */

typedef struct AggLabel
{
	int			offset;			/* in bytes.data */
	int			len;
} AggLabel;

typedef struct SegmentSetAggState
{
	MemoryContext context;
	StringInfoData bytes;
	AggLabel   *labels;
	int			count;
	int			capacity;
	int			compact_at;		/* count that triggers a compaction */
} SegmentSetAggState;

#define AGG_MIN_COMPACT_AT 256

static SegmentSetAggState *
agg_state_create(MemoryContext context)
{
	MemoryContext old = MemoryContextSwitchTo(context);
	SegmentSetAggState *state = palloc(sizeof(SegmentSetAggState));

	state->context = context;
	initStringInfo(&state->bytes);
	state->capacity = 16;
	state->labels = palloc(sizeof(AggLabel) * state->capacity);
	state->count = 0;
	state->compact_at = AGG_MIN_COMPACT_AT;
	MemoryContextSwitchTo(old);
	return state;
}

/* The state's labels as SegmentSetLabels, canonical (palloc'd, current context). */
static SegmentSetLabel *
agg_state_labels(SegmentSetAggState *state, int *count)
{
	SegmentSetLabel *labels = palloc(sizeof(SegmentSetLabel) * Max(state->count, 1));

	for (int i = 0; i < state->count; i++)
	{
		labels[i].data = state->bytes.data + state->labels[i].offset;
		labels[i].len = state->labels[i].len;
	}
	*count = segment_set_canonicalize(labels, state->count);
	return labels;
}

/* Reports a group with too many different labels (54000). */
static void
check_group_label_count(int count)
{
	if (count > SEGMENT_SET_MAX_LABELS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a segment_set can hold at most %d labels", SEGMENT_SET_MAX_LABELS),
				 errdetail("The group has %d or more different labels.", count)));
}

/* Sorts and deduplicates the state's labels; too many is an error already. */
static void
agg_state_compact(SegmentSetAggState *state)
{
	MemoryContext old = MemoryContextSwitchTo(state->context);
	int			count;
	SegmentSetLabel *labels = agg_state_labels(state, &count);
	StringInfoData bytes;

	check_group_label_count(count);
	initStringInfo(&bytes);
	for (int i = 0; i < count; i++)
	{
		state->labels[i].offset = bytes.len;
		state->labels[i].len = labels[i].len;
		appendBinaryStringInfo(&bytes, labels[i].data, labels[i].len);
	}
	pfree(labels);
	pfree(state->bytes.data);
	state->bytes = bytes;
	state->count = count;
	state->compact_at = Max(2 * count, AGG_MIN_COMPACT_AT);
	MemoryContextSwitchTo(old);
}

static void
agg_state_add(SegmentSetAggState *state, const char *data, int len)
{
	MemoryContext old;

	if (state->count >= state->compact_at)
		agg_state_compact(state);
	old = MemoryContextSwitchTo(state->context);
	if (state->count == state->capacity)
	{
		state->capacity *= 2;
		state->labels = repalloc(state->labels, sizeof(AggLabel) * state->capacity);
	}
	state->labels[state->count].offset = state->bytes.len;
	state->labels[state->count].len = len;
	state->count++;
	appendBinaryStringInfo(&state->bytes, data, len);
	MemoryContextSwitchTo(old);
}

static MemoryContext
agg_context(FunctionCallInfo fcinfo, const char *name)
{
	MemoryContext context;

	if (!AggCheckCallContext(fcinfo, &context))
		elog(ERROR, "%s called in non-aggregate context", name);
	return context;
}

/* segment_set_agg: adds a label; NULL labels are skipped. */
Datum
segment_set_agg_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext context = agg_context(fcinfo, "segment_set_agg_transfn");
	SegmentSetAggState *state = PG_ARGISNULL(0) ? NULL :
		(SegmentSetAggState *) PG_GETARG_POINTER(0);
	text	   *label;

	if (PG_ARGISNULL(1))
	{
		if (state == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(state);
	}
	label = PG_GETARG_TEXT_PP(1);
	segment_set_check_label(VARSIZE_ANY_EXHDR(label));
	if (state == NULL)
		state = agg_state_create(context);
	agg_state_add(state, VARDATA_ANY(label), VARSIZE_ANY_EXHDR(label));
	PG_RETURN_POINTER(state);
}

/* segment_set_agg: merges the states of two partial aggregations. */
Datum
segment_set_agg_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext context = agg_context(fcinfo, "segment_set_agg_combinefn");
	SegmentSetAggState *state = PG_ARGISNULL(0) ? NULL :
		(SegmentSetAggState *) PG_GETARG_POINTER(0);
	SegmentSetAggState *other = PG_ARGISNULL(1) ? NULL :
		(SegmentSetAggState *) PG_GETARG_POINTER(1);

	if (other == NULL)
	{
		if (state == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(state);
	}
	if (state == NULL)
		state = agg_state_create(context);
	for (int i = 0; i < other->count; i++)
		agg_state_add(state, other->bytes.data + other->labels[i].offset,
					  other->labels[i].len);
	PG_RETURN_POINTER(state);
}

/* segment_set_agg: the state as bytes, an int32 count and labels with a length byte. */
Datum
segment_set_agg_serializefn(PG_FUNCTION_ARGS)
{
	SegmentSetAggState *state = (SegmentSetAggState *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	agg_context(fcinfo, "segment_set_agg_serializefn");
	agg_state_compact(state);
	pq_begintypsend(&buf);
	pq_sendint32(&buf, state->count);
	for (int i = 0; i < state->count; i++)
	{
		pq_sendbyte(&buf, state->labels[i].len);
		pq_sendbytes(&buf, state->bytes.data + state->labels[i].offset,
					 state->labels[i].len);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* segment_set_agg: a state from the bytes of segment_set_agg_serializefn. */
Datum
segment_set_agg_deserializefn(PG_FUNCTION_ARGS)
{
	MemoryContext context = agg_context(fcinfo, "segment_set_agg_deserializefn");
	bytea	   *bytes = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;
	SegmentSetAggState *state = agg_state_create(context);
	int			count;

	buf.data = VARDATA_ANY(bytes);
	buf.len = VARSIZE_ANY_EXHDR(bytes);
	buf.maxlen = buf.len;
	buf.cursor = 0;
	count = pq_getmsgint(&buf, 4);
	for (int i = 0; i < count; i++)
	{
		int			len = pq_getmsgbyte(&buf);

		if (len == 0)
			elog(ERROR, "invalid segment_set_agg state: empty label");
		agg_state_add(state, pq_getmsgbytes(&buf, len), len);
	}
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(state);
}

/* segment_set_agg: the set; NULL when the group had no non-NULL label. */
Datum
segment_set_agg_finalfn(PG_FUNCTION_ARGS)
{
	SegmentSetAggState *state;
	SegmentSetLabel *labels;
	int			count;

	agg_context(fcinfo, "segment_set_agg_finalfn");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = (SegmentSetAggState *) PG_GETARG_POINTER(0);
	labels = agg_state_labels(state, &count);
	check_group_label_count(count);
	PG_RETURN_POINTER(segment_set_from_labels(labels, count));
}
