/*
 * state_fold.c
 *		Writing the events of a transaction (state_trigger.c) into the
 *		state table of their attachment, at commit.
 *
 * The fold is two statements, which state_statements() (src/state.sql)
 * writes for the attachment as it is now (tables by OID, columns by name,
 * the time zone of order times):
 *
 * 1. merge: every customer with an event gets its row written or locked,
 *    all in key order, in one INSERT ... ON CONFLICT: a customer with added
 *    orders only gets them merged into its statistics (no order is read
 *    again); a customer whose orders changed or left gets its row locked
 *    (or a placeholder row made and locked).  Two transactions lock the
 *    customers they share in the same order, so they cannot deadlock.
 * 2. derive: the customers whose orders changed are derived again from
 *    all their orders (the whole, partitioned or not, orders table).  The
 *    statement starts after step 1 holds their locks, so under READ
 *    COMMITTED its snapshot sees every order other transactions committed
 *    for them; under REPEATABLE READ, step 1 fails with a serialization
 *    failure instead when another transaction wrote one of them since.
 *
 * A transaction that added one order only, the most common, has it merged
 * by a plain INSERT ... ON CONFLICT of one row (merge_one), which costs
 * less to start than the merge of arrays.  Every statement scores against
 * the stored thresholds, the segments of the score cells and the lifecycle
 * limits, which the fold reads from the attachment with the latest
 * snapshot once it holds its lock on the state table: a refresh of the
 * thresholds or a change of the map or of the limits holds a lock on it
 * that keeps writers out while it rescores.
 *
 * The statements run as the owner of the state table, as PostgreSQL's foreign-key
 * triggers run as the owner of the referenced table: the state must not
 * depend on which orders the writer may see, and the writer needs no
 * privilege on the state table (which would let it write any statistics
 * there).  search_path is pinned meanwhile.
 *
 * The statements are prepared once per backend and attachment and dropped
 * when the orders, state, cells or attachments table changes (relcache
 * invalidation: ALTER TABLE, renames, a new owner, and every write to the
 * attachments table send it) or any schema does, so that they always name
 * what the attachment names now.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/indexing.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "prepared.h"
#include "state.h"

PG_FUNCTION_INFO_V1(run_state_statement);
PG_FUNCTION_INFO_V1(attachments_changed);

/* The prepared fold of one attachment, for one set of value types. */
typedef struct FoldPlans
{
	char		attachment[NAMEDATALEN];	/* hash key */
	bool		valid;
	Oid			key_type;
	Oid			time_type;
	Oid			amount_type;
	Oid			owner;			/* of the state table */
	Oid			relations[4];	/* whose invalidation drops the plans */
	SPIPlanPtr	merge;			/* $1 keys, $2 times, $3 amounts, $4 changed, $5 thresholds,
								 * $6 cells' segments, $7 lifecycle limits */
	SPIPlanPtr	merge_one;		/* $1 key, $2 time, $3 amount, $4 to $6 as $5 to $7 above */
	SPIPlanPtr	derive;			/* $1 keys, $2 to $4 as $5 to $7 above */
	SPIPlanPtr	clear;
	Oid			state_table;
	Oid			attachments_owner;
	SPIPlanPtr	current;		/* $1 attachment: its thresholds, cells' segments, lifecycle limits */
} FoldPlans;

static HTAB *plans_by_attachment = NULL;

/* From this many events on, the fold runs with at least this work_mem. */
#define FOLD_BULK_EVENTS		10000
#define FOLD_BULK_WORK_MEM_KB	(256 * 1024)

static void
forget_plans(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS scan;
	FoldPlans  *plans;

	if (plans_by_attachment == NULL)
		return;
	hash_seq_init(&scan, plans_by_attachment);
	while ((plans = hash_seq_search(&scan)) != NULL)
		for (int i = 0; i < (int) lengthof(plans->relations); i++)
			if (relid == InvalidOid || plans->relations[i] == relid)
				plans->valid = false;
}

static void
forget_plans_syscache(Datum arg, int cacheid, uint32 hashvalue)
{
	forget_plans(arg, InvalidOid);
}

