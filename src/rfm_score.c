/*
 * rfm_score.c
 *		Scoring customers: the window function rfm_score(stats, as_of [, bins])
 *		OVER (...), which scores every customer against the thresholds of its
 *		window partition, and rfm_score(stats, as_of, thresholds), which
 *		scores one customer against stored thresholds.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "windowapi.h"

#include "rfm_thresholds.h"

PG_FUNCTION_INFO_V1(rfm_score_window);
PG_FUNCTION_INFO_V1(rfm_score_thresholds);

/* What the window function keeps for the partition it is in. */
typedef struct RfmPartition
{
	bool		ready;
	RfmBins		bins;
} RfmPartition;

/* The bin counts of the current row (arguments after stats and as_of). */
static void
current_bin_counts(WindowObject winobj, int nargs, int count[RFM_DIMENSIONS])
{
	int32		args[RFM_DIMENSIONS];

	for (int i = 0; i < nargs - 2; i++)
	{
		bool		isnull;
		Datum		value = WinGetFuncArgCurrent(winobj, 2 + i, &isnull);

		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the number of bins must not be NULL")));
		args[i] = DatumGetInt32(value);
	}
	rfm_bin_counts(nargs - 2, args, count);
}

/*
 * Reads every row of the partition once and derives its thresholds.  Rows
 * whose stats or as_of are NULL (customers without orders) are not part of
 * the population.
 */
static void
partition_thresholds(WindowObject winobj, RfmBins *bins)
{
	int64		rows = WinGetPartitionRowCount(winobj);
	int64		population = 0;
	double	   *values[RFM_DIMENSIONS];

	for (int d = 0; d < RFM_DIMENSIONS; d++)
		values[d] = palloc_extended(Max(rows, 1) * sizeof(double), MCXT_ALLOC_HUGE);

	for (int64 row = 0; row < rows; row++)
	{
		bool		stats_null;
		bool		as_of_null;
		bool		outside;
		Datum		as_of;
		Datum		stats;
		RfmStatsView view;
		double		customer[RFM_DIMENSIONS];

		/*
		 * A by-reference argument points into the fetched row, which the
		 * next fetch may replace: read stats last and use it at once.
		 */
		as_of = WinGetFuncArgInPartition(winobj, 1, row, WINDOW_SEEK_HEAD,
										 false, &as_of_null, &outside);
		stats = WinGetFuncArgInPartition(winobj, 0, row, WINDOW_SEEK_HEAD,
										 false, &stats_null, &outside);
		if (stats_null || as_of_null)
			continue;
		rfm_stats_view(stats, &view);
		rfm_customer_values(&view, DatumGetTimestampTz(as_of), customer);
		for (int d = 0; d < RFM_DIMENSIONS; d++)
			values[d][population] = customer[d];
		population++;
	}

	if (population > 0)
		rfm_bins_from_population(bins, values, population);
	for (int d = 0; d < RFM_DIMENSIONS; d++)
		pfree(values[d]);
}

/*
 * rfm_score(stats, as_of [, bins | , recency_bins, frequency_bins,
 * monetary_bins]) OVER (...): the first call in a partition derives the
 * thresholds, every call scores its own row against them.
 */
Datum
rfm_score_window(PG_FUNCTION_ARGS)
{
	WindowObject winobj = PG_WINDOW_OBJECT();
	RfmPartition *partition = WinGetPartitionLocalMemory(winobj, sizeof(RfmPartition));
	int			count[RFM_DIMENSIONS];
	bool		stats_null;
	bool		as_of_null;
	Datum		stats;
	Datum		as_of;
	RfmStatsView view;
	double		customer[RFM_DIMENSIONS];

	current_bin_counts(winobj, PG_NARGS(), count);
	if (!partition->ready)
	{
		memcpy(partition->bins.count, count, sizeof(count));
		partition_thresholds(winobj, &partition->bins);
		partition->ready = true;
	}
	else if (memcmp(partition->bins.count, count, sizeof(count)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the number of bins must be the same for every row of a partition")));

	stats = WinGetFuncArgCurrent(winobj, 0, &stats_null);
	as_of = WinGetFuncArgCurrent(winobj, 1, &as_of_null);
	if (stats_null || as_of_null)
		PG_RETURN_NULL();
	rfm_stats_view(stats, &view);
	rfm_customer_values(&view, DatumGetTimestampTz(as_of), customer);
	PG_RETURN_RFM(rfm_bins_score(&partition->bins, customer));
}

/*
 * rfm_score(stats, as_of, thresholds): one customer against stored
 * thresholds.  Called once per customer with the same thresholds, so they
 * are unpacked once and kept for the calls that follow.
 */
Datum
rfm_score_thresholds(PG_FUNCTION_ARGS)
{
	RfmStatsView view;
	RfmBins		scratch;
	const RfmBins *bins;
	double		customer[RFM_DIMENSIONS];

	rfm_stats_view(PG_GETARG_DATUM(0), &view);
	bins = rfm_bins_cached(fcinfo->flinfo, PG_GETARG_DATUM(2), &scratch);
	rfm_customer_values(&view, PG_GETARG_TIMESTAMPTZ(1), customer);
	PG_RETURN_RFM(rfm_bins_score(bins, customer));
}
