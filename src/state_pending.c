/*
 * state_pending.c
 *		The writes of orders a transaction has recorded (state_trigger.c),
 *		kept until it commits, and the trigger that has them folded then
 *		(state_fold.c).
 *
 * The events of each attachment wait in TopTransactionContext, each with
 * the subtransaction that recorded it, so that a subtransaction that rolls
 * back takes its events (and the folds done inside it) with it.  The first
 * event of a transaction inserts a row into the extension's unlogged
 * state_commits table; that table's deferred constraint trigger,
 * segment_state_commit(), folds the events of every attachment in name
 * order and deletes the row.  A PRE_COMMIT callback refuses to commit
 * events that were not folded.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "prepared.h"
#include "state.h"

PG_FUNCTION_INFO_V1(segment_state_commit);

/* The events of the current transaction, by attachment (TopTransactionContext). */
static HTAB *pending_by_attachment = NULL;

/* Whether this transaction inserted its row into state_commits, and where. */
static bool commit_marked = false;
static SubTransactionId commit_marked_subxact = InvalidSubTransactionId;

/*
 * The statements that insert and delete that row, kept while the schema
 * names stay: a renamed schema has them prepared again.
 */
static SPIPlanPtr commit_insert = NULL;
static SPIPlanPtr commit_delete = NULL;
static bool commit_statements_valid = false;

static void
forget_commit_statements(Datum arg, int cacheid, uint32 hashvalue)
{
	commit_statements_valid = false;
}

/* The statements on state_commits, prepared if need be (inside SPI, as its owner). */
static void
commit_statements(const char *schema)
{
	if (commit_statements_valid)
		return;
	if (commit_insert != NULL)
		SPI_freeplan(commit_insert);
	if (commit_delete != NULL)
		SPI_freeplan(commit_delete);
	commit_insert = commit_delete = NULL;
	commit_insert = prepare_kept(psprintf("INSERT INTO %s.state_commits DEFAULT VALUES", quote_identifier(schema)),
								 0, NULL);
	commit_delete = prepare_kept(psprintf("DELETE FROM %s.state_commits WHERE ctid OPERATOR(pg_catalog.=) $1",
										  quote_identifier(schema)),
								 1, (Oid[]) {TIDOID});
	commit_statements_valid = true;
}

/* Drops the events of a transaction that ends, and of a subtransaction that rolls back. */
static void
state_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			/* the fold ran at the deferred trigger; anything left would be lost */
			if (pending_state_next() != NULL)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("the maintained state of attachment \"%s\" was not written",
								pending_state_next()->attachment),
						 errdetail("The deferred trigger state_commit of the segment extension did not run."),
						 errhint("Do not disable or drop the triggers of the segment extension.")));
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
			pending_by_attachment = NULL;	/* freed with TopTransactionContext */
			commit_marked = false;
			break;
		default:
			break;
	}
}

static void
state_subxact_callback(SubXactEvent event, SubTransactionId subxact, SubTransactionId parent, void *arg)
{
	HASH_SEQ_STATUS scan;
	PendingState *pending;

	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	/* every event since the subtransaction began is its own or a child's */
	if (commit_marked && commit_marked_subxact >= subxact)
		commit_marked = false;
	if (pending_by_attachment == NULL)
		return;
	hash_seq_init(&scan, pending_by_attachment);
	while ((pending = hash_seq_search(&scan)) != NULL)
	{
		while (pending->count > 0 && pending->subxacts[pending->count - 1] >= subxact)
			pending->count--;
		while (pending->mark_count > 0 && pending->mark_subxacts[pending->mark_count - 1] >= subxact)
			pending->mark_count--;
		pending->applied = pending->mark_count > 0 ? pending->mark_applied[pending->mark_count - 1] : 0;
	}
}

/* Registers the callbacks, once per backend. */
void
pending_state_init(void)
{
	static bool registered = false;

	if (registered)
		return;
	CacheRegisterSyscacheCallback(NAMESPACEOID, forget_commit_statements, (Datum) 0);
	RegisterXactCallback(state_xact_callback, NULL);
	RegisterSubXactCallback(state_subxact_callback, NULL);
	registered = true;
}

/*
 * The attachment with events not yet in its state, the first by name (so
 * that two transactions fold the attachments they share in one order);
 * NULL if none.
 */
PendingState *
pending_state_next(void)
{
	HASH_SEQ_STATUS scan;
	PendingState *pending;
	PendingState *first = NULL;

	if (pending_by_attachment == NULL)
		return NULL;
	hash_seq_init(&scan, pending_by_attachment);
	while ((pending = hash_seq_search(&scan)) != NULL)
		if (pending->count > pending->applied &&
			(first == NULL || strcmp(pending->attachment, first->attachment) < 0))
			first = pending;
	return first;
}

