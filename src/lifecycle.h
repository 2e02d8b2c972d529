/*
 * lifecycle.h
 *		Lifecycle stages: where a customer stands (prospect, new, active,
 *		at risk, lapsed, reactivated), judged against the customer's own
 *		buying rhythm.  Shared so that other modules (a trigger, summary
 *		views) compute the stage exactly as lifecycle_stage() does.
 */
#ifndef SEGMENT_LIFECYCLE_H
#define SEGMENT_LIFECYCLE_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/array.h"

#include "rfm_stats.h"

/* The stages, in the order lifecycle_stages() lists them. */
typedef enum LifecycleStage
{
	LIFECYCLE_PROSPECT,			/* no orders */
	LIFECYCLE_NEW,
	LIFECYCLE_ACTIVE,
	LIFECYCLE_AT_RISK,
	LIFECYCLE_LAPSED,
	LIFECYCLE_REACTIVATED,
	LIFECYCLE_NUM_STAGES
} LifecycleStage;

/* The tuning of lifecycle_stage(); the defaults are the SQL defaults. */
typedef struct LifecycleParams
{
	double		new_days;		/* first order at most this many days ago */
	double		at_risk_multiple;	/* of the mean gap, with a rhythm */
	double		lapsed_multiple;	/* of the mean gap, with a rhythm */
	int32		rhythm_min_orders;	/* orders needed to have a rhythm */
	double		at_risk_days;	/* fixed threshold without a rhythm */
	double		lapsed_days;	/* fixed threshold without a rhythm */
} LifecycleParams;

#define LIFECYCLE_DEFAULT_NEW_DAYS			30.0
#define LIFECYCLE_DEFAULT_AT_RISK_MULTIPLE	2.0
#define LIFECYCLE_DEFAULT_LAPSED_MULTIPLE	4.0
#define LIFECYCLE_DEFAULT_RHYTHM_MIN_ORDERS 3
#define LIFECYCLE_DEFAULT_AT_RISK_DAYS		90.0
#define LIFECYCLE_DEFAULT_LAPSED_DAYS		180.0

extern void lifecycle_params_default(LifecycleParams *params);
extern void lifecycle_params_check(const LifecycleParams *params);
extern void lifecycle_params_from_array(ArrayType *limits, LifecycleParams *params);
extern LifecycleStage lifecycle_stage_of(const RfmOrders *orders, TimestampTz as_of,
										 const LifecycleParams *params);
extern const char *lifecycle_stage_name(LifecycleStage stage);
extern const char *lifecycle_stage_description(LifecycleStage stage);

#endif							/* SEGMENT_LIFECYCLE_H */