/* The owner of a relation. */
Oid
relation_owner(Oid relid)
{
	HeapTuple	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);
	return owner;
}

/*
 * The extension's two schemas, as the entry point last called (a trigger or
 * function of this module) sees them: the one it was created in (tables,
 * types, the functions users call) and its own segment_internal (the
 * functions only it calls, among them the entry points), where all of
 * them lived before 0.7.0.
 */
static char api_schema[NAMEDATALEN];
static char internal_schema[NAMEDATALEN];

/* The schema the extension was created in. */
static Oid
extension_namespace(void)
{
	Relation	extensions = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	Oid			namespace = InvalidOid;

	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ, CStringGetDatum("segment"));
	scan = systable_beginscan(extensions, ExtensionNameIndexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
		namespace = ((Form_pg_extension) GETSTRUCT(tuple))->extnamespace;
	systable_endscan(scan);
	table_close(extensions, AccessShareLock);
	if (!OidIsValid(namespace))
		elog(ERROR, "extension \"segment\" is not installed");
	return namespace;
}

/*
 * Notes the schemas for the entry point fcinfo calls, looked up once per
 * statement (fn_extra); returns the one the extension was created in.
 */
const char *
state_schemas(FunctionCallInfo fcinfo)
{
	char	   *names = fcinfo->flinfo->fn_extra;

	if (names == NULL)
	{
		names = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, 2 * NAMEDATALEN);
		strlcpy(names, get_namespace_name(extension_namespace()), NAMEDATALEN);
		strlcpy(names + NAMEDATALEN, get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid)), NAMEDATALEN);
		fcinfo->flinfo->fn_extra = names;
	}
	strlcpy(api_schema, names, NAMEDATALEN);
	strlcpy(internal_schema, names + NAMEDATALEN, NAMEDATALEN);
	return api_schema;
}

/* The extension's own schema, as state_schemas() last noted it. */
const char *
state_internal_schema(void)
{
	return internal_schema;
}

/*
 * Runs what follows as owner, with search_path pinned to pg_catalog, the
 * extension's schemas and pg_temp, until run_as_owner_end(), as a
 * security-restricted operation (as PostgreSQL runs the checks of foreign
 * keys and REFRESH MATERIALIZED VIEW): code of the owner's that runs
 * meanwhile, such as a trigger on the state table, can neither make
 * temporary objects nor leave settings behind in the writer's session.  An
 * error in between leaves both to the abort of the (sub)transaction.
 */
void
run_as_owner_begin(Oid owner, const char *schema, int *nest_level, Oid *saved_user,
				   int *saved_context)
{
	run_as_begin(owner, schema, true, nest_level, saved_user, saved_context);
}

/*
 * The same, restricted or not: the one statement that must queue a
 * deferred trigger event (the insert into state_commits, which runs no
 * code but the extension's) cannot run restricted.
 */
