/*
 * primary_key.c
 *		Reading one row of a table through its primary key, without planning
 *		or starting the executor: the trigger of a maintained state reads the
 *		customer's state row, the attachment's thresholds and a score cell's
 *		segments for every order, and a statement each would cost more than
 *		the lookups.
 *
 * Each backend remembers where it last found, or wrote, a key's row: the
 * heap TID its index entry points to (the root of its chain of heap-only
 * versions) and the buffer that held the page.  The next lookup of the key
 * follows that chain, as the index entry would lead it, and descends the
 * B-tree only when the chain holds no version the snapshot sees with the
 * key: after an update that was not heap-only, a removal, or when another
 * key has taken the place.  A version the snapshot sees with the key is the
 * row an index scan returns, since a primary key lets one snapshot see at
 * most one version per key.  A remembered place is never trusted beyond
 * that check, so it needs no invalidation: pruning, VACUUM, truncation,
 * rewrites and other rows reusing the place make it miss, not lie.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/xact.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "common/hashfn.h"
#include "nodes/bitmapset.h"
#include "storage/bufmgr.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"

#include "state.h"

/* The primary key index of a table; an error if it has none. */
static Oid
primary_key_index(Relation table)
{
	/* RelationGetIndexList fills rd_pkindex */
	list_free(RelationGetIndexList(table));
	if (!OidIsValid(table->rd_pkindex))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" has no primary key", RelationGetRelationName(table)),
				 errdetail("segment looks its rows up by their primary key.")));
	return table->rd_pkindex;
}

#if PG_VERSION_NUM >= 140000
/* Where a key's row was last found or written (see the top of this file). */
typedef struct KnownRow
{
	uint32		hash;			/* of the table and the key */
	ItemPointerData root;		/* what the key's index entry points to */
	Buffer		buffer;			/* the buffer that held its page then */
} KnownRow;

/* A key's place in known_rows (2 MB); another key of the same place replaces it. */
#define KNOWN_ROWS (1 << 17)
static KnownRow *known_rows = NULL;

/*
 * The place for key in table, or NULL when lookups of table must go through
 * the index: a table access method other than heap, whose TIDs this does
 * not know how to read; SERIALIZABLE, whose predicate locks on the index
 * pages a lookup must take; or a primary key of more than one column.
 */
static KnownRow *
known_row_place(Relation table, Datum key, AttrNumber *key_attnum, uint32 *hash)
{
	Bitmapset  *key_columns;
	int			column;
	Form_pg_attribute att;

	if (table->rd_tableam != GetHeapamTableAmRoutine() || IsolationIsSerializable())
		return NULL;
	key_columns = RelationGetIndexAttrBitmap(table, INDEX_ATTR_BITMAP_PRIMARY_KEY);
	if (!bms_get_singleton_member(key_columns, &column))
		column = -1;
	bms_free(key_columns);
	if (column < 0 || column + FirstLowInvalidHeapAttributeNumber <= 0)
		return NULL;
	*key_attnum = column + FirstLowInvalidHeapAttributeNumber;
	att = TupleDescAttr(RelationGetDescr(table), *key_attnum - 1);
	if (known_rows == NULL)
		known_rows = MemoryContextAllocZero(TopMemoryContext, sizeof(KnownRow) * KNOWN_ROWS);
	*hash = hash_combine(hash_bytes_uint32(RelationGetRelid(table)), datum_image_hash(key, att->attbyval, att->attlen));
	return &known_rows[*hash % KNOWN_ROWS];
}

/*
 * The version of the row at known that snapshot sees, into slot, if there
 * is one and it has the key; false otherwise, slot then empty.  The page is
 * pruned first, as an index scan that reaches it does.
 */
