/*
 * threshold_selection.c
 *		What a population's thresholds need when its customers are spread
 *		over nodes: each customer's values as keys to count by their leading
 *		bits (so nodes send counts of key ranges, not values), the rows
 *		percentile_cont reads, and the thresholds from the keys found at
 *		those rows.  The passes themselves are SQL (sql/rfm_thresholds.sql,
 *		rfm_thresholds_by_selection), so that Citus runs them on the workers.
 *
 * A key is a double's bits as a bigint, arranged so that keys order as the
 * values do: a range of keys sharing their leading bits is a range of
 * values.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "port/pg_bitutils.h"
#include "utils/array.h"
#include "utils/timestamp.h"

#include "rfm_thresholds.h"

PG_FUNCTION_INFO_V1(rfm_value_keys);
PG_FUNCTION_INFO_V1(key_prefix_shift);
PG_FUNCTION_INFO_V1(percentile_rows);
PG_FUNCTION_INFO_V1(percentile_thresholds_from_keys);

#define MAGNITUDE_BITS INT64CONST(0x7FFFFFFFFFFFFFFF)

/* The key of a finite double; 0 and -0 share the key of 0. */
static int64
order_key(double value)
{
	int64		bits;

	if (value == 0)
		value = 0;
	memcpy(&bits, &value, sizeof(bits));
	/* negative doubles: the larger the magnitude, the smaller the key */
	return bits >= 0 ? bits : bits ^ MAGNITUDE_BITS;
}

/* The double of a key; an error for a key no finite double has. */
static double
order_key_value(int64 key)
{
	int64		bits = key >= 0 ? key : key ^ MAGNITUDE_BITS;
	double		value;

	memcpy(&value, &bits, sizeof(value));
	if (isnan(value) || isinf(value) || order_key(value) != key)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%lld is not the key of a finite value", (long long) key)));
	return value;
}

/* rfm_value_keys(stats, as_of): the keys of recency, frequency and monetary */
Datum
rfm_value_keys(PG_FUNCTION_ARGS)
{
	RfmStatsView stats;
	double		values[RFM_DIMENSIONS];
	Datum		keys[RFM_DIMENSIONS];

	rfm_stats_view(PG_GETARG_DATUM(0), &stats);
	rfm_customer_values(&stats, PG_GETARG_TIMESTAMPTZ(1), values);
	for (int d = 0; d < RFM_DIMENSIONS; d++)
		keys[d] = Int64GetDatum(order_key(values[d]));
	PG_RETURN_ARRAYTYPE_P(construct_array(keys, RFM_DIMENSIONS, INT8OID, sizeof(int64),
										  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/*
 * key_prefix_shift(low, high): how many trailing bits to drop for two keys
 * to agree, so that every key between them has the same leading bits; 0 for
 * equal keys, 64 for keys of opposite signs.
 */
Datum
key_prefix_shift(PG_FUNCTION_ARGS)
{
	uint64		differ = (uint64) PG_GETARG_INT64(0) ^ (uint64) PG_GETARG_INT64(1);

	PG_RETURN_INT32(differ == 0 ? 0 : pg_leftmost_one_pos64(differ) + 1);
}

/*
 * The bins of one dimension (1 recency, 2 frequency, 3 monetary) out of all
 * three, which are checked, for a population of at least one.
 */
static int
dimension_bins(int64 population, ArrayType *bins, int32 dimension)
{
	Datum	   *datums;
	bool	   *nulls;
	int			count;
	int32		args[RFM_DIMENSIONS];
	int			checked[RFM_DIMENSIONS];

	deconstruct_array(bins, INT4OID, sizeof(int32), true, TYPALIGN_INT, &datums, &nulls, &count);
	if (ARR_NDIM(bins) > 1 || count != RFM_DIMENSIONS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bins must hold the bins of recency, frequency and monetary")));
	for (int d = 0; d < RFM_DIMENSIONS; d++)
	{
		if (nulls[d])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the number of bins must not be NULL")));
		args[d] = DatumGetInt32(datums[d]);
	}
	rfm_bin_counts(RFM_DIMENSIONS, args, checked);
	if (dimension < 1 || dimension > RFM_DIMENSIONS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimension must be 1 (recency), 2 (frequency) or 3 (monetary), not %d", dimension)));
	if (population < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a population must have at least one customer, not " INT64_FORMAT,
						population)));
	return checked[dimension - 1];
}

/*
 * percentile_rows(population, bins, dimension): the rows, 0-based in value
 * order, that the thresholds of a dimension read, ascending and each once.
 */
Datum
percentile_rows(PG_FUNCTION_ARGS)
{
	int64		population = PG_GETARG_INT64(0);
	int			bins = dimension_bins(population, PG_GETARG_ARRAYTYPE_P(1), PG_GETARG_INT32(2));
	Datum		rows[2 * (RFM_MAX_BINS - 1)];
	int			count = 0;

	for (int k = 1; k < bins; k++)
	{
		int64		first_row,
					second_row;

		rfm_percentile_rows(population, bins, k, &first_row, &second_row);
		for (int64 row = first_row; row <= second_row; row++)
			if (count == 0 || DatumGetInt64(rows[count - 1]) < row)
				rows[count++] = Int64GetDatum(row);
	}
	PG_RETURN_ARRAYTYPE_P(construct_array(rows, count, INT8OID, sizeof(int64),
										  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* The elements of a one-dimensional bigint array without NULLs. */
static int
bigint_elements(ArrayType *array, const char *what, int64 **elements)
{
	Datum	   *datums;
	bool	   *nulls;
	int			count;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", what)));
	deconstruct_array(array, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &datums, &nulls, &count);
	*elements = palloc(Max(count, 1) * sizeof(int64));
	for (int i = 0; i < count; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULLs", what)));
		(*elements)[i] = DatumGetInt64(datums[i]);
	}
	return count;
}

/*
 * percentile_thresholds_from_keys(population, bins, dimension, rows, keys):
 * the thresholds of a dimension, given the key at each row percentile_rows()
 * lists (rows[i] holds keys[i]).  Keys must not decrease with the row.
 */
Datum
percentile_thresholds_from_keys(PG_FUNCTION_ARGS)
{
	int64		population = PG_GETARG_INT64(0);
	int			bins = dimension_bins(population, PG_GETARG_ARRAYTYPE_P(1), PG_GETARG_INT32(2));
	int64	   *rows;
	int64	   *keys;
	int			count = bigint_elements(PG_GETARG_ARRAYTYPE_P(3), "rows", &rows);
	Datum		thresholds[RFM_MAX_BINS - 1];

	if (bigint_elements(PG_GETARG_ARRAYTYPE_P(4), "keys", &keys) != count)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("rows and keys must have as many elements")));
	for (int i = 1; i < count; i++)
		if (rows[i] <= rows[i - 1] || keys[i] < keys[i - 1])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("rows must ascend and their keys must not decrease")));

	for (int k = 1; k < bins; k++)
	{
		int64		wanted[2];
		double		value[2];

		rfm_percentile_rows(population, bins, k, &wanted[0], &wanted[1]);
		for (int w = 0; w < 2; w++)
		{
			int			i = 0;

			while (i < count && rows[i] != wanted[w])
				i++;
			if (i == count)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("the key at row " INT64_FORMAT " is missing", wanted[w])));
			value[w] = order_key_value(keys[i]);
		}
		thresholds[k - 1] = Float8GetDatum(rfm_percentile_value(population, bins, k,
																value[0], value[1]));
	}
	PG_RETURN_ARRAYTYPE_P(construct_array(thresholds, bins - 1, FLOAT8OID, sizeof(float8),
										  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}