void
run_as_begin(Oid owner, const char *schema, bool restricted, int *nest_level, Oid *saved_user,
			 int *saved_context)
{
	/* the extension's own functions first: no one else creates objects there */
	char	   *path = psprintf("pg_catalog, %s, %s, pg_temp", quote_identifier(internal_schema),
								quote_identifier(schema));

	GetUserIdAndSecContext(saved_user, saved_context);
	SetUserIdAndSecContext(owner, *saved_context | SECURITY_LOCAL_USERID_CHANGE |
						   (restricted ? SECURITY_RESTRICTED_OPERATION : 0));
	*nest_level = NewGUCNestLevel();
	/* nested in another such call, the path is pinned already */
	if (namespace_search_path == NULL || strcmp(namespace_search_path, path) != 0)
		(void) set_config_option("search_path", path, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	pfree(path);
	/*
	 * A Citus worker hides its shards from the catalog queries of client
	 * sessions; the state of a shard written there looks them up.
	 */
	if (GetConfigOption("citus.override_table_visibility", true, false) != NULL)
		(void) set_config_option("citus.override_table_visibility", "off", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
}

void
run_as_owner_end(int nest_level, Oid saved_user, int saved_context)
{
	/* what the owner's code set (a trigger on the state table, say) goes too */
	AtEOXact_GUC(false, nest_level);
	SetUserIdAndSecContext(saved_user, saved_context);
}

/*
 * The fold statements of an attachment for these value types; NULL if the
 * attachment is no longer maintained.  Called inside SPI.
 */
static FoldPlans *
fold_plans(const char *attachment, const char *schema, Oid key_type, Oid time_type, Oid amount_type)
{
	FoldPlans  *plans;
	bool		found;
	Datum		args[4];
	Oid			attachments;
	Oid			saved_user;
	int			saved_context;
	int			nest_level;
	char	   *sql[4];
	Oid			owner;
	char	   *problem;
	Oid			array_types[7];
	Oid			thresholds_type;
	Oid			cells_type;

	if (plans_by_attachment == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = NAMEDATALEN;
		ctl.entrysize = sizeof(FoldPlans);
		ctl.hcxt = TopMemoryContext;
		plans_by_attachment = hash_create("segment fold plans", 8, &ctl,
										  HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
		CacheRegisterRelcacheCallback(forget_plans, (Datum) 0);
		CacheRegisterSyscacheCallback(NAMESPACEOID, forget_plans_syscache, (Datum) 0);
	}
	plans = hash_search(plans_by_attachment, attachment, HASH_ENTER, &found);
	if (found && plans->valid && plans->key_type == key_type && plans->time_type == time_type &&
		plans->amount_type == amount_type)
		return plans;
	if (found && plans->merge != NULL)
	{
		SPI_freeplan(plans->merge);
		SPI_freeplan(plans->merge_one);
		SPI_freeplan(plans->derive);
		SPI_freeplan(plans->clear);
		SPI_freeplan(plans->current);
	}
	plans->valid = false;
	plans->merge = plans->merge_one = plans->derive = plans->clear = plans->current = NULL;

	/* the attachment is read past its row-level security: the writer need not see it */
	attachments = get_relname_relid("attachments", get_namespace_oid(schema, false));
	run_as_owner_begin(relation_owner(attachments), schema, &nest_level, &saved_user, &saved_context);
	args[0] = CStringGetTextDatum(attachment);
	args[1] = ObjectIdGetDatum(key_type);
	args[2] = ObjectIdGetDatum(time_type);
	args[3] = ObjectIdGetDatum(amount_type);
	if (SPI_execute_with_args(psprintf("SELECT s.merge, s.merge_one, s.derive, s.clear, s.owner, s.problem, s.relations "
									   "FROM %s.state_statements($1, $2, $3, $4) s",
									   quote_identifier(internal_schema)),
							  4, (Oid[]) {TEXTOID, REGTYPEOID, REGTYPEOID, REGTYPEOID},
							  args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the statements of attachment \"%s\"", attachment);
	run_as_owner_end(nest_level, saved_user, saved_context);
	if (SPI_processed == 0)
		return NULL;
	for (int i = 0; i < 4; i++)
		sql[i] = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1);
	owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5, &found));
	problem = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 6);
	{
		Datum		relations = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 7, &found);
		Datum	   *elements;
		int			count;

		deconstruct_array(DatumGetArrayTypeP(relations), OIDOID, sizeof(Oid), true, TYPALIGN_INT,
						  &elements, NULL, &count);
		for (int i = 0; i < (int) lengthof(plans->relations); i++)
			plans->relations[i] = i < count ? DatumGetObjectId(elements[i]) : InvalidOid;
	}
	if (problem != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot maintain the state of attachment \"%s\"", attachment),
				 errdetail("%s", problem),
				 errhint("Call stop_maintaining('%s'): its views then read the orders.", attachment)));
	thresholds_type = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("rfm_thresholds"),
									  ObjectIdGetDatum(get_namespace_oid(schema, false)));
	cells_type = get_array_type(GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("segment_set"),
												ObjectIdGetDatum(get_namespace_oid(schema, false))));
	array_types[0] = get_array_type(key_type);
	array_types[1] = get_array_type(time_type);
	array_types[2] = get_array_type(amount_type);
	array_types[3] = BOOLARRAYOID;
	array_types[4] = thresholds_type;
	array_types[5] = cells_type;
	array_types[6] = FLOAT8ARRAYOID;
	run_as_owner_begin(owner, schema, &nest_level, &saved_user, &saved_context);
	plans->merge = prepare_kept(sql[0], 7, array_types);
	plans->merge_one = prepare_kept(sql[1], 6, (Oid[]) {key_type, time_type, amount_type, thresholds_type, cells_type,
		FLOAT8ARRAYOID});
	plans->derive = prepare_kept(sql[2], 4, (Oid[]) {array_types[0], thresholds_type, cells_type, FLOAT8ARRAYOID});
	plans->clear = prepare_kept(sql[3], 0, NULL);
	run_as_owner_end(nest_level, saved_user, saved_context);
	/* read as the extension's owner, past the row-level security of attachments */
	plans->attachments_owner = relation_owner(attachments);
	run_as_owner_begin(plans->attachments_owner, schema, &nest_level, &saved_user, &saved_context);
	/* before ALTER EXTENSION UPDATE to 0.7.0, attachments has no limits: the defaults */
	plans->current = prepare_kept(psprintf("SELECT t.thresholds, t.cell_segments, %s FROM %s.attachments t "
										   "WHERE t.attachment_name OPERATOR(pg_catalog.=) $1",
										   get_attnum(attachments, "lifecycle_limits") != InvalidAttrNumber ?
										   "t.lifecycle_limits" : "NULL::pg_catalog.float8[]",
										   quote_identifier(schema)),
								  1, (Oid[]) {TEXTOID});
	run_as_owner_end(nest_level, saved_user, saved_context);
	plans->state_table = plans->relations[1];
	plans->key_type = key_type;
	plans->time_type = time_type;
	plans->amount_type = amount_type;
	plans->owner = owner;
	plans->valid = true;
	return plans;
}

