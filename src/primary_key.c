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
 * Reads column attnum of the row of table_oid whose one-column primary key
 * equals key, as snapshot sees it.  False if there is no such row; else the
 * value, copied into the current memory context, and whether it is NULL.
 */
bool
read_by_primary_key(Oid table_oid, Datum key, AttrNumber attnum, Snapshot snapshot,
					Datum *value, bool *isnull)
{
	Relation	table = table_open(table_oid, AccessShareLock);
	Relation	index = index_open(primary_key_index(table), AccessShareLock);
	Oid			key_type = index->rd_opcintype[0];
	Oid			equal = get_opfamily_member(index->rd_opfamily[0], key_type, key_type,
											BTEqualStrategyNumber);
	TupleTableSlot *slot = table_slot_create(table, NULL);
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
	if (found)
	{
		Form_pg_attribute att = TupleDescAttr(RelationGetDescr(table), attnum - 1);
		Datum		stored = slot_getattr(slot, attnum, isnull);

		*value = *isnull ? (Datum) 0 : datumCopy(stored, att->attbyval, att->attlen);
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	/* the locks stay until the end of the transaction, as a statement's would */
	index_close(index, NoLock);
	table_close(table, NoLock);
	return found;
}
