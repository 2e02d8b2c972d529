/*
 * state_trigger.c
 *		The trigger that keeps an attachment's per-customer state table
 *		current as orders are inserted, updated and deleted.
 *
 * The state table holds one row per customer: (customer_id, stats).  An
 * inserted order is merged into its customer's statistics without reading
 * the customer's other orders; an updated or deleted order makes the
 * trigger derive that customer's statistics again from the orders.
 *
 * Concurrency: every change for a customer first locks the customer's state
 * row, if it has one (update_customer()), so writers of one customer take
 * turns; what the trigger reads after the lock is granted, it reads with a
 * fresh snapshot (READ COMMITTED), so it sees everything the previous
 * holder committed.  Under REPEATABLE READ a stale read ends in a
 * serialization failure instead of a wrong state.  Triggers made by 0.1.0
 * take a transaction-level advisory lock per customer instead.
 *
 * Beside the statistics, the row holds what they give at the time of the
 * write: the customer's scores against the attachment's stored thresholds,
 * lifecycle stage, RFM segments (looked up in the attachment's cells table)
 * and the span of time over which time alone leaves those unchanged
 * (state_validity.c; span_to_store()).  Threshold refreshes lock the state
 * table against writers, and every write takes its lock before its
 * snapshot, so no row is scored against thresholds being replaced.
 *
 * The state row, the thresholds and the score cell are read by primary key
 * (primary_key.c) and the new values computed here.  An existing row is
 * rewritten in place through the lock on it (locked_row.c) when nothing
 * about the table asks for a statement; otherwise, and for a new row, one
 * prepared statement writes it.  An inserted order is merged without
 * reading the customer's other orders, an updated or deleted one makes the
 * trigger read them all.  The refresh functions compute the same values in
 * SQL (derived_columns()).
 *
 * Arguments of the trigger: the state table (a quoted, qualified name), the
 * customer, order time and amount columns of the orders table, and the
 * attachment's name.  Triggers made by version 0.1.0 lack the name: they
 * keep the statistics only.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/parsenodes.h"
#include "parser/parse_coerce.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgrprotos.h"
#include "utils/typcache.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "analysis_time.h"
#include "prepared.h"
#include "lifecycle.h"
#include "rfm.h"
#include "segment_set.h"
#include "state.h"

PG_FUNCTION_INFO_V1(segment_state_trigger);
PG_FUNCTION_INFO_V1(state_columns_sql);

/* How values of an orders column become the type the statistics take. */
typedef struct Conversion
{
	CoercionPathType path;		/* RELABELTYPE: as they are */
	FmgrInfo	function;		/* the cast, or the column type's output */
	int			nargs;			/* of the cast */
	FmgrInfo	input;			/* COERCEVIAIO: the target type's input */
	Oid			input_param;
} Conversion;

/*
 * The columns of a state table after customer_id, in the order the
 * statements write them; state tables made before 0.4.0 lack valid_from
 * until the extension is updated.
 */
#define DERIVED_COLUMNS "scores, lifecycle_stage, segments, scored_at, valid_until"
#define VALUE_COLUMNS "stats, " DERIVED_COLUMNS
enum
{
	STATS, SCORES, STAGE, SEGMENTS, SCORED_AT, VALID_UNTIL, VALID_FROM, VALUE_COUNT
};
static const char *const value_column_names[VALUE_COUNT] = {
	"stats", "scores", "lifecycle_stage", "segments", "scored_at", "valid_until", "valid_from"
};
#define STORED_COLUMNS (1 + VALUE_COUNT)	/* customer_id, then the values */