static bool
fetch_known_row(Relation table, const KnownRow *known, Datum key, AttrNumber key_attnum,
				Snapshot snapshot, TupleTableSlot *slot)
{
	Form_pg_attribute att = TupleDescAttr(RelationGetDescr(table), key_attnum - 1);
	ItemPointerData tid = known->root;
	/* where an index scan keeps the version it finds: the slot's own */
	HeapTuple	tuple = &((BufferHeapTupleTableSlot *) slot)->base.tupdata;
	bool		found;
	bool		isnull;
	Datum		stored;

	/* a buffer that still holds the page proves that the page still exists */
	if (!TTS_IS_BUFFERTUPLE(slot) || !BufferIsValid(known->buffer) ||
#if PG_VERSION_NUM >= 160000
		!ReadRecentBuffer(table->rd_locator, MAIN_FORKNUM, ItemPointerGetBlockNumber(&tid), known->buffer)
#else
		!ReadRecentBuffer(table->rd_node, MAIN_FORKNUM, ItemPointerGetBlockNumber(&tid), known->buffer)
#endif
		)
		return false;
	heap_page_prune_opt(table, known->buffer);
	LockBuffer(known->buffer, BUFFER_LOCK_SHARE);
	/* follows the chain of heap-only versions from its root, as an index scan does */
	found = heap_hot_search_buffer(&tid, table, known->buffer, snapshot, tuple, NULL, true);
	if (found)
		ExecStoreBufferHeapTuple(tuple, slot, known->buffer);
	LockBuffer(known->buffer, BUFFER_LOCK_UNLOCK);
	ReleaseBuffer(known->buffer);
	if (!found)
		return false;
	stored = slot_getattr(slot, key_attnum, &isnull);
	if (!isnull && datum_image_eq(stored, key, att->attbyval, att->attlen))
		return true;
	ExecClearTuple(slot);
	return false;
}

/*
 * Remembers, in the place for key, that the index entry of key in table
 * points to root, a version of the row on the page buffer holds (pinned by
 * the caller).
 */
static void
remember_at(KnownRow *known, uint32 hash, ItemPointer root, Buffer buffer)
{
	known->hash = hash;
	known->root = *root;
	known->buffer = buffer;
}
#endif

/* remember_at() for key, from outside this file. */
void
remember_row(Relation table, Datum key, ItemPointer root, Buffer buffer)
{
#if PG_VERSION_NUM >= 140000
	AttrNumber	key_attnum;
	uint32		hash;
	KnownRow   *known = known_row_place(table, key, &key_attnum, &hash);

	if (known != NULL && BufferIsValid(buffer))
		remember_at(known, hash, root, buffer);
#endif
}

/*
 * Finds the row of table whose one-column primary key equals key, as
 * snapshot sees it, into slot; false if there is none.
 */
static bool
fetch_by_primary_key(Relation table, Datum key, Snapshot snapshot, TupleTableSlot *slot)
{
	Relation	index;
	Oid			key_type;
	Oid			equal;
	IndexScanDesc scan;
	ScanKeyData scan_key;
	ItemPointerData root pg_attribute_unused();	/* used on PostgreSQL 14 and later */
	bool		found;

#if PG_VERSION_NUM >= 140000
	AttrNumber	key_attnum = InvalidAttrNumber;
	uint32		hash = 0;
	KnownRow   *known = known_row_place(table, key, &key_attnum, &hash);

	if (known != NULL && known->hash == hash &&
		fetch_known_row(table, known, key, key_attnum, snapshot, slot))
		return true;
#endif
	index = index_open(primary_key_index(table), AccessShareLock);
	key_type = index->rd_opcintype[0];
	equal = get_opfamily_member(index->rd_opfamily[0], key_type, key_type, BTEqualStrategyNumber);
	if (!OidIsValid(equal) || index->rd_index->indnatts != 1)
		elog(ERROR, "the primary key of \"%s\" is not one column with a B-tree equality",
			 RelationGetRelationName(table));
	ScanKeyEntryInitialize(&scan_key, 0, 1, BTEqualStrategyNumber, InvalidOid,
						   index->rd_indcollation[0], get_opcode(equal), key);
	scan = index_beginscan(table, index, snapshot, 1, 0);
	index_rescan(scan, &scan_key, 1, NULL, 0);
	/* index_getnext_slot(), keeping the TID of the entry */
	found = false;
	while (!found)
	{
		ItemPointer entry = index_getnext_tid(scan, ForwardScanDirection);

		if (entry == NULL)
			break;
		root = *entry;
		do
			found = index_fetch_heap(scan, slot);
		while (!found && scan->xs_heap_continue);
	}
#if PG_VERSION_NUM >= 140000
	if (found && known != NULL && TTS_IS_BUFFERTUPLE(slot))
		remember_at(known, hash, &root, ((BufferHeapTupleTableSlot *) slot)->buffer);
#endif
	index_endscan(scan);
	/* the lock stays until the end of the transaction, as a statement's would */
	index_close(index, NoLock);
	return found;
}

