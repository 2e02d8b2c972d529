/*
 * prepared.c
 *		Statements the maintained state (state_fold.c) and the customer tags
 *		(tags_trigger.c) prepare on first use and keep while they hold.
 */
#include "postgres.h"

#include "executor/spi.h"

#include "prepared.h"

/*
 * Prepares a statement with a generic plan, kept past SPI_finish: planned
 * once, since a custom plan per row would cost more than the row's work.
 */
SPIPlanPtr
prepare_kept(const char *query, int nargs, Oid *argtypes)
{
	SPIPlanPtr	plan = SPI_prepare_cursor(query, nargs, argtypes, CURSOR_OPT_GENERIC_PLAN);

	if (plan == NULL)
		elog(ERROR, "could not prepare \"%s\": %s", query, SPI_result_code_string(SPI_result));
	SPI_keepplan(plan);
	return plan;
}

/* Runs a prepared statement; nulls as for SPI_execute_plan (NULL: none). */
void
run_prepared(SPIPlanPtr plan, Datum *values, const char *nulls)
{
	int			result = SPI_execute_plan(plan, values, nulls, false, 0);

	if (result < 0)
		elog(ERROR, "segment statement failed: %s", SPI_result_code_string(result));
}