/* What one trigger prepares on its first use, kept for the life of the backend. */
typedef struct StatePlans
{
	Oid			trigger_oid;	/* hash key */
	int			customer_attnum;
	int			time_attnum;
	int			amount_attnum;
	Oid			state_oid;
	FmgrInfo	hash;			/* hash function of the customer key */
	Oid			collation;		/* and its collation */
	SPIPlanPtr	merge;			/* $1 customer, $2 time, $3 amount; 0.1.0 triggers */
	SPIPlanPtr	rederive;		/* $1 customer; 0.1.0 triggers */
	SPIPlanPtr	clear;

	/* 0.2.0 triggers and later; store_existing is NULL for 0.1.0 */
	SPIPlanPtr	store_existing; /* $1 customer, $2..$7 the columns after it */
	SPIPlanPtr	store_new;		/* the same; nothing if the row exists */
	SPIPlanPtr	fresh;			/* $1 customer: rfm_stats of its orders */
	SPIPlanPtr	remove;			/* $1 customer */
	Conversion	to_time;		/* order time to timestamptz */
	Conversion	to_amount;		/* amount to numeric */
	/* of the state table, after customer_id, in the order of value_column_names */
	AttrNumber	value_attnums[VALUE_COUNT];
	Oid			attachments_oid;
	Datum		attachment_name;	/* text, in TopMemoryContext */
	AttrNumber	thresholds_attnum;	/* of attachments */
	Oid			cells_oid;
	AttrNumber	cell_segments_attnum;	/* of the cells table */
} StatePlans;

static HTAB *plans_by_trigger = NULL;

/*
 * SQL for the columns after stats, given the SQL of the statistics.  An
 * order dated after the analysis time makes the customer count as judged
 * at that order (recency 0), as the views do.
 */
static char *
derived_columns(const char *stats, const char *ext, const char *attachment, const char *cells)
{
	/* a subquery, so that the analysis time is read once per statement */
	const char *now = psprintf("(SELECT %s.segment_as_of())", ext);
	const char *as_of = psprintf("GREATEST(%s, %s.last_order_time(%s))", now, ext, stats);
	const char *thresholds = psprintf("(SELECT t.thresholds FROM %s.attachments t WHERE t.attachment_name OPERATOR(pg_catalog.=) %s)",
									  ext, quote_literal_cstr(attachment));
	const char *scores = psprintf("%s.rfm_score(%s, %s, %s)", ext, stats, as_of, thresholds);

	return psprintf("%2$s, %1$s.lifecycle_stage(%3$s, %4$s), "
					"COALESCE((SELECT c.segments FROM %5$s c WHERE c.scores OPERATOR(%1$s.=) %2$s), '{}'::%1$s.segment_set), "
					"%7$s, %1$s.segments_valid_until(%3$s, %4$s, %6$s)",
					ext, scores, stats, as_of, cells, thresholds, now);
}

/* Prepares the conversion of an orders column's values to type target. */
static void
conversion_init(Conversion *conversion, Relation orders, int attnum, Oid target)
{
	Oid			source = getBaseType(SPI_gettypeid(RelationGetDescr(orders), attnum));
	Oid			function = InvalidOid;

	conversion->path = source == target ? COERCION_PATH_RELABELTYPE :
		find_coercion_pathway(target, source, COERCION_EXPLICIT, &function);
	switch (conversion->path)
	{
		case COERCION_PATH_RELABELTYPE:
			break;
		case COERCION_PATH_FUNC:
			fmgr_info_cxt(function, &conversion->function, TopMemoryContext);
			conversion->nargs = get_func_nargs(function);
			break;
		case COERCION_PATH_COERCEVIAIO:
			{
				Oid			output;
				Oid			input;
				bool		varlena;

				getTypeOutputInfo(source, &output, &varlena);
				fmgr_info_cxt(output, &conversion->function, TopMemoryContext);
				getTypeInputInfo(target, &input, &conversion->input_param);
				fmgr_info_cxt(input, &conversion->input, TopMemoryContext);
			}
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_CANNOT_COERCE),
					 errmsg("column \"%s\" of %s is of type %s, which cannot be cast to %s",
							SPI_fname(RelationGetDescr(orders), attnum), RelationGetRelationName(orders),
							format_type_be(source), format_type_be(target))));
	}
}

