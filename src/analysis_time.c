/*
 * analysis_time.c
 *		The time the views and the maintained state judge customers at: the
 *		setting segment.as_of when it is set and not empty, else the start
 *		of the transaction (now()).
 *
 * Written in C, not SQL, because the trigger of a maintained attachment
 * reads it for every order, and a SQL function with its own search_path
 * is parsed again at every statement that calls it; the setting is parsed
 * once while nothing it depends on changes.
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "analysis_time.h"

PG_FUNCTION_INFO_V1(segment_as_of);

/*
 * The last setting read and what it gave, valid while the transaction, the
 * time zone and the date style are those it was read under ('now' and
 * 'today' depend on the transaction; times without a zone on the others).
 * Views call segment_as_of() for every row they read.
 */
typedef struct ParsedSetting
{
	char	   *setting;		/* in TopMemoryContext; NULL if none */
	TimestampTz transaction_start;
	pg_tz	   *zone;
	int			date_style;
	int			date_order;
	TimestampTz value;
} ParsedSetting;

static ParsedSetting last_parsed;

/* The analysis time; a malformed setting is the timestamptz input error. */
TimestampTz
segment_analysis_time(void)
{
	const char *setting = GetConfigOption("segment.as_of", true, false);
	TimestampTz transaction_start = GetCurrentTransactionStartTimestamp();
	TimestampTz value;

	if (setting == NULL || setting[0] == '\0')
		return transaction_start;
	if (last_parsed.setting != NULL && strcmp(last_parsed.setting, setting) == 0 &&
		last_parsed.transaction_start == transaction_start && last_parsed.zone == session_timezone &&
		last_parsed.date_style == DateStyle && last_parsed.date_order == DateOrder)
		return last_parsed.value;

	value = DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in,
													CStringGetDatum(setting),
													ObjectIdGetDatum(InvalidOid),
													Int32GetDatum(-1)));
	if (last_parsed.setting != NULL)
		pfree(last_parsed.setting);
	last_parsed.setting = MemoryContextStrdup(TopMemoryContext, setting);
	last_parsed.transaction_start = transaction_start;
	last_parsed.zone = session_timezone;
	last_parsed.date_style = DateStyle;
	last_parsed.date_order = DateOrder;
	last_parsed.value = value;
	return value;
}

/* segment_as_of(): the analysis time, for SQL. */
Datum
segment_as_of(PG_FUNCTION_ARGS)
{
	PG_RETURN_TIMESTAMPTZ(segment_analysis_time());
}
