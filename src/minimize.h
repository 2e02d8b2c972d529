/*
 * minimize.h
 *		Unconstrained minimization of a smooth function with its gradient
 *		(BFGS with a backtracking line search), for the model fits.
 */
#ifndef SEGMENT_MINIMIZE_H
#define SEGMENT_MINIMIZE_H

#include "postgres.h"

#define MINIMIZE_MAX_PARAMETERS 4

/*
 * The function to minimize: returns its value at x and stores the gradient.
 * A value that is not finite tells the search to step back.
 */
typedef double (*MinimizeObjective) (const double *x, double *gradient, void *argument);

typedef struct MinimizeResult
{
	double		value;			/* at the returned x */
	int			iterations;
	bool		converged;		/* the gradient vanished */
} MinimizeResult;

/* Minimizes from x (n <= MINIMIZE_MAX_PARAMETERS), leaving the minimum in x. */
extern MinimizeResult minimize(MinimizeObjective objective, void *argument, int n, double *x);

#endif							/* SEGMENT_MINIMIZE_H */
