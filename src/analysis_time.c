/*
 * analysis_time.c
 *		The time the views and the maintained state judge customers at: the
 *		setting segment.as_of when it is set and not empty, else the start
 *		of the transaction (now()).
 *
 * Written in C, not SQL, because the trigger of a maintained attachment
 * reads it for every order, and a SQL function with its own search_path
 * is parsed again at every statement that calls it.
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "analysis_time.h"

PG_FUNCTION_INFO_V1(segment_as_of);

/* The analysis time; a malformed setting is the timestamptz input error. */
TimestampTz
segment_analysis_time(void)
{
	const char *setting = GetConfigOption("segment.as_of", true, false);

	if (setting == NULL || setting[0] == '\0')
		return GetCurrentTransactionStartTimestamp();
	return DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in,
												   CStringGetDatum(setting),
												   ObjectIdGetDatum(InvalidOid),
												   Int32GetDatum(-1)));
}

/* segment_as_of(): the analysis time, for SQL. */
Datum
segment_as_of(PG_FUNCTION_ARGS)
{
	PG_RETURN_TIMESTAMPTZ(segment_analysis_time());
}
