/*
 * history.c
 *		The segment history of an attachment: for each customer, the
 *		intervals over which it belonged to each segment.
 *
 * Two triggers on the state table and on the tags table write it, so that
 * every statement that writes either, the fold of orders at commit, a
 * rescore, a refill, a customer's new tags, writes the history in the same
 * transaction:
 *
 * - segment_history_row(), AFTER ROW, behind a WHEN clause that lets
 *   through only rows whose memberships may have changed, works out from
 *   the row's old and new values which intervals close and open, and when,
 *   and keeps that until the end of the statement;
 * - segment_history_flush(), AFTER STATEMENT (it fires after the row
 *   events of the statement), writes them with one prepared statement,
 *   which dates nothing before the latest instant of the customer's history.
 *
 * The instants.  A write is dated at its analysis time: the new row's
 * scored_at, or segment_as_of() for a deleted row and for the tags (an
 * order dated after its write counts from the write: nothing is dated
 * after the analysis time); the statement takes none earlier than the
 * customer's history holds, so its intervals follow each other.  What
 * time alone did to a customer since its row was last written (its stored
 * values expired at valid_until) is dated when it happened: the old statistics are judged just after each moment at which
 * time may change them (segments_change_moments()), the one computation
 * the state and the views use (state_judge()).  That judges with the
 * attachment's thresholds, cells' segments and lifecycle limits as they
 * are now; whatever changes them first rewrites every expired row with the
 * old ones (rescore_state(only_expired)), so they are those the old row
 * was written with.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "analysis_time.h"
#include "lifecycle.h"
#include "prepared.h"
#include "segment_set.h"
#include "state.h"

PG_FUNCTION_INFO_V1(segment_history_row);
PG_FUNCTION_INFO_V1(segment_history_flush);

/* The kinds of segment the history keeps. */
static const char *const KIND_RFM = "rfm";
static const char *const KIND_LIFECYCLE = "lifecycle";
static const char *const KIND_RULE = "rule";

/* A segment a customer is in, since when (DT_NOBEGIN: open in the history). */
typedef struct Membership
{
	const char *kind;
	const char *label;
	int			len;
	TimestampTz since;
} Membership;

typedef struct Memberships
{
	int			count;
	int			capacity;
	Membership *items;
} Memberships;

/*
 * One change to write: an interval [entered, left) to insert (left
 * DT_NOEND while a member), or, with entered DT_NOBEGIN, the open interval
 * of the segment to close at left.
 */
typedef struct HistoryChange
{
	Datum		key;
	const char *kind;
	text	   *segment;
	TimestampTz entered;
	TimestampTz left;
} HistoryChange;

/*
 * The changes of the current statement on one table (a state or a tags
 * table), and what judging its rows needs, read once per statement.  In a
 * memory context of its own under TopTransactionContext, deleted when the
 * changes are written; forgotten when the transaction ends, or the
 * subtransaction that made it aborts.
 */
typedef struct HistoryBuffer
{
	Oid			relid;
	int			depth;			/* trigger_depth() of the statement's triggers */
	MemoryContext context;
	SubTransactionId subxact;	/* that made it */
	char		attachment[NAMEDATALEN];
	Oid			key_type;
	int16		key_len;
	bool		key_byval;
	char		key_align;
	bool		judging_loaded;
	bool		has_bins;
	RfmBins		bins;
	LifecycleParams lifecycle;
	int			cell_bins;		/* cells are cell_bins^3, or none */
	struct varlena **cells;		/* segments of each cell, NULL if none */
	int			count;
	int			capacity;
	HistoryChange *changes;
	struct HistoryBuffer *next;
} HistoryBuffer;

static HistoryBuffer *buffers = NULL;
static bool callbacks_registered = false;

