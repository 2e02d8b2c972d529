/*
 * gamma_gamma.c
 *		The Gamma-Gamma model of spend per purchase (Fader, Hardie and Lee
 *		2005, "RFM and CLV"), fitted by maximum likelihood over repeat buyers
 *		(gamma_gamma_fit); the spend to expect of a customer
 *		(gamma_gamma_expected_spend); and, with a BG/NBD model, the
 *		customer's lifetime value (customer_lifetime_value).
 *
 * A customer's purchases are worth z ~ Gamma(p, nu) each, nu ~ Gamma(q, v)
 * across customers.  With x repeat purchases of mean value m, the
 * log-likelihood of one customer is
 *
 *		lgamma(p x + q) - lgamma(p x) - lgamma(q) + q log v
 *			+ (p x - 1) log m + p x log x - (p x + q) log(x m + v)
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "miscadmin.h"

#include "bgnbd.h"
#include "gamma_gamma.h"
#include "minimize.h"
#include "model_tuple.h"
#include "point_set.h"
#include "special_functions.h"

PG_FUNCTION_INFO_V1(gamma_gamma_fit_transfn);
PG_FUNCTION_INFO_V1(gamma_gamma_fit_finalfn);
PG_FUNCTION_INFO_V1(gamma_gamma_expected_spend);
PG_FUNCTION_INFO_V1(customer_lifetime_value);

static const char *const parameter_names[] = {"p", "q", "v"};

static void
check_spender(double frequency, double mean_value)
{
	if (!isfinite(frequency) || frequency < 0 || frequency != floor(frequency))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("frequency must be a whole number of repeat purchases, zero or more"),
				 errdetail("The customer has frequency %g.", frequency)));
	if (frequency > 0 && !(isfinite(mean_value) && mean_value > 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the mean value of a repeat buyer's purchases must be positive and finite"),
				 errdetail("The customer has frequency %g and mean value %g.", frequency, mean_value),
				 errhint("Leave out customers whose refunds cancel their purchases.")));
}

/* gamma_gamma_fit(frequency, mean_value): customers without repeat purchases are left out */
Datum
gamma_gamma_fit_transfn(PG_FUNCTION_ARGS)
{
	PointSet   *set = PG_ARGISNULL(0) ? NULL : (PointSet *) PG_GETARG_POINTER(0);
	int64		parameters[POINT_SET_MAX_PARAMETERS] = {0};
	double		customer[2];

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_POINTER(point_set_ensure(fcinfo, set, 2, parameters));
	customer[0] = PG_GETARG_FLOAT8(1);
	customer[1] = PG_GETARG_FLOAT8(2);
	check_spender(customer[0], customer[1]);
	if (customer[0] == 0)
		PG_RETURN_POINTER(point_set_ensure(fcinfo, set, 2, parameters));
	PG_RETURN_POINTER(point_set_add(fcinfo, set, 2, parameters, customer));
}

/* The mean negative log-likelihood and its gradient over log(p, q, v). */
static double
gamma_gamma_objective(const double *log_parameters, double *gradient, void *argument)
{
	const WeightedPoints *customers = argument;
	double		p = exp(log_parameters[0]);
	double		q = exp(log_parameters[1]);
	double		v = exp(log_parameters[2]);
	double		lgamma_q = lgamma(q);
	double		psi_q = digamma(q);
	double		log_v = log(v);
	double		sum = 0.0;
	double		d_p = 0.0,
				d_q = 0.0,
				d_v = 0.0;

	for (int64 i = 0; i < customers->count; i++)
	{
		double		x = customers->values[2 * i];
		double		m = customers->values[2 * i + 1];
		double		w = customers->weights[i];
		double		px = p * x;
		double		log_m = log(m);
		double		log_x = log(x);
		double		log_xmv = log(x * m + v);
		double		psi_pxq = digamma(px + q);

		sum += w * (lgamma(px + q) - lgamma(px) - lgamma_q + q * log_v
					+ (px - 1) * log_m + px * log_x - (px + q) * log_xmv);
		d_p += w * x * (psi_pxq - digamma(px) + log_m + log_x - log_xmv);
		d_q += w * (psi_pxq - psi_q + log_v - log_xmv);
		d_v += w * (q / v - (px + q) / (x * m + v));
	}
	gradient[0] = -p * d_p / customers->total_weight;
	gradient[1] = -q * d_q / customers->total_weight;
	gradient[2] = -v * d_v / customers->total_weight;
	return -sum / customers->total_weight;
}

