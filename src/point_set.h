/*
 * point_set.h
 *		The transition state of the model-fitting aggregates (bgnbd_fit,
 *		gamma_gamma_fit, kmeans_fit): every row's numbers, collected, and the
 *		aggregate's parameters, which must be the same on every row.
 *
 * The fits need all the data at once, so partial states of parallel workers
 * are concatenated and the model is fitted once, in the final function.  The
 * final function sorts a copy and merges equal points into weights, so a fit
 * does not depend on the order in which rows arrive.
 */
#ifndef SEGMENT_POINT_SET_H
#define SEGMENT_POINT_SET_H

#include "postgres.h"

#include "fmgr.h"

#define POINT_SET_MAX_PARAMETERS 4

typedef struct PointSet
{
	int			dimensions;
	int64		parameters[POINT_SET_MAX_PARAMETERS];	/* unused ones zero */
	int64		count;
	int64		capacity;		/* in points */
	double	   *values;			/* count * dimensions, point after point */
} PointSet;

/* Distinct points, sorted, each with the number of rows that had it. */
typedef struct WeightedPoints
{
	int			dimensions;
	int64		count;
	double		total_weight;	/* rows */
	double	   *values;			/* count * dimensions */
	double	   *weights;		/* count */
} WeightedPoints;

/*
 * Adds a point to the state of the calling aggregate, creating it on the
 * first row; the parameters must equal those of earlier rows.
 */
extern PointSet *point_set_add(FunctionCallInfo fcinfo, PointSet *set, int dimensions,
							   const int64 *parameters, const double *point);

/* The state of the calling aggregate, creating an empty one if need be. */
extern PointSet *point_set_ensure(FunctionCallInfo fcinfo, PointSet *set, int dimensions,
								  const int64 *parameters);

extern WeightedPoints *point_set_distinct(const PointSet *set);

/* The mean of one of the values over the rows. */
extern double weighted_mean(const WeightedPoints *points, int dimension);

#endif							/* SEGMENT_POINT_SET_H */
