/*
 * model_tuple.h
 *		Fitted models travel as composite values (bgnbd_model,
 *		gamma_gamma_model, kmeans_model), so a user can read their fields in
 *		SQL and build one by hand.  These helpers make and read them.
 */
#ifndef SEGMENT_MODEL_TUPLE_H
#define SEGMENT_MODEL_TUPLE_H

#include "postgres.h"

#include "fmgr.h"
#include "access/tupdesc.h"

#include "minimize.h"
#include "point_set.h"

/* The composite result of the calling function, checked to have natts fields. */
extern TupleDesc model_result_descriptor(FunctionCallInfo fcinfo, int natts);

/*
 * The fields of a composite argument, deformed once per distinct value and
 * kept for the following calls of the same call site (a query scoring every
 * customer passes the same model each time).  The returned arrays belong to
 * the call site's memory; NULL fields are reported in nulls.
 */
extern void model_argument_fields(FunctionCallInfo fcinfo, int argno,
								  Datum **values, bool **nulls, int *natts);

/*
 * The first n fields of a composite argument as positive, finite float8
 * parameters, named in the error if one is not.
 */
extern void model_argument_parameters(FunctionCallInfo fcinfo, int argno, const char *type_name,
									  const char *const *names, int n, double *parameters);

/*
 * Fits a model by maximum likelihood: minimizes objective (the mean negative
 * log-likelihood over the logs of n parameters) from log_start, and returns
 * the model: the parameters, then log_likelihood, iterations, converged and
 * customers, the fields every fitted model type has.  A fit that did not
 * converge, or only towards a boundary, says so with a WARNING and a false
 * converged field.
 */
extern Datum model_fit(FunctionCallInfo fcinfo, const char *fit_name, const char *const *names,
					   MinimizeObjective objective, const WeightedPoints *points,
					   const double *log_start, int n);

#endif							/* SEGMENT_MODEL_TUPLE_H */
