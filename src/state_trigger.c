/*
 * state_trigger.c
 *		Recording the writes of orders of maintained attachments, for the
 *		fold at commit (state_fold.c).
 *
 * A row trigger on the orders table (cloned by PostgreSQL to every
 * partition) records what each written row does to its customer: an
 * inserted order is added to the customer's statistics; an updated order
 * whose customer, time or amount changed, and a deleted order, make its
 * customer (and, for a move, the new one) derived again from the orders.
 * TRUNCATE of the table clears the state; TRUNCATE of one partition makes
 * the customers it held derived again.
 *
 * Nothing is written while the transaction runs: the events wait in
 * backend memory until it commits (state_pending.c), when one deferred
 * trigger folds them all (state_fold.c), each customer once, in key
 * order.  So the rows of one statement never see each other's effects, no
 * statement can count an order twice, and two transactions that write the
 * same customers in opposite orders never deadlock on the state.
 *
 * Per trigger, the backend keeps the column numbers and types the trigger
 * reads, dropped by relcache invalidation of the table, so that an ALTER
 * TABLE in another session is seen at the next write.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "compat.h"
#include "exact_sum.h"
#include "prepared.h"
#include "state.h"

PG_FUNCTION_INFO_V1(segment_state_trigger);
PG_FUNCTION_INFO_V1(state_derive_again);

static HTAB *columns_by_trigger = NULL;

static void
forget_columns(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS scan;
	OrdersColumns *entry;

	if (columns_by_trigger == NULL)
		return;
	hash_seq_init(&scan, columns_by_trigger);
	while ((entry = hash_seq_search(&scan)) != NULL)
		if (relid == InvalidOid || entry->relid == relid)
			entry->valid = false;
}

/* Registers the callbacks, once per backend. */
static void
state_trigger_init(void)
{
	static bool registered = false;

	if (registered)
		return;
	CacheRegisterRelcacheCallback(forget_columns, (Datum) 0);
	pending_state_init();
	registered = true;
}

/*
 * Refuses an order that rfm_stats() would refuse, while it is written, so
 * that the error names it rather than arriving at commit: an infinite time,
 * a NaN or infinite amount.
 */
static void
check_order(const OrdersColumns *columns, Datum key, Datum order_time, Datum amount, bool amount_null)
{
	bool		finite_time = true;
	bool		finite_amount = true;

	if (columns->time_type == DATEOID)
		finite_time = !DATE_NOT_FINITE(DatumGetDateADT(order_time));
	else
		finite_time = !TIMESTAMP_NOT_FINITE(DatumGetTimestamp(order_time));
	if (!amount_null)
	{
		if (columns->amount_type == FLOAT8OID)
			finite_amount = !isnan(DatumGetFloat8(amount)) && !isinf(DatumGetFloat8(amount));
		else if (columns->amount_type == FLOAT4OID)
			finite_amount = !isnan(DatumGetFloat4(amount)) && !isinf(DatumGetFloat4(amount));
		else if (columns->amount_type == NUMERICOID)
		{
			struct varlena *value = PG_DETOAST_DATUM_PACKED(amount);

			finite_amount = numeric_payload_is_finite(VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value));
		}
	}
	if (!finite_time || !finite_amount)
	{
		Oid			output;
		bool		varlena;

		getTypeOutputInfo(columns->key_type, &output, &varlena);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg(finite_time ? "order amount must be a finite number" : "order time must be finite"),
				 errdetail("An order of customer %s of attachment \"%s\" has an infinite time or a NaN or infinite amount.",
						   OidOutputFunctionCall(output, key), columns->attachment),
				 errhint("Leave such orders out, or give them a time and an amount that are numbers.")));
	}
}

/* A column of the table by name; an error if it is gone. */
static AttrNumber
orders_column(Relation orders, const char *attachment, const char *column, Oid *type)
{
	TupleDesc	desc = RelationGetDescr(orders);

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), column) == 0)
		{
			*type = att->atttypid;
			return att->attnum;
		}
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("column \"%s\" of table \"%s\", which attachment \"%s\" reads, does not exist",
					column, RelationGetRelationName(orders), attachment),
			 errhint("Rename the column back, or call stop_maintaining('%s') and maintain again after changing attach().",
					 attachment)));
	return InvalidAttrNumber;	/* keep the compiler quiet */
}

