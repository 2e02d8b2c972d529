/*
 * rfm_stats.c
 *		The rfm_stats type: a customer's order count, first, second latest
 *		and latest order time, and exact total amount.
 *
 * Text form, always in UTC so that it reads back the same under any
 * TimeZone setting:
 *		(orders=3, total=57.45, first=1997-01-02 00:00:00+00,
 *		 previous=1997-11-15 00:00:00+00, last=1998-05-28 00:00:00+00)
 * "previous" is absent for a customer with one order.
 */
#include "postgres.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>

#include "common/int.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/fmgrprotos.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "rfm_stats.h"

#define USECS_PER_DAY_FLOAT 86400000000.0

PG_FUNCTION_INFO_V1(rfm_stats_in);
PG_FUNCTION_INFO_V1(rfm_stats_out);
PG_FUNCTION_INFO_V1(rfm_stats_recv);
PG_FUNCTION_INFO_V1(rfm_stats_send);
PG_FUNCTION_INFO_V1(rfm_stats_order_count);
PG_FUNCTION_INFO_V1(rfm_stats_first_order_time);
PG_FUNCTION_INFO_V1(rfm_stats_previous_order_time);
PG_FUNCTION_INFO_V1(rfm_stats_last_order_time);
PG_FUNCTION_INFO_V1(rfm_stats_total_amount);
PG_FUNCTION_INFO_V1(rfm_stats_mean_days_between_orders);
PG_FUNCTION_INFO_V1(rfm_stats_days_before_last_order);
PG_FUNCTION_INFO_V1(rfm_stats_recency_days);

/* Merges another customer's (or partition's) orders into these. */
void
rfm_orders_merge(RfmOrders *orders, const RfmOrders *other)
{
	if (other->order_count == 0)
		return;
	if (orders->order_count == 0)
	{
		*orders = *other;
		return;
	}
	if (pg_add_s64_overflow(orders->order_count, other->order_count,
							&orders->order_count))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("order count out of range")));
	orders->first_order = Min(orders->first_order, other->first_order);
	/* the second latest of the union: the smaller latest or either second */
	orders->previous_order = Max(Min(orders->last_order, other->last_order),
								 Max(orders->previous_order, other->previous_order));
	orders->last_order = Max(orders->last_order, other->last_order);
}

/*
 * Days between two times.  The difference is taken in 128 bits because the
 * span of valid timestamps is wider than int64; it is exact in microseconds
 * and rounded once, on the way to double.
 */
double
days_between(TimestampTz from, TimestampTz to)
{
	return (double) ((int128) to - (int128) from) / USECS_PER_DAY_FLOAT;
}

static bool
valid_order_time(TimestampTz t)
{
	return !TIMESTAMP_NOT_FINITE(t) && IS_VALID_TIMESTAMP(t);
}

/*
 * Checks that order fields read from outside (text, binary, a serialized
 * aggregate state) describe real orders, reporting sqlstate if not.  False
 * when escontext took a soft error.
 */
bool
rfm_orders_check(const RfmOrders *orders, int sqlstate, struct Node *escontext)
{
	const char *problem = NULL;

	if (orders->order_count < 1)
		problem = "A customer's statistics hold at least one order.";
	else if (!valid_order_time(orders->first_order) ||
			 !valid_order_time(orders->last_order))
		problem = "Order times must be finite and within the timestamp range.";
	else if (orders->first_order > orders->last_order)
		problem = "The first order is later than the last order.";
	else if (orders->order_count == 1 &&
			 (orders->previous_order != DT_NOBEGIN ||
			  orders->first_order != orders->last_order))
		problem = "With one order, first and last are the same and there is no previous order.";
	else if (orders->order_count > 1 &&
			 (!valid_order_time(orders->previous_order) ||
			  orders->previous_order < orders->first_order ||
			  orders->previous_order > orders->last_order))
		problem = "The previous order must lie between the first and the last order.";

	if (problem != NULL)
		ereturn(escontext, false,
				(errcode(sqlstate),
				 errmsg("invalid rfm_stats value"),
				 errdetail("%s", problem)));
	return true;
}

