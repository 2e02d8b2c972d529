/*
 * purchase_summary.h
 *		A customer as the BG/NBD and Gamma-Gamma models see it.
 */
#ifndef SEGMENT_PURCHASE_SUMMARY_H
#define SEGMENT_PURCHASE_SUMMARY_H

#include "postgres.h"

#include "datatype/timestamp.h"

typedef struct PurchaseSummary
{
	double		frequency;		/* orders after the first */
	double		recency;		/* first to last order, in units */
	double		age;			/* first order to the analysis time, in units */
	double		mean_value;		/* of all orders */
} PurchaseSummary;

/* The length of a unit of time in days (a month is 30), checked positive. */
extern double unit_days(const Interval *unit);

extern void summarize_purchases(int64 order_count, TimestampTz first_order, TimestampTz last_order,
								double mean_value, TimestampTz as_of, double unit_days,
								PurchaseSummary *summary);

#endif							/* SEGMENT_PURCHASE_SUMMARY_H */
