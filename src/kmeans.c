/*
 * kmeans.c
 *		k-means clustering: the aggregate kmeans_fit(features, k [, seed
 *		[, standardize [, restarts]]]) and kmeans_nearest(model, features),
 *		which assigns a customer to the nearest cluster of a fitted model.
 *
 * Each restart seeds k centres by k-means++ (Arthur and Vassilvitskii 2007:
 * each next centre drawn with probability proportional to the squared
 * distance to the nearest centre so far) and runs Lloyd's iterations until
 * no point changes cluster; the restart with the least total within-cluster
 * sum of squares wins.  Equal points are merged into weights first, and the
 * random draws come from a generator seeded by the seed, so a fit depends on
 * the data and the seed only, not on the order of the rows.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "access/htup_details.h"
#include "funcapi.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/lsyscache.h"

#include "model_tuple.h"
#include "point_set.h"

PG_FUNCTION_INFO_V1(kmeans_fit_transfn);
PG_FUNCTION_INFO_V1(kmeans_fit_finalfn);
PG_FUNCTION_INFO_V1(kmeans_nearest);

#define KMEANS_MODEL_FIELDS 7
#define MAX_FEATURES 1000
#define MAX_K 10000
#define MAX_RESTARTS 1000
#define DEFAULT_RESTARTS 10
#define MAX_ITERATIONS 300

/* the aggregate's parameters, kept in the point set */
enum
{
	PARAMETER_K,
	PARAMETER_SEED,
	PARAMETER_STANDARDIZE,
	PARAMETER_RESTARTS
};

/* The values of a float8 array without NULL (ARR_DATA_PTR trips -Wsign-compare). */
static double *
array_values(ArrayType *array)
{
	Assert(!ARR_HASNULL(array));
	return (double *) ((char *) array + ARR_OVERHEAD_NONULLS(ARR_NDIM(array)));
}

/*
 * The values of a float8[] of features: one dimension, no NULL, finite.
 * Returns the number of features.
 */
static int
read_features(ArrayType *array, double **features)
{
	int			count;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("features must be a one-dimensional array")));
	count = ArrayGetNItems(ARR_NDIM(array), ARR_DIMS(array));
	if (count < 1 || count > MAX_FEATURES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("features must have between 1 and %d values", MAX_FEATURES),
				 errdetail("The array has %d.", count)));
	if (ARR_HASNULL(array))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("features must not contain NULL"),
				 errhint("Replace missing values (COALESCE) or leave those customers out.")));
	Assert(ARR_ELEMTYPE(array) == FLOAT8OID);
	*features = array_values(array);
	for (int i = 0; i < count; i++)
		if (!isfinite((*features)[i]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("features must be finite"),
					 errdetail("Feature %d is %g.", i + 1, (*features)[i])));
	return count;
}

static int64
integer_argument(FunctionCallInfo fcinfo, int argno, const char *name, int64 low, int64 high,
				 int64 absent)
{
	int64		value;

	if (PG_NARGS() <= argno)
		return absent;
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", name)));
	value = (get_fn_expr_argtype(fcinfo->flinfo, argno) == INT8OID) ?
		PG_GETARG_INT64(argno) : PG_GETARG_INT32(argno);
	if (value < low || value > high)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be between " INT64_FORMAT " and " INT64_FORMAT, name, low, high),
				 errdetail("It is " INT64_FORMAT ".", value)));
	return value;
}

/* kmeans_fit(features, k [, seed [, standardize [, restarts]]]) */
Datum
kmeans_fit_transfn(PG_FUNCTION_ARGS)
{
	PointSet   *set = PG_ARGISNULL(0) ? NULL : (PointSet *) PG_GETARG_POINTER(0);
	int64		parameters[POINT_SET_MAX_PARAMETERS] = {0};
	double	   *features;
	int			count;

	parameters[PARAMETER_K] = integer_argument(fcinfo, 2, "k", 1, MAX_K, 0);
	parameters[PARAMETER_SEED] = integer_argument(fcinfo, 3, "seed", PG_INT64_MIN, PG_INT64_MAX, 0);
	if (PG_NARGS() > 4)
	{
		if (PG_ARGISNULL(4))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("standardize must not be NULL")));
		parameters[PARAMETER_STANDARDIZE] = PG_GETARG_BOOL(4);
	}
	parameters[PARAMETER_RESTARTS] = integer_argument(fcinfo, 5, "restarts", 1, MAX_RESTARTS,
													  DEFAULT_RESTARTS);

	/* a row without features is left out, but the first row sets the number of features */
	if (PG_ARGISNULL(1))
	{
		if (set == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(point_set_ensure(fcinfo, set, set->dimensions, parameters));
	}
	count = read_features(PG_GETARG_ARRAYTYPE_P(1), &features);
	PG_RETURN_POINTER(point_set_add(fcinfo, set, count, parameters, features));
}