/* The prepared statement that writes one attachment's history. */
typedef struct HistoryPlans
{
	char		attachment[NAMEDATALEN];	/* hash key */
	bool		valid;
	Oid			key_type;		/* of the keys given */
	Oid			history;
	Oid			attachments;
	Oid			writers[2];		/* the state and tags tables, whose triggers may write it */
	Oid			owner;			/* of the history table */
	SPIPlanPtr	write;			/* $1 keys, $2 kinds, $3 segments, $4 entered (NULL: ends
								 * the open interval at $5), $5 left (NULL: open) */
} HistoryPlans;

static HTAB *plans_by_attachment = NULL;

/* How many triggers are running, this one included (pg_trigger_depth()). */
static int
trigger_depth(void)
{
	LOCAL_FCINFO(fcinfo, 0);

	InitFunctionCallInfoData(*fcinfo, NULL, 0, InvalidOid, NULL, NULL);
	return DatumGetInt32(pg_trigger_depth(fcinfo));
}

/* Their memory goes with TopTransactionContext. */
static void
history_xact_callback(XactEvent event, void *arg)
{
	buffers = NULL;
}

/*
 * An error between a statement's row events and its flush: the buffers that
 * subtransaction (or one inside it, made later) made go.  Those of the
 * statements around it stay: a trigger of the user's that catches an error
 * in its own subtransaction loses nothing of ours.
 */
static void
history_subxact_callback(SubXactEvent event, SubTransactionId subxact, SubTransactionId parent, void *arg)
{
	HistoryBuffer **link = &buffers;

	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	while (*link != NULL)
		if ((*link)->subxact >= subxact)
		{
			HistoryBuffer *gone = *link;

			*link = gone->next;
			MemoryContextDelete(gone->context);
		}
		else
			link = &(*link)->next;
}

static void
forget_plans(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS scan;
	HistoryPlans *plans;

	hash_seq_init(&scan, plans_by_attachment);
	while ((plans = hash_seq_search(&scan)) != NULL)
		if (relid == InvalidOid || relid == plans->history || relid == plans->attachments)
			plans->valid = false;
}

static void
forget_plans_syscache(Datum arg, int cacheid, uint32 hashvalue)
{
	forget_plans(arg, InvalidOid);
}

/*
 * The buffer of a table for the current statement, made if missing.  A
 * statement on the same table run by a trigger of this one's (a user's
 * trigger on the tags table, say) fires its triggers one level deeper, and
 * has a buffer of its own.
 */
static HistoryBuffer *
history_buffer(Relation relation, const char *attachment)
{
	HistoryBuffer *buffer;
	MemoryContext context;
	int			key = SPI_fnumber(RelationGetDescr(relation), "customer_id");

	for (buffer = buffers; buffer != NULL; buffer = buffer->next)
		if (buffer->relid == RelationGetRelid(relation) && buffer->depth == trigger_depth())
			return buffer;
	if (!callbacks_registered)
	{
		RegisterXactCallback(history_xact_callback, NULL);
		RegisterSubXactCallback(history_subxact_callback, NULL);
		callbacks_registered = true;
	}
	if (key <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("table \"%s\" of attachment \"%s\" has no column customer_id",
						RelationGetRelationName(relation), attachment)));
	context = AllocSetContextCreate(TopTransactionContext, "segment history", ALLOCSET_DEFAULT_SIZES);
	buffer = MemoryContextAllocZero(context, sizeof(HistoryBuffer));
	buffer->context = context;
	buffer->subxact = GetCurrentSubTransactionId();
	buffer->relid = RelationGetRelid(relation);
	buffer->depth = trigger_depth();
	strlcpy(buffer->attachment, attachment, NAMEDATALEN);
	buffer->key_type = TupleDescAttr(RelationGetDescr(relation), key - 1)->atttypid;
	get_typlenbyvalalign(buffer->key_type, &buffer->key_len, &buffer->key_byval, &buffer->key_align);
	buffer->next = buffers;
	buffers = buffer;
	return buffer;
}

