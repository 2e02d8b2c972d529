/*
 * state.h
 *		The maintained per-customer state of an attachment: what a state row
 *		stores beside the statistics, and until when time alone leaves it
 *		true (state_validity.c); reading rows by primary key (primary_key.c);
 *		both serve the trigger that writes the rows (state_trigger.c).
 */
#ifndef SEGMENT_STATE_H
#define SEGMENT_STATE_H

#include "postgres.h"

#include "access/attnum.h"
#include "datatype/timestamp.h"
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

extern bool read_by_primary_key(Oid table_oid, Datum key, AttrNumber attnum, Snapshot snapshot,
								Datum *value, bool *isnull);

extern RowLockResult lock_by_primary_key(Oid table_oid, Datum key, int count,
										 const AttrNumber *attnums, Snapshot snapshot,
										 Datum *values, bool *isnull);

#endif							/* SEGMENT_STATE_H */