/*
 * The nulls of statement parameters whose last three are the thresholds,
 * the cells' segments and the lifecycle limits.
 */
static char *
parameter_nulls(int count, bool no_thresholds, bool no_cell_segments, bool no_limits)
{
	char	   *nulls = palloc(count + 1);

	memset(nulls, ' ', count);
	nulls[count] = '\0';
	if (no_thresholds)
		nulls[count - 3] = 'n';
	if (no_cell_segments)
		nulls[count - 2] = 'n';
	if (no_limits)
		nulls[count - 1] = 'n';
	return nulls;
}

static ArrayType *
array_of(Datum *values, bool *nulls, int count, Oid type)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			dims[1] = {count};
	int			lbs[1] = {1};

	get_typlenbyvalalign(type, &typlen, &typbyval, &typalign);
	return construct_md_array(values, nulls, 1, dims, lbs, type, typlen, typbyval, typalign);
}

/* Writes the events of one attachment into its state table, and forgets them. */
void
state_fold(PendingState *pending, const char *schema)
{
	int			start = pending->applied;
	bool		cleared = false;
	Oid			time_type = InvalidOid;
	Oid			amount_type = InvalidOid;
	int			count;
	int			changed_count = 0;
	Datum	   *times;
	bool	   *time_nulls;
	Datum	   *amounts;
	bool	   *amount_nulls;
	Datum	   *changed;
	Datum	   *keys;
	Datum	   *changed_keys;
	FoldPlans  *plans;
	Datum		args[7];
	Datum		thresholds = (Datum) 0;
	bool		no_thresholds;
	Datum		cell_segments = (Datum) 0;
	bool		no_cell_segments;
	Datum		limits = (Datum) 0;
	bool		no_limits;
	Oid			saved_user;
	int			saved_context;
	int			nest_level;

	/* a TRUNCATE of the whole table: what came before it is gone */
	for (int i = pending->count - 1; i >= start; i--)
		if (pending->kinds[i] == STATE_ORDERS_CLEARED)
		{
			cleared = true;
			start = i + 1;
			break;
		}
	count = pending->count - start;
	for (int i = start; i < pending->count; i++)
		if (pending->kinds[i] == STATE_ORDER_ADDED)
		{
			if (OidIsValid(time_type) &&
				(time_type != pending->time_types[i] || amount_type != pending->amount_types[i]))
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("a column of the orders of attachment \"%s\" changed type in this transaction",
								pending->attachment),
						 errhint("Change the types of the orders columns in a transaction of its own.")));
			time_type = pending->time_types[i];
			amount_type = pending->amount_types[i];
		}
		else if (pending->kinds[i] == STATE_ORDERS_CHANGED && !OidIsValid(time_type))
		{
			/* any valid types do for events without values */
			time_type = pending->time_types[i];
			amount_type = pending->amount_types[i];
		}
	if (!OidIsValid(time_type))
	{
		time_type = TIMESTAMPTZOID;
		amount_type = NUMERICOID;
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/*
	 * The statements, and the thresholds, hold while the state table is
	 * locked: a refresh of the thresholds locks it against writers while it
	 * rescores, and its invalidation arrives when this lock is granted.
	 */
	for (;;)
	{
		plans = fold_plans(pending->attachment, schema, pending->key_type, time_type, amount_type);
		if (plans == NULL)
		{
			/* stop_maintaining() or detach() in this transaction: no state to write */
			SPI_finish();
			pending_state_applied(pending);
			return;
		}
		LockRelationOid(plans->state_table, RowExclusiveLock);
		if (plans->valid)
			break;
	}

	times = palloc(count * sizeof(Datum));
	time_nulls = palloc(count * sizeof(bool));
	amounts = palloc(count * sizeof(Datum));
	amount_nulls = palloc(count * sizeof(bool));
	changed = palloc(count * sizeof(Datum));
	keys = palloc(count * sizeof(Datum));
	changed_keys = palloc(count * sizeof(Datum));
	for (int i = 0; i < count; i++)
	{
		int			e = start + i;
		bool		added = pending->kinds[e] == STATE_ORDER_ADDED;

		keys[i] = pending->keys[e];
		times[i] = pending->times[e];
		time_nulls[i] = !added;
		amounts[i] = pending->amounts[e];
		amount_nulls[i] = !added || pending->amount_nulls[e];
		changed[i] = BoolGetDatum(!added);
		if (!added)
			changed_keys[changed_count++] = keys[i];
	}

	/*
	 * The thresholds, the cells' segments and the lifecycle limits as the
	 * latest committed change left them: a refresh, a change of the map or
	 * of the limits locks the state table while it rescores, and this lock
	 * is granted after it commits.
	 */
	run_as_owner_begin(plans->attachments_owner, schema, &nest_level, &saved_user, &saved_context);
	args[0] = CStringGetTextDatum(pending->attachment);
	if (SPI_execute_snapshot(plans->current, args, NULL, GetLatestSnapshot(), InvalidSnapshot, true, false, 1)
		!= SPI_OK_SELECT)
		elog(ERROR, "could not read attachment \"%s\"", pending->attachment);
	no_thresholds = no_cell_segments = no_limits = true;
	if (SPI_processed == 1)
	{
		thresholds = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &no_thresholds);
		cell_segments = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &no_cell_segments);
		limits = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &no_limits);
	}
	run_as_owner_end(nest_level, saved_user, saved_context);

	/*
	 * The events are in the arrays: they count as applied now, so that a
	 * fold nested in this one (a trigger on the state table that writes
	 * orders, with state_commit IMMEDIATE) does not apply them twice.
	 */
	pending_state_applied(pending);

	run_as_owner_begin(plans->owner, schema, &nest_level, &saved_user, &saved_context);
	/* a bulk load's events sorted by customer in memory, not on disk */
	if (count >= FOLD_BULK_EVENTS && work_mem < FOLD_BULK_WORK_MEM_KB)
		(void) set_config_option("work_mem", psprintf("%d", FOLD_BULK_WORK_MEM_KB), PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	if (cleared)
		run_prepared(plans->clear, NULL, NULL);
	if (count == 1 && changed_count == 0)
	{
		char	   *nulls = parameter_nulls(6, no_thresholds, no_cell_segments, no_limits);

		nulls[2] = amount_nulls[0] ? 'n' : ' ';
		args[0] = keys[0];
		args[1] = times[0];
		args[2] = amounts[0];
		args[3] = thresholds;
		args[4] = cell_segments;
		args[5] = limits;
		run_prepared(plans->merge_one, args, nulls);
	}
	else if (count > 0)
	{
		args[0] = PointerGetDatum(array_of(keys, NULL, count, pending->key_type));
		args[1] = PointerGetDatum(array_of(times, time_nulls, count, time_type));
		args[2] = PointerGetDatum(array_of(amounts, amount_nulls, count, amount_type));
		args[3] = PointerGetDatum(array_of(changed, NULL, count, BOOLOID));
		args[4] = thresholds;
		args[5] = cell_segments;
		args[6] = limits;
		run_prepared(plans->merge, args, parameter_nulls(7, no_thresholds, no_cell_segments, no_limits));
	}
	if (changed_count > 0)
	{
		/* a statement of its own: under READ COMMITTED its snapshot follows the locks */
		args[0] = PointerGetDatum(array_of(changed_keys, NULL, changed_count, pending->key_type));
		args[1] = thresholds;
		args[2] = cell_segments;
		args[3] = limits;
		run_prepared(plans->derive, args, parameter_nulls(4, no_thresholds, no_cell_segments, no_limits));
	}
	run_as_owner_end(nest_level, saved_user, saved_context);
	SPI_finish();
}

