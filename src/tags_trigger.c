/*
 * tags_trigger.c
 *		The trigger that keeps an attachment's customer tags current as
 *		customers are inserted, updated, deleted and truncated.
 *
 * The tags table holds, for every customer of the customers table that is
 * in at least one attribute rule segment (a rule the customer's row alone
 * decides, src/segment_rule.c), the set of those segments.  A written row is
 * judged again from the row itself, by one statement that
 * store_customer_tags() (src/tags.sql) builds from the attachment's
 * attribute rules and passes as an argument, beside the refill it runs over
 * the whole table, so that both evaluate the rules alike; a customer whose
 * key changed or who was deleted loses the tags of the old key.  The customers table's key is unique (checked when
 * the tags are made), so the rows of one key follow each other in the order
 * their events fire.
 *
 * The function pins search_path (its SET clause), as the views were built
 * with: a rule's names resolve alike in the views and here.
 *
 * Arguments: the attachment's name, the tags table (a quoted, qualified
 * name), the customers table's key column, and the statement that stores a
 * customer's tags, given the customer's row as $1.  The TRUNCATE trigger
 * has the first two only.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "prepared.h"

PG_FUNCTION_INFO_V1(segment_tags_trigger);

/* The prepared statements of one trigger, kept for the life of the backend. */
typedef struct TagPlans
{
	Oid			trigger_oid;	/* hash key */
	char	   *store_sql;		/* the argument the plans were made from */
	int			key_attnum;
	Oid			key_output;		/* output function of the key, for messages */
	SPIPlanPtr	store;			/* $1 the customer's row; row triggers */
	SPIPlanPtr	remove;			/* $1 the customer's key; row triggers */
	SPIPlanPtr	clear;
} TagPlans;

static HTAB *plans_by_trigger = NULL;

/* What an error while tagging a customer reports as its context. */
typedef struct TagContext
{
	const char *attachment;
	Oid			key_output;
	Datum		key;
	bool		key_known;
} TagContext;

static void
tag_error_context(void *arg)
{
	TagContext *context = (TagContext *) arg;

	if (context->key_known)
		errcontext("storing the attribute-rule segments of customer %s of attachment \"%s\"",
				   OidOutputFunctionCall(context->key_output, context->key), context->attachment);
	else
		errcontext("emptying the customer tags of attachment \"%s\"", context->attachment);
}

/* Prepares the statements of a trigger on its first use in this backend. */
static TagPlans *
tag_plans(TriggerData *trigdata)
{
	Trigger    *trigger = trigdata->tg_trigger;
	Relation	customers = trigdata->tg_relation;
	TagPlans   *plans;
	bool		found;
	const char *tags;
	const char *key;
	const char *store_sql;
	Oid			row_type = RelationGetForm(customers)->reltype;
	Oid			key_type;
	bool		varlena;

	if (trigger->tgnargs != (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event) ? 2 : 4))
		elog(ERROR, "segment_tags_trigger got %d arguments", trigger->tgnargs);
	if (plans_by_trigger == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(TagPlans);
		ctl.hcxt = TopMemoryContext;
		plans_by_trigger = hash_create("segment tag plans", 16, &ctl,
									   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	store_sql = trigger->tgnargs == 4 ? trigger->tgargs[3] : "";
	plans = hash_search(plans_by_trigger, &trigger->tgoid, HASH_FIND, NULL);
	/* the same trigger replaced with other rules (CREATE OR REPLACE TRIGGER) */
	if (plans != NULL && strcmp(plans->store_sql, store_sql) == 0)
		return plans;
	if (plans != NULL)
	{
		if (plans->store != NULL)
		{
			SPI_freeplan(plans->store);
			SPI_freeplan(plans->remove);
		}
		SPI_freeplan(plans->clear);
		pfree(plans->store_sql);
		hash_search(plans_by_trigger, &trigger->tgoid, HASH_REMOVE, NULL);
	}

	tags = trigger->tgargs[1];
	{
		TagPlans	made;

		made.store = made.remove = NULL;
		made.key_attnum = 0;
		made.key_output = InvalidOid;
		if (trigger->tgnargs == 4)
		{
			key = trigger->tgargs[2];
			made.key_attnum = SPI_fnumber(RelationGetDescr(customers), key);
			if (made.key_attnum <= 0)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_COLUMN),
						 errmsg("column \"%s\" of %s, the key segment tags customers by, does not exist",
								key, RelationGetRelationName(customers)),
						 errhint("Call stop_maintaining() and maintain_attachment() again after renaming columns.")));
			key_type = SPI_gettypeid(RelationGetDescr(customers), made.key_attnum);
			getTypeOutputInfo(key_type, &made.key_output, &varlena);
			made.store = prepare_kept(store_sql, 1, &row_type);
			made.remove = prepare_kept(psprintf("DELETE FROM %s t WHERE t.customer_id OPERATOR(pg_catalog.=) $1", tags),
								  1, &key_type);
		}
		made.clear = prepare_kept(psprintf("DELETE FROM %s", tags), 0, NULL);
		made.store_sql = MemoryContextStrdup(TopMemoryContext, store_sql);

		plans = hash_search(plans_by_trigger, &trigger->tgoid, HASH_ENTER, &found);
		made.trigger_oid = trigger->tgoid;
		*plans = made;
	}
	return plans;
}

/* AFTER INSERT OR UPDATE OR DELETE row trigger, AFTER TRUNCATE statement trigger. */
Datum
segment_tags_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	TagPlans   *plans;
	TagContext	context;
	ErrorContextCallback callback;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(trigdata->tg_event))
		elog(ERROR, "segment_tags_trigger must be an AFTER trigger");
	if (!TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event) && !TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		elog(ERROR, "segment_tags_trigger must be a row trigger for INSERT, UPDATE and DELETE");

	desc = RelationGetDescr(trigdata->tg_relation);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	plans = tag_plans(trigdata);

	context.attachment = trigdata->tg_trigger->tgargs[0];
	context.key_output = plans->key_output;
	context.key_known = false;
	callback.callback = tag_error_context;
	callback.arg = &context;
	callback.previous = error_context_stack;
	error_context_stack = &callback;

	if (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		run_prepared(plans->clear, NULL, NULL);
	else
	{
		HeapTuple	old_row = TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) ? NULL : trigdata->tg_trigtuple;
		HeapTuple	new_row = TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) ? trigdata->tg_trigtuple :
			TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? trigdata->tg_newtuple : NULL;
		Form_pg_attribute key = TupleDescAttr(desc, plans->key_attnum - 1);
		bool		old_null = true;
		bool		new_null = true;
		Datum		old_key = (Datum) 0;
		Datum		new_key = (Datum) 0;

		if (old_row != NULL)
			old_key = heap_getattr(old_row, plans->key_attnum, desc, &old_null);
		if (new_row != NULL)
			new_key = heap_getattr(new_row, plans->key_attnum, desc, &new_null);

		/* the old key first: its tags go unless the new row keeps the key */
		if (!old_null && (new_null || !datumIsEqual(old_key, new_key, key->attbyval, key->attlen)))
		{
			context.key = old_key;
			context.key_known = true;
			run_prepared(plans->remove, &old_key, NULL);
		}
		if (!new_null)
		{
			Datum		row = heap_copy_tuple_as_datum(new_row, desc);

			context.key = new_key;
			context.key_known = true;
			run_prepared(plans->store, &row, NULL);
		}
	}

	error_context_stack = callback.previous;
	SPI_finish();
	return PointerGetDatum(NULL);
}
