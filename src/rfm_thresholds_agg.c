/*
 * rfm_thresholds_agg.c
 *		The aggregate rfm_thresholds(stats, as_of [, bins]) that derives a
 *		population's score thresholds, to store and score customers against
 *		later, one at a time (rfm_score(stats, as_of, thresholds)).
 *
 * The state collects each customer's recency, frequency and monetary value;
 * partial states of parallel workers are concatenated.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "aggregate.h"
#include "rfm_thresholds.h"

PG_FUNCTION_INFO_V1(rfm_thresholds_transfn);
PG_FUNCTION_INFO_V1(rfm_thresholds_combinefn);
PG_FUNCTION_INFO_V1(rfm_thresholds_serializefn);
PG_FUNCTION_INFO_V1(rfm_thresholds_deserializefn);
PG_FUNCTION_INFO_V1(rfm_thresholds_finalfn);

typedef struct RfmPopulation
{
	int			bins[RFM_DIMENSIONS];
	int64		size;			/* customers collected */
	int64		capacity;
	double	   *values[RFM_DIMENSIONS];
} RfmPopulation;

static RfmPopulation *
population_create(MemoryContext context, const int bins[RFM_DIMENSIONS], int64 capacity)
{
	RfmPopulation *population = MemoryContextAllocZero(context, sizeof(RfmPopulation));

	memcpy(population->bins, bins, sizeof(population->bins));
	population->capacity = Max(capacity, 64);
	for (int d = 0; d < RFM_DIMENSIONS; d++)
		population->values[d] = MemoryContextAllocHuge(context,
													   population->capacity * sizeof(double));
	return population;
}

static void
population_reserve(RfmPopulation *population, int64 extra)
{
	int64		needed = population->size + extra;

	if (needed <= population->capacity)
		return;
	population->capacity = Max(needed, population->capacity * 2);
	for (int d = 0; d < RFM_DIMENSIONS; d++)
		population->values[d] = repalloc_huge(population->values[d],
											  population->capacity * sizeof(double));
}

