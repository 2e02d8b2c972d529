/*
 * special_functions.c
 *		Digamma and the hypergeometric series of the BG/NBD expectation.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"

#include "special_functions.h"

/*
 * Shifts x up to 10 with psi(x) = psi(x + 1) - 1/x, then sums the asymptotic
 * series, whose first omitted term is below 1e-14 from there.
 */
double
digamma(double x)
{
	double		result = 0.0;
	double		f;

	while (x < 10.0)
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
 * it and the terms shrink from there on.
 */
bool
hypergeometric_tail(double a, double b, double c, double z, int64 max_terms, double *tail,
					double *magnitude)
{
	double		term = a * b * z;	/* k = 1 */
	double		sum = 0.0;
	double		compensation = 0.0;
	double		absolute = 0.0;

	if (!(z > -1.0 && z < 1.0 && c > -1.0))
		return false;
	for (int64 k = 1; k <= max_terms; k++)
	{
		/* Kahan summation: long tails of small terms add up exactly enough */
		double		y = term - compensation;
		double		t = sum + y;

		compensation = (t - sum) - y;
		sum = t;
		absolute += fabs(term);
		if (term == 0.0 || (fabs(term) <= 1e-17 * fabs(sum) &&
							fabs((a + k) * (b + k) * z) < fabs((c + k) * (k + 1))))
		{
			*tail = sum;
			*magnitude = absolute;
			return true;
		}
		term *= (a + k) * (b + k) * z / ((c + k) * (double) (k + 1));
		if (!isfinite(term))
			return false;
		if ((k & 0xFFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	return false;
}