static void
add_change(HistoryBuffer *buffer, Datum key, const Membership *membership, TimestampTz entered,
		   TimestampTz left)
{
	MemoryContext caller = MemoryContextSwitchTo(buffer->context);
	HistoryChange *change;

	if (buffer->count == buffer->capacity)
	{
		buffer->capacity = Max(16, buffer->capacity * 2);
		buffer->changes = buffer->changes == NULL ? palloc(buffer->capacity * sizeof(HistoryChange))
			: repalloc(buffer->changes, buffer->capacity * sizeof(HistoryChange));
	}
	change = &buffer->changes[buffer->count++];
	change->key = datumCopy(key, buffer->key_byval, buffer->key_len);
	change->kind = membership->kind;
	change->segment = cstring_to_text_with_len(membership->label, membership->len);
	change->entered = entered;
	change->left = left;
	MemoryContextSwitchTo(caller);
}

static void
add_membership(Memberships *set, const char *kind, const char *label, int len, TimestampTz since)
{
	if (set->count == set->capacity)
	{
		set->capacity = Max(8, set->capacity * 2);
		set->items = set->items == NULL ? palloc(set->capacity * sizeof(Membership))
			: repalloc(set->items, set->capacity * sizeof(Membership));
	}
	set->items[set->count].kind = kind;
	set->items[set->count].label = label;
	set->items[set->count].len = len;
	set->items[set->count].since = since;
	set->count++;
}

static bool
has_membership(const Memberships *set, int count, const Membership *wanted)
{
	for (int i = 0; i < count; i++)
		if (set->items[i].kind == wanted->kind && set->items[i].len == wanted->len &&
			memcmp(set->items[i].label, wanted->label, wanted->len) == 0)
			return true;
	return false;
}

/* The labels of a segment_set, as memberships of this kind. */
static void
add_segment_set(Memberships *set, const char *kind, struct varlena *segments)
{
	SegmentSetView view;
	SegmentSetIter iter;
	SegmentSetLabel label;

	segment_set_view(segments, &view);
	segment_set_iter_init(&iter, &view);
	while (segment_set_iter_next(&iter, &label))
		add_membership(set, kind, label.data, label.len, DT_NOBEGIN);
}

/*
 * Moves a customer from the memberships it has to those it has from
 * instant at on: the intervals of the segments it leaves end there, those
 * of the segments it enters start there.
 */
static void
move_to(HistoryBuffer *buffer, Datum key, Memberships *current, const Memberships *target, TimestampTz at)
{
	int			kept = 0;
	int			count = current->count;

	for (int i = 0; i < count; i++)
	{
		Membership *m = &current->items[i];

		if (has_membership(target, target->count, m))
			current->items[kept++] = *m;
		else if (m->since == DT_NOBEGIN)
			add_change(buffer, key, m, DT_NOBEGIN, at);
		else if (m->since < at)
			add_change(buffer, key, m, m->since, at);
	}
	current->count = kept;
	for (int j = 0; j < target->count; j++)
		if (!has_membership(current, kept, &target->items[j]))
			add_membership(current, target->items[j].kind, target->items[j].label, target->items[j].len, at);
}

/* The intervals a customer entered and is still in. */
static void
finish(HistoryBuffer *buffer, Datum key, const Memberships *current)
{
	for (int i = 0; i < current->count; i++)
		if (current->items[i].since != DT_NOBEGIN)
			add_change(buffer, key, &current->items[i], current->items[i].since, DT_NOEND);
}

/*
 * Reads, once per statement, what judging a customer of the attachment
 * needs: its thresholds, the segments of its cells and its lifecycle
 * limits, as the latest committed change (or this transaction's) left them.
 */
