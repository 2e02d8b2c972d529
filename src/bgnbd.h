/*
 * bgnbd.h
 *		The BG/NBD model of repeat purchases (Fader, Hardie and Lee 2005,
 *		"Counting Your Customers the Easy Way").
 */
#ifndef SEGMENT_BGNBD_H
#define SEGMENT_BGNBD_H

#include "postgres.h"

#include "fmgr.h"

typedef struct BgnbdParameters
{
	double		r;
	double		alpha;
	double		a;
	double		b;
} BgnbdParameters;

/* A customer's repeat purchases, time of the last one and age, checked. */
extern void bgnbd_check_customer(double frequency, double recency, double age);

/* The parameters of a bgnbd_model argument, checked. */
extern void bgnbd_argument(FunctionCallInfo fcinfo, int argno, BgnbdParameters *model);

/* The probability that the customer is still active. */
extern double bgnbd_alive(const BgnbdParameters *model, double frequency, double recency, double age);

/* The expected number of purchases in the next t, given the customer's past. */
extern double bgnbd_expected(const BgnbdParameters *model, double t,
							 double frequency, double recency, double age);

#endif							/* SEGMENT_BGNBD_H */
