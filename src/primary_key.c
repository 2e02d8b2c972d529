/*
 * primary_key.c
 *		Reading one row of a table through its primary key, without planning
 *		or starting the executor: the trigger of a maintained state reads the
 *		customer's state row, the attachment's thresholds and a score cell's
 *		segments for every order, and a statement each would cost more than
 *		the lookups.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/xact.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
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

/*
 * Finds the row of table whose one-column primary key equals key, as
 * snapshot sees it, into slot; false if there is none.
 */
static bool
fetch_by_primary_key(Relation table, Datum key, Snapshot snapshot, TupleTableSlot *slot)
{
	Relation	index = index_open(primary_key_index(table), AccessShareLock);
	Oid			key_type = index->rd_opcintype[0];
	Oid			equal = get_opfamily_member(index->rd_opfamily[0], key_type, key_type,
											BTEqualStrategyNumber);
	IndexScanDesc scan;
	ScanKeyData scan_key;
	bool		found;

	if (!OidIsValid(equal) || index->rd_index->indnatts != 1)
		elog(ERROR, "the primary key of \"%s\" is not one column with a B-tree equality",
			 RelationGetRelationName(table));
	ScanKeyEntryInitialize(&scan_key, 0, 1, BTEqualStrategyNumber, InvalidOid,
						   index->rd_indcollation[0], get_opcode(equal), key);
	scan = index_beginscan(table, index, snapshot, 1, 0);
	index_rescan(scan, &scan_key, 1, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, slot);
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