/* A value of the column as the statistics take it, as a cast in SQL gives it. */
static Datum
convert(Conversion *conversion, Datum value)
{
	switch (conversion->path)
	{
		case COERCION_PATH_FUNC:
			if (conversion->nargs == 1)
				return FunctionCall1(&conversion->function, value);
			/* a cast with a type modifier (and explicit flag) argument */
			return FunctionCall3(&conversion->function, value, Int32GetDatum(-1), BoolGetDatum(true));
		case COERCION_PATH_COERCEVIAIO:
			return InputFunctionCall(&conversion->input, OutputFunctionCall(&conversion->function, value),
									 conversion->input_param, -1);
		default:
			return value;
	}
}

static int
column_number(Relation orders, const char *column)
{
	int			attnum = SPI_fnumber(RelationGetDescr(orders), column);

	if (attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of %s, which segment maintains state from, does not exist",
						column, RelationGetRelationName(orders)),
				 errhint("Call stop_maintaining() and maintain_attachment() again after renaming columns.")));
	return attnum;
}

/* Prepares the statements of a trigger on its first use in this backend. */
static StatePlans *
state_plans(TriggerData *trigdata, Oid function_oid)
{
	Trigger    *trigger = trigdata->tg_trigger;
	Relation	orders = trigdata->tg_relation;
	StatePlans *plans;
	bool		found;
	const char *state;
	char	   *orders_name;
	const char *ext;
	const char *customer;
	const char *order_time;
	const char *amount;
	Oid			types[3];
	Oid			state_oid;

	if (plans_by_trigger == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(StatePlans);
		ctl.hcxt = TopMemoryContext;
		plans_by_trigger = hash_create("segment state plans", 16, &ctl,
									   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	plans = hash_search(plans_by_trigger, &trigger->tgoid, HASH_FIND, NULL);
	if (plans != NULL)
		return plans;

	if (trigger->tgnargs != 4 && trigger->tgnargs != 5)
		elog(ERROR, "segment_state_trigger needs 4 or 5 arguments, not %d", trigger->tgnargs);
	state = trigger->tgargs[0];
	customer = trigger->tgargs[1];
	order_time = trigger->tgargs[2];
	amount = trigger->tgargs[3];
	state_oid = DatumGetObjectId(DirectFunctionCall1(regclassin, CStringGetDatum(state)));
	orders_name = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(orders)),
											 RelationGetRelationName(orders));
	/* the extension's schema is the schema of this trigger function */
	ext = quote_identifier(get_namespace_name(get_func_namespace(function_oid)));

	{
		StatePlans	made;

		made.customer_attnum = column_number(orders, customer);
		made.time_attnum = column_number(orders, order_time);
		made.amount_attnum = column_number(orders, amount);
		types[0] = SPI_gettypeid(RelationGetDescr(orders), made.customer_attnum);
		types[1] = SPI_gettypeid(RelationGetDescr(orders), made.time_attnum);
		types[2] = SPI_gettypeid(RelationGetDescr(orders), made.amount_attnum);

		{
			TypeCacheEntry *key_type = lookup_type_cache(types[0], TYPECACHE_HASH_PROC_FINFO);

			if (!OidIsValid(key_type->hash_proc))
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_FUNCTION),
						 errmsg("the customer key type %s has no hash function", format_type_be(types[0])),
						 errdetail("segment locks customers by a hash of their key.")));
			fmgr_info_copy(&made.hash, &key_type->hash_proc_finfo, TopMemoryContext);
			made.collation = TupleDescAttr(RelationGetDescr(orders), made.customer_attnum - 1)->attcollation;
			made.state_oid = state_oid;
		}
		made.merge = made.store_existing = made.store_new = made.fresh = made.remove = NULL;
		for (int i = 0; i < VALUE_COUNT; i++)
			made.value_attnums[i] = InvalidAttrNumber;
		if (trigger->tgnargs == 4)
		{
			made.merge = prepare_kept(psprintf("INSERT INTO %s AS s (customer_id, stats) "
										  "VALUES ($1, %s.rfm_stats_of_order($2::pg_catalog.timestamptz, $3::pg_catalog.numeric)) "
										  "ON CONFLICT (customer_id) DO UPDATE "
										  "SET stats = %s.rfm_stats_combine(s.stats, excluded.stats)",
										  state, ext, ext),
								 3, types);
			made.rederive = prepare_kept(psprintf("WITH fresh AS ("
											 " SELECT %s.rfm_stats(o.%s::pg_catalog.timestamptz, o.%s::pg_catalog.numeric) AS stats"
											 " FROM %s o WHERE o.%s OPERATOR(pg_catalog.=) $1"
											 "), removed AS ("
											 " DELETE FROM %s s WHERE s.customer_id OPERATOR(pg_catalog.=) $1"
											 " AND (SELECT stats FROM fresh) IS NULL"
											 ") INSERT INTO %s AS s (customer_id, stats)"
											 " SELECT $1, stats FROM fresh WHERE stats IS NOT NULL"
											 " ON CONFLICT (customer_id) DO UPDATE SET stats = excluded.stats",
											 ext, quote_identifier(order_time), quote_identifier(amount),
											 orders_name, quote_identifier(customer), state, state),
									1, types);
		}
		else
		{
			const char *attachment = trigger->tgargs[4];
			/* the attachment's cells table lives beside its state table */
			const char *cells = quote_qualified_identifier(get_namespace_name(get_rel_namespace(state_oid)),
														   psprintf("%s_cells", attachment));
			Oid			ext_oid = get_func_namespace(function_oid);
			int			stored;
			const char *columns;
			const char *values;
			Oid			store_types[STORED_COLUMNS];

			for (int i = 0; i < VALUE_COUNT; i++)
				made.value_attnums[i] = get_attnum(state_oid, value_column_names[i]);
			stored = made.value_attnums[VALID_FROM] == InvalidAttrNumber ? STORED_COLUMNS - 1 : STORED_COLUMNS;
			columns = stored == STORED_COLUMNS ? VALUE_COLUMNS ", valid_from" : VALUE_COLUMNS;
			values = psprintf("$2, $3, $4, COALESCE($5, '{}'::%s.segment_set), $6, $7%s",
							  ext, stored == STORED_COLUMNS ? ", $8" : "");
			store_types[0] = types[0];
			store_types[1 + STATS] = get_atttype(state_oid, made.value_attnums[STATS]);
			store_types[1 + SCORES] = get_atttype(state_oid, made.value_attnums[SCORES]);
			store_types[1 + STAGE] = TEXTOID;
			store_types[1 + SEGMENTS] = get_atttype(state_oid, made.value_attnums[SEGMENTS]);
			store_types[1 + SCORED_AT] = store_types[1 + VALID_UNTIL] = store_types[1 + VALID_FROM] = TIMESTAMPTZOID;

			conversion_init(&made.to_time, orders, made.time_attnum, TIMESTAMPTZOID);
			conversion_init(&made.to_amount, orders, made.amount_attnum, NUMERICOID);
			made.attachments_oid = get_relname_relid("attachments", ext_oid);
			made.thresholds_attnum = get_attnum(made.attachments_oid, "thresholds");
			{
				MemoryContext caller = MemoryContextSwitchTo(TopMemoryContext);

				made.attachment_name = PointerGetDatum(cstring_to_text(attachment));
				MemoryContextSwitchTo(caller);
			}
			made.cells_oid = DatumGetObjectId(DirectFunctionCall1(regclassin, CStringGetDatum(cells)));
			made.cell_segments_attnum = get_attnum(made.cells_oid, "segments");
			made.store_existing = prepare_kept(psprintf("UPDATE %s s SET (%s) = ROW(%s) "
												   "WHERE s.customer_id OPERATOR(pg_catalog.=) $1",
												   state, columns, values),
										  stored, store_types);
			/*
			 * Another transaction may create the row first: the trigger then
			 * merges into it.  Under REPEATABLE READ that is a serialization
			 * failure.
			 */
			made.store_new = prepare_kept(psprintf("INSERT INTO %s AS s (customer_id, %s) VALUES ($1, %s) "
											  "ON CONFLICT (customer_id) DO NOTHING",
											  state, columns, values),
									 stored, store_types);
			made.fresh = prepare_kept(psprintf("SELECT %s.rfm_stats(o.%s::pg_catalog.timestamptz, o.%s::pg_catalog.numeric)"
										  " FROM %s o WHERE o.%s OPERATOR(pg_catalog.=) $1",
										  ext, quote_identifier(order_time), quote_identifier(amount),
										  orders_name, quote_identifier(customer)),
								 1, types);
			made.remove = prepare_kept(psprintf("DELETE FROM %s s WHERE s.customer_id OPERATOR(pg_catalog.=) $1", state),
								  1, types);
		}
		made.clear = prepare_kept(psprintf("DELETE FROM %s", state), 0, NULL);

		plans = hash_search(plans_by_trigger, &trigger->tgoid, HASH_ENTER, &found);
		made.trigger_oid = trigger->tgoid;
		*plans = made;
	}
	return plans;
}

