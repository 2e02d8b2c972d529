/*
 * rfm_thresholds.c
 *		The rfm_thresholds type and the two things done with thresholds:
 *		deriving them from a population (percentile_cont, computed exactly as
 *		PostgreSQL computes it over double precision) and scoring a customer
 *		against them.
 *
 * Text form, valid JSON:
 *		{"recency": [12.5, 40, 95, 210], "frequency": [1, 2, 3, 6],
 *		 "monetary": [20.5, 41, 80, 160]}
 */
#include "postgres.h"

#include <ctype.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "compat.h"
#include "rfm_thresholds.h"

PG_FUNCTION_INFO_V1(rfm_thresholds_in);
PG_FUNCTION_INFO_V1(rfm_thresholds_out);
PG_FUNCTION_INFO_V1(rfm_thresholds_recv);
PG_FUNCTION_INFO_V1(rfm_thresholds_send);
PG_FUNCTION_INFO_V1(make_rfm_thresholds);
PG_FUNCTION_INFO_V1(rfm_thresholds_recency);
PG_FUNCTION_INFO_V1(rfm_thresholds_frequency);
PG_FUNCTION_INFO_V1(rfm_thresholds_monetary);

static const char *const dimension_name[RFM_DIMENSIONS] = {
	"recency", "frequency", "monetary"
};

/*
 * Bin counts from optional arguments: none gives the default for every
 * dimension, one applies to all three, three are recency, frequency and
 * monetary.
 */
void
rfm_bin_counts(int nargs, const int32 *args, int count[RFM_DIMENSIONS])
{
	for (int d = 0; d < RFM_DIMENSIONS; d++)
	{
		count[d] = nargs == 0 ? RFM_DEFAULT_BINS : args[nargs == 1 ? 0 : d];
		if (count[d] < 1 || count[d] > RFM_MAX_BINS)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("number of %s bins must be between 1 and %d, not %d",
							dimension_name[d], RFM_MAX_BINS, count[d]),
					 errhint("Scores are single digits; 5 bins is the usual choice.")));
	}
}

/* A customer's recency (days), frequency (orders) and monetary (total). */
void
rfm_customer_values(const RfmStatsView *stats, TimestampTz as_of,
					double values[RFM_DIMENSIONS])
{
	values[RFM_RECENCY] = rfm_recency_days(&stats->orders, as_of);
	values[RFM_FREQUENCY] = (double) stats->orders.order_count;
	values[RFM_MONETARY] = numeric_payload_to_double(stats->total, stats->total_len);
}

static int
compare_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

static inline void
swap_double(double *a, double *b)
{
	double		t = *a;

	*a = *b;
	*b = t;
}

/*
 * Moves the k-th smallest of a[lo..hi) to a[k], with no larger value before
 * it and no smaller one after.  Quickselect with a three-way partition, so
 * the many ties of order counts cost nothing; if a hostile input keeps the
 * pivots bad, the rest is sorted instead.
 */
static void
select_kth(double *a, int64 lo, int64 hi, int64 k)
{
	int			budget = 128;

	while (hi - lo > 16)
	{
		double		x = a[lo],
					y = a[lo + (hi - lo) / 2],
					z = a[hi - 1];
		double		pivot = Max(Min(x, y), Min(Max(x, y), z));
		int64		lt = lo,
					i = lo,
					gt = hi;

		CHECK_FOR_INTERRUPTS();
		if (--budget == 0)
		{
			qsort(a + lo, hi - lo, sizeof(double), compare_double);
			return;
		}
		/* [lo, lt) < pivot, [lt, i) = pivot, [gt, hi) > pivot */
		while (i < gt)
		{
			if (a[i] < pivot)
				swap_double(&a[lt++], &a[i++]);
			else if (a[i] > pivot)
				swap_double(&a[i], &a[--gt]);
			else
				i++;
		}
		if (k < lt)
			hi = lt;
		else if (k >= gt)
			lo = gt;
		else
			return;
	}
	qsort(a + lo, hi - lo, sizeof(double), compare_double);
}

