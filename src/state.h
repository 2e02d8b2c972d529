/*
 * state.h
 *		The maintained per-customer state of an attachment.
 *
 * Writes of orders are recorded, row by row, as they happen
 * (state_trigger.c), kept until the writing transaction commits
 * (state_pending.c) and folded into the state table then, once
 * (state_fold.c).  What a state row stores beside the statistics is
 * computed by state_values() (state_row.c), with the span of time over
 * which time alone leaves it true (state_validity.c).
 */
#ifndef SEGMENT_STATE_H
#define SEGMENT_STATE_H

#include "postgres.h"

#include "access/attnum.h"
#include "datatype/timestamp.h"
#include "fmgr.h"

#include "lifecycle.h"
#include "rfm_stats.h"
#include "rfm_thresholds.h"

/* state_validity.c */
/* Every moment at which time alone may change the values: at most this many. */
#define STATE_MAX_MOMENTS	(RFM_MAX_BINS - 1 + 5)
/* How much earlier (later) than computed a moment is assumed to be crossed. */
#define STATE_MOMENT_MARGIN_USECS	INT64CONST(1000)

extern int	segments_change_moments(const RfmOrders *orders, const RfmBins *bins,
									const LifecycleParams *lifecycle, TimestampTz *moments);
extern void segments_validity_of(const RfmOrders *orders, TimestampTz as_of, const RfmBins *bins,
								 const LifecycleParams *lifecycle, TimestampTz *from, TimestampTz *until);

/* What happened to the orders of a customer, as recorded for the fold. */
typedef enum StateEventKind
{
	STATE_ORDER_ADDED,			/* one more order: merged into the statistics */
	STATE_ORDERS_CHANGED,		/* an order changed or left: derive again */
	STATE_ORDERS_CLEARED		/* every order left (TRUNCATE of the table) */
} StateEventKind;

/* The events of one attachment in the current transaction, in order. */
typedef struct PendingState
{
	char		attachment[NAMEDATALEN];	/* hash key */
	Oid			key_type;		/* of the recorded keys */
	int			applied;		/* events before it are in the state already */
	/*
	 * Where applied stood after each fold or refill of the transaction, and
	 * the subtransaction that made it: a subtransaction that rolls back
	 * takes its folds with it, so applied goes back.
	 */
	int			mark_count;
	int			mark_capacity;
	int		   *mark_applied;
	SubTransactionId *mark_subxacts;
	int			count;
	int			capacity;
	StateEventKind *kinds;
	Datum	   *keys;
	Datum	   *times;
	Datum	   *amounts;
	bool	   *amount_nulls;
	Oid		   *time_types;		/* of each time and amount, as the orders */
	Oid		   *amount_types;	/* table had them when it was recorded */
	SubTransactionId *subxacts; /* that recorded each event */
} PendingState;

/* What a trigger reads of the rows of its table; one per trigger (state_trigger.c). */
typedef struct OrdersColumns
{
	Oid			trigger_oid;	/* hash key */
	bool		valid;			/* false once the table changed */
	Oid			relid;
	bool		is_root;		/* the attachment's orders table itself */
	char		attachment[NAMEDATALEN];
	Oid			state_table;
	bool		locks_early;	/* a Citus shard's: see lock_customer() */
	AttrNumber	customer;
	AttrNumber	order_time;
	AttrNumber	amount;
	Oid			key_type;
	Oid			key_collation;
	Oid			time_type;
	Oid			amount_type;
	int16		key_len;		/* of their types, for copying values */
	int16		time_len;
	int16		amount_len;
	bool		key_byval;
	bool		time_byval;
	bool		amount_byval;
} OrdersColumns;

/* state_row.c */
extern int	rfm_cell_position(int16 scores, int bins);
extern void state_judge(const RfmStatsView *view, TimestampTz as_of, const RfmBins *bins,
						const LifecycleParams *lifecycle, int16 *scores, LifecycleStage *stage);

/* state_pending.c */
extern void pending_state_init(void);
extern int	record_event(const char *schema, const OrdersColumns *columns, StateEventKind kind,
						 Datum key, Datum order_time, Datum amount, bool amount_null);
extern void record_clear(const char *schema, const OrdersColumns *columns);
extern PendingState *pending_state_next(void);
extern void pending_state_applied(PendingState *pending);
extern void pending_state_refilled(const char *attachment);

/* state_legacy.c */
struct TriggerData;
extern void legacy_state_trigger(struct TriggerData *trigdata, const char *ext);

/* state_fold.c */
extern const char *state_schemas(FunctionCallInfo fcinfo);
extern const char *state_internal_schema(void);
extern void state_fold(PendingState *pending, const char *schema);
extern Oid	relation_owner(Oid relid);
extern void run_as_owner_begin(Oid owner, const char *schema, int *nest_level, Oid *saved_user,
							   int *saved_context);
extern void run_as_begin(Oid owner, const char *schema, bool restricted, int *nest_level,
						 Oid *saved_user, int *saved_context);
extern void run_as_owner_end(int nest_level, Oid saved_user, int saved_context);

#endif							/* SEGMENT_STATE_H */
