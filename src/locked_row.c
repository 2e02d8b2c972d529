/*
 * locked_row.c
 *		A row the trigger of a maintained state has locked through its primary
 *		key (primary_key.c): rewriting it in place, and letting it go.
 *
 * The trigger rewrites a customer's state row for every order.  A prepared
 * UPDATE would start an executor, look the row up again by its key and
 * open every index; the row is already locked and its version known, so
 * locked_row_update() writes the new version through the table access
 * method and inserts index entries only when the update is not heap-only.
 *
 * Only a plain write takes that path: the writer holds SELECT and UPDATE on
 * the table, no row-level security applies to it, and the table has no
 * triggers, rules, CHECK constraints, generated columns or partition
 * constraint, indexes only on plain columns without predicates and with
 * immediate uniqueness, and a value for every NOT NULL column.  Otherwise
 * locked_row_update() returns false and the caller writes with a statement,
 * which applies all of those as any UPDATE does.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "utils/acl.h"
#include "utils/rel.h"
#include "utils/rls.h"

#include "state.h"

/* Lets the row go; its lock stays until the end of the transaction. */
void
locked_row_release(LockedRow *row)
{
	ExecDropSingleTupleTableSlot(row->slot);
	table_close(row->table, NoLock);
	row->slot = NULL;
	row->table = NULL;
}

/* Whether the current user may write the table, as a plain UPDATE would. */
static bool
table_allows_plain_write(Relation table)
{
	Oid			relid = RelationGetRelid(table);
	TupleConstr *constr = RelationGetDescr(table)->constr;

	if (table->rd_rel->relkind != RELKIND_RELATION || table->rd_rel->relispartition ||
		table->rd_rel->relhasrules || table->trigdesc != NULL)
		return false;
	if (constr != NULL && (constr->num_check > 0 || constr->has_generated_stored))
		return false;
	if (check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED)
		return false;
	/* SELECT for the key a statement would look the row up by */
	return pg_class_aclcheck(relid, GetUserId(), ACL_UPDATE) == ACLCHECK_OK &&
		pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) == ACLCHECK_OK;
}

/* Whether an index's entries can be made without an executor. */
static bool
index_is_plain(Relation index)
{
	return index->rd_index->indimmediate && !index->rd_index->indisexclusion &&
		heap_attisnull(index->rd_indextuple, Anum_pg_index_indexprs, NULL) &&
		heap_attisnull(index->rd_indextuple, Anum_pg_index_indpred, NULL);
}

#if PG_VERSION_NUM >= 140000
/*
 * Whether none of the index's columns is one of the count written: the
 * hint an UPDATE gives the index, that the entry only points to a new
 * version of the row.
 */
static bool
index_columns_unchanged(const IndexInfo *info, int count, const AttrNumber *attnums)
{
	for (int k = 0; k < info->ii_NumIndexAttrs; k++)
		for (int i = 0; i < count; i++)
			if (info->ii_IndexAttrNumbers[k] == attnums[i])
				return false;
	return true;
}
#endif

/* Adds the entries of the row in slot to one index, as an UPDATE would. */
static void
insert_index_entries(Relation table, Relation index, TupleTableSlot *slot, int count,
					 const AttrNumber *attnums)
{
	IndexInfo  *info = BuildIndexInfo(index);
	Datum		values[INDEX_MAX_KEYS];
	bool		isnull[INDEX_MAX_KEYS];

	if (!info->ii_ReadyForInserts)
		return;
	/* plain columns only (index_is_plain), so no executor state is needed */
	FormIndexDatum(info, slot, NULL, values, isnull);
	index_insert(index, values, isnull, &slot->tts_tid, table,
				 index->rd_index->indisunique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO,
#if PG_VERSION_NUM >= 140000
				 index_columns_unchanged(info, count, attnums),
#endif
				 info);
}

/*
 * Rewrites the locked row with count columns (attnums) set to values, the
 * others as they are, under snapshot.  False, having written nothing, if
 * the write must go through a statement (see the top of this file).
 */
bool
locked_row_update(LockedRow *row, int count, const AttrNumber *attnums, const Datum *values,
				  const bool *isnull, Snapshot snapshot)
{
	Relation	table = row->table;
	TupleDesc	desc = RelationGetDescr(table);
	List	   *index_oids;
	ListCell   *cell;
	Relation   *indexes;
	int			nindexes = 0;
	bool		plain = table_allows_plain_write(table);
	TupleTableSlot *updated = NULL;
	ItemPointerData old_tid = row->slot->tts_tid;
	bool		new_root;

#if PG_VERSION_NUM >= 160000
	TU_UpdateIndexes update_indexes;
#else
	bool		update_indexes;
#endif

	if (!plain)
		return false;

	/* the new version: the locked one with the columns replaced */
	updated = table_slot_create(table, NULL);
	slot_getallattrs(row->slot);
	ExecClearTuple(updated);
	memcpy(updated->tts_values, row->slot->tts_values, desc->natts * sizeof(Datum));
	memcpy(updated->tts_isnull, row->slot->tts_isnull, desc->natts * sizeof(bool));
	for (int i = 0; i < count; i++)
	{
		updated->tts_values[attnums[i] - 1] = values[i];
		updated->tts_isnull[attnums[i] - 1] = isnull[i];
	}
	for (int a = 0; a < desc->natts && plain; a++)
		if (TupleDescAttr(desc, a)->attnotnull && updated->tts_isnull[a])
			plain = false;		/* the statement reports the violation */
	ExecStoreVirtualTuple(updated);

	index_oids = RelationGetIndexList(table);
	indexes = palloc(sizeof(Relation) * Max(list_length(index_oids), 1));
	foreach(cell, index_oids)
	{
		Relation	index = index_open(lfirst_oid(cell), RowExclusiveLock);

		indexes[nindexes++] = index;
		if (!index_is_plain(index))
			plain = false;
	}

	if (plain)
	{
		CheckCmdReplicaIdentity(table, CMD_UPDATE);
		/* the row is locked by this transaction: no concurrent update can intervene */
		simple_table_tuple_update(table, &old_tid, updated, snapshot, &update_indexes);
#if PG_VERSION_NUM >= 160000
		new_root = update_indexes == TU_All;
#else
		new_root = update_indexes;
#endif
		/* a new root on the same page: the next lookup of the key goes there without the index */
		if (new_root && TTS_IS_BUFFERTUPLE(row->slot) &&
			ItemPointerGetBlockNumber(&updated->tts_tid) == ItemPointerGetBlockNumber(&old_tid))
			remember_row(table, row->key, &updated->tts_tid, ((BufferHeapTupleTableSlot *) row->slot)->buffer);
		for (int i = 0; i < nindexes; i++)
		{
#if PG_VERSION_NUM >= 160000
			if (update_indexes == TU_All ||
				(update_indexes == TU_Summarizing && indexes[i]->rd_indam->amsummarizing))
#else
			if (update_indexes)
#endif
				insert_index_entries(table, indexes[i], updated, count, attnums);
		}
	}

	for (int i = 0; i < nindexes; i++)
		index_close(indexes[i], NoLock);
	list_free(index_oids);
	pfree(indexes);
	ExecDropSingleTupleTableSlot(updated);
	return plain;
}