/* Reads a stored value without copying it, packed or not. */
void
rfm_stats_view(Datum stats, RfmStatsView *view)
{
	struct varlena *packed = PG_DETOAST_DATUM_PACKED(stats);
	const char *data = VARDATA_ANY(packed);
	Size		len = VARSIZE_ANY_EXHDR(packed);
	const Size	fixed = RFM_STATS_HEADER_SIZE - VARHDRSZ;

	if (len < fixed || (uint8) data[0] != RFM_STATS_VERSION)
		elog(ERROR, "unsupported rfm_stats value");
	memcpy(&view->orders, data + offsetof(RfmStats, orders) - VARHDRSZ,
		   sizeof(RfmOrders));
	view->total = data + fixed;
	view->total_len = len - fixed;
}

static RfmStats *
rfm_stats_build(const RfmOrders *orders, Numeric total)
{
	Size		total_len = VARSIZE_ANY_EXHDR(total);
	RfmStats   *result = palloc0(RFM_STATS_HEADER_SIZE + total_len);

	SET_VARSIZE(result, RFM_STATS_HEADER_SIZE + total_len);
	result->version = RFM_STATS_VERSION;
	result->orders = *orders;
	memcpy(result->total, VARDATA_ANY(total), total_len);
	return result;
}

/* The stored value of an aggregate's state (which has one or more orders). */
RfmStats *
rfm_stats_from_accum(const RfmAccum *accum)
{
	return rfm_stats_build(&accum->orders, exact_sum_get_numeric(&accum->total));
}

/*
 * Days from the last order to as_of, as a double: the interval in
 * microseconds divided by 86,400,000,000.  An order after as_of is an error:
 * the analysis date must not cut through the data.
 */
double
rfm_recency_days(const RfmOrders *orders, TimestampTz as_of)
{
	if (TIMESTAMP_NOT_FINITE(as_of))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of must be a finite time")));
	if (orders->last_order > as_of)
	{
		/* timestamptz_to_str returns a static buffer: copy each result */
		char	   *last_text = pstrdup(timestamptz_to_str(orders->last_order));
		char	   *as_of_text = pstrdup(timestamptz_to_str(as_of));

		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a customer's last order is later than as_of"),
				 errdetail("The last order is at %s, as_of is %s.", last_text, as_of_text),
				 errhint("Pass an as_of at or after the latest order, or leave later orders out with WHERE order_time <= as_of.")));
	}
	return days_between(orders->last_order, as_of);
}

