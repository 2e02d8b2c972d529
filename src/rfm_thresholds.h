/*
 * rfm_thresholds.h
 *		Score thresholds of a population: the rfm_thresholds type, the
 *		percentile computation that derives them, and scoring against them.
 */
#ifndef SEGMENT_RFM_THRESHOLDS_H
#define SEGMENT_RFM_THRESHOLDS_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "fmgr.h"

#include "rfm.h"
#include "rfm_stats.h"

#define RFM_THRESHOLDS_VERSION 1
#define RFM_DEFAULT_BINS 5

/*
 * Thresholds in memory: a dimension with N bins has N-1 thresholds in
 * non-decreasing order; a value's score is 1 plus the number of thresholds
 * it is strictly greater than (reversed for recency).
 */
typedef struct RfmBins
{
	int			count[RFM_DIMENSIONS];
	double		threshold[RFM_DIMENSIONS][RFM_MAX_BINS - 1];
} RfmBins;

/* The stored type: bin counts, then the thresholds of R, F and M in turn. */
typedef struct RfmThresholds
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	uint8		version;		/* RFM_THRESHOLDS_VERSION */
	uint8		bins[RFM_DIMENSIONS];
	float8		threshold[FLEXIBLE_ARRAY_MEMBER];
} RfmThresholds;

#define DatumGetRfmThresholdsP(d)	((RfmThresholds *) PG_DETOAST_DATUM(d))

extern void rfm_bin_counts(int nargs, const int32 *args, int count[RFM_DIMENSIONS]);
extern void rfm_customer_values(const RfmStatsView *stats, TimestampTz as_of,
								double values[RFM_DIMENSIONS]);
extern void rfm_percentile_rows(int64 n, int bins, int k, int64 *first_row, int64 *second_row);
extern double rfm_percentile_value(int64 n, int bins, int k, double first, double second);
extern void rfm_bins_from_population(RfmBins *bins, double *values[RFM_DIMENSIONS],
									 int64 population);
extern int16 rfm_bins_score(const RfmBins *bins, const double values[RFM_DIMENSIONS]);
extern RfmThresholds *rfm_thresholds_from_bins(const RfmBins *bins);
extern void rfm_bins_from_thresholds(const RfmThresholds *stored, RfmBins *bins);
extern const RfmBins *rfm_bins_cached(FmgrInfo *flinfo, Datum thresholds, RfmBins *scratch);

#endif							/* SEGMENT_RFM_THRESHOLDS_H */