/*
 * The rows (0-based, in value order) that percentile_cont(k/N) reads in a
 * population of n: first and second, equal when no interpolation is needed.
 * PostgreSQL's row arithmetic (orderedsetaggs.c).
 */
void
rfm_percentile_rows(int64 n, int bins, int k, int64 *first_row, int64 *second_row)
{
	double		p = (double) k / (double) bins;

	*first_row = (int64) floor(p * (n - 1));
	*second_row = (int64) ceil(p * (n - 1));
}

/*
 * percentile_cont(k/N) from the values at its two rows, interpolated as
 * PostgreSQL does, so the result is bit-for-bit what
 * percentile_cont(k::float8 / N) WITHIN GROUP (ORDER BY value) gives.
 */
double
rfm_percentile_value(int64 n, int bins, int k, double first, double second)
{
	double		p = (double) k / (double) bins;
	int64		first_row,
				second_row;
	double		result;

	rfm_percentile_rows(n, bins, k, &first_row, &second_row);
	if (first_row == second_row)
		return first;
	result = first + (((p * (n - 1)) - first_row) * (second - first));
	/* only values near the ends of the double range get here */
	if (isinf(result))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("a threshold between %g and %g is out of range", first, second),
				 errdetail("Interpolating between values this far apart overflows double precision.")));
	return result;
}

/* Thresholds k/N, k = 1..N-1, of one dimension.  Reorders values. */
static void
percentile_thresholds(double *values, int64 n, int bins, double *threshold)
{
	int64		selected = 0;	/* values[0..selected) are in final place */

	for (int k = 1; k < bins; k++)
	{
		int64		first_row,
					second_row;

		rfm_percentile_rows(n, bins, k, &first_row, &second_row);
		for (int64 row = first_row; row <= second_row; row++)
			if (row >= selected)
			{
				select_kth(values, selected, n, row);
				selected = row + 1;
			}
		threshold[k - 1] = rfm_percentile_value(n, bins, k, values[first_row], values[second_row]);
	}
}

/* Thresholds of every dimension from a population of n > 0 customers. */
void
rfm_bins_from_population(RfmBins *bins, double *values[RFM_DIMENSIONS],
						 int64 population)
{
	Assert(population > 0);
	for (int d = 0; d < RFM_DIMENSIONS; d++)
		percentile_thresholds(values[d], population, bins->count[d],
							  bins->threshold[d]);
}

static inline int
count_below(const double *threshold, int count, double value)
{
	int			below = 0;

	for (int i = 0; i < count; i++)
		below += threshold[i] < value;
	return below;
}

/* A customer's rfm: the most recent get the highest recency score. */
int16
rfm_bins_score(const RfmBins *bins, const double values[RFM_DIMENSIONS])
{
	int			score[RFM_DIMENSIONS];

	for (int d = 0; d < RFM_DIMENSIONS; d++)
		score[d] = 1 + count_below(bins->threshold[d], bins->count[d] - 1, values[d]);
	score[RFM_RECENCY] = bins->count[RFM_RECENCY] + 1 - score[RFM_RECENCY];
	return rfm_pack(score[RFM_RECENCY], score[RFM_FREQUENCY], score[RFM_MONETARY]);
}

/*
 * Checks thresholds given from outside: at most RFM_MAX_BINS - 1 per
 * dimension, finite, non-decreasing.  False when escontext took the error.
 */
static bool
check_thresholds(int dimension, const double *threshold, int count,
				 struct Node *escontext)
{
	if (count > RFM_MAX_BINS - 1)
		ereturn(escontext, false,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("too many %s thresholds: %d", dimension_name[dimension], count),
				 errdetail("At most %d thresholds give at most %d bins.",
						   RFM_MAX_BINS - 1, RFM_MAX_BINS)));
	for (int i = 0; i < count; i++)
	{
		if (isnan(threshold[i]) || isinf(threshold[i]))
			ereturn(escontext, false,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s thresholds must be finite numbers", dimension_name[dimension])));
		if (i > 0 && threshold[i] < threshold[i - 1])
			ereturn(escontext, false,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s thresholds must be in non-decreasing order", dimension_name[dimension]),
					 errdetail("%g comes after %g.", threshold[i], threshold[i - 1])));
	}
	return true;
}