static void
append_utc_time(StringInfo buf, const char *key, TimestampTz t)
{
	struct pg_tm tm;
	fsec_t		fsec;
	char		text[MAXDATELEN + 1];

	if (timestamp2tm(t, NULL, &tm, &fsec, NULL, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	tm.tm_isdst = 0;			/* UTC: ask EncodeDateTime for the "+00" */
	EncodeDateTime(&tm, fsec, true, 0, NULL, USE_ISO_DATES, text);
	appendStringInfo(buf, ", %s=%s", key, text);
}

/* Text output: keys and values, times in UTC. */
Datum
rfm_stats_out(PG_FUNCTION_ARGS)
{
	RfmStatsView view;
	StringInfoData buf;
	Numeric		total;

	rfm_stats_view(PG_GETARG_DATUM(0), &view);
	total = numeric_from_payload(view.total, view.total_len);

	initStringInfo(&buf);
	appendStringInfo(&buf, "(orders=" INT64_FORMAT ", total=%s",
					 view.orders.order_count,
					 DatumGetCString(DirectFunctionCall1(numeric_out,
														 NumericGetDatum(total))));
	append_utc_time(&buf, "first", view.orders.first_order);
	if (view.orders.order_count > 1)
		append_utc_time(&buf, "previous", view.orders.previous_order);
	append_utc_time(&buf, "last", view.orders.last_order);
	appendStringInfoChar(&buf, ')');
	PG_RETURN_CSTRING(buf.data);
}

#define RFM_STATS_SYNTAX "Expected (orders=N, total=AMOUNT, first=TIME[, previous=TIME], last=TIME)."

/* Reads "key=value" pairs of the text form into orders and total. */
static bool
parse_rfm_stats(char *text, RfmOrders *orders, Datum *total,
				struct Node *escontext, const char *input)
{
	enum
	{
		KEY_ORDERS, KEY_TOTAL, KEY_FIRST, KEY_PREVIOUS, KEY_LAST, NUM_KEYS
	};
	static const char *const keys[NUM_KEYS] = {
		"orders", "total", "first", "previous", "last"
	};
	bool		seen[NUM_KEYS] = {false};
	char	   *p = text;

	orders->previous_order = DT_NOBEGIN;
	while (isspace((unsigned char) *p))
		p++;
	if (*p++ != '(')
		goto syntax_error;

	for (;;)
	{
		char	   *key;
		char	   *value;
		char	   *end;
		char		delimiter;
		int			k;
		Datum		datum;

		while (isspace((unsigned char) *p))
			p++;
		key = p;
		while (isalpha((unsigned char) *p))
			p++;
		end = p;
		while (isspace((unsigned char) *p))
			p++;
		if (*p != '=')
			goto syntax_error;
		*end = '\0';
		p++;
		for (k = 0; k < NUM_KEYS; k++)
			if (strcmp(key, keys[k]) == 0)
				break;
		if (k == NUM_KEYS || seen[k])
			ereturn(escontext, false,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type %s: \"%s\"", "rfm_stats", input),
					 errdetail("Key \"%s\" is %s.", key,
							   k == NUM_KEYS ? "unknown" : "given twice")));
		seen[k] = true;

		while (isspace((unsigned char) *p))
			p++;
		value = p;
		while (*p != '\0' && *p != ',' && *p != ')')
			p++;
		delimiter = *p;
		if (delimiter == '\0')
			goto syntax_error;
		end = p;
		while (end > value && isspace((unsigned char) end[-1]))
			end--;
		*end = '\0';
		p++;
		if (*value == '\0')
			goto syntax_error;

		switch (k)
		{
			case KEY_ORDERS:
				{
					char	   *digits_end;
					long long	count;

					errno = 0;
					count = strtoll(value, &digits_end, 10);
					if (errno != 0 || *digits_end != '\0' || count < 1)
						ereturn(escontext, false,
								(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
								 errmsg("invalid input syntax for type %s: \"%s\"", "rfm_stats", input),
								 errdetail("orders must be a whole number from 1 to %lld.",
										   (long long) PG_INT64_MAX)));
					orders->order_count = count;
					break;
				}
			case KEY_TOTAL:
				if (!segment_input_call(numeric_in, value, escontext, total))
					return false;
				break;
			default:
				if (!segment_input_call(timestamptz_in, value, escontext, &datum))
					return false;
				if (k == KEY_FIRST)
					orders->first_order = DatumGetTimestampTz(datum);
				else if (k == KEY_PREVIOUS)
					orders->previous_order = DatumGetTimestampTz(datum);
				else
					orders->last_order = DatumGetTimestampTz(datum);
				break;
		}
		if (delimiter == ')')
			break;
	}

	while (isspace((unsigned char) *p))
		p++;
	if (*p != '\0')
		goto syntax_error;
	if (!seen[KEY_ORDERS] || !seen[KEY_TOTAL] || !seen[KEY_FIRST] || !seen[KEY_LAST] ||
		seen[KEY_PREVIOUS] != (orders->order_count > 1))
		ereturn(escontext, false,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type %s: \"%s\"", "rfm_stats", input),
				 errdetail("orders, total, first and last are required; previous is given exactly when orders is more than one.")));
	return true;

syntax_error:
	ereturn(escontext, false,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type %s: \"%s\"", "rfm_stats", input),
			 errdetail(RFM_STATS_SYNTAX)));
}

/* Text input. */
Datum
rfm_stats_in(PG_FUNCTION_ARGS)
{
	char	   *input = PG_GETARG_CSTRING(0);
	struct Node *escontext = fcinfo->context;
	RfmOrders	orders = {0};
	Datum		total = (Datum) 0;
	Numeric		amount;

	if (!parse_rfm_stats(pstrdup(input), &orders, &total, escontext, input) ||
		!rfm_orders_check(&orders, ERRCODE_INVALID_TEXT_REPRESENTATION, escontext))
		PG_RETURN_NULL();
	amount = DatumGetNumeric(total);
	if (!numeric_payload_is_finite(VARDATA_ANY(amount), VARSIZE_ANY_EXHDR(amount)))
		ereturn(escontext, (Datum) 0,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type %s: \"%s\"", "rfm_stats", input),
				 errdetail("total must be a finite number.")));
	PG_RETURN_POINTER(rfm_stats_build(&orders, amount));
}