/*
 * run_state_statement(attachment, statement): runs one statement of
 * state_statements() on a maintained attachment, as the owner of its state
 * table, restricted: refill (every customer derived again from all the
 * orders; the events of the transaction so far are then in the state),
 * rescore (every customer scored again) or rescore_expired (those whose
 * stored values expired).  The caller must have the rights of that owner;
 * refill wants a lock that keeps writers of orders out (rebuild_state()
 * takes it), rescore one that keeps their commits out (lock_state_tables()).
 */
Datum
run_state_statement(PG_FUNCTION_ARGS)
{
	char	   *attachment = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *statement = text_to_cstring(PG_GETARG_TEXT_PP(1));
	const char *schema = state_schemas(fcinfo);
	Oid			attachments = get_relname_relid("attachments", get_namespace_oid(schema, false));
	Oid			saved_user;
	int			saved_context;
	int			nest_level;
	Datum		args[1];
	char	   *sql;
	char	   *problem;
	Oid			owner;
	bool		isnull;
	int64		written;

	if (strcmp(statement, "refill") != 0 && strcmp(statement, "rescore") != 0 &&
		strcmp(statement, "rescore_expired") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no state statement \"%s\"", statement),
				 errhint("The statements are refill, rescore and rescore_expired.")));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	run_as_owner_begin(relation_owner(attachments), schema, &nest_level, &saved_user, &saved_context);
	args[0] = CStringGetTextDatum(attachment);
	if (SPI_execute_with_args(psprintf("SELECT s.%s, s.owner, s.problem FROM %s.state_statements($1, NULL, NULL, NULL) s",
									   statement, quote_identifier(internal_schema)),
							  1, (Oid[]) {TEXTOID}, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the statements of attachment \"%s\"", attachment);
	run_as_owner_end(nest_level, saved_user, saved_context);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("attachment \"%s\" is not maintained", attachment)));
	sql = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	problem = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
	if (problem != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot maintain the state of attachment \"%s\"", attachment),
				 errdetail("%s", problem)));
	if (!has_privs_of_role(GetUserId(), owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of the state table of attachment \"%s\"", attachment)));
	run_as_owner_begin(owner, schema, &nest_level, &saved_user, &saved_context);
	if (SPI_execute(sql, false, 0) < 0)
		elog(ERROR, "could not run statement %s of attachment \"%s\"", statement, attachment);
	written = (int64) SPI_processed;
	run_as_owner_end(nest_level, saved_user, saved_context);
	SPI_finish();
	if (strcmp(statement, "refill") == 0)
		pending_state_refilled(attachment);
	PG_RETURN_INT64(written);
}

/*
 * attachments_changed(): statement trigger of the attachments table; has
 * every backend prepare its fold statements again.
 */
Datum
attachments_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));
	return PointerGetDatum(NULL);
}