/* The stored form of in-memory thresholds. */
RfmThresholds *
rfm_thresholds_from_bins(const RfmBins *bins)
{
	int			total = 0;
	Size		size;
	RfmThresholds *result;

	for (int d = 0; d < RFM_DIMENSIONS; d++)
		total += bins->count[d] - 1;
	size = offsetof(RfmThresholds, threshold) + total * sizeof(float8);
	result = palloc0(size);
	SET_VARSIZE(result, size);
	result->version = RFM_THRESHOLDS_VERSION;
	total = 0;
	for (int d = 0; d < RFM_DIMENSIONS; d++)
	{
		result->bins[d] = bins->count[d];
		for (int i = 0; i < bins->count[d] - 1; i++)
			result->threshold[total++] = bins->threshold[d][i];
	}
	return result;
}

/* The in-memory form of stored thresholds. */
void
rfm_bins_from_thresholds(const RfmThresholds *stored, RfmBins *bins)
{
	int			next = 0;

	if (stored->version != RFM_THRESHOLDS_VERSION)
		elog(ERROR, "unsupported rfm_thresholds value");
	for (int d = 0; d < RFM_DIMENSIONS; d++)
	{
		bins->count[d] = stored->bins[d];
		for (int i = 0; i < bins->count[d] - 1; i++)
			bins->threshold[d][i] = stored->threshold[next++];
	}
}

/*
 * What rfm_bins_cached keeps in fn_extra: the data bytes of the last value
 * unpacked (after the varlena header) and the bins unpacked from them.
 */
typedef struct RfmBinsCache
{
	bool		valid;			/* false until data and bins agree */
	Size		size;			/* data bytes in use */
	Size		capacity;		/* data bytes allocated */
	char	   *data;			/* in fn_mcxt */
	RfmBins		bins;
} RfmBinsCache;

/*
 * The in-memory form of a thresholds datum, remembered in flinfo->fn_extra
 * for the next call: a function called once per row with the same
 * thresholds then only compares their bytes.  The cache is keyed by content,
 * not by pointer, since the same value can arrive at a new address every row
 * and another value at an old one.  Without flinfo (a direct call) the
 * result is unpacked into scratch.
 */
const RfmBins *
rfm_bins_cached(FmgrInfo *flinfo, Datum thresholds, RfmBins *scratch)
{
	struct varlena *packed = PG_DETOAST_DATUM_PACKED(thresholds);
	Size		size = VARSIZE_ANY_EXHDR(packed);
	const char *data = VARDATA_ANY(packed);
	RfmBinsCache *cache;

	if (flinfo == NULL)
	{
		rfm_bins_from_thresholds(DatumGetRfmThresholdsP(PointerGetDatum(packed)), scratch);
		return scratch;
	}

	cache = (RfmBinsCache *) flinfo->fn_extra;
	if (cache != NULL && cache->valid && cache->size == size &&
		memcmp(cache->data, data, size) == 0)
		return &cache->bins;

	if (cache == NULL)
	{
		cache = MemoryContextAllocZero(flinfo->fn_mcxt, sizeof(RfmBinsCache));
		flinfo->fn_extra = cache;
	}
	/* an error while unpacking must not leave the old key on new bins */
	cache->valid = false;
	rfm_bins_from_thresholds(DatumGetRfmThresholdsP(PointerGetDatum(packed)), &cache->bins);
	if (size > cache->capacity)
	{
		if (cache->data != NULL)
			pfree(cache->data);
		cache->data = MemoryContextAlloc(flinfo->fn_mcxt, size);
		cache->capacity = size;
	}
	memcpy(cache->data, data, size);
	cache->size = size;
	cache->valid = true;
	return &cache->bins;
}

