/*
 * segment.c
 *		Module entry point of the segment extension.
 *
 * The code is split by concern: exact money sums (exact_sum.c), the
 * per-customer rfm_stats type and its aggregates (rfm_stats*.c), the rfm
 * score type (rfm.c), population thresholds (rfm_thresholds*.c), scoring
 * (rfm_score.c), named segment maps (segment_map.c), lifecycle stages
 * (lifecycle.c), the check and classification of rule expressions
 * (segment_rule.c), the label set type and its GIN support
 * (segment_set*.c), the analysis time (analysis_time.c), the trigger that
 * keeps per-customer state (state_trigger.c, with state_validity.c and
 * primary_key.c), the trigger that tags customers (tags_trigger.c), and the
 * statements both prepare (prepared.c).  The views of attach() and the
 * maintained state are set up in SQL (attach.sql, state.sql, tags.sql).
 */
#include "postgres.h"

#include "fmgr.h"

PG_MODULE_MAGIC;
