/*
 * minimize.c
 *		BFGS: quasi-Newton steps along an inverse Hessian built from the
 *		gradients seen so far, each step backtracked until the value drops
 *		enough (Armijo).  The models' objectives are smooth, cheap in few
 *		parameters and come with exact gradients, which is what BFGS wants.
 *
 * The fits minimize the mean negative log-likelihood per customer over the
 * logarithms of the parameters, so the tolerances below do not depend on the
 * number of customers or the parameters' scales.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"

#include "minimize.h"

#define MAX_ITERATIONS 1000
#define MAX_HALVINGS 60
#define ARMIJO 1e-4

/* the gradient at a minimum; below it, an iteration cannot improve much */
#define GRADIENT_TOLERANCE 1e-8

/*
 * Where the value stops resolving (rounding), a gradient this small counts
 * as a minimum too.
 */
#define STALLED_GRADIENT_TOLERANCE 1e-6

/* in log-parameters: one step multiplies a parameter by e^2 at most */
#define MAX_STEP 2.0

/* log-parameters this far from the start mean the fit runs off to a boundary */
#define MAX_LOG_DISTANCE 40.0

static double
max_abs(const double *v, int n)
{
	double		m = 0.0;

	for (int i = 0; i < n; i++)
		m = Max(m, fabs(v[i]));
	return m;
}

static double
dot(const double *u, const double *v, int n)
{
	double		s = 0.0;

	for (int i = 0; i < n; i++)
		s += u[i] * v[i];
	return s;
}

static bool
ran_off(const double *x, const double *start, int n)
{
	for (int i = 0; i < n; i++)
		if (fabs(x[i] - start[i]) > MAX_LOG_DISTANCE)
			return true;
	return false;
}

static void
identity(double h[MINIMIZE_MAX_PARAMETERS][MINIMIZE_MAX_PARAMETERS], int n)
{
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			h[i][j] = (i == j) ? 1.0 : 0.0;
}

/* H = (I - rho s y') H (I - rho y s') + rho s s', with rho = 1 / y's */
static void
bfgs_update(double h[MINIMIZE_MAX_PARAMETERS][MINIMIZE_MAX_PARAMETERS], int n,
			const double *s, const double *y, double sy)
{
	double		rho = 1.0 / sy;
	double		hy[MINIMIZE_MAX_PARAMETERS];
	double		yhy;

	for (int i = 0; i < n; i++)
		hy[i] = dot(h[i], y, n);
	yhy = dot(y, hy, n);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			h[i][j] += (1.0 + rho * yhy) * rho * s[i] * s[j]
				- rho * (hy[i] * s[j] + s[i] * hy[j]);
}

MinimizeResult
minimize(MinimizeObjective objective, void *argument, int n, double *x)
{
	MinimizeResult result = {0};
	double		h[MINIMIZE_MAX_PARAMETERS][MINIMIZE_MAX_PARAMETERS];
	double		g[MINIMIZE_MAX_PARAMETERS];
	double		f;
	double		start[MINIMIZE_MAX_PARAMETERS];
	bool		fresh = true;	/* is h the identity? */

	Assert(n >= 1 && n <= MINIMIZE_MAX_PARAMETERS);
	identity(h, n);
	memcpy(start, x, n * sizeof(double));
	f = objective(x, g, argument);
	if (!isfinite(f))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("the likelihood is not finite at the starting point of the fit")));

	while (result.iterations < MAX_ITERATIONS)
	{
		double		d[MINIMIZE_MAX_PARAMETERS];
		double		candidate[MINIMIZE_MAX_PARAMETERS];
		double		candidate_g[MINIMIZE_MAX_PARAMETERS];
		double		candidate_f = 0.0;
		double		s[MINIMIZE_MAX_PARAMETERS];
		double		y[MINIMIZE_MAX_PARAMETERS];
		double		slope;
		double		step;
		double		sy;
		bool		accepted = false;

		if (max_abs(g, n) < GRADIENT_TOLERANCE)
		{
			result.converged = true;
			break;
		}
		if (ran_off(x, start, n))
			break;
		result.iterations++;

		for (int i = 0; i < n; i++)
			d[i] = -dot(h[i], g, n);
		slope = dot(g, d, n);
		if (!(slope < 0.0))
		{
			/* not a descent direction: start the curvature over */
			identity(h, n);
			fresh = true;
			for (int i = 0; i < n; i++)
				d[i] = -g[i];
			slope = -dot(g, g, n);
		}

		step = Min(1.0, MAX_STEP / max_abs(d, n));
		for (int halving = 0; halving < MAX_HALVINGS; halving++, step *= 0.5)
		{
			/* each evaluation reads every customer */
			CHECK_FOR_INTERRUPTS();
			for (int i = 0; i < n; i++)
				candidate[i] = x[i] + step * d[i];
			candidate_f = objective(candidate, candidate_g, argument);
			if (isfinite(candidate_f) && candidate_f <= f + ARMIJO * step * slope)
			{
				accepted = true;
				break;
			}
		}
		/* a step that changes nothing is as far as rounding lets the search go */
		if (accepted && !(candidate_f < f))
			accepted = false;
		if (!accepted)
		{
			if (!fresh)
			{
				identity(h, n);
				fresh = true;
				continue;
			}
			result.converged = max_abs(g, n) < STALLED_GRADIENT_TOLERANCE;
			break;
		}

		for (int i = 0; i < n; i++)
		{
			s[i] = candidate[i] - x[i];
			y[i] = candidate_g[i] - g[i];
			x[i] = candidate[i];
			g[i] = candidate_g[i];
		}
		f = candidate_f;
		sy = dot(s, y, n);
		if (sy > 1e-12 * sqrt(dot(s, s, n) * dot(y, y, n)))
		{
			if (fresh)
			{
				/* scale the first curvature guess to the function (Nocedal and Wright 6.20) */
				double		scale = sy / dot(y, y, n);

				for (int i = 0; i < n; i++)
					h[i][i] = scale;
			}
			bfgs_update(h, n, s, y, sy);
			fresh = false;
		}
	}
	if (!result.converged && max_abs(g, n) < GRADIENT_TOLERANCE)
		result.converged = true;
	result.value = f;
	return result;
}