/*
 * For 0.1.0 triggers, takes the transaction-level advisory lock of (state
 * table, customer): the table's oid in the high half of the key, the
 * customer's hash in the low.
 */
static void
lock_customers(StatePlans *plans, int count, Datum *customers)
{
	int64		keys[2];

	Assert(count <= 2);
	/* waits out a threshold refresh, before the statement's snapshot */
	LockRelationOid(plans->state_oid, RowExclusiveLock);
	for (int i = 0; i < count; i++)
		keys[i] = ((int64) plans->state_oid << 32) |
			(uint32) DatumGetInt32(FunctionCall1Coll(&plans->hash, plans->collation, customers[i]));
	/* two customers in key order, so that two movers cannot deadlock */
	if (count == 2 && keys[1] < keys[0])
	{
		int64		first = keys[1];

		keys[1] = keys[0];
		keys[0] = first;
	}
	for (int i = 0; i < count; i++)
		DirectFunctionCall1(pg_advisory_xact_lock_int8, Int64GetDatum(keys[i]));
}

/* The span a stored row claims its values hold over. */
typedef struct StoredSpan
{
	bool		known;			/* false: no row, or one from before 0.4.0 */
	TimestampTz from;			/* valid_from */
	TimestampTz until;			/* valid_until */
} StoredSpan;

