/*
 * model_tuple.c
 *		Making and reading the composite values of fitted models.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "funcapi.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/typcache.h"

#include "model_tuple.h"

/* The last composite value seen at an argument position of a call site. */
typedef struct ModelArgumentCache
{
	Size		length;
	char	   *bytes;			/* the tuple, to recognize the same value */
	int			natts;
	Datum	   *values;			/* deformed, pointing into bytes */
	bool	   *nulls;
} ModelArgumentCache;

#define MODEL_CACHE_ARGUMENTS 2

/*
 * What a call site of a model function keeps in fn_extra.  fn_extra lives
 * as long as the query's FmgrInfo, over which the result type cannot change.
 */
typedef struct ModelCallCache
{
	TupleDesc	result;			/* blessed, in fn_mcxt */
	ModelArgumentCache arguments[MODEL_CACHE_ARGUMENTS];
} ModelCallCache;

static ModelCallCache *
call_cache(FunctionCallInfo fcinfo)
{
	if (fcinfo->flinfo->fn_extra == NULL)
		fcinfo->flinfo->fn_extra = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(ModelCallCache));
	return fcinfo->flinfo->fn_extra;
}

/* Looked up once per call site: each lookup copies the descriptor. */
TupleDesc
model_result_descriptor(FunctionCallInfo fcinfo, int natts)
{
	ModelCallCache *cache = call_cache(fcinfo);
	TupleDesc	descriptor;
	MemoryContext old_context;

	if (cache->result != NULL)
		return cache->result;
	old_context = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	if (get_call_result_type(fcinfo, NULL, &descriptor) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "a model-fitting function must return a composite type");
	if (descriptor->natts != natts)
		elog(ERROR, "the model type has %d fields, expected %d", descriptor->natts, natts);
	cache->result = BlessTupleDesc(descriptor);
	MemoryContextSwitchTo(old_context);
	return cache->result;
}

void
model_argument_fields(FunctionCallInfo fcinfo, int argno, Datum **values, bool **nulls, int *natts)
{
	HeapTupleHeader header = PG_GETARG_HEAPTUPLEHEADER(argno);
	Size		length = HeapTupleHeaderGetDatumLength(header);
	ModelArgumentCache *cache;
	MemoryContext old_context;
	TupleDesc	descriptor;
	HeapTupleData tuple;

	Assert(argno < MODEL_CACHE_ARGUMENTS);
	cache = &call_cache(fcinfo)->arguments[argno];

	if (cache->bytes == NULL || cache->length != length || memcmp(cache->bytes, header, length) != 0)
	{
		old_context = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		if (cache->bytes != NULL)
		{
			pfree(cache->bytes);
			pfree(cache->values);
			pfree(cache->nulls);
		}
		cache->bytes = palloc(length);
		memcpy(cache->bytes, header, length);
		cache->length = length;

		descriptor = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(header),
											HeapTupleHeaderGetTypMod(header));
		cache->natts = descriptor->natts;
		cache->values = palloc(descriptor->natts * sizeof(Datum));
		cache->nulls = palloc(descriptor->natts * sizeof(bool));
		tuple.t_len = length;
		ItemPointerSetInvalid(&(tuple.t_self));
		tuple.t_tableOid = InvalidOid;
		tuple.t_data = (HeapTupleHeader) cache->bytes;
		heap_deform_tuple(&tuple, descriptor, cache->values, cache->nulls);
		ReleaseTupleDesc(descriptor);
		MemoryContextSwitchTo(old_context);
	}
	*values = cache->values;
	*nulls = cache->nulls;
	*natts = cache->natts;
}

void
model_argument_parameters(FunctionCallInfo fcinfo, int argno, const char *type_name,
						  const char *const *names, int n, double *parameters)
{
	Datum	   *values;
	bool	   *nulls;
	int			natts;

	model_argument_fields(fcinfo, argno, &values, &nulls, &natts);
	if (natts < n)
		elog(ERROR, "%s has %d fields, expected at least %d", type_name, natts, n);
	for (int i = 0; i < n; i++)
	{
		double		value = nulls[i] ? NAN : DatumGetFloat8(values[i]);

		if (!(isfinite(value) && value > 0.0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s parameter %s must be positive and finite", type_name, names[i]),
					 nulls[i] ? errdetail("It is NULL.") : errdetail("It is %g.", value)));
		parameters[i] = value;
	}
}

/*
 * Parameters that moved more than a factor 10^4 from where the fit started
 * (1 for those without a unit, the data's mean for the scale parameters) ran
 * off towards a boundary of the parameter space, where the likelihood only
 * creeps up: the data have no maximum at finite values, whatever the
 * gradient says.
 */
#define MAX_LOG_DISTANCE_FROM_START 9.2103403719761836	/* log(10^4) */

static void
model_fit_check(const char *fit_name, MinimizeResult *fit, const char *const *names, const double *log_start,
				const double *log_parameters, int n)
{
	for (int i = 0; i < n; i++)
		if (fabs(log_parameters[i] - log_start[i]) > MAX_LOG_DISTANCE_FROM_START)
		{
			fit->converged = false;
			ereport(WARNING,
					(errcode(ERRCODE_WARNING),
					 errmsg("%s found no maximum of the likelihood at finite parameters", fit_name),
					 errdetail("Parameter %s ran off to %g.", names[i], exp(log_parameters[i])),
					 errhint("The result's converged field is false. The data may not support the model, "
							 "for example when no customer has repeat purchases or there is only one customer.")));
			return;
		}
	if (!fit->converged)
		ereport(WARNING,
				(errcode(ERRCODE_WARNING),
				 errmsg("%s did not converge", fit_name),
				 errdetail("The fit stopped after %d iterations without reaching a maximum of the likelihood.",
						   fit->iterations),
				 errhint("The result's converged field is false.")));
}

static Datum
model_fit_result(FunctionCallInfo fcinfo, const double *parameters, int n, const MinimizeResult *fit,
				 double total_weight)
{
	TupleDesc	descriptor = model_result_descriptor(fcinfo, n + 4);
	Datum		values[MINIMIZE_MAX_PARAMETERS + 4];
	bool		nulls[MINIMIZE_MAX_PARAMETERS + 4] = {0};

	for (int i = 0; i < n; i++)
		values[i] = Float8GetDatum(parameters[i]);
	values[n] = Float8GetDatum(-fit->value * total_weight);
	values[n + 1] = Int32GetDatum(fit->iterations);
	values[n + 2] = BoolGetDatum(fit->converged);
	values[n + 3] = Int64GetDatum((int64) total_weight);
	return HeapTupleGetDatum(heap_form_tuple(descriptor, values, nulls));
}


Datum
model_fit(FunctionCallInfo fcinfo, const char *fit_name, const char *const *names, MinimizeObjective objective,
		  const WeightedPoints *points, const double *log_start, int n)
{
	double		log_parameters[MINIMIZE_MAX_PARAMETERS];
	double		parameters[MINIMIZE_MAX_PARAMETERS];
	MinimizeResult fit;

	memcpy(log_parameters, log_start, n * sizeof(double));
	fit = minimize(objective, (void *) points, n, log_parameters);
	model_fit_check(fit_name, &fit, names, log_start, log_parameters, n);
	for (int i = 0; i < n; i++)
		parameters[i] = exp(log_parameters[i]);
	return model_fit_result(fcinfo, parameters, n, &fit, points->total_weight);
}
