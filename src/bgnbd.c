/*
 * bgnbd.c
 *		Fitting the BG/NBD model by maximum likelihood (the aggregate
 *		bgnbd_fit), and what a fitted model says of a customer: the
 *		probability that the customer is still alive (bgnbd_p_alive) and the
 *		purchases to expect over a coming period (bgnbd_expected_purchases).
 *
 * A customer is (x, t_x, T): x repeat purchases, the last one t_x after the
 * first purchase, observed for T since the first purchase.  While alive a
 * customer buys as a Poisson process of rate lambda ~ Gamma(r, alpha); after
 * each purchase the customer leaves with probability p ~ Beta(a, b).  The
 * likelihood of one customer (equation 6 of the paper) is
 *
 *		L = B(a, b + x) / B(a, b) * G(r + x) alpha^r / (G(r) (alpha + T)^(r + x))
 *		  + [x > 0] B(a + 1, b + x - 1) / B(a, b)
 *				* G(r + x) alpha^r / (G(r) (alpha + t_x)^(r + x))
 *
 * summed in logs as log L = A1 + A2 + log(exp(A3) + [x > 0] exp(A4)) with
 *
 *		A1 = lgamma(r + x) - lgamma(r) + r log alpha
 *		A2 = lgamma(a + b) + lgamma(b + x) - lgamma(b) - lgamma(a + b + x)
 *		A3 = -(r + x) log(alpha + T)
 *		A4 = log a - log(b + x - 1) - (r + x) log(alpha + t_x)
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "fmgr.h"

#include "bgnbd.h"
#include "minimize.h"
#include "model_tuple.h"
#include "point_set.h"
#include "special_functions.h"

PG_FUNCTION_INFO_V1(bgnbd_fit_transfn);
PG_FUNCTION_INFO_V1(bgnbd_fit_finalfn);
PG_FUNCTION_INFO_V1(bgnbd_p_alive);
PG_FUNCTION_INFO_V1(bgnbd_expected_purchases);

static const char *const parameter_names[] = {"r", "alpha", "a", "b"};

void
bgnbd_check_customer(double frequency, double recency, double age)
{
	if (!isfinite(frequency) || !isfinite(recency) || !isfinite(age))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("frequency, recency and age must be finite"),
				 errdetail("The customer has frequency %g, recency %g and age %g.",
						   frequency, recency, age)));
	if (frequency < 0 || frequency != floor(frequency))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("frequency must be a whole number of repeat purchases, zero or more"),
				 errdetail("The customer has frequency %g.", frequency)));
	if (recency < 0 || recency > age)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("recency must be between zero and the customer's age"),
				 errdetail("The customer has recency %g and age %g.", recency, age),
				 errhint("Recency is the time from the first to the last purchase, age the time "
						 "from the first purchase to the end of the observation, in the same unit.")));
	if (frequency == 0 && recency != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a customer without repeat purchases must have recency zero"),
				 errdetail("The customer has recency %g.", recency)));
}

void
bgnbd_argument(FunctionCallInfo fcinfo, int argno, BgnbdParameters *model)
{
	double		parameters[4];

	model_argument_parameters(fcinfo, argno, "bgnbd_model", parameter_names, 4, parameters);
	model->r = parameters[0];
	model->alpha = parameters[1];
	model->a = parameters[2];
	model->b = parameters[3];
}

/* bgnbd_fit(frequency, recency, age): rows with a NULL are left out */
Datum
bgnbd_fit_transfn(PG_FUNCTION_ARGS)
{
	PointSet   *set = PG_ARGISNULL(0) ? NULL : (PointSet *) PG_GETARG_POINTER(0);
	int64		parameters[POINT_SET_MAX_PARAMETERS] = {0};
	double		customer[3];

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		PG_RETURN_POINTER(point_set_ensure(fcinfo, set, 3, parameters));
	customer[0] = PG_GETARG_FLOAT8(1);
	customer[1] = PG_GETARG_FLOAT8(2);
	customer[2] = PG_GETARG_FLOAT8(3);
	bgnbd_check_customer(customer[0], customer[1], customer[2]);
	PG_RETURN_POINTER(point_set_add(fcinfo, set, 3, parameters, customer));
}

