/*
 * state.h
 *		The maintained per-customer state of an attachment: what a state row
 *		stores beside the statistics, and until when time alone leaves it
 *		true (state_validity.c), shared with the trigger that writes the rows
 *		(state_trigger.c).
 */
#ifndef SEGMENT_STATE_H
#define SEGMENT_STATE_H

#include "postgres.h"

#include "datatype/timestamp.h"

#include "rfm_stats.h"
#include "rfm_thresholds.h"

extern TimestampTz segments_valid_until_of(const RfmOrders *orders, TimestampTz as_of,
										   const RfmBins *bins);

#endif							/* SEGMENT_STATE_H */