static void
check_same_bins(const int a[RFM_DIMENSIONS], const int b[RFM_DIMENSIONS])
{
	if (memcmp(a, b, sizeof(int) * RFM_DIMENSIONS) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the number of bins must be the same for every row of a population")));
}

/* Adds a customer; rows with NULL stats or as_of are left out. */
Datum
rfm_thresholds_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext context = aggregate_context(fcinfo, "rfm_thresholds_transfn");
	RfmPopulation *population = PG_ARGISNULL(0) ? NULL : (RfmPopulation *) PG_GETARG_POINTER(0);
	int32		bin_args[RFM_DIMENSIONS];
	int			nbin_args = PG_NARGS() - 3;
	int			bins[RFM_DIMENSIONS];
	RfmStatsView stats;
	double		values[RFM_DIMENSIONS];

	/* bins are checked on every row, also those left out of the population */
	for (int i = 0; i < nbin_args; i++)
	{
		if (PG_ARGISNULL(3 + i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the number of bins must not be NULL")));
		bin_args[i] = PG_GETARG_INT32(3 + i);
	}
	rfm_bin_counts(nbin_args, bin_args, bins);

	/*
	 * The first row makes the state, even one left out, so that the bins of
	 * every row are compared whatever order the rows come in.
	 */
	if (population == NULL)
		population = population_create(context, bins, 0);
	else
		check_same_bins(population->bins, bins);

	/* rows without stats or as_of are left out of the population */
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_POINTER(population);

	rfm_stats_view(PG_GETARG_DATUM(1), &stats);
	rfm_customer_values(&stats, PG_GETARG_TIMESTAMPTZ(2), values);
	population_reserve(population, 1);
	for (int d = 0; d < RFM_DIMENSIONS; d++)
		population->values[d][population->size] = values[d];
	population->size++;
	PG_RETURN_POINTER(population);
}

/* Concatenates two partial populations, either of which may be NULL. */
Datum
rfm_thresholds_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext context = aggregate_context(fcinfo, "rfm_thresholds_combinefn");
	RfmPopulation *population = PG_ARGISNULL(0) ? NULL : (RfmPopulation *) PG_GETARG_POINTER(0);
	RfmPopulation *other = PG_ARGISNULL(1) ? NULL : (RfmPopulation *) PG_GETARG_POINTER(1);

	if (other == NULL)
		PG_RETURN_STATE(population);
	if (population == NULL)
		population = population_create(context, other->bins, other->size);
	else
		check_same_bins(population->bins, other->bins);

	population_reserve(population, other->size);
	for (int d = 0; d < RFM_DIMENSIONS; d++)
		memcpy(population->values[d] + population->size, other->values[d],
			   other->size * sizeof(double));
	population->size += other->size;
	PG_RETURN_POINTER(population);
}

/* Serializes a partial population: bins, size, then the values. */
Datum
rfm_thresholds_serializefn(PG_FUNCTION_ARGS)
{
	RfmPopulation *population = (RfmPopulation *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	for (int d = 0; d < RFM_DIMENSIONS; d++)
		pq_sendbyte(&buf, population->bins[d]);
	pq_sendint64(&buf, population->size);
	for (int d = 0; d < RFM_DIMENSIONS; d++)
		for (int64 i = 0; i < population->size; i++)
			pq_sendfloat8(&buf, population->values[d][i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* Reads a serialized population; sizes and values are checked. */
Datum
rfm_thresholds_deserializefn(PG_FUNCTION_ARGS)
{
	MemoryContext context = aggregate_context(fcinfo, "rfm_thresholds_deserializefn");
	bytea	   *bytes = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;
	int32		bin_args[RFM_DIMENSIONS];
	int			bins[RFM_DIMENSIONS];
	int64		size;
	RfmPopulation *population;

	buf.data = VARDATA_ANY(bytes);
	buf.len = VARSIZE_ANY_EXHDR(bytes);
	buf.maxlen = buf.len;
	buf.cursor = 0;

	for (int d = 0; d < RFM_DIMENSIONS; d++)
		bin_args[d] = pq_getmsgbyte(&buf);
	rfm_bin_counts(RFM_DIMENSIONS, bin_args, bins);
	size = pq_getmsgint64(&buf);
	if (size < 0 || size > (buf.len - buf.cursor) / (RFM_DIMENSIONS * (int64) sizeof(float8)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid serialized rfm_thresholds state"),
				 errdetail("The population size " INT64_FORMAT " does not match the data.", size)));

	population = population_create(context, bins, size);
	for (int d = 0; d < RFM_DIMENSIONS; d++)
		for (int64 i = 0; i < size; i++)
		{
			double		value = pq_getmsgfloat8(&buf);

			if (isnan(value) || isinf(value))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
						 errmsg("invalid serialized rfm_thresholds state"),
						 errdetail("A value is not finite.")));
			population->values[d][i] = value;
		}
	population->size = size;
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(population);
}

/* The thresholds of the population; NULL when it is empty. */
Datum
rfm_thresholds_finalfn(PG_FUNCTION_ARGS)
{
	RfmPopulation *population = PG_ARGISNULL(0) ? NULL : (RfmPopulation *) PG_GETARG_POINTER(0);
	RfmBins		bins;
	double	   *values[RFM_DIMENSIONS];

	if (population == NULL || population->size == 0)
		PG_RETURN_NULL();

	/* the selection reorders values: work on a copy, the state may be reused */
	memcpy(bins.count, population->bins, sizeof(bins.count));
	for (int d = 0; d < RFM_DIMENSIONS; d++)
	{
		values[d] = palloc_extended(population->size * sizeof(double), MCXT_ALLOC_HUGE);
		memcpy(values[d], population->values[d], population->size * sizeof(double));
	}
	rfm_bins_from_population(&bins, values, population->size);
	for (int d = 0; d < RFM_DIMENSIONS; d++)
		pfree(values[d]);
	PG_RETURN_POINTER(rfm_thresholds_from_bins(&bins));
}