/*
 * The mean negative log-likelihood per customer and its gradient, over the
 * logs of (r, alpha, a, b).  The customers are sorted by x, so the terms
 * that depend on x alone are computed once per distinct x.
 */
static double
bgnbd_objective(const double *log_parameters, double *gradient, void *argument)
{
	const WeightedPoints *customers = argument;
	double		r = exp(log_parameters[0]);
	double		alpha = exp(log_parameters[1]);
	double		a = exp(log_parameters[2]);
	double		b = exp(log_parameters[3]);
	double		log_alpha = log(alpha);
	double		lgamma_r = lgamma(r);
	double		lgamma_ab = lgamma(a + b);
	double		lgamma_b = lgamma(b);
	double		psi_r = digamma(r);
	double		psi_ab = digamma(a + b);
	double		psi_b = digamma(b);
	double		log_a = log(a);
	double		sum = 0.0;
	double		d_r = 0.0,
				d_alpha = 0.0,
				d_a = 0.0,
				d_b = 0.0;
	double		x = -1.0;
	double		a1x = 0.0,
				a2 = 0.0,
				d_r_x = 0.0,
				d_a_x = 0.0,
				d_b_x = 0.0,
				log_bx1 = 0.0;

	for (int64 i = 0; i < customers->count; i++)
	{
		const double *customer = customers->values + 3 * i;
		double		w = customers->weights[i];
		double		rx;
		double		log_aT;
		double		a3;
		double		ll;
		double		p3 = 1.0,
					p4 = 0.0,
					log_atx = 0.0;

		if (customer[0] != x)
		{
			x = customer[0];
			a1x = lgamma(r + x) - lgamma_r;
			a2 = lgamma_ab + lgamma(b + x) - lgamma_b - lgamma(a + b + x);
			d_r_x = digamma(r + x) - psi_r;
			d_a_x = psi_ab - digamma(a + b + x);
			d_b_x = psi_ab + digamma(b + x) - psi_b - digamma(a + b + x);
			log_bx1 = (x > 0) ? log(b + (x - 1)) : 0.0;
		}
		rx = r + x;
		log_aT = log(alpha + customer[2]);
		a3 = -rx * log_aT;
		ll = a1x + r * log_alpha + a2;
		if (x > 0)
		{
			double		a4;
			double		top;
			double		lse;

			log_atx = log(alpha + customer[1]);
			a4 = log_a - log_bx1 - rx * log_atx;
			top = Max(a3, a4);
			lse = top + log(exp(a3 - top) + exp(a4 - top));
			p3 = exp(a3 - lse);
			p4 = exp(a4 - lse);
			ll += lse;
		}
		else
			ll += a3;

		sum += w * ll;
		d_r += w * (d_r_x + log_alpha - p3 * log_aT - p4 * log_atx);
		d_alpha += w * (r / alpha - p3 * rx / (alpha + customer[2]) - p4 * rx / (alpha + customer[1]));
		d_a += w * (d_a_x + p4 / a);
		d_b += w * (d_b_x - (x > 0 ? p4 / (b + (x - 1)) : 0.0));
	}

	/* d/d log(theta) = theta d/d theta; minimize the negative mean */
	gradient[0] = -r * d_r / customers->total_weight;
	gradient[1] = -alpha * d_alpha / customers->total_weight;
	gradient[2] = -a * d_a / customers->total_weight;
	gradient[3] = -b * d_b / customers->total_weight;
	return -sum / customers->total_weight;
}

/*
 * Fits from r = a = b = 1 and alpha = the mean age, so that the start
 * scales with the unit of time.
 */