/*
 * The span to store for values computed at scored_at (judged at judged_at),
 * which hold over [true_from, true_until).  Any span inside that one is
 * true; the one stored keeps the row's previous bounds while they stay
 * inside it and around scored_at, so that the indexed bounds rarely change
 * and most writes of a row can be heap-only updates.  A new bound is
 * scored_at for the start (the latest start, so the most likely to be kept
 * next time) and the true end.
 */
static StoredSpan
span_to_store(const StoredSpan *previous, TimestampTz scored_at, TimestampTz true_from,
			  TimestampTz true_until)
{
	StoredSpan	span = {true, scored_at, true_until};

	if (previous->known)
	{
		if (true_from <= previous->from && previous->from <= scored_at)
			span.from = previous->from;
		if (scored_at < previous->until && previous->until <= true_until)
			span.until = previous->until;
	}
	return span;
}

/*
 * Writes a customer's row: stats and what they give, computed here as the
 * SQL of derived_columns() computes them (the state test compares the
 * two): scores against the stored thresholds, lifecycle stage and validity
 * at the analysis time, or at the last order when it is later, and the
 * segments of the score's cell.  NULL stats (no orders left) remove the
 * row.  existing is the row, if there is one, locked by this transaction;
 * previous is its span.  False if another transaction created the row
 * meanwhile.
 *
 * The thresholds and the cell are read without row-level security or
 * privileges: the write checks those (locked_row_update() takes the
 * statement when they could refuse it), and the stored values must not
 * depend on which role wrote the order.
 */