/*
 * Column attnum of the row of table in slot, copied into the current memory
 * context: a stored row's bytes stay valid only while the slot holds it.
 */
void
copy_row_column(Relation table, TupleTableSlot *slot, AttrNumber attnum, Datum *value, bool *isnull)
{
	Form_pg_attribute att = TupleDescAttr(RelationGetDescr(table), attnum - 1);
	Datum		stored = slot_getattr(slot, attnum, isnull);

	*value = *isnull ? (Datum) 0 : datumCopy(stored, att->attbyval, att->attlen);
}

/*
 * Reads column attnum of the row of table_oid whose one-column primary key
 * equals key, as snapshot sees it.  False if there is no such row; else the
 * value, copied into the current memory context, and whether it is NULL.
 */
bool
read_by_primary_key(Oid table_oid, Datum key, AttrNumber attnum, Snapshot snapshot,
					Datum *value, bool *isnull)
{
	Relation	table = table_open(table_oid, AccessShareLock);
	TupleTableSlot *slot = table_slot_create(table, NULL);
	bool		found = fetch_by_primary_key(table, key, snapshot, slot);

	if (found)
		copy_row_column(table, slot, attnum, value, isnull);
	ExecDropSingleTupleTableSlot(slot);
	table_close(table, NoLock);
	return found;
}

/*
 * Locks the row of table_oid whose primary key equals key against other
 * writers until the end of the transaction, as SELECT ... FOR NO KEY UPDATE
 * does, waiting for a transaction that holds it.  Under READ COMMITTED the
 * lock goes to the newest version of the row; under REPEATABLE READ a row
 * changed since snapshot is a serialization failure.  The result says
 * whether a row was locked (then row holds it, as locked, until
 * locked_row_release()), none exists, or it was deleted while this waited
 * (look again, with a new snapshot).
 */
RowLockResult
lock_by_primary_key(Oid table_oid, Datum key, Snapshot snapshot, LockedRow *row)
{
	Relation	table = table_open(table_oid, RowShareLock);
	TupleTableSlot *slot = table_slot_create(table, NULL);
	RowLockResult result = ROW_ABSENT;

	if (fetch_by_primary_key(table, key, snapshot, slot))
	{
		TM_FailureData failure;
		ItemPointerData tid = slot->tts_tid;
		bool		newest = !IsolationUsesXactSnapshot();

		switch (table_tuple_lock(table, &tid, snapshot, slot, GetCurrentCommandId(false),
								 LockTupleNoKeyExclusive, LockWaitBlock,
								 newest ? TUPLE_LOCK_FLAG_FIND_LAST_VERSION : 0, &failure))
		{
			case TM_Ok:
				row->table = table;
				row->slot = slot;
				row->key = key;
				return ROW_LOCKED;
			case TM_Updated:
			case TM_Deleted:
				if (!newest)
					ereport(ERROR,
							(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
							 errmsg("could not serialize access due to concurrent update")));
				/* a deleted row: under READ COMMITTED the newest version is gone */
				result = ROW_GONE;
				break;
			default:
				elog(ERROR, "unexpected result locking a row of \"%s\"", RelationGetRelationName(table));
		}
	}
	ExecDropSingleTupleTableSlot(slot);
	table_close(table, NoLock);
	return result;
}