/* Binary output: a version byte, the order fields, the total as numeric. */
Datum
rfm_stats_send(PG_FUNCTION_ARGS)
{
	RfmStatsView view;
	StringInfoData buf;

	rfm_stats_view(PG_GETARG_DATUM(0), &view);
	pq_begintypsend(&buf);
	pq_sendbyte(&buf, RFM_STATS_VERSION);
	pq_sendint64(&buf, view.orders.order_count);
	pq_sendint64(&buf, view.orders.first_order);
	pq_sendint64(&buf, view.orders.previous_order);
	pq_sendint64(&buf, view.orders.last_order);
	pq_send_numeric(&buf, numeric_from_payload(view.total, view.total_len));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* Binary input; the bytes are checked as strictly as text input. */
Datum
rfm_stats_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	RfmOrders	orders;
	int			version = pq_getmsgbyte(buf);

	if (version != RFM_STATS_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("unsupported rfm_stats binary format version %d", version)));
	orders.order_count = pq_getmsgint64(buf);
	orders.first_order = pq_getmsgint64(buf);
	orders.previous_order = pq_getmsgint64(buf);
	orders.last_order = pq_getmsgint64(buf);
	rfm_orders_check(&orders, ERRCODE_INVALID_BINARY_REPRESENTATION, NULL);
	PG_RETURN_POINTER(rfm_stats_build(&orders, pq_get_finite_numeric(buf)));
}

/* Number of orders. */
Datum
rfm_stats_order_count(PG_FUNCTION_ARGS)
{
	RfmStatsView view;

	rfm_stats_view(PG_GETARG_DATUM(0), &view);
	PG_RETURN_INT64(view.orders.order_count);
}

/* Time of the first order. */
Datum
rfm_stats_first_order_time(PG_FUNCTION_ARGS)
{
	RfmStatsView view;

	rfm_stats_view(PG_GETARG_DATUM(0), &view);
	PG_RETURN_TIMESTAMPTZ(view.orders.first_order);
}

/* Time of the order before the last one; NULL for a single order. */
Datum
rfm_stats_previous_order_time(PG_FUNCTION_ARGS)
{
	RfmStatsView view;

	rfm_stats_view(PG_GETARG_DATUM(0), &view);
	if (view.orders.order_count < 2)
		PG_RETURN_NULL();
	PG_RETURN_TIMESTAMPTZ(view.orders.previous_order);
}

/* Time of the last order. */
Datum
rfm_stats_last_order_time(PG_FUNCTION_ARGS)
{
	RfmStatsView view;

	rfm_stats_view(PG_GETARG_DATUM(0), &view);
	PG_RETURN_TIMESTAMPTZ(view.orders.last_order);
}

/* Exact total of the order amounts. */
Datum
rfm_stats_total_amount(PG_FUNCTION_ARGS)
{
	RfmStatsView view;

	rfm_stats_view(PG_GETARG_DATUM(0), &view);
	PG_RETURN_NUMERIC(numeric_from_payload(view.total, view.total_len));
}

/* Mean gap between consecutive orders in days; NULL for a single order. */
Datum
rfm_stats_mean_days_between_orders(PG_FUNCTION_ARGS)
{
	RfmStatsView view;

	rfm_stats_view(PG_GETARG_DATUM(0), &view);
	if (view.orders.order_count < 2)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(days_between(view.orders.first_order, view.orders.last_order) /
					 (double) (view.orders.order_count - 1));
}

/* Gap in days between the last order and the one before; NULL for one order. */
Datum
rfm_stats_days_before_last_order(PG_FUNCTION_ARGS)
{
	RfmStatsView view;

	rfm_stats_view(PG_GETARG_DATUM(0), &view);
	if (view.orders.order_count < 2)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(days_between(view.orders.previous_order, view.orders.last_order));
}

/* Days from the last order to as_of, the recency that rfm_score uses. */
Datum
rfm_stats_recency_days(PG_FUNCTION_ARGS)
{
	RfmStatsView view;

	rfm_stats_view(PG_GETARG_DATUM(0), &view);
	PG_RETURN_FLOAT8(rfm_recency_days(&view.orders, PG_GETARG_TIMESTAMPTZ(1)));
}
