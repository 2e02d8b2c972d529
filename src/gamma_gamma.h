/*
 * gamma_gamma.h
 *		The Gamma-Gamma model of spend per purchase, and lifetime value.
 */
#ifndef SEGMENT_GAMMA_GAMMA_H
#define SEGMENT_GAMMA_GAMMA_H

#include "postgres.h"

#include "fmgr.h"

#include "bgnbd.h"

typedef struct GammaGammaParameters
{
	double		p;
	double		q;
	double		v;
} GammaGammaParameters;

/* The parameters of a gamma_gamma_model argument, checked. */
extern void gamma_gamma_argument(FunctionCallInfo fcinfo, int argno, GammaGammaParameters *model);

/* The expected value of a purchase; NaN where the model has no finite mean. */
extern double gamma_gamma_spend(const GammaGammaParameters *model, double frequency, double mean_value);

/*
 * The expected purchases of each of horizon periods of the given length,
 * times the expected spend, discounted by rate per period; NaN where the
 * spend has no finite mean.
 */
extern double lifetime_value(const BgnbdParameters *purchases, const GammaGammaParameters *spend,
							 double frequency, double recency, double age, double mean_value,
							 int horizon, double discount_rate, double period);

#endif							/* SEGMENT_GAMMA_GAMMA_H */
