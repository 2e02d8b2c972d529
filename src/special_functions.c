/*
 * special_functions.c
 *		Digamma and the hypergeometric series of the BG/NBD expectation.
 */
#include "postgres.h"

#include <math.h>

#include "special_functions.h"

/*
 * Shifts x up to 6 with psi(x) = psi(x + 1) - 1/x, then sums the asymptotic
 * series, which is accurate to double precision from there.
 */
double
digamma(double x)
{
	double		result = 0.0;
	double		f;

	while (x < 6.0)
	{
		result -= 1.0 / x;
		x += 1.0;
	}
	f = 1.0 / (x * x);
	return result + log(x) - 0.5 / x
		- f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f * (1.0 / 132)))));
}

/*
 * Term k + 1 is term k times (a + k)(b + k) z / ((c + k)(k + 1)), except the
 * first, which has no (c) factor.  The sum stops when a term no longer moves
 * it; the budget is generous because the terms shrink like z^k only once k
 * outgrows a, b and c.
 */
#define HYPERGEOMETRIC_MAX_TERMS 10000000

double
hypergeometric_tail(double a, double b, double c, double z)
{
	double		term = a * b * z;	/* k = 1 */
	double		sum = 0.0;
	double		compensation = 0.0;

	Assert(z >= 0.0 && z < 1.0 && c > -1.0);
	for (int64 k = 1; k <= HYPERGEOMETRIC_MAX_TERMS; k++)
	{
		/* Kahan summation: long tails of small terms add up exactly enough */
		double		y = term - compensation;
		double		t = sum + y;

		compensation = (t - sum) - y;
		sum = t;
		if (term == 0.0 || (fabs(term) <= 1e-17 * fabs(sum) &&
							 fabs((a + k) * (b + k) * z) < fabs((c + k) * (k + 1))))
			return sum;
		term *= (a + k) * (b + k) * z / ((c + k) * (double) (k + 1));
		if (!isfinite(term))
			break;
	}
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("the hypergeometric series of the expected purchases did not converge"),
			 errdetail("a = %g, b = %g, c = %g, z = %g.", a, b, c, z),
			 errhint("The prediction horizon is very long compared with the customer's age and the model's alpha.")));
	return 0.0;					/* keep the compiler quiet */
}
