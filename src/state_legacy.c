/*
 * state_legacy.c
 *		The maintained state of attachments made by versions 0.1.0 to 0.5.0,
 *		between the installation of this library and ALTER EXTENSION
 *		segment UPDATE, which replaces their triggers (src/state.sql).
 *
 * Their triggers name the state table and the orders columns in their
 * arguments, and their refresh functions call state_columns_sql().  Until
 * the update, each written order makes its customer derived again from all
 * its orders, at once, under a transaction-level advisory lock per
 * customer: slower than the state of this version, and able to deadlock
 * when transactions write shared customers in opposite orders, but exact.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/regproc.h"
#include "utils/typcache.h"

#include "state.h"

PG_FUNCTION_INFO_V1(state_columns_sql);

/*
 * SQL for the stored columns after stats (scores, lifecycle_stage,
 * segments, scored_at, valid_until) of a state row of 0.2.0 to 0.5.0, given
 * the SQL of its statistics.
 */
static char *
legacy_derived_columns(const char *stats, const char *ext, const char *attachment, const char *cells)
{
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

/* state_columns_sql(stats_sql, attachment_name, cells): for the refresh functions of 0.2.0 to 0.5.0. */
Datum
state_columns_sql(PG_FUNCTION_ARGS)
{
	char	   *stats = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *attachment = text_to_cstring(PG_GETARG_TEXT_PP(1));
	Oid			cells_oid = PG_GETARG_OID(2);
	const char *ext = quote_identifier(get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid)));
	char	   *cells_name = get_rel_name(cells_oid);

	if (cells_name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", cells_oid)));
	PG_RETURN_TEXT_P(cstring_to_text(legacy_derived_columns(stats, ext, attachment,
															quote_qualified_identifier(get_namespace_name(get_rel_namespace(cells_oid)),
																					   cells_name))));
}

/* Derives one customer's state row again, under its advisory lock. */
static void
legacy_rederive(Trigger *trigger, Relation orders, const char *ext, Datum customer, Oid key_type)
{
	const char *state = trigger->tgargs[0];
	Oid			state_oid = DatumGetObjectId(DirectFunctionCall1(regclassin, CStringGetDatum(state)));
	TypeCacheEntry *type = lookup_type_cache(key_type, TYPECACHE_HASH_PROC_FINFO);
	int64		lock_key;
	char	   *orders_name = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(orders)),
														 RelationGetRelationName(orders));
	char	   *sql;

	if (!OidIsValid(type->hash_proc))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("the customer key type %s has no hash function", format_type_be(key_type))));
	/* the state table's oid in the high half, the customer's hash in the low */
	lock_key = ((int64) state_oid << 32) |
		(uint32) DatumGetInt32(FunctionCall1Coll(&type->hash_proc_finfo,
												 TupleDescAttr(RelationGetDescr(orders), 0)->attcollation,
												 customer));
	LockRelationOid(state_oid, RowExclusiveLock);
	DirectFunctionCall1(pg_advisory_xact_lock_int8, Int64GetDatum(lock_key));
	sql = psprintf("WITH fresh AS ("
				   " SELECT %1$s.rfm_stats(o.%2$s::pg_catalog.timestamptz, o.%3$s::pg_catalog.numeric) AS stats"
				   " FROM %4$s o WHERE o.%5$s OPERATOR(pg_catalog.=) $1"
				   "), removed AS ("
				   " DELETE FROM %6$s s WHERE s.customer_id OPERATOR(pg_catalog.=) $1"
				   " AND (SELECT stats FROM fresh) IS NULL"
				   ") INSERT INTO %6$s AS s (customer_id, stats)"
				   " SELECT $1, stats FROM fresh WHERE stats IS NOT NULL"
				   " ON CONFLICT (customer_id) DO UPDATE SET stats = excluded.stats",
				   ext, quote_identifier(trigger->tgargs[2]), quote_identifier(trigger->tgargs[3]),
				   orders_name, quote_identifier(trigger->tgargs[1]), state);
	if (SPI_execute_with_args(sql, 1, &key_type, &customer, NULL, false, 0) < 0)
		elog(ERROR, "could not derive a customer's state");
	if (trigger->tgnargs == 5)
	{
		const char *cells = quote_qualified_identifier(get_namespace_name(get_rel_namespace(state_oid)),
													   psprintf("%s_cells", trigger->tgargs[4]));
		bool		has_valid_from = get_attnum(state_oid, "valid_from") != InvalidAttrNumber;

		sql = psprintf("UPDATE %s s SET (scores, lifecycle_stage, segments, scored_at, valid_until) = ROW(%s)%s "
					   "WHERE s.customer_id OPERATOR(pg_catalog.=) $1",
					   state, legacy_derived_columns("s.stats", ext, trigger->tgargs[4], cells),
					   has_valid_from ? psprintf(", valid_from = %s.segment_as_of()", ext) : "");
		if (SPI_execute_with_args(sql, 1, &key_type, &customer, NULL, false, 0) < 0)
			elog(ERROR, "could not score a customer's state");
	}
}

/*
 * What a trigger of 0.1.0 to 0.5.0 (arguments: state table, customer, time
 * and amount columns, and from 0.2.0 the attachment) does with one event.
 */
void
legacy_state_trigger(TriggerData *trigdata, const char *ext)
{
	Trigger    *trigger = trigdata->tg_trigger;
	Relation	orders = trigdata->tg_relation;
	TupleDesc	desc = RelationGetDescr(orders);
	AttrNumber	customer = SPI_fnumber(desc, trigger->tgargs[1]);
	HeapTuple	rows[2] = {trigdata->tg_trigtuple, NULL};
	Oid			key_type;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
	{
		if (SPI_execute(psprintf("DELETE FROM %s", trigger->tgargs[0]), false, 0) < 0)
			elog(ERROR, "could not clear the state");
		SPI_finish();
		return;
	}
	if (customer <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of %s does not exist", trigger->tgargs[1], RelationGetRelationName(orders))));
	key_type = SPI_gettypeid(desc, customer);
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		rows[1] = trigdata->tg_newtuple;
	for (int i = 0; i < 2; i++)
	{
		bool		isnull;
		Datum		key;

		if (rows[i] == NULL)
			continue;
		key = heap_getattr(rows[i], customer, desc, &isnull);
		if (!isnull)
			legacy_rederive(trigger, orders, ext, key, key_type);
	}
	SPI_finish();
}