/* splitmix64 (Steele, Lea and Flood 2014): small, fast, and the same everywhere */
typedef struct Random
{
	uint64		state;
} Random;

static uint64
random_next(Random *random)
{
	uint64		z = (random->state += UINT64CONST(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64CONST(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64CONST(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* uniform in [0, 1) */
static double
random_unit(Random *random)
{
	return (random_next(random) >> 11) * (1.0 / 9007199254740992.0);
}

typedef struct Clustering
{
	const WeightedPoints *points;	/* standardized when asked */
	int			k;
	int			dimensions;
	double	   *centres;		/* k * dimensions */
	int		   *assignment;		/* per point */
	double	   *distance;		/* per point: squared distance to the nearest centre (seeding) */
	double	   *upper;			/* per point: bound above the distance to its centre */
	double	   *lower;			/* per point: bound below the distance to any other centre */
	double	   *sums;			/* k * dimensions, scratch */
	double	   *weights;		/* per cluster */
	double	   *previous;		/* k * dimensions: the centres before they last moved */
	double	   *moved;			/* per cluster: how far its centre last moved */
	double	   *half_gap;		/* per cluster: half the distance to the nearest other centre */
	int			iterations;
	double		within;			/* total within-cluster sum of squares */
} Clustering;

static inline double
squared_distance(const double *x, const double *y, int dimensions)
{
	double		sum = 0.0;

	for (int d = 0; d < dimensions; d++)
	{
		double		difference = x[d] - y[d];

		sum += difference * difference;
	}
	return sum;
}

/* Draws an index with probability proportional to weights (total > 0). */
static int64
draw(Random *random, const double *weights, const double *scale, int64 count, double total)
{
	double		target = random_unit(random) * total;
	double		running = 0.0;

	for (int64 i = 0; i < count; i++)
	{
		running += weights[i] * (scale ? scale[i] : 1.0);
		if (running > target)
			return i;
	}
	/* rounding: the last point with any weight */
	for (int64 i = count - 1; i > 0; i--)
		if (weights[i] * (scale ? scale[i] : 1.0) > 0)
			return i;
	return 0;
}

/* k-means++ seeding; the caller made sure there are at least k distinct points */
static void
seed_centres(Clustering *clustering, Random *random)
{
	const WeightedPoints *points = clustering->points;
	int			dimensions = clustering->dimensions;
	double	   *distance = clustering->distance;
	int64		first = draw(random, points->weights, NULL, points->count, points->total_weight);

	memcpy(clustering->centres, points->values + first * dimensions, dimensions * sizeof(double));
	for (int64 i = 0; i < points->count; i++)
		distance[i] = squared_distance(points->values + i * dimensions, clustering->centres, dimensions);

	for (int c = 1; c < clustering->k; c++)
	{
		double	   *centre = clustering->centres + c * dimensions;
		double		total = 0.0;
		int64		chosen;

		for (int64 i = 0; i < points->count; i++)
			total += points->weights[i] * distance[i];
		if (!(total > 0 && isfinite(total)))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("kmeans_fit cannot tell the points apart"),
					 errdetail("Their squared distances %s.", total > 0 ? "overflow" : "vanish"),
					 errhint("Scale the features to ordinary magnitudes, or lower k.")));
		CHECK_FOR_INTERRUPTS();
		chosen = draw(random, points->weights, distance, points->count, total);
		memcpy(centre, points->values + chosen * dimensions, dimensions * sizeof(double));
		for (int64 i = 0; i < points->count; i++)
		{
			double		d = squared_distance(points->values + i * dimensions, centre, dimensions);

			if (d < distance[i])
				distance[i] = d;
		}
	}
}

/* Adds (sign 1) or takes away (sign -1) point i from the running sums of cluster c. */
static inline void
account_point(Clustering *clustering, int64 i, int c, double sign)
{
	int			dimensions = clustering->dimensions;
	const double *point = clustering->points->values + i * dimensions;
	double		w = sign * clustering->points->weights[i];

	for (int d = 0; d < dimensions; d++)
		clustering->sums[c * dimensions + d] += w * point[d];
	clustering->weights[c] += w;
}

/* Each centre to the exact mean of its points, with the clusters' weights. */
static void
centres_from_assignment(Clustering *clustering)
{
	const WeightedPoints *points = clustering->points;
	int			dimensions = clustering->dimensions;

	memset(clustering->sums, 0, clustering->k * dimensions * sizeof(double));
	memset(clustering->weights, 0, clustering->k * sizeof(double));
	for (int64 i = 0; i < points->count; i++)
		account_point(clustering, i, clustering->assignment[i], 1.0);
	for (int c = 0; c < clustering->k; c++)
		if (clustering->weights[c] > 0)
			for (int d = 0; d < dimensions; d++)
				clustering->centres[c * dimensions + d] =
					clustering->sums[c * dimensions + d] / clustering->weights[c];
}

/*
 * Assigns point i to its nearest centre, measuring all of them, and sets its
 * bounds exactly: the distance to that centre and to the next nearest.
 * Returns whether its centre changed.
 */
static bool
assign_exactly(Clustering *clustering, int64 i)
{
	const double *point = clustering->points->values + i * clustering->dimensions;
	int			best = 0;
	double		nearest = INFINITY;
	double		second = INFINITY;
	bool		changed;

	for (int c = 0; c < clustering->k; c++)
	{
		double		d = squared_distance(point, clustering->centres + c * clustering->dimensions,
										 clustering->dimensions);

		if (d < nearest)
		{
			second = nearest;
			nearest = d;
			best = c;
		}
		else if (d < second)
			second = d;
	}
	changed = clustering->assignment[i] != best;
	clustering->assignment[i] = best;
	clustering->upper[i] = sqrt(nearest);
	clustering->lower[i] = sqrt(second);
	return changed;
}

/*
 * Each centre to the mean of its points, from the running sums; how far
 * each moved; and each one's half gap to its nearest neighbour.  A cluster
 * left empty takes the point that may be farthest from its centre (the
 * largest upper bound), so that k clusters remain; returns whether that
 * happened.
 */
static bool
step_centres(Clustering *clustering)
{
	int			k = clustering->k;
	int			dimensions = clustering->dimensions;
	bool		refilled = false;

	memcpy(clustering->previous, clustering->centres, k * dimensions * sizeof(double));
	for (int c = 0; c < k; c++)
	{
		if (clustering->weights[c] > 0)
		{
			for (int d = 0; d < dimensions; d++)
				clustering->centres[c * dimensions + d] =
					clustering->sums[c * dimensions + d] / clustering->weights[c];
		}
		else
		{
			int64		farthest = 0;

			for (int64 i = 1; i < clustering->points->count; i++)
				if (clustering->upper[i] > clustering->upper[farthest])
					farthest = i;
			memcpy(clustering->centres + c * dimensions,
				   clustering->points->values + farthest * dimensions, dimensions * sizeof(double));
			clustering->upper[farthest] = 0.0;
			refilled = true;
		}
		clustering->moved[c] = sqrt(squared_distance(clustering->previous + c * dimensions,
													 clustering->centres + c * dimensions, dimensions));
	}
	for (int c = 0; c < k; c++)
	{
		double		gap = INFINITY;

		for (int other = 0; other < k; other++)
			if (other != c)
				gap = Min(gap, squared_distance(clustering->centres + c * dimensions,
												clustering->centres + other * dimensions, dimensions));
		clustering->half_gap[c] = 0.5 * sqrt(gap);
	}
	return refilled;
}

static double
within_sum_of_squares(const Clustering *clustering)
{
	const WeightedPoints *points = clustering->points;
	int			dimensions = clustering->dimensions;
	double		within = 0.0;

	for (int64 i = 0; i < points->count; i++)
		within += points->weights[i] *
			squared_distance(points->values + i * dimensions,
							 clustering->centres + clustering->assignment[i] * dimensions, dimensions);
	return within;
}

/*
 * Lloyd's iterations, with Hamerly's bounds (2010) to skip the points that
 * provably keep their centre: a point is measured against every centre only
 * when its upper bound exceeds both its lower bound and half the gap from
 * its centre to the nearest other one.  After the centres move, a point's
 * upper bound grows by how far its centre moved and its lower bound shrinks
 * by the farthest any other centre moved.  The clusters are those of plain
 * Lloyd; most points cost a comparison per iteration instead of k distances,
 * and the centres' sums follow the points that change cluster.  Ends when no
 * point changes cluster.
 */
static void
lloyd(Clustering *clustering)
{
	const WeightedPoints *points = clustering->points;
	int			dimensions = clustering->dimensions;

	memset(clustering->sums, 0, clustering->k * dimensions * sizeof(double));
	memset(clustering->weights, 0, clustering->k * sizeof(double));
	for (int64 i = 0; i < points->count; i++)
	{
		clustering->assignment[i] = -1;
		assign_exactly(clustering, i);
		account_point(clustering, i, clustering->assignment[i], 1.0);
	}
	clustering->iterations = 1;
	while (clustering->iterations < MAX_ITERATIONS)
	{
		int64		changed = 0;
		bool		refilled = step_centres(clustering);
		double		largest = 0.0;
		double		second = 0.0;
		int			largest_cluster = -1;

		for (int c = 0; c < clustering->k; c++)
		{
			if (clustering->moved[c] > largest)
			{
				second = largest;
				largest = clustering->moved[c];
				largest_cluster = c;
			}
			else if (clustering->moved[c] > second)
				second = clustering->moved[c];
		}
		for (int64 i = 0; i < points->count; i++)
		{
			int			c = clustering->assignment[i];
			double		bound;

			clustering->upper[i] += clustering->moved[c];
			clustering->lower[i] -= (c == largest_cluster) ? second : largest;
			bound = Max(clustering->half_gap[c], clustering->lower[i]);
			/* a refilled centre voided the bound of the point it took: measure all */
			if (!refilled && clustering->upper[i] <= bound)
				continue;
			/* tighten the upper bound first: often that settles it */
			clustering->upper[i] = sqrt(squared_distance(points->values + i * dimensions,
														 clustering->centres + c * dimensions, dimensions));
			if (!refilled && clustering->upper[i] <= bound)
				continue;
			if (assign_exactly(clustering, i))
			{
				account_point(clustering, i, c, -1.0);
				account_point(clustering, i, clustering->assignment[i], 1.0);
				changed++;
			}
		}
		clustering->iterations++;
		if (changed == 0 && !refilled)
			break;
		CHECK_FOR_INTERRUPTS();
	}
	clustering->within = within_sum_of_squares(clustering);
}

/*
 * The simplified silhouette (Hruschka et al. 2004): per point, with a the
 * distance to its own centre and b to the nearest other one, (b - a) /
 * max(a, b); averaged over all rows.  It needs k centres, not all pairs of
 * points, and lies between -1 and 1, higher for better separated clusters.
 */
static double
simplified_silhouette(const Clustering *clustering)
{
	const WeightedPoints *points = clustering->points;
	int			dimensions = clustering->dimensions;
	double		sum = 0.0;

	if (clustering->k < 2)
		return NAN;
	for (int64 i = 0; i < points->count; i++)
	{
		const double *point = points->values + i * dimensions;
		int			own = clustering->assignment[i];
		double		a = sqrt(squared_distance(point, clustering->centres + own * dimensions, dimensions));
		double		b = DBL_MAX;

		for (int c = 0; c < clustering->k; c++)
			if (c != own)
				b = Min(b, sqrt(squared_distance(point, clustering->centres + c * dimensions, dimensions)));
		if (Max(a, b) > 0)
			sum += points->weights[i] * (b - a) / Max(a, b);
	}
	return sum / points->total_weight;
}

static Clustering *
clustering_create(const WeightedPoints *points, int k)
{
	Clustering *clustering = palloc0(sizeof(Clustering));

	clustering->points = points;
	clustering->k = k;
	clustering->dimensions = points->dimensions;
	clustering->centres = palloc(k * points->dimensions * sizeof(double));
	clustering->sums = palloc(k * points->dimensions * sizeof(double));
	clustering->weights = palloc(k * sizeof(double));
	clustering->previous = palloc(k * points->dimensions * sizeof(double));
	clustering->moved = palloc(k * sizeof(double));
	clustering->half_gap = palloc(k * sizeof(double));
	clustering->assignment = palloc_extended(points->count * sizeof(int), MCXT_ALLOC_HUGE);
	clustering->distance = palloc_extended(points->count * sizeof(double), MCXT_ALLOC_HUGE);
	clustering->upper = palloc_extended(points->count * sizeof(double), MCXT_ALLOC_HUGE);
	clustering->lower = palloc_extended(points->count * sizeof(double), MCXT_ALLOC_HUGE);
	return clustering;
}

/*
 * Standardizes the points in place to mean 0 and standard deviation 1 (the
 * sample deviation, as R's scale() divides), keeping the means and scales;
 * a constant feature keeps scale 1.
 */
static void
standardize(WeightedPoints *points, double *means, double *scales)
{
	int			dimensions = points->dimensions;

	for (int d = 0; d < dimensions; d++)
	{
		double		mean = 0.0;
		double		squares = 0.0;

		for (int64 i = 0; i < points->count; i++)
			mean += points->weights[i] * points->values[i * dimensions + d];
		mean /= points->total_weight;
		for (int64 i = 0; i < points->count; i++)
		{
			double		difference = points->values[i * dimensions + d] - mean;

			squares += points->weights[i] * difference * difference;
		}
		means[d] = mean;
		scales[d] = (points->total_weight > 1 && squares > 0) ?
			sqrt(squares / (points->total_weight - 1)) : 1.0;
		if (!isfinite(mean) || !isfinite(scales[d]))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("feature %d is too large to standardize", d + 1),
					 errhint("Scale the features to ordinary magnitudes.")));
		for (int64 i = 0; i < points->count; i++)
			points->values[i * dimensions + d] = (points->values[i * dimensions + d] - mean) / scales[d];
	}
}

/* rows x columns values as a float8[] of one dimension (rows = 0) or two */
static Datum
float8_array(const double *values, int rows, int columns)
{
	int			count = Max(rows, 1) * columns;
	Datum	   *elements = palloc(count * sizeof(Datum));
	int			dims[2];
	int			lbs[2] = {1, 1};

	for (int i = 0; i < count; i++)
		elements[i] = Float8GetDatum(values[i]);
	dims[0] = (rows > 0) ? rows : columns;
	dims[1] = columns;
	return PointerGetDatum(construct_md_array(elements, NULL, (rows > 0) ? 2 : 1, dims, lbs,
											  FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL,
											  TYPALIGN_DOUBLE));
}

Datum
kmeans_fit_finalfn(PG_FUNCTION_ARGS)
{
	PointSet   *set = PG_ARGISNULL(0) ? NULL : (PointSet *) PG_GETARG_POINTER(0);
	WeightedPoints *points;
	int			k;
	int			restarts;
	int			dimensions;
	double	   *means;
	double	   *scales;
	Clustering *clustering;
	Clustering *best;
	Random		random;
	Datum	   *sizes;
	Datum		values[KMEANS_MODEL_FIELDS];
	bool		nulls[KMEANS_MODEL_FIELDS] = {0};
	TupleDesc	descriptor;
	double		silhouette;

	if (set == NULL || set->count == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("kmeans_fit needs at least one row of features"),
				 errdetail("Rows whose features are NULL are left out.")));
	/* a state read back from a parallel worker is checked again */
	if (set->parameters[PARAMETER_K] < 1 || set->parameters[PARAMETER_K] > MAX_K ||
		set->parameters[PARAMETER_RESTARTS] < 1 || set->parameters[PARAMETER_RESTARTS] > MAX_RESTARTS)
		elog(ERROR, "invalid kmeans_fit state");
	k = (int) set->parameters[PARAMETER_K];
	restarts = (int) set->parameters[PARAMETER_RESTARTS];
	dimensions = set->dimensions;

	points = point_set_distinct(set);
	if (points->count < k)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k is larger than the number of distinct points"),
				 errdetail("k is %d; the data have " INT64_FORMAT " distinct points.", k, points->count)));

	means = palloc0(dimensions * sizeof(double));
	scales = palloc(dimensions * sizeof(double));
	for (int d = 0; d < dimensions; d++)
		scales[d] = 1.0;
	if (set->parameters[PARAMETER_STANDARDIZE])
		standardize(points, means, scales);

	random.state = (uint64) set->parameters[PARAMETER_SEED];
	clustering = clustering_create(points, k);
	best = clustering_create(points, k);
	for (int restart = 0; restart < restarts; restart++)
	{
		seed_centres(clustering, &random);
		lloyd(clustering);
		if (!isfinite(clustering->within))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("the within-cluster sum of squares overflows"),
					 errhint("Scale the features to ordinary magnitudes, or standardize them.")));
		if (restart == 0 || clustering->within < best->within)
		{
			Clustering *swap = best;

			best = clustering;
			clustering = swap;
		}
		CHECK_FOR_INTERRUPTS();
	}

	/* cluster sizes in rows, and the centres back in the features' units */
	centres_from_assignment(best);
	best->within = within_sum_of_squares(best);
	silhouette = simplified_silhouette(best);
	sizes = palloc(k * sizeof(Datum));
	for (int c = 0; c < k; c++)
	{
		sizes[c] = Int32GetDatum((int32) best->weights[c]);
		for (int d = 0; d < dimensions; d++)
			best->centres[c * dimensions + d] = best->centres[c * dimensions + d] * scales[d] + means[d];
	}

	descriptor = model_result_descriptor(fcinfo, KMEANS_MODEL_FIELDS);
	values[0] = float8_array(best->centres, k, dimensions);
	values[1] = PointerGetDatum(construct_array(sizes, k, INT4OID, sizeof(int32), true, TYPALIGN_INT));
	values[2] = Float8GetDatum(best->within);
	values[3] = Int32GetDatum(best->iterations);
	values[4] = Float8GetDatum(silhouette);
	nulls[4] = isnan(silhouette);
	values[5] = float8_array(scales, 0, dimensions);
	values[6] = Int32GetDatum(restarts);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(descriptor, values, nulls)));
}