#define THRESHOLDS_SYNTAX "Expected {\"recency\": [...], \"frequency\": [...], \"monetary\": [...]} with up to 8 numbers in each list."

static inline char *
skip_space(char *p)
{
	while (isspace((unsigned char) *p))
		p++;
	return p;
}

/* Text input: the JSON object of rfm_thresholds_out, keys in any order. */
Datum
rfm_thresholds_in(PG_FUNCTION_ARGS)
{
	char	   *input = PG_GETARG_CSTRING(0);
	struct Node *escontext = fcinfo->context;
	char	   *p = skip_space(input);
	RfmBins		bins;
	bool		seen[RFM_DIMENSIONS] = {false};

	if (*p++ != '{')
		goto syntax_error;
	for (int key = 0; key < RFM_DIMENSIONS; key++)
	{
		int			d;
		int			count = 0;

		p = skip_space(p);
		if (key > 0 && *p++ != ',')
			goto syntax_error;
		p = skip_space(p);
		for (d = 0; d < RFM_DIMENSIONS; d++)
		{
			size_t		len = strlen(dimension_name[d]);

			if (p[0] == '"' && strncmp(p + 1, dimension_name[d], len) == 0 && p[len + 1] == '"')
			{
				p += len + 2;
				break;
			}
		}
		if (d == RFM_DIMENSIONS || seen[d])
			goto syntax_error;
		seen[d] = true;
		p = skip_space(p);
		if (*p++ != ':')
			goto syntax_error;
		p = skip_space(p);
		if (*p++ != '[')
			goto syntax_error;
		p = skip_space(p);
		while (*p != ']')
		{
			char	   *end;
			double		value;

			if (count > 0 && *p++ != ',')
				goto syntax_error;
			p = skip_space(p);
			if (*p == '\0' || *p == ']' || *p == ',')
				goto syntax_error;
			if (count == RFM_MAX_BINS - 1)
				ereturn(escontext, (Datum) 0,
						(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
						 errmsg("invalid input syntax for type %s: \"%s\"", "rfm_thresholds", input),
						 errdetail("At most %d %s thresholds.", RFM_MAX_BINS - 1, dimension_name[d])));
			value = segment_float8in(p, &end, "rfm_thresholds", input, escontext);
			if (SOFT_ERROR_OCCURRED(escontext))
				PG_RETURN_NULL();
			bins.threshold[d][count++] = value;
			p = skip_space(end);
		}
		p++;
		bins.count[d] = count + 1;
		if (!check_thresholds(d, bins.threshold[d], count, escontext))
			PG_RETURN_NULL();
	}
	p = skip_space(p);
	if (*p++ != '}')
		goto syntax_error;
	if (*skip_space(p) != '\0')
		goto syntax_error;
	PG_RETURN_POINTER(rfm_thresholds_from_bins(&bins));

syntax_error:
	ereturn(escontext, (Datum) 0,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type %s: \"%s\"", "rfm_thresholds", input),
			 errdetail(THRESHOLDS_SYNTAX)));
}

/* Text output, shortest exact form of every threshold. */
Datum
rfm_thresholds_out(PG_FUNCTION_ARGS)
{
	RfmBins		bins;
	StringInfoData buf;

	rfm_bins_from_thresholds(DatumGetRfmThresholdsP(PG_GETARG_DATUM(0)), &bins);
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int d = 0; d < RFM_DIMENSIONS; d++)
	{
		appendStringInfo(&buf, "%s\"%s\": [", d > 0 ? ", " : "", dimension_name[d]);
		for (int i = 0; i < bins.count[d] - 1; i++)
			appendStringInfo(&buf, "%s%s", i > 0 ? ", " : "",
							 float8out_internal(bins.threshold[d][i]));
		appendStringInfoChar(&buf, ']');
	}
	appendStringInfoChar(&buf, '}');
	PG_RETURN_CSTRING(buf.data);
}