/*
 * What the trigger reads of its table, looked up on its first use and
 * again after the table changed.  The attachment is read as the owner of
 * the attachments table, past its row-level security: the writer of orders
 * need not see it.  A trigger on a table that is neither the attachment's
 * orders table nor one of its partitions is refused, so that no one can
 * feed an attachment's state from a table of their own.
 */
static OrdersColumns *
orders_columns(TriggerData *trigdata, const char *schema)
{
	Trigger    *trigger = trigdata->tg_trigger;
	Relation	orders = trigdata->tg_relation;
	OrdersColumns *columns;
	bool		found;
	Oid			attachments;
	Oid			saved_user;
	int			saved_context;
	int			nest_level;
	Datum		args[2];
	char	   *names[4];		/* the columns, then the attachment */
	bool		belongs;
	bool		is_root;
	Oid			state_table;
	bool		locks_early;
	bool		shards;

	if (columns_by_trigger == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(OrdersColumns);
		ctl.hcxt = TopMemoryContext;
		columns_by_trigger = hash_create("segment orders columns", 16, &ctl,
										 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	columns = hash_search(columns_by_trigger, &trigger->tgoid, HASH_FIND, NULL);
	if (columns != NULL && columns->valid)
		return columns;

	if (trigger->tgnargs != 1 || strlen(trigger->tgargs[0]) >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("segment_state_trigger takes the name of an attachment")));
	attachments = get_relname_relid("attachments", get_namespace_oid(schema, false));
	run_as_owner_begin(relation_owner(attachments), schema, &nest_level, &saved_user, &saved_context);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	args[0] = CStringGetTextDatum(trigger->tgargs[0]);
	args[1] = ObjectIdGetDatum(RelationGetRelid(orders));
	/*
	 * On a Citus worker the trigger is a clone on a shard, with the argument
	 * of the distributed table's: the node's own row for that shard names
	 * the attachment (sql/citus.sql).  Before ALTER EXTENSION UPDATE to
	 * 0.11.0 the table has no such rows.
	 */
	shards = get_attnum(attachments, "shard_of") != InvalidAttrNumber;
	if (SPI_execute_with_args(psprintf("SELECT a.customer_column::text, a.order_time_column::text, "
									   "a.amount_column::text, a.orders_table OPERATOR(pg_catalog.=) $2, "
									   "a.orders_table OPERATOR(pg_catalog.=) $2 OR a.orders_table IN "
									   "(SELECT p.relid FROM pg_catalog.pg_partition_ancestors($2) p), "
									   "a.attachment_name, a.state_table, %s "
									   "FROM %s.attachments a "
									   "WHERE a.state_table IS NOT NULL AND (a.attachment_name OPERATOR(pg_catalog.=) $1%s",
									   shards ? "a.shard_of IS NOT NULL" : "false",
									   quote_identifier(schema),
									   shards ? " OR (a.shard_of OPERATOR(pg_catalog.=) $1 AND a.orders_table "
									   "OPERATOR(pg_catalog.=) $2)) ORDER BY a.shard_of IS NULL LIMIT 1" : ")"),
							  2, (Oid[]) {TEXTOID, REGCLASSOID}, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the attachment");
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("attachment \"%s\" is not maintained", trigger->tgargs[0]),
				 errdetail("Trigger \"%s\" on table \"%s\" keeps its state.", trigger->tgname,
						   RelationGetRelationName(orders)),
				 errhint("Drop the trigger; on a Citus worker after shards moved, call rebuild_state('%s') on the coordinator.",
						 trigger->tgargs[0])));
	{
		TupleDesc	desc = SPI_tuptable->tupdesc;
		HeapTuple	row = SPI_tuptable->vals[0];
		bool		isnull;
		MemoryContext caller = MemoryContextSwitchTo(TopTransactionContext);

		for (int i = 0; i < 3; i++)
			names[i] = SPI_getvalue(row, desc, i + 1);
		names[3] = SPI_getvalue(row, desc, 6);
		is_root = DatumGetBool(SPI_getbinval(row, desc, 4, &isnull));
		belongs = DatumGetBool(SPI_getbinval(row, desc, 5, &isnull)) && !isnull;
		state_table = DatumGetObjectId(SPI_getbinval(row, desc, 7, &isnull));
		locks_early = DatumGetBool(SPI_getbinval(row, desc, 8, &isnull));
		MemoryContextSwitchTo(caller);
	}
	SPI_finish();
	run_as_owner_end(nest_level, saved_user, saved_context);
	if (!belongs)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("table \"%s\" is not the orders table of attachment \"%s\"",
						RelationGetRelationName(orders), trigger->tgargs[0]),
				 errdetail("Trigger \"%s\" feeds the attachment's state from another table.", trigger->tgname),
				 errhint("Drop the trigger.")));

	columns = hash_search(columns_by_trigger, &trigger->tgoid, HASH_ENTER, &found);
	columns->valid = false;
	columns->relid = RelationGetRelid(orders);
	columns->is_root = is_root;
	columns->state_table = state_table;
	columns->locks_early = locks_early;
	strlcpy(columns->attachment, names[3], NAMEDATALEN);
	columns->customer = orders_column(orders, columns->attachment, names[0], &columns->key_type);
	columns->key_collation = TupleDescAttr(RelationGetDescr(orders), columns->customer - 1)->attcollation;
	columns->order_time = orders_column(orders, columns->attachment, names[1], &columns->time_type);
	columns->amount = orders_column(orders, columns->attachment, names[2], &columns->amount_type);
	get_typlenbyval(columns->key_type, &columns->key_len, &columns->key_byval);
	get_typlenbyval(columns->time_type, &columns->time_len, &columns->time_byval);
	get_typlenbyval(columns->amount_type, &columns->amount_len, &columns->amount_byval);
	columns->valid = true;
	return columns;
}