Datum
bgnbd_fit_finalfn(PG_FUNCTION_ARGS)
{
	PointSet   *set = PG_ARGISNULL(0) ? NULL : (PointSet *) PG_GETARG_POINTER(0);
	WeightedPoints *customers;
	double		log_start[4];

	if (set == NULL || set->count == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bgnbd_fit needs at least one customer"),
				 errdetail("Rows with a NULL frequency, recency or age are left out.")));
	customers = point_set_distinct(set);
	log_start[0] = 0.0;
	log_start[1] = log(Max(weighted_mean(customers, 2), 1e-6));
	log_start[2] = 0.0;
	log_start[3] = 0.0;
	PG_RETURN_DATUM(model_fit(fcinfo, "bgnbd_fit", parameter_names, bgnbd_objective, customers, log_start, 4));
}

/* log of the odds of having left: [x > 0] a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x) */
static double
log_odds_gone(const BgnbdParameters *m, double x, double tx, double T)
{
	return log(m->a) - log(m->b + (x - 1))
		+ (m->r + x) * (log(m->alpha + T) - log(m->alpha + tx));
}

/* P(alive | x, t_x, T) = 1 / (1 + odds of having left); 1 without repeat purchases */
double
bgnbd_alive(const BgnbdParameters *model, double x, double tx, double T)
{
	if (x == 0)
		return 1.0;
	return 1.0 / (1.0 + exp(log_odds_gone(model, x, tx, T)));
}

Datum
bgnbd_p_alive(PG_FUNCTION_ARGS)
{
	BgnbdParameters model;
	double		x = PG_GETARG_FLOAT8(1);
	double		tx = PG_GETARG_FLOAT8(2);
	double		T = PG_GETARG_FLOAT8(3);

	bgnbd_argument(fcinfo, 0, &model);
	bgnbd_check_customer(x, tx, T);
	PG_RETURN_FLOAT8(bgnbd_alive(&model, x, tx, T));
}

/*
 * Equation 10 of the paper,
 *
 *		E = (a + b + x - 1) / (a - 1)
 *			* [1 - ((alpha + T) / (alpha + T + t))^(r + x) 2F1(r + x, b + x; a + b + x - 1; z)]
 *			/ (1 + odds of having left),		z = t / (alpha + T + t)
 *
 * The bracket times c = a + b + x - 1 is summed one of three ways, each
 * best somewhere:
 *
 * - as written: all terms positive, but about as many as x;
 * - after Euler's transformation 2F1(A, B; C; z) = (1 - z)^(C - A - B)
 *   2F1(C - A, C - B; C; z): 1 - (1 - z)^(a - 1) 2F1(a + b - 1 - r, a - 1;
 *   c; z), whose parameters do not grow with x, but whose terms alternate
 *   when r > a + b - 1;
 * - after Pfaff's, 2F1(A, B; C; z) = (1 - z)^-A 2F1(A, C - B; C; w) with
 *   w = z / (z - 1) = -t / (alpha + T): 1 - 2F1(r + x, a - 1; c; w), quick
 *   when a and b are huge, for periods shorter than alpha + T.
 *
 * Euler's is taken when rounding cannot have cost it more than 1e-12 of the
 * value (the usual case); otherwise the form with the smallest bound on the
 * rounding error, if that bound is below 1e-6 of the value.
 */
#define SERIES_TERMS 1000000
#define ROUNDING 1e-15			/* relative error of a term, a few ulps */
#define GOOD_ENOUGH 1e-12
#define WORST_ACCEPTED 1e-6

typedef struct Bracket
{
	double		value;
	double		error;			/* bound on its rounding error */
} Bracket;

/* keeps the candidate if it is the better one; returns whether it is good enough to stop */
static bool
consider(Bracket *best, bool converged, double value, double error)
{
	if (converged && isfinite(value) && isfinite(error) &&
		(!isfinite(best->value) || error / fabs(value) < best->error / fabs(best->value)))
	{
		best->value = value;
		best->error = error;
	}
	return isfinite(best->value) && best->error <= GOOD_ENOUGH * fabs(best->value);
}