/* Binary output: a version byte, then per dimension a count and its thresholds. */
Datum
rfm_thresholds_send(PG_FUNCTION_ARGS)
{
	RfmBins		bins;
	StringInfoData buf;

	rfm_bins_from_thresholds(DatumGetRfmThresholdsP(PG_GETARG_DATUM(0)), &bins);
	pq_begintypsend(&buf);
	pq_sendbyte(&buf, RFM_THRESHOLDS_VERSION);
	for (int d = 0; d < RFM_DIMENSIONS; d++)
	{
		pq_sendbyte(&buf, bins.count[d] - 1);
		for (int i = 0; i < bins.count[d] - 1; i++)
			pq_sendfloat8(&buf, bins.threshold[d][i]);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* Binary input, checked like text input. */
Datum
rfm_thresholds_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			version = pq_getmsgbyte(buf);
	RfmBins		bins;

	if (version != RFM_THRESHOLDS_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("unsupported rfm_thresholds binary format version %d", version)));
	for (int d = 0; d < RFM_DIMENSIONS; d++)
	{
		int			count = pq_getmsgbyte(buf);

		if (count > RFM_MAX_BINS - 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("too many %s thresholds in binary input: %d", dimension_name[d], count)));
		for (int i = 0; i < count; i++)
			bins.threshold[d][i] = pq_getmsgfloat8(buf);
		bins.count[d] = count + 1;
		check_thresholds(d, bins.threshold[d], count, NULL);
	}
	PG_RETURN_POINTER(rfm_thresholds_from_bins(&bins));
}

/* make_rfm_thresholds(recency float8[], frequency float8[], monetary float8[]) */
Datum
make_rfm_thresholds(PG_FUNCTION_ARGS)
{
	RfmBins		bins;

	for (int d = 0; d < RFM_DIMENSIONS; d++)
	{
		ArrayType  *array = PG_GETARG_ARRAYTYPE_P(d);
		Datum	   *elements;
		bool	   *nulls;
		int			count;

		if (ARR_NDIM(array) > 1)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("%s thresholds must be a one-dimensional array", dimension_name[d])));
		deconstruct_array(array, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL,
						  TYPALIGN_DOUBLE, &elements, &nulls, &count);
		if (count > RFM_MAX_BINS - 1)
			check_thresholds(d, NULL, count, NULL);
		for (int i = 0; i < count; i++)
		{
			if (nulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("%s thresholds must not contain NULL", dimension_name[d])));
			bins.threshold[d][i] = DatumGetFloat8(elements[i]);
		}
		bins.count[d] = count + 1;
		check_thresholds(d, bins.threshold[d], count, NULL);
	}
	PG_RETURN_POINTER(rfm_thresholds_from_bins(&bins));
}

static Datum
thresholds_array(FunctionCallInfo fcinfo, RfmDimension dimension)
{
	RfmBins		bins;
	Datum		elements[RFM_MAX_BINS - 1];
	int			count;

	rfm_bins_from_thresholds(DatumGetRfmThresholdsP(PG_GETARG_DATUM(0)), &bins);
	count = bins.count[dimension] - 1;
	for (int i = 0; i < count; i++)
		elements[i] = Float8GetDatum(bins.threshold[dimension][i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(elements, count, FLOAT8OID, sizeof(float8),
										  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* Recency thresholds in days. */
Datum
rfm_thresholds_recency(PG_FUNCTION_ARGS)
{
	return thresholds_array(fcinfo, RFM_RECENCY);
}

/* Frequency thresholds in orders. */
Datum
rfm_thresholds_frequency(PG_FUNCTION_ARGS)
{
	return thresholds_array(fcinfo, RFM_FREQUENCY);
}

/* Monetary thresholds in amount. */
Datum
rfm_thresholds_monetary(PG_FUNCTION_ARGS)
{
	return thresholds_array(fcinfo, RFM_MONETARY);
}