/* Whether a column differs between two versions of a row. */
static bool
column_changed(HeapTuple a, HeapTuple b, AttrNumber attnum, TupleDesc desc)
{
	bool		a_null;
	bool		b_null;
	Datum		a_value = heap_getattr(a, attnum, desc, &a_null);
	Datum		b_value = heap_getattr(b, attnum, desc, &b_null);
	Form_pg_attribute att = TupleDescAttr(desc, attnum - 1);

	if (a_null || b_null)
		return a_null != b_null;
	return !datumIsEqual(a_value, b_value, att->attbyval, att->attlen);
}

/*
 * On a Citus node, the fold of a transaction that writes shards on several
 * nodes runs as it prepares.  A wait there for a lock of another
 * transaction is one Citus's deadlock detection does not see: if that
 * transaction is prepared on this node and waits on another node for this
 * one, neither ever ends.  So a shard's writers take what their fold will
 * lock while their statements run, where the waits are seen: the state
 * shard against a refresh, and each customer against other writers, by the
 * hash of the key that Citus routes it by.  Past SHARD_LOCKED_CUSTOMERS
 * events, as lock tables are small, the state shard against other writers
 * when no other writer holds it (never by waiting: two writers that both
 * waited to upgrade their lock would deadlock), and each customer while
 * some other writer does.  The fold then finds its locks held.
 */
#define SHARD_LOCKED_CUSTOMERS	256
/* field4 of the advisory lock tags: PostgreSQL's functions use 1 and 2, Citus 4 to 16 */
#define ADVISORY_CLASS_SEGMENT_CUSTOMER	0x5E61

static void
lock_customer(const OrdersColumns *columns, Datum key, int events)
{
	LOCKTAG		tag;
	uint32		hash;
	TypeCacheEntry *type;

	if (!columns->locks_early)
		return;
	if (events == 1)
		LockRelationOid(columns->state_table, RowExclusiveLock);
	if (events > SHARD_LOCKED_CUSTOMERS &&
		ConditionalLockRelationOid(columns->state_table, ShareRowExclusiveLock))
		return;
	/* equal keys hash equal, as the type says (numeric 1.0 and 1.00) */
	type = lookup_type_cache(columns->key_type, TYPECACHE_HASH_PROC_FINFO);
	if (OidIsValid(type->hash_proc_finfo.fn_oid))
		hash = DatumGetUInt32(FunctionCall1Coll(&type->hash_proc_finfo, columns->key_collation, key));
	else if (columns->key_byval)
		hash = hash_bytes((const unsigned char *) &key, sizeof(Datum));
	else if (columns->key_len == -1)
	{
		struct varlena *value = PG_DETOAST_DATUM_PACKED(key);

		hash = hash_bytes((const unsigned char *) VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value));
	}
	else
		hash = hash_bytes((const unsigned char *) DatumGetPointer(key), columns->key_len);
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, columns->state_table, hash, ADVISORY_CLASS_SEGMENT_CUSTOMER);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