static void
load_judging(HistoryBuffer *buffer, const char *schema)
{
	Oid			attachments = get_relname_relid("attachments", get_namespace_oid(schema, false));
	Oid			saved_user;
	int			saved_context;
	int			nest_level;
	Datum		arg = CStringGetTextDatum(buffer->attachment);
	bool		isnull;
	Datum		value;
	MemoryContext caller;

	if (buffer->judging_loaded)
		return;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	run_as_owner_begin(relation_owner(attachments), schema, &nest_level, &saved_user, &saved_context);
	if (SPI_execute_snapshot(SPI_prepare(psprintf("SELECT t.thresholds, t.cell_segments, t.lifecycle_limits "
												  "FROM %s.attachments t WHERE t.attachment_name OPERATOR(pg_catalog.=) $1",
												  quote_identifier(schema)),
										 1, (Oid[]) {TEXTOID}),
							 &arg, NULL, GetLatestSnapshot(), InvalidSnapshot, true, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read attachment \"%s\"", buffer->attachment);
	run_as_owner_end(nest_level, saved_user, saved_context);

	caller = MemoryContextSwitchTo(buffer->context);
	buffer->has_bins = false;
	lifecycle_params_default(&buffer->lifecycle);
	buffer->cell_bins = 0;
	if (SPI_processed == 1)
	{
		value = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (!isnull)
		{
			rfm_bins_from_thresholds(DatumGetRfmThresholdsP(value), &buffer->bins);
			buffer->has_bins = true;
		}
		value = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);
		if (!isnull)
			lifecycle_params_from_array(DatumGetArrayTypeP(value), &buffer->lifecycle);
		value = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
		if (!isnull)
		{
			ArrayType  *cells = DatumGetArrayTypeP(value);
			Datum	   *elements;
			bool	   *nulls;
			int			count;
			int16		typlen;
			bool		typbyval;
			char		typalign;
			int			bins;

			get_typlenbyvalalign(ARR_ELEMTYPE(cells), &typlen, &typbyval, &typalign);
			deconstruct_array(cells, ARR_ELEMTYPE(cells), typlen, typbyval, typalign, &elements, &nulls, &count);
			for (bins = 1; bins * bins * bins < count; bins++)
				;
			if (bins * bins * bins == count)
			{
				buffer->cell_bins = bins;
				buffer->cells = palloc0(count * sizeof(struct varlena *));
				for (int i = 0; i < count; i++)
					if (!nulls[i])
						buffer->cells[i] = PG_DETOAST_DATUM_COPY(elements[i]);
			}
		}
	}
	MemoryContextSwitchTo(caller);
	SPI_finish();
	buffer->judging_loaded = true;
}

/* What a customer with these statistics belongs to at an instant. */
static void
judged_memberships(HistoryBuffer *buffer, const RfmStatsView *view, TimestampTz at, Memberships *set)
{
	int16		scores = 0;
	LifecycleStage stage;
	const char *stage_name;

	set->count = 0;
	state_judge(view, at, buffer->has_bins ? &buffer->bins : NULL, &buffer->lifecycle, &scores, &stage);
	if (buffer->has_bins && buffer->cell_bins > 0)
	{
		int			position = rfm_cell_position(scores, buffer->cell_bins);

		if (position >= 0 && buffer->cells[position] != NULL)
			add_segment_set(set, KIND_RFM, buffer->cells[position]);
	}
	stage_name = lifecycle_stage_name(stage);
	add_membership(set, KIND_LIFECYCLE, stage_name, strlen(stage_name), DT_NOBEGIN);
}

static int
compare_moments(const void *a, const void *b)
{
	TimestampTz x = *(const TimestampTz *) a;
	TimestampTz y = *(const TimestampTz *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* The history dates changes at finite instants only. */
static void
check_instant(TimestampTz at)
{
	if (TIMESTAMP_NOT_FINITE(at))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the analysis time must be a finite time to write the segment history"),
				 errhint("Set segment.as_of to a finite time, or reset it.")));
}

/* A column of a row by name; false if NULL. */
static bool
column(HeapTuple tuple, TupleDesc desc, const char *name, Datum *value)
{
	int			attnum = SPI_fnumber(desc, name);
	bool		isnull;

	if (attnum <= 0)
		elog(ERROR, "history trigger: no column \"%s\"", name);
	*value = heap_getattr(tuple, attnum, desc, &isnull);
	return !isnull;
}

/*
 * What a state row's customer belongs to as stored (nothing for a
 * placeholder row, which has no scored_at); false if nothing.
 */
