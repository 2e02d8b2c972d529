/*
 * segment.c
 *		Module entry point of the segment extension.
 *
 * The code is split by concern: exact money sums (exact_sum.c), the
 * per-customer rfm_stats type and its aggregates (rfm_stats*.c), the rfm
 * score type (rfm.c), population thresholds (rfm_thresholds*.c), scoring
 * (rfm_score.c), named segment maps (segment_map.c), lifecycle stages
 * (lifecycle.c) and the check of rule expressions (segment_rule.c).  The
 * views of attach() are built in SQL (attach.sql).
 */
#include "postgres.h"

#include "fmgr.h"

PG_MODULE_MAGIC;
