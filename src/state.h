/*
 * state.h
 *		The maintained per-customer state of an attachment: what a state row
 *		stores beside the statistics, and until when time alone leaves it
 *		true (state_validity.c); reading and locking rows by primary key
 *		(primary_key.c) and rewriting a locked row (locked_row.c); all serve
 *		the trigger that writes the rows (state_trigger.c).
 */
#ifndef SEGMENT_STATE_H
#define SEGMENT_STATE_H

#include "postgres.h"

#include "access/attnum.h"
#include "datatype/timestamp.h"
#include "executor/tuptable.h"
#include "storage/buf.h"
#include "storage/itemptr.h"
#include "utils/relcache.h"
#include "utils/snapshot.h"

#include "rfm_stats.h"
#include "rfm_thresholds.h"

extern void segments_validity_of(const RfmOrders *orders, TimestampTz as_of, const RfmBins *bins,
								 TimestampTz *from, TimestampTz *until);

/* What lock_by_primary_key found. */
typedef enum RowLockResult
{
	ROW_LOCKED,					/* the row, locked */
	ROW_ABSENT,					/* no row with the key */
	ROW_GONE					/* deleted by a transaction this waited for */
} RowLockResult;

extern void copy_row_column(Relation table, TupleTableSlot *slot, AttrNumber attnum,
							Datum *value, bool *isnull);
extern void remember_row(Relation table, Datum key, ItemPointer root, Buffer buffer);
extern bool read_by_primary_key(Oid table_oid, Datum key, AttrNumber attnum, Snapshot snapshot,
								Datum *value, bool *isnull);

/* A row locked by lock_by_primary_key, held until locked_row_release(). */
typedef struct LockedRow
{
	Relation	table;
	TupleTableSlot *slot;		/* the row as locked; tts_tid is its version */
	Datum		key;			/* its primary key */
} LockedRow;

extern RowLockResult lock_by_primary_key(Oid table_oid, Datum key, Snapshot snapshot,
										 LockedRow *row);
extern bool locked_row_update(LockedRow *row, int count, const AttrNumber *attnums,
							  const Datum *values, const bool *isnull, Snapshot snapshot);
extern void locked_row_release(LockedRow *row);

#endif							/* SEGMENT_STATE_H */