static bool
stored_memberships(HeapTuple tuple, TupleDesc desc, Memberships *set, TimestampTz *scored_at)
{
	Datum		value;

	set->count = 0;
	if (tuple == NULL || !column(tuple, desc, "scored_at", &value))
		return false;
	*scored_at = DatumGetTimestampTz(value);
	if (column(tuple, desc, "segments", &value))
		add_segment_set(set, KIND_RFM, (struct varlena *) PG_DETOAST_DATUM_PACKED(value));
	if (column(tuple, desc, "lifecycle_stage", &value))
	{
		text	   *stage = DatumGetTextPP(value);

		add_membership(set, KIND_LIFECYCLE, VARDATA_ANY(stage), VARSIZE_ANY_EXHDR(stage), DT_NOBEGIN);
	}
	return true;
}

/* The changes a written state row makes. */
static void
state_row_changes(HistoryBuffer *buffer, FunctionCallInfo fcinfo, TupleDesc desc, HeapTuple old, HeapTuple new)
{
	Memberships current = {0};
	Memberships target = {0};
	TimestampTz old_scored_at = 0;
	TimestampTz new_scored_at = 0;
	bool		had = stored_memberships(old, desc, &current, &old_scored_at);
	bool		has = stored_memberships(new, desc, &target, &new_scored_at);
	TimestampTz at = has ? new_scored_at : segment_analysis_time();
	Datum		key;
	Datum		value;

	(void) column(old != NULL ? old : new, desc, "customer_id", &key);
	check_instant(at);
	if (had)
	{
		at = Max(at, old_scored_at);
		/* what time alone did since the old row was written */
		if (column(old, desc, "valid_until", &value) && DatumGetTimestampTz(value) <= at &&
			column(old, desc, "stats", &value))
		{
			RfmStatsView view;
			TimestampTz moments[STATE_MAX_MOMENTS];
			int			count;
			Memberships judged = {0};

			load_judging(buffer, state_schemas(fcinfo));
			rfm_stats_view(value, &view);
			count = segments_change_moments(&view.orders, buffer->has_bins ? &buffer->bins : NULL,
											&buffer->lifecycle, moments);
			qsort(moments, count, sizeof(TimestampTz), compare_moments);
			for (int i = 0; i < count; i++)
			{
				if (moments[i] <= old_scored_at || moments[i] >= at || (i > 0 && moments[i] == moments[i - 1]))
					continue;
				judged_memberships(buffer, &view, moments[i] + STATE_MOMENT_MARGIN_USECS, &judged);
				move_to(buffer, key, &current, &judged, moments[i]);
			}
		}
	}
	move_to(buffer, key, &current, &target, at);
	finish(buffer, key, &current);
}

/* The changes a written tags row makes: its rule segments, at the analysis time. */
static void
tags_row_changes(HistoryBuffer *buffer, TupleDesc desc, HeapTuple old, HeapTuple new)
{
	Memberships current = {0};
	Memberships target = {0};
	Datum		key;
	Datum		value;

	(void) column(old != NULL ? old : new, desc, "customer_id", &key);
	check_instant(segment_analysis_time());
	if (old != NULL && column(old, desc, "segments", &value))
		add_segment_set(&current, KIND_RULE, (struct varlena *) PG_DETOAST_DATUM_PACKED(value));
	if (new != NULL && column(new, desc, "segments", &value))
		add_segment_set(&target, KIND_RULE, (struct varlena *) PG_DETOAST_DATUM_PACKED(value));
	move_to(buffer, key, &current, &target, segment_analysis_time());
	finish(buffer, key, &current);
}

/*
 * segment_history_row(attachment, 'state' or 'tags'): AFTER INSERT, UPDATE
 * or DELETE row trigger of a state or tags table.
 */