/* Records an event, with its locks. */
static void
record_with_lock(const char *schema, const OrdersColumns *columns, StateEventKind kind, Datum key,
				 Datum order_time, Datum amount, bool amount_null)
{
	int			events = record_event(schema, columns, kind, key, order_time, amount, amount_null);

	lock_customer(columns, key, events);
}

/* Records that the customer of a row version is to be derived again. */
static void
record_changed(const char *schema, const OrdersColumns *columns, HeapTuple row, TupleDesc desc)
{
	bool		isnull;
	Datum		key = heap_getattr(row, columns->customer, desc, &isnull);

	if (!isnull)
		record_with_lock(schema, columns, STATE_ORDERS_CHANGED, key, (Datum) 0, (Datum) 0, true);
}

/*
 * Records the customers of a table (a partition about to be truncated, or
 * attached or detached) as to be derived again.  They are read as owner,
 * and recorded once that is over: the first event of a transaction queues
 * the deferred trigger, which PostgreSQL refuses to do restricted.
 */
static void
record_customers_of(const char *schema, const OrdersColumns *columns, Oid table, Oid owner)
{
	Oid			saved_user;
	int			saved_context;
	int			nest_level;
	char	   *column = get_attname(table, columns->customer, false);
	MemoryContext caller = CurrentMemoryContext;
	Datum	   *keys;
	uint64		count;

	run_as_owner_begin(owner, schema, &nest_level, &saved_user, &saved_context);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute(psprintf("SELECT DISTINCT t.%s FROM ONLY %s t WHERE t.%s IS NOT NULL",
							 quote_identifier(column),
							 quote_qualified_identifier(get_namespace_name(get_rel_namespace(table)),
														get_rel_name(table)),
							 quote_identifier(column)),
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the customers of a partition");
	count = SPI_processed;
	keys = MemoryContextAlloc(caller, Max(count, 1) * sizeof(Datum));
	for (uint64 i = 0; i < count; i++)
	{
		bool		isnull;
		Datum		key = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
		MemoryContext spi = MemoryContextSwitchTo(caller);

		keys[i] = datumCopy(key, columns->key_byval, columns->key_len);
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();
	run_as_owner_end(nest_level, saved_user, saved_context);
	for (uint64 i = 0; i < count; i++)
		record_event(schema, columns, STATE_ORDERS_CHANGED, keys[i], (Datum) 0, (Datum) 0, true);
}

/*
 * segment_state_trigger(attachment): AFTER INSERT OR UPDATE OR DELETE row
 * trigger of an attachment's orders table and its partitions; AFTER
 * TRUNCATE statement trigger of the table, BEFORE TRUNCATE of each
 * partition.
 */
Datum
segment_state_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	const char *schema;
	OrdersColumns *columns;
	TupleDesc	desc;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("segment_state_trigger must be called as a trigger")));
	state_trigger_init();
	schema = state_schemas(fcinfo);
	if (trigdata->tg_trigger->tgnargs == 4 || trigdata->tg_trigger->tgnargs == 5)
	{
		/* a trigger of 0.1.0 to 0.5.0, until ALTER EXTENSION segment UPDATE */
		legacy_state_trigger(trigdata, quote_identifier(schema));
		return PointerGetDatum(NULL);
	}
	columns = orders_columns(trigdata, schema);
	desc = RelationGetDescr(trigdata->tg_relation);

	if (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
	{
		if (columns->is_root)
			record_clear(schema, columns);
		else
			record_customers_of(schema, columns, RelationGetRelid(trigdata->tg_relation),
								relation_owner(RelationGetRelid(trigdata->tg_relation)));
		return PointerGetDatum(NULL);
	}
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event) || !TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("segment_state_trigger must fire AFTER each row, or on TRUNCATE")));

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		HeapTuple	row = trigdata->tg_trigtuple;
		bool		isnull;
		Datum		key = heap_getattr(row, columns->customer, desc, &isnull);
		Datum		order_time;
		Datum		amount;
		bool		amount_null;

		if (isnull)
			return PointerGetDatum(NULL);
		order_time = heap_getattr(row, columns->order_time, desc, &isnull);
		if (isnull)				/* an order without a time is no order */
			return PointerGetDatum(NULL);
		amount = heap_getattr(row, columns->amount, desc, &amount_null);
		check_order(columns, key, order_time, amount, amount_null);
		record_with_lock(schema, columns, STATE_ORDER_ADDED, key, order_time, amount, amount_null);
	}
	else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		record_changed(schema, columns, trigdata->tg_trigtuple, desc);
	else
	{
		HeapTuple	old_row = trigdata->tg_trigtuple;
		HeapTuple	new_row = trigdata->tg_newtuple;

		/* an update that leaves customer, time and amount alone changes nothing */
		if (column_changed(old_row, new_row, columns->customer, desc) ||
			column_changed(old_row, new_row, columns->order_time, desc) ||
			column_changed(old_row, new_row, columns->amount, desc))
		{
			record_changed(schema, columns, old_row, desc);
			if (column_changed(old_row, new_row, columns->customer, desc))
				record_changed(schema, columns, new_row, desc);
		}
	}
	return PointerGetDatum(NULL);
}