/* Fits from p = q = 1 and v = the mean value, so the start scales with the currency. */
Datum
gamma_gamma_fit_finalfn(PG_FUNCTION_ARGS)
{
	PointSet   *set = PG_ARGISNULL(0) ? NULL : (PointSet *) PG_GETARG_POINTER(0);
	WeightedPoints *customers;
	double		log_start[3];

	if (set == NULL || set->count == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("gamma_gamma_fit needs at least one customer with repeat purchases"),
				 errdetail("Customers without repeat purchases and rows with a NULL are left out.")));
	customers = point_set_distinct(set);
	log_start[0] = 0.0;
	log_start[1] = 0.0;
	log_start[2] = log(weighted_mean(customers, 1));
	PG_RETURN_DATUM(model_fit(fcinfo, "gamma_gamma_fit", parameter_names, gamma_gamma_objective, customers,
							  log_start, 3));
}

void
gamma_gamma_argument(FunctionCallInfo fcinfo, int argno, GammaGammaParameters *model)
{
	double		parameters[3];

	model_argument_parameters(fcinfo, argno, "gamma_gamma_model", parameter_names, 3, parameters);
	model->p = parameters[0];
	model->q = parameters[1];
	model->v = parameters[2];
}

/*
 * E(Z | x, m) = p (v + x m) / (p x + q - 1): the customer's own mean pulled
 * toward the population's, p v / (q - 1), which is all there is to go on
 * without repeat purchases.  Infinite expectations (p x + q <= 1) give NaN.
 */
double
gamma_gamma_spend(const GammaGammaParameters *m, double x, double mean_value)
{
	double		denominator = m->p * x + (m->q - 1);

	if (x == 0)
		mean_value = 0.0;
	if (denominator <= 0)
		return NAN;
	return m->p * (m->v + x * mean_value) / denominator;
}

/* gamma_gamma_expected_spend(model, frequency, mean_value); NULL where the expectation is infinite */
Datum
gamma_gamma_expected_spend(PG_FUNCTION_ARGS)
{
	GammaGammaParameters model;
	double		x = PG_GETARG_FLOAT8(1);
	double		mean_value = PG_GETARG_FLOAT8(2);
	double		spend;

	gamma_gamma_argument(fcinfo, 0, &model);
	check_spender(x, mean_value);
	spend = gamma_gamma_spend(&model, x, mean_value);
	if (isnan(spend))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(spend);
}

double
lifetime_value(const BgnbdParameters *purchases, const GammaGammaParameters *spend_model,
			   double x, double tx, double T, double mean_value, int horizon, double discount_rate,
			   double period)
{
	double		spend = gamma_gamma_spend(spend_model, x, mean_value);
	double		value = 0.0;
	double		before = 0.0;

	if (isnan(spend))
		return NAN;
	for (int i = 1; i <= horizon; i++)
	{
		double		through = bgnbd_expected(purchases, i * period, x, tx, T);

		CHECK_FOR_INTERRUPTS();
		value += spend * (through - before) / pow(1 + discount_rate, i);
		before = through;
	}
	return value;
}

/* no more periods than a century of months, or 36,500 days */
#define MAX_HORIZON 36500

/*
 * customer_lifetime_value(bgnbd, gamma_gamma, frequency, recency, age,
 *		mean_value, horizon, discount_rate, period): the expected purchases of
 * each of the next horizon periods (of length period, in the data's unit of
 * time), times the expected spend, discounted by discount_rate per period,
 * as the lifetimes library computes it.
 */
Datum
customer_lifetime_value(PG_FUNCTION_ARGS)
{
	BgnbdParameters purchases;
	GammaGammaParameters spend_model;
	double		x = PG_GETARG_FLOAT8(2);
	double		tx = PG_GETARG_FLOAT8(3);
	double		T = PG_GETARG_FLOAT8(4);
	double		mean_value = PG_GETARG_FLOAT8(5);
	int32		horizon = PG_GETARG_INT32(6);
	double		discount_rate = PG_GETARG_FLOAT8(7);
	double		period = PG_GETARG_FLOAT8(8);
	double		value;

	bgnbd_argument(fcinfo, 0, &purchases);
	gamma_gamma_argument(fcinfo, 1, &spend_model);
	bgnbd_check_customer(x, tx, T);
	check_spender(x, mean_value);
	if (horizon < 0 || horizon > MAX_HORIZON)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the horizon must be between 0 and %d periods", MAX_HORIZON),
				 errdetail("It is %d.", horizon)));
	if (!isfinite(discount_rate) || discount_rate <= -1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the discount rate must be finite and greater than -1"),
				 errdetail("It is %g.", discount_rate)));
	if (!isfinite(period) || period <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the period must be positive and finite"),
				 errdetail("It is %g.", period)));

	value = lifetime_value(&purchases, &spend_model, x, tx, T, mean_value, horizon, discount_rate, period);
	if (isnan(value))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(value);
}