Datum
segment_history_row(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	HistoryBuffer *buffer;
	HeapTuple	old = NULL;
	HeapTuple	new = NULL;
	TupleDesc	desc;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) || trigdata->tg_trigger->tgnargs != 2)
		elog(ERROR, "segment_history_row must be an AFTER row trigger with two arguments");
	buffer = history_buffer(trigdata->tg_relation, trigdata->tg_trigger->tgargs[0]);
	desc = RelationGetDescr(trigdata->tg_relation);
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		new = trigdata->tg_trigtuple;
	else if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		old = trigdata->tg_trigtuple;
		new = trigdata->tg_newtuple;
	}
	else
		old = trigdata->tg_trigtuple;
	if (strcmp(trigdata->tg_trigger->tgargs[1], "tags") == 0)
		tags_row_changes(buffer, desc, old, new);
	else
		state_row_changes(buffer, fcinfo, desc, old, new);
	return PointerGetDatum(NULL);
}

/*
 * The statements that write an attachment's history from keys of this
 * type; NULL if it keeps none.  Called inside SPI.
 */
static HistoryPlans *
history_plans(const char *attachment, const char *schema, Oid key_type)
{
	HistoryPlans *plans;
	bool		found;
	Datum		args[2];
	Oid			saved_user;
	int			saved_context;
	int			nest_level;
	char	   *write;
	Oid			key_array = get_array_type(key_type);

	if (plans_by_attachment == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = NAMEDATALEN;
		ctl.entrysize = sizeof(HistoryPlans);
		ctl.hcxt = TopMemoryContext;
		plans_by_attachment = hash_create("segment history plans", 8, &ctl,
										  HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
		CacheRegisterRelcacheCallback(forget_plans, (Datum) 0);
		CacheRegisterSyscacheCallback(NAMESPACEOID, forget_plans_syscache, (Datum) 0);
	}
	plans = hash_search(plans_by_attachment, attachment, HASH_ENTER, &found);
	if (found && plans->valid && plans->key_type == key_type)
		return plans;
	if (found && plans->write != NULL)
		SPI_freeplan(plans->write);
	plans->valid = false;
	plans->write = NULL;

	plans->attachments = get_relname_relid("attachments", get_namespace_oid(schema, false));
	run_as_owner_begin(relation_owner(plans->attachments), schema, &nest_level, &saved_user, &saved_context);
	args[0] = CStringGetTextDatum(attachment);
	args[1] = ObjectIdGetDatum(key_type);
	if (SPI_execute_with_args(psprintf("SELECT s.write, s.history, s.state, s.tags "
									   "FROM %s.history_statements($1, $2) s",
									   quote_identifier(state_internal_schema())),
							  2, (Oid[]) {TEXTOID, REGTYPEOID}, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the history statements of attachment \"%s\"", attachment);
	run_as_owner_end(nest_level, saved_user, saved_context);
	if (SPI_processed == 0)
		return NULL;
	write = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	plans->history = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &found));
	for (int i = 0; i < 2; i++)
	{
		Datum		writer = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3 + i, &found);

		plans->writers[i] = found ? InvalidOid : DatumGetObjectId(writer);
	}
	plans->owner = relation_owner(plans->history);
	run_as_owner_begin(plans->owner, schema, &nest_level, &saved_user, &saved_context);
	/*
	 * Every row it reads, it reads by customer; planned while the history is
	 * new (and so thought small), a sequential scan per customer would be
	 * kept for the bulk loads that fill it.
	 */
	(void) set_config_option("enable_seqscan", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	plans->write = prepare_kept(write, 5, (Oid[]) {key_array, TEXTARRAYOID, TEXTARRAYOID, TIMESTAMPTZARRAYOID,
		TIMESTAMPTZARRAYOID});
	run_as_owner_end(nest_level, saved_user, saved_context);
	plans->key_type = key_type;
	plans->valid = true;
	return plans;
}

static ArrayType *
array_of(Datum *values, bool *nulls, int count, Oid type, int16 typlen, bool typbyval, char typalign)
{
	int			dims[1] = {count};
	int			lbs[1] = {1};

	return construct_md_array(values, nulls, 1, dims, lbs, type, typlen, typbyval, typalign);
}