/*
 * state_derive_again(attachment, source): has the commit derive again, from
 * the orders, the customers of table source, a partition attached to or
 * detached from the attachment's orders table.  For the extension's event
 * trigger: the caller must own the orders table, and source's customer
 * column must have the state's key type.
 */
Datum
state_derive_again(PG_FUNCTION_ARGS)
{
	const char *schema;
	char	   *attachment;
	Oid			source;
	OrdersColumns columns;
	Oid			attachments;
	Oid			saved_user;
	int			saved_context;
	int			nest_level;
	Datum		args[2];
	Oid			orders;
	Oid			state_key_type;
	char	   *customer;
	bool		isnull;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_VOID();
	state_trigger_init();
	schema = state_schemas(fcinfo);
	attachment = text_to_cstring(PG_GETARG_TEXT_PP(0));
	source = PG_GETARG_OID(1);
	if (strlen(attachment) >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("attachment name \"%s\" is too long", attachment)));

	attachments = get_relname_relid("attachments", get_namespace_oid(schema, false));
	run_as_owner_begin(relation_owner(attachments), schema, &nest_level, &saved_user, &saved_context);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	args[0] = CStringGetTextDatum(attachment);
	if (SPI_execute_with_args(psprintf("SELECT a.orders_table, a.customer_column::text, "
									   "%s.column_type(a.state_table, 'customer_id') "
									   "FROM %s.attachments a "
									   "WHERE a.attachment_name OPERATOR(pg_catalog.=) $1 AND a.state_table IS NOT NULL",
									   quote_identifier(state_internal_schema()), quote_identifier(schema)),
							  1, (Oid[]) {TEXTOID}, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the attachment");
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("attachment \"%s\" is not maintained", attachment)));
	orders = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	customer = MemoryContextStrdup(TopTransactionContext,
								   SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2));
	state_key_type = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	SPI_finish();
	run_as_owner_end(nest_level, saved_user, saved_context);

	if (!relation_owned_by_current_user(orders))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of the orders table of attachment \"%s\"", attachment)));
	memset(&columns, 0, sizeof(columns));
	strlcpy(columns.attachment, attachment, NAMEDATALEN);
	columns.customer = get_attnum(source, customer);
	if (columns.customer == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of %s, which attachment \"%s\" reads, does not exist",
						customer, get_rel_name(source), attachment)));
	columns.key_type = get_atttype(source, columns.customer);
	get_typlenbyval(columns.key_type, &columns.key_len, &columns.key_byval);
	if (columns.key_type != state_key_type)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of %s is of type %s, not the customer key type %s of attachment \"%s\"",
						customer, get_rel_name(source), format_type_be(columns.key_type),
						format_type_be(state_key_type), attachment)));
	record_customers_of(schema, &columns, source, relation_owner(source));
	PG_RETURN_VOID();
}