/*
 * The float8 values of an array field of a model, checked to have the
 * expected number of dimensions and no NULL.
 */
static double *
model_array(Datum datum, bool isnull, const char *name, int ndim, int *dims)
{
	ArrayType  *array;

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("kmeans_model field %s must not be NULL", name)));
	array = DatumGetArrayTypeP(datum);
	if (ARR_NDIM(array) != ndim || ARR_HASNULL(array) || ARR_ELEMTYPE(array) != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("kmeans_model field %s must be a %d-dimensional float8 array without NULL",
						name, ndim)));
	memcpy(dims, ARR_DIMS(array), ndim * sizeof(int));
	return array_values(array);
}

/*
 * kmeans_nearest(model, features): the number (from 1) of the cluster whose
 * centroid is nearest, in the units the model was fitted in (divided by its
 * scales); the first of equally near ones; NULL when a feature is NULL.
 */
Datum
kmeans_nearest(PG_FUNCTION_ARGS)
{
	Datum	   *fields;
	bool	   *nulls;
	int			natts;
	int			centroid_dims[2];
	int			scale_dims[1];
	double	   *centroids;
	double	   *scales;
	ArrayType  *array;
	double	   *features;
	int			count;
	int			best = 0;
	double		best_distance = INFINITY;

	model_argument_fields(fcinfo, 0, &fields, &nulls, &natts);
	if (natts != KMEANS_MODEL_FIELDS)
		elog(ERROR, "kmeans_model has %d fields, expected %d", natts, KMEANS_MODEL_FIELDS);
	centroids = model_array(fields[0], nulls[0], "centroids", 2, centroid_dims);
	scales = model_array(fields[5], nulls[5], "scales", 1, scale_dims);
	/* a customer missing a feature is in no cluster */
	if (PG_ARGISNULL(1))
		PG_RETURN_NULL();
	array = PG_GETARG_ARRAYTYPE_P(1);
	if (ARR_HASNULL(array))
		PG_RETURN_NULL();
	count = read_features(array, &features);
	if (centroid_dims[1] != count || scale_dims[0] != count)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the model has %d features per centroid and %d scales; the customer has %d",
						centroid_dims[1], scale_dims[0], count)));

	for (int d = 0; d < count; d++)
		if (!(isfinite(scales[d]) && scales[d] > 0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("kmeans_model scales must be positive and finite")));
	for (int i = 0; i < centroid_dims[0] * count; i++)
		if (!isfinite(centroids[i]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("kmeans_model centroids must be finite")));
	for (int c = 0; c < centroid_dims[0]; c++)
	{
		double		distance = 0.0;

		for (int d = 0; d < count; d++)
		{
			double		difference = (features[d] - centroids[c * count + d]) / scales[d];

			distance += difference * difference;
		}
		if (distance < best_distance)
		{
			best = c;
			best_distance = distance;
		}
	}
	if (!(best_distance < INFINITY))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the distance to every centroid is not finite"),
				 errhint("A kmeans_model made by hand needs finite centroids and positive scales.")));
	PG_RETURN_INT32(best + 1);
}