static bool
store_row(StatePlans *plans, Datum customer, Datum stats, bool no_stats, LockedRow *existing,
		  const StoredSpan *previous, Snapshot snapshot)
{
	Datum		thresholds;
	bool		no_thresholds = true;
	RfmStatsView view;
	RfmBins		bins;
	const RfmBins *scoring_bins = NULL;
	TimestampTz scored_at = segment_analysis_time();
	TimestampTz judged_at;
	LifecycleParams lifecycle;
	TimestampTz true_from;
	TimestampTz true_until;
	StoredSpan	span;
	Datum		row[STORED_COLUMNS];
	char		row_nulls[STORED_COLUMNS] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};

	if (no_stats)
	{
		if (existing != NULL)
			run_prepared(plans->remove, &customer, " ");
		return true;
	}
	if (!read_by_primary_key(plans->attachments_oid, plans->attachment_name,
							 plans->thresholds_attnum, snapshot, &thresholds, &no_thresholds))
		no_thresholds = true;

	rfm_stats_view(stats, &view);
	judged_at = Max(scored_at, view.orders.last_order);
	lifecycle_params_default(&lifecycle);
	row[0] = customer;
	row[1 + STATS] = stats;
	row[1 + STAGE] = PointerGetDatum(cstring_to_text(lifecycle_stage_name(lifecycle_stage_of(&view.orders,
																							 judged_at,
																							 &lifecycle))));
	if (no_thresholds)
		row_nulls[1 + SCORES] = row_nulls[1 + SEGMENTS] = 'n';
	else
	{
		double		values[RFM_DIMENSIONS];
		bool		no_segments;

		rfm_bins_from_thresholds(DatumGetRfmThresholdsP(thresholds), &bins);
		scoring_bins = &bins;
		rfm_customer_values(&view, judged_at, values);
		row[1 + SCORES] = RfmGetDatum(rfm_bins_score(&bins, values));
		if (!read_by_primary_key(plans->cells_oid, row[1 + SCORES], plans->cell_segments_attnum, snapshot,
								 &row[1 + SEGMENTS], &no_segments) || no_segments)
			row_nulls[1 + SEGMENTS] = 'n';
	}
	row[1 + SCORED_AT] = TimestampTzGetDatum(scored_at);
	segments_validity_of(&view.orders, judged_at, scoring_bins, &true_from, &true_until);
	span = span_to_store(previous, scored_at, true_from, true_until);
	row[1 + VALID_UNTIL] = TimestampTzGetDatum(span.until);
	row[1 + VALID_FROM] = TimestampTzGetDatum(span.from);

	if (existing != NULL && plans->value_attnums[VALID_FROM] != InvalidAttrNumber)
	{
		bool		isnull[VALUE_COUNT];

		/* what the statement's COALESCE gives: a customer in no segment has the empty set */
		if (row_nulls[1 + SEGMENTS] == 'n')
		{
			row[1 + SEGMENTS] = PointerGetDatum(segment_set_from_labels(NULL, 0));
			row_nulls[1 + SEGMENTS] = ' ';
		}
		for (int i = 0; i < VALUE_COUNT; i++)
			isnull[i] = row_nulls[1 + i] == 'n';
		if (locked_row_update(existing, VALUE_COUNT, plans->value_attnums, row + 1, isnull, snapshot))
			return true;
	}
	run_prepared(existing != NULL ? plans->store_existing : plans->store_new, row, row_nulls);
	return existing != NULL || SPI_processed == 1;
}

/* An inserted order, as the statistics take it. */
typedef struct NewOrder
{
	TimestampTz time;
	bool		amount_null;
	Datum		amount;			/* numeric */
} NewOrder;