static double
expected_at(const BgnbdParameters *m, double a, double t, double x, double tx, double T)
{
	double		c = a + m->b + (x - 1);
	double		log_1mz = log(m->alpha + T) - log(m->alpha + T + t);
	double		z = t / (m->alpha + T + t);
	double		w = -t / (m->alpha + T);
	Bracket		best = {NAN, INFINITY};
	double		tail;
	double		magnitude;
	double		odds = 0.0;
	bool		done;

	/* Euler */
	{
		double		power = exp((a - 1) * log_1mz);
		double		head = -c * expm1((a - 1) * log_1mz);
		bool		converged = hypergeometric_tail(a + m->b - 1 - m->r, a - 1, c, z, SERIES_TERMS,
													&tail, &magnitude);

		done = consider(&best, converged, head - power * tail,
						ROUNDING * (fabs(head) + power * magnitude));
	}
	/* as written */
	if (!done)
	{
		double		power = exp((m->r + x) * log_1mz);
		double		head = -c * expm1((m->r + x) * log_1mz);
		bool		converged = hypergeometric_tail(m->r + x, m->b + x, c, z, SERIES_TERMS,
													&tail, &magnitude);

		done = consider(&best, converged, head - power * tail,
						ROUNDING * (fabs(head) + power * magnitude));
	}
	/* Pfaff */
	if (!done)
	{
		bool		converged = hypergeometric_tail(m->r + x, a - 1, c, w, SERIES_TERMS,
													&tail, &magnitude);

		consider(&best, converged, -tail, ROUNDING * magnitude);
	}
	if (!(isfinite(best.value) && best.error <= WORST_ACCEPTED * fabs(best.value)))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("the expected purchases cannot be computed for this model and customer"),
				 errdetail("No form of the hypergeometric series of r = %g, alpha = %g, a = %g, b = %g, "
						   "frequency %g, age %g and period %g converges in %d terms to six digits.",
						   m->r, m->alpha, a, m->b, x, T, t, SERIES_TERMS),
				 errhint("Check that the model's fit converged; a period much longer than the customers' age needs many terms.")));

	if (x > 0)
	{
		BgnbdParameters at = *m;

		at.a = a;
		odds = exp(log_odds_gone(&at, x, tx, T));
	}
	return best.value / ((a - 1) * (1.0 + odds));
}

/*
 * a = 1 makes both the bracket and a - 1 vanish: near it, the value is
 * interpolated between the two sides, where the closed form is accurate.
 */
#define A_NEAR_ONE 1e-5

double
bgnbd_expected(const BgnbdParameters *model, double t, double x, double tx, double T)
{
	if (t == 0)
		return 0.0;
	if (fabs(model->a - 1) < A_NEAR_ONE)
	{
		double		below = expected_at(model, 1 - A_NEAR_ONE, t, x, tx, T);
		double		above = expected_at(model, 1 + A_NEAR_ONE, t, x, tx, T);

		return below + (above - below) * (model->a - (1 - A_NEAR_ONE)) / (2 * A_NEAR_ONE);
	}
	return expected_at(model, model->a, t, x, tx, T);
}

static void
check_horizon(double t)
{
	if (!isfinite(t) || t < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the prediction period must be finite and not negative"),
				 errdetail("It is %g.", t)));
}

/* bgnbd_expected_purchases(model, t, frequency, recency, age) */
Datum
bgnbd_expected_purchases(PG_FUNCTION_ARGS)
{
	BgnbdParameters model;
	double		t = PG_GETARG_FLOAT8(1);
	double		x = PG_GETARG_FLOAT8(2);
	double		tx = PG_GETARG_FLOAT8(3);
	double		T = PG_GETARG_FLOAT8(4);

	bgnbd_argument(fcinfo, 0, &model);
	check_horizon(t);
	bgnbd_check_customer(x, tx, T);
	PG_RETURN_FLOAT8(bgnbd_expected(&model, t, x, tx, T));
}