/* Notes that the events of an attachment so far are in its state. */
void
pending_state_applied(PendingState *pending)
{
	if (pending->mark_count == pending->mark_capacity)
	{
		int			capacity = Max(8, pending->mark_capacity * 2);

		if (pending->mark_capacity == 0)
		{
			pending->mark_applied = MemoryContextAlloc(TopTransactionContext, capacity * sizeof(int));
			pending->mark_subxacts = MemoryContextAlloc(TopTransactionContext,
														capacity * sizeof(SubTransactionId));
		}
		else
		{
			pending->mark_applied = repalloc(pending->mark_applied, capacity * sizeof(int));
			pending->mark_subxacts = repalloc(pending->mark_subxacts, capacity * sizeof(SubTransactionId));
		}
		pending->mark_capacity = capacity;
	}
	pending->mark_applied[pending->mark_count] = pending->count;
	pending->mark_subxacts[pending->mark_count] = GetCurrentSubTransactionId();
	pending->mark_count++;
	pending->applied = pending->count;
}

/*
 * Notes that the state of an attachment was just derived again from all
 * the orders (state_refill()): the events recorded so far are in it.
 */
void
pending_state_refilled(const char *attachment)
{
	PendingState *pending;

	if (pending_by_attachment == NULL)
		return;
	pending = hash_search(pending_by_attachment, attachment, HASH_FIND, NULL);
	if (pending != NULL)
		pending_state_applied(pending);
}

/*
 * Inserts this transaction's row into state_commits, whose deferred
 * trigger folds the events at commit.  As the table's owner: writers of
 * orders need no privilege on it.
 */
static void
mark_commit(const char *schema)
{
	Oid			marker;
	Oid			saved_user;
	int			saved_context;
	int			nest_level;

	if (commit_marked)
		return;
	marker = get_relname_relid("state_commits", get_namespace_oid(schema, false));
	if (!OidIsValid(marker))
		elog(ERROR, "table state_commits of the segment extension is missing");
	/* before the insert: with the trigger set IMMEDIATE, the fold runs inside it and clears this */
	commit_marked = true;
	commit_marked_subxact = GetCurrentSubTransactionId();
	run_as_begin(relation_owner(marker), schema, false, &nest_level, &saved_user, &saved_context);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	commit_statements(schema);
	run_prepared(commit_insert, NULL, NULL);
	SPI_finish();
	run_as_owner_end(nest_level, saved_user, saved_context);
}

/* The events of an attachment in this transaction, made if missing. */
static PendingState *
pending_state_of(const char *attachment)
{
	PendingState *pending;
	bool		found;
	char		key[NAMEDATALEN] = {0};

	if (pending_by_attachment == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = NAMEDATALEN;
		ctl.entrysize = sizeof(PendingState);
		ctl.hcxt = TopTransactionContext;
		pending_by_attachment = hash_create("segment pending state", 4, &ctl,
											HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	}
	strlcpy(key, attachment, NAMEDATALEN);
	pending = hash_search(pending_by_attachment, key, HASH_ENTER, &found);
	if (!found)
	{
		pending->key_type = InvalidOid;
		pending->applied = 0;
		pending->mark_count = pending->mark_capacity = 0;
		pending->count = 0;
		pending->capacity = 0;
	}
	return pending;
}

/* Makes room for one more event. */
static void
pending_state_grow(PendingState *pending)
{
	MemoryContext caller;
	int			capacity;

	if (pending->count < pending->capacity)
		return;
	if (pending->capacity >= (int) (MaxAllocSize / sizeof(Datum) / 2))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many orders written to attachment \"%s\" in one transaction", pending->attachment),
				 errhint("Write them in several transactions.")));
	capacity = Max(64, pending->capacity * 2);
	caller = MemoryContextSwitchTo(TopTransactionContext);
	if (pending->capacity == 0)
	{
		pending->kinds = palloc(capacity * sizeof(StateEventKind));
		pending->keys = palloc(capacity * sizeof(Datum));
		pending->times = palloc(capacity * sizeof(Datum));
		pending->amounts = palloc(capacity * sizeof(Datum));
		pending->amount_nulls = palloc(capacity * sizeof(bool));
		pending->time_types = palloc(capacity * sizeof(Oid));
		pending->amount_types = palloc(capacity * sizeof(Oid));
		pending->subxacts = palloc(capacity * sizeof(SubTransactionId));
	}
	else
	{
		pending->kinds = repalloc(pending->kinds, capacity * sizeof(StateEventKind));
		pending->keys = repalloc(pending->keys, capacity * sizeof(Datum));
		pending->times = repalloc(pending->times, capacity * sizeof(Datum));
		pending->amounts = repalloc(pending->amounts, capacity * sizeof(Datum));
		pending->amount_nulls = repalloc(pending->amount_nulls, capacity * sizeof(bool));
		pending->time_types = repalloc(pending->time_types, capacity * sizeof(Oid));
		pending->amount_types = repalloc(pending->amount_types, capacity * sizeof(Oid));
		pending->subxacts = repalloc(pending->subxacts, capacity * sizeof(SubTransactionId));
	}
	MemoryContextSwitchTo(caller);
	pending->capacity = capacity;
}

