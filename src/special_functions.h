/*
 * special_functions.h
 *		The special functions the customer models need beyond libm's lgamma.
 */
#ifndef SEGMENT_SPECIAL_FUNCTIONS_H
#define SEGMENT_SPECIAL_FUNCTIONS_H

#include "postgres.h"

/* The digamma function, d/dx lgamma(x), for x > 0. */
extern double digamma(double x);

/*
 * The tail of a Gauss hypergeometric series, for -1 < z < 1 and c > -1:
 *
 *		c * (2F1(a, b; c; z) - 1) = sum over k >= 1 of
 *			(a)_k (b)_k z^k / ((c + 1)_(k - 1) k!)
 *
 * written so that it stays finite as c passes through zero.  Stores the sum
 * and the sum of the terms' absolute values (what rounding errors scale
 * with); returns false when the arguments are out of range or the series
 * does not settle within max_terms terms.
 */
extern bool hypergeometric_tail(double a, double b, double c, double z, int64 max_terms,
								double *tail, double *magnitude);

#endif							/* SEGMENT_SPECIAL_FUNCTIONS_H */
