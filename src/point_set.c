/*
 * point_set.c
 *		The collected rows of the model-fitting aggregates, with the combine,
 *		serialize and deserialize functions they share.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/memutils.h"

#include "aggregate.h"
#include "point_set.h"

PG_FUNCTION_INFO_V1(point_set_combinefn);
PG_FUNCTION_INFO_V1(point_set_serializefn);
PG_FUNCTION_INFO_V1(point_set_deserializefn);

/* more dimensions than any model needs; bounds what a state may claim */
#define POINT_SET_MAX_DIMENSIONS 1000

static PointSet *
point_set_create(MemoryContext context, int dimensions, const int64 *parameters, int64 capacity)
{
	PointSet   *set = MemoryContextAllocZero(context, sizeof(PointSet));

	set->dimensions = dimensions;
	memcpy(set->parameters, parameters, sizeof(set->parameters));
	set->capacity = Max(capacity, 64);
	set->values = MemoryContextAllocHuge(context,
										 set->capacity * dimensions * sizeof(double));
	return set;
}

static void
point_set_reserve(PointSet *set, int64 extra)
{
	int64		needed = set->count + extra;

	if (needed <= set->capacity)
		return;
	set->capacity = Max(needed, set->capacity * 2);
	set->values = repalloc_huge(set->values, set->capacity * set->dimensions * sizeof(double));
}

static void
check_same_shape(const PointSet *set, int dimensions, const int64 *parameters)
{
	if (set->dimensions != dimensions)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("every row must have the same number of values"),
				 errdetail("A row has %d values, an earlier row %d.",
						   dimensions, set->dimensions)));
	if (memcmp(set->parameters, parameters, sizeof(set->parameters)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the parameters of a fit must be the same on every row")));
}

PointSet *
point_set_ensure(FunctionCallInfo fcinfo, PointSet *set, int dimensions, const int64 *parameters)
{
	MemoryContext context = aggregate_context(fcinfo, "point_set_ensure");

	if (set == NULL)
		return point_set_create(context, dimensions, parameters, 0);
	check_same_shape(set, dimensions, parameters);
	return set;
}

PointSet *
point_set_add(FunctionCallInfo fcinfo, PointSet *set, int dimensions,
			  const int64 *parameters, const double *point)
{
	set = point_set_ensure(fcinfo, set, dimensions, parameters);
	point_set_reserve(set, 1);
	memcpy(set->values + set->count * dimensions, point, dimensions * sizeof(double));
	set->count++;
	return set;
}

/* Concatenates two partial states, either of which may be NULL. */
Datum
point_set_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext context = aggregate_context(fcinfo, "point_set_combinefn");
	PointSet   *set = PG_ARGISNULL(0) ? NULL : (PointSet *) PG_GETARG_POINTER(0);
	PointSet   *other = PG_ARGISNULL(1) ? NULL : (PointSet *) PG_GETARG_POINTER(1);

	if (other == NULL)
		PG_RETURN_STATE(set);
	if (set == NULL)
		set = point_set_create(context, other->dimensions, other->parameters, other->count);
	else
		check_same_shape(set, other->dimensions, other->parameters);

	point_set_reserve(set, other->count);
	memcpy(set->values + set->count * set->dimensions, other->values,
		   other->count * other->dimensions * sizeof(double));
	set->count += other->count;
	PG_RETURN_POINTER(set);
}

/* dimensions, parameters, count, then the values point after point */
Datum
point_set_serializefn(PG_FUNCTION_ARGS)
{
	PointSet   *set = (PointSet *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint32(&buf, set->dimensions);
	for (int i = 0; i < POINT_SET_MAX_PARAMETERS; i++)
		pq_sendint64(&buf, set->parameters[i]);
	pq_sendint64(&buf, set->count);
	for (int64 i = 0; i < set->count * set->dimensions; i++)
		pq_sendfloat8(&buf, set->values[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

static void
invalid_state(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid serialized model-fitting state"),
			 errdetail("%s", detail)));
}

/* Reads a serialized state; its sizes and values are checked. */
Datum
point_set_deserializefn(PG_FUNCTION_ARGS)
{
	MemoryContext context = aggregate_context(fcinfo, "point_set_deserializefn");
	bytea	   *bytes = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;
	int			dimensions;
	int64		parameters[POINT_SET_MAX_PARAMETERS];
	int64		count;
	PointSet   *set;

	buf.data = VARDATA_ANY(bytes);
	buf.len = VARSIZE_ANY_EXHDR(bytes);
	buf.maxlen = buf.len;
	buf.cursor = 0;

	dimensions = pq_getmsgint(&buf, 4);
	if (dimensions < 1 || dimensions > POINT_SET_MAX_DIMENSIONS)
		invalid_state("The number of values per row is out of range.");
	for (int i = 0; i < POINT_SET_MAX_PARAMETERS; i++)
		parameters[i] = pq_getmsgint64(&buf);
	count = pq_getmsgint64(&buf);
	if (count < 0 || count > (buf.len - buf.cursor) / (dimensions * (int64) sizeof(float8)))
		invalid_state("The number of rows does not match the data.");

	set = point_set_create(context, dimensions, parameters, count);
	for (int64 i = 0; i < count * dimensions; i++)
	{
		double		value = pq_getmsgfloat8(&buf);

		if (!isfinite(value))
			invalid_state("A value is not finite.");
		set->values[i] = value;
	}
	set->count = count;
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(set);
}

static int	sort_dimensions;

static int
compare_points(const void *a, const void *b)
{
	const double *x = a;
	const double *y = b;

	for (int d = 0; d < sort_dimensions; d++)
	{
		if (x[d] < y[d])
			return -1;
		if (x[d] > y[d])
			return 1;
	}
	return 0;
}

/*
 * The distinct points of a state, sorted, with their row counts.  The state
 * itself is left as it is: a final function may be called on it again.
 */
WeightedPoints *
point_set_distinct(const PointSet *set)
{
	int			dimensions = set->dimensions;
	Size		point_size = dimensions * sizeof(double);
	WeightedPoints *points = palloc0(sizeof(WeightedPoints));
	double	   *sorted = palloc_extended(Max(set->count, 1) * point_size, MCXT_ALLOC_HUGE);
	int64		distinct = 0;

	memcpy(sorted, set->values, set->count * point_size);
	sort_dimensions = dimensions;
	qsort(sorted, set->count, point_size, compare_points);

	points->dimensions = dimensions;
	points->weights = palloc_extended(Max(set->count, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < set->count; i++)
	{
		const double *point = sorted + i * dimensions;

		if (distinct > 0 && compare_points(sorted + (distinct - 1) * dimensions, point) == 0)
		{
			points->weights[distinct - 1] += 1;
			continue;
		}
		if (distinct != i)
			memmove(sorted + distinct * dimensions, point, point_size);
		points->weights[distinct++] = 1;
	}
	points->values = sorted;
	points->count = distinct;
	points->total_weight = (double) set->count;
	return points;
}

double
weighted_mean(const WeightedPoints *points, int dimension)
{
	double		sum = 0.0;

	for (int64 i = 0; i < points->count; i++)
		sum += points->weights[i] * points->values[i * points->dimensions + dimension];
	return sum / points->total_weight;
}