/* The customer key type must stay within a transaction: the event trigger refuses to change it. */
static void
check_key_type(PendingState *pending, const OrdersColumns *columns)
{
	if (pending->count > 0 && pending->key_type != columns->key_type)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the customer column of the orders of attachment \"%s\" changed type in this transaction",
						columns->attachment)));
	pending->key_type = columns->key_type;
}

/*
 * Records one event; its values are copied into transaction memory.
 * Returns how many events of the attachment the transaction holds now.
 */
int
record_event(const char *schema, const OrdersColumns *columns, StateEventKind kind,
			 Datum key, Datum order_time, Datum amount, bool amount_null)
{
	PendingState *pending = pending_state_of(columns->attachment);
	MemoryContext caller;
	int			i;

	check_key_type(pending, columns);
	pending_state_grow(pending);
	i = pending->count;
	caller = MemoryContextSwitchTo(TopTransactionContext);
	pending->kinds[i] = kind;
	pending->keys[i] = datumCopy(key, columns->key_byval, columns->key_len);
	pending->times[i] = (Datum) 0;
	pending->amounts[i] = (Datum) 0;
	pending->amount_nulls[i] = true;
	pending->time_types[i] = columns->time_type;
	pending->amount_types[i] = columns->amount_type;
	if (kind == STATE_ORDER_ADDED)
	{
		pending->times[i] = datumCopy(order_time, columns->time_byval, columns->time_len);
		if (!amount_null)
		{
			pending->amounts[i] = datumCopy(amount, columns->amount_byval, columns->amount_len);
			pending->amount_nulls[i] = false;
		}
	}
	pending->subxacts[i] = GetCurrentSubTransactionId();
	pending->count++;
	MemoryContextSwitchTo(caller);
	mark_commit(schema);
	return pending->count;
}

/* Records that the whole table was emptied. */
void
record_clear(const char *schema, const OrdersColumns *columns)
{
	PendingState *pending = pending_state_of(columns->attachment);

	check_key_type(pending, columns);
	pending_state_grow(pending);
	pending->kinds[pending->count] = STATE_ORDERS_CLEARED;
	pending->keys[pending->count] = (Datum) 0;
	pending->amount_nulls[pending->count] = true;
	pending->time_types[pending->count] = pending->amount_types[pending->count] = InvalidOid;
	pending->subxacts[pending->count] = GetCurrentSubTransactionId();
	pending->count++;
	mark_commit(schema);
}

/*
 * segment_state_commit(): deferred constraint trigger of state_commits;
 * folds every pending event of the transaction into the state tables and
 * removes the transaction's row.
 */
Datum
segment_state_commit(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	const char *schema;
	PendingState *pending;
	Oid			saved_user;
	int			saved_context;
	int			nest_level;
	Datum		ctid;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("segment_state_commit must fire after each insert into state_commits")));
	pending_state_init();
	schema = state_schemas(fcinfo);
	/* one search_path for every statement below, as the writer */
	run_as_owner_begin(GetUserId(), schema, &nest_level, &saved_user, &saved_context);
	/* events recorded by the fold itself (a trigger on a state table) come around again */
	commit_marked = false;
	while ((pending = pending_state_next()) != NULL)
		state_fold(pending, schema);

	{
		Oid			writer;
		int			writer_context;
		int			inner_level;

		run_as_owner_begin(relation_owner(RelationGetRelid(trigdata->tg_relation)), schema,
						   &inner_level, &writer, &writer_context);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		ctid = PointerGetDatum(&trigdata->tg_trigtuple->t_self);
		commit_statements(schema);
		run_prepared(commit_delete, &ctid, NULL);
		SPI_finish();
		run_as_owner_end(inner_level, writer, writer_context);
	}
	run_as_owner_end(nest_level, saved_user, saved_context);
	return PointerGetDatum(NULL);
}