/* Runs the statement that writes the changes. */
static void
write_changes(HistoryBuffer *buffer, SPIPlanPtr plan)
{
	int			n = buffer->count;
	Datum	   *keys = palloc(n * sizeof(Datum));
	Datum	   *kinds = palloc(n * sizeof(Datum));
	Datum	   *segments = palloc(n * sizeof(Datum));
	Datum	   *entered = palloc(n * sizeof(Datum));
	bool	   *entered_nulls = palloc(n * sizeof(bool));
	Datum	   *left = palloc(n * sizeof(Datum));
	bool	   *left_nulls = palloc(n * sizeof(bool));
	Datum		args[5];

	for (int i = 0; i < n; i++)
	{
		HistoryChange *change = &buffer->changes[i];

		keys[i] = change->key;
		kinds[i] = CStringGetTextDatum(change->kind);
		segments[i] = PointerGetDatum(change->segment);
		entered[i] = TimestampTzGetDatum(change->entered);
		entered_nulls[i] = change->entered == DT_NOBEGIN;
		left[i] = TimestampTzGetDatum(change->left);
		left_nulls[i] = change->left == DT_NOEND;
	}
	args[0] = PointerGetDatum(array_of(keys, NULL, n, buffer->key_type, buffer->key_len, buffer->key_byval,
									   buffer->key_align));
	args[1] = PointerGetDatum(array_of(kinds, NULL, n, TEXTOID, -1, false, TYPALIGN_INT));
	args[2] = PointerGetDatum(array_of(segments, NULL, n, TEXTOID, -1, false, TYPALIGN_INT));
	args[3] = PointerGetDatum(array_of(entered, entered_nulls, n, TIMESTAMPTZOID, sizeof(TimestampTz), true,
									   TYPALIGN_DOUBLE));
	args[4] = PointerGetDatum(array_of(left, left_nulls, n, TIMESTAMPTZOID, sizeof(TimestampTz), true,
									   TYPALIGN_DOUBLE));
	run_prepared(plan, args, NULL);
}

/*
 * segment_history_flush(attachment): AFTER INSERT, UPDATE or DELETE
 * statement trigger of a state or tags table; writes what its row events
 * found, closing intervals before opening others.
 */
Datum
segment_history_flush(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	const char *schema;
	HistoryBuffer *buffer;
	HistoryBuffer **link;
	HistoryPlans *plans;
	Oid			saved_user;
	int			saved_context;
	int			nest_level;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) || trigdata->tg_trigger->tgnargs != 1)
		elog(ERROR, "segment_history_flush must be an AFTER statement trigger with one argument");
	for (link = &buffers; *link != NULL; link = &(*link)->next)
		if ((*link)->relid == RelationGetRelid(trigdata->tg_relation) && (*link)->depth == trigger_depth())
			break;
	buffer = *link;
	if (buffer == NULL)
		return PointerGetDatum(NULL);
	/* taken off the list first: the next statement starts afresh */
	*link = buffer->next;
	if (buffer->count == 0)
	{
		MemoryContextDelete(buffer->context);
		return PointerGetDatum(NULL);
	}

	schema = state_schemas(fcinfo);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	plans = history_plans(buffer->attachment, schema, buffer->key_type);
	if (plans != NULL)
	{
		/* only the attachment's own tables write its history */
		if (buffer->relid != plans->writers[0] && buffer->relid != plans->writers[1])
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("table \"%s\" does not write the segment history of attachment \"%s\"",
							RelationGetRelationName(trigdata->tg_relation), buffer->attachment)));
		run_as_owner_begin(plans->owner, schema, &nest_level, &saved_user, &saved_context);
		/* as it was planned, should the plan cache plan it again */
		(void) set_config_option("enable_seqscan", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0,
								 false);
		write_changes(buffer, plans->write);
		run_as_owner_end(nest_level, saved_user, saved_context);
	}
	SPI_finish();
	MemoryContextDelete(buffer->context);
	return PointerGetDatum(NULL);
}