/*
 * Brings a customer's row up to date, with one more order, or (order NULL)
 * from all the customer's orders, after an update or delete.
 *
 * The row, if there is one, is locked first, so writers of one customer
 * take turns, and what is read after the lock is granted is read with a
 * fresh snapshot (READ COMMITTED), which sees everything the previous
 * holder committed.  A customer without a row has nothing to lock: two
 * transactions may then both compute a new row, and the one whose insert
 * finds the other's row starts again and merges into it.  Row locks, unlike
 * advisory locks, take no room in the lock table, so one transaction can
 * write any number of customers.
 */
static void
update_customer(StatePlans *plans, Datum customer, const NewOrder *order)
{
	for (;;)
	{
		Snapshot	snapshot;
		LockedRow	locked;
		Datum		stats = (Datum) 0;
		bool		no_stats = true;
		StoredSpan	previous = {false};
		RowLockResult row;
		bool		stored;

		/* sees what others committed and this transaction wrote */
		CommandCounterIncrement();
		snapshot = RegisterSnapshot(GetTransactionSnapshot());
		row = lock_by_primary_key(plans->state_oid, customer, snapshot, &locked);
		if (row == ROW_GONE)
		{
			UnregisterSnapshot(snapshot);
			continue;
		}
		if (row == ROW_LOCKED)
		{
			copy_row_column(locked.table, locked.slot, plans->value_attnums[STATS], &stats, &no_stats);
			if (plans->value_attnums[VALID_FROM] != InvalidAttrNumber)
			{
				Datum		from;
				Datum		until;
				bool		no_from;
				bool		no_until;

				copy_row_column(locked.table, locked.slot, plans->value_attnums[VALID_FROM], &from, &no_from);
				copy_row_column(locked.table, locked.slot, plans->value_attnums[VALID_UNTIL], &until, &no_until);
				previous.known = !no_from && !no_until;
				previous.from = DatumGetTimestampTz(from);
				previous.until = DatumGetTimestampTz(until);
			}
		}
		if (order != NULL)
		{
			stats = PointerGetDatum(rfm_stats_add_order(stats, no_stats, order->time,
														order->amount_null, order->amount));
			no_stats = false;
		}
		else
		{
			/* a statement after the lock: its snapshot is fresh */
			run_prepared(plans->fresh, &customer, " ");
			stats = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &no_stats);
		}
		stored = store_row(plans, customer, stats, no_stats, row == ROW_LOCKED ? &locked : NULL,
						   &previous, snapshot);
		if (row == ROW_LOCKED)
			locked_row_release(&locked);
		UnregisterSnapshot(snapshot);
		if (stored)
			return;
	}
}

/* The first customer to lock of two, so that two movers cannot deadlock. */
static void
lock_order(StatePlans *plans, Datum customers[2])
{
	uint32		hashes[2];

	for (int i = 0; i < 2; i++)
		hashes[i] = DatumGetUInt32(FunctionCall1Coll(&plans->hash, plans->collation, customers[i]));
	if (hashes[1] < hashes[0])
	{
		Datum		first = customers[1];

		customers[1] = customers[0];
		customers[0] = first;
	}
}

/* Derives the statistics of one or two customers again from their orders. */
static void
rederive(StatePlans *plans, int count, Datum *customers)
{
	if (plans->store_existing == NULL)
	{
		/* a 0.1.0 trigger: statistics only, under advisory locks */
		lock_customers(plans, count, customers);
		for (int i = 0; i < count; i++)
			run_prepared(plans->rederive, &customers[i], " ");
		return;
	}
	LockRelationOid(plans->state_oid, RowExclusiveLock);
	if (count == 2)
		lock_order(plans, customers);
	for (int i = 0; i < count; i++)
		update_customer(plans, customers[i], NULL);
}

static bool
same_value(HeapTuple a, HeapTuple b, int attnum, TupleDesc desc)
{
	bool		a_null;
	bool		b_null;
	Datum		a_value = heap_getattr(a, attnum, desc, &a_null);
	Datum		b_value = heap_getattr(b, attnum, desc, &b_null);
	Form_pg_attribute att = TupleDescAttr(desc, attnum - 1);

	if (a_null || b_null)
		return a_null == b_null;
	return datumIsEqual(a_value, b_value, att->attbyval, att->attlen);
}

/* AFTER INSERT OR UPDATE OR DELETE row trigger, AFTER TRUNCATE statement trigger. */
Datum
segment_state_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	StatePlans *plans;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(trigdata->tg_event))
		elog(ERROR, "segment_state_trigger must be an AFTER trigger");

	desc = RelationGetDescr(trigdata->tg_relation);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	plans = state_plans(trigdata, fcinfo->flinfo->fn_oid);

	if (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		run_prepared(plans->clear, NULL, NULL);
	else if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		HeapTuple	row = trigdata->tg_trigtuple;
		Datum		values[3];
		char		nulls[3] = {' ', ' ', ' '};
		bool		isnull;

		values[0] = heap_getattr(row, plans->customer_attnum, desc, &isnull);
		if (!isnull)
		{
			values[1] = heap_getattr(row, plans->time_attnum, desc, &isnull);
			if (!isnull)		/* an order without a time is no order */
			{
				values[2] = heap_getattr(row, plans->amount_attnum, desc, &isnull);
				if (isnull)
					nulls[2] = 'n';
				if (plans->store_existing != NULL)
				{
					NewOrder	order;

					LockRelationOid(plans->state_oid, RowExclusiveLock);
					order.time = DatumGetTimestampTz(convert(&plans->to_time, values[1]));
					order.amount_null = nulls[2] == 'n';
					order.amount = order.amount_null ? (Datum) 0 : convert(&plans->to_amount, values[2]);
					update_customer(plans, values[0], &order);
				}
				else
				{
					lock_customers(plans, 1, values);
					run_prepared(plans->merge, values, nulls);
				}
			}
		}
	}
	else
	{
		HeapTuple	old_row = trigdata->tg_trigtuple;
		HeapTuple	new_row = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? trigdata->tg_newtuple : NULL;
		bool		isnull;
		Datum		customer;

		/* an update that leaves customer, time and amount alone changes nothing */
		if (new_row == NULL ||
			!same_value(old_row, new_row, plans->customer_attnum, desc) ||
			!same_value(old_row, new_row, plans->time_attnum, desc) ||
			!same_value(old_row, new_row, plans->amount_attnum, desc))
		{
			Datum		moved_to = (Datum) 0;
			bool		moved = false;

			customer = heap_getattr(old_row, plans->customer_attnum, desc, &isnull);
			if (new_row != NULL && !same_value(old_row, new_row, plans->customer_attnum, desc))
				moved_to = heap_getattr(new_row, plans->customer_attnum, desc, &moved);
			moved = new_row != NULL && !moved &&
				!same_value(old_row, new_row, plans->customer_attnum, desc);

			if (!isnull && moved)
			{
				Datum		both[2] = {customer, moved_to};

				rederive(plans, 2, both);
			}
			else if (!isnull)
				rederive(plans, 1, &customer);
			else if (moved)
				rederive(plans, 1, &moved_to);
		}
	}

	SPI_finish();
	return PointerGetDatum(NULL);
}

/*
 * state_columns_sql(stats_sql, attachment_name, cells): the SQL the trigger
 * writes the columns after stats with, for statements that rescore state
 * rows (refresh_attachment_thresholds(), refresh_due_segments()), so that
 * they and the trigger cannot disagree.
 */
Datum
state_columns_sql(PG_FUNCTION_ARGS)
{
	char	   *stats = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *attachment = text_to_cstring(PG_GETARG_TEXT_PP(1));
	const char *ext = quote_identifier(get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid)));
	Oid			cells_oid = PG_GETARG_OID(2);
	char	   *cells_name = get_rel_name(cells_oid);
	char	   *cells;

	if (cells_name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", cells_oid)));
	cells = quote_qualified_identifier(get_namespace_name(get_rel_namespace(cells_oid)), cells_name);

	PG_RETURN_TEXT_P(cstring_to_text(derived_columns(stats, ext, attachment, cells)));
}
