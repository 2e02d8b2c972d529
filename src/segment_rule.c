/*
 * segment_rule.c
 *		Checks the boolean expression of a rule segment before it is stored.
 *
 * A rule's expression is SQL that the attachment's views evaluate for every
 * customer, so it must be one expression and nothing more: no second
 * statement, no FROM, WHERE or set operation smuggled in behind a closing
 * parenthesis.  The expression is parsed inside SELECT (...) and the parse
 * tree must be exactly one target without any clause.  Names of columns are
 * checked later, when the views are built with the expression in them.
 */
#include "postgres.h"

#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "utils/builtins.h"
#include "utils/rel.h"

PG_FUNCTION_INFO_V1(segment_rule_check);
PG_FUNCTION_INFO_V1(segment_rules_check_trigger);

#if PG_VERSION_NUM >= 140000
#define parse_sql(text) raw_parser(text, RAW_PARSE_DEFAULT)
#else
#define parse_sql(text) raw_parser(text)
#endif

static void
pg_attribute_noreturn()
reject(const char *expression, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_SYNTAX_ERROR),
			 errmsg("a rule must be a single SQL expression: \"%s\"", expression),
			 errdetail("%s", why),
			 errhint("Write a boolean expression over the customer's columns, such as country = 'TR' AND recency_days <= 7.")));
}

/* Raises an error unless expression is exactly one SQL expression. */
static void
check_expression(const char *expression)
{
	MemoryContext context = CurrentMemoryContext;
	List	   *statements = NIL;
	SelectStmt *select;
	ResTarget  *target;

	if (expression == NULL || expression[strspn(expression, " \t\r\n")] == '\0')
		reject(expression ? expression : "", "The expression is empty.");

	/*
	 * The newline ends a trailing -- comment before the closing parenthesis.
	 * A syntax error is reported as the rule's, not at a position of this
	 * wrapper query.
	 */
	PG_TRY();
	{
		statements = parse_sql(psprintf("SELECT (%s\n)", expression));
	}
	PG_CATCH();
	{
		ErrorData  *error;

		MemoryContextSwitchTo(context);
		error = CopyErrorData();
		FlushErrorState();
		reject(expression, error->message);
	}
	PG_END_TRY();
	if (list_length(statements) != 1)
		reject(expression, "It holds more than one statement.");
	select = (SelectStmt *) linitial_node(RawStmt, statements)->stmt;
	if (!IsA(select, SelectStmt) || select->op != SETOP_NONE ||
		select->fromClause != NIL || select->whereClause != NULL ||
		select->groupClause != NIL || select->havingClause != NULL ||
		select->windowClause != NIL || select->sortClause != NIL ||
		select->limitCount != NULL || select->limitOffset != NULL ||
		select->lockingClause != NIL || select->withClause != NULL ||
		select->valuesLists != NIL || select->intoClause != NULL ||
		select->distinctClause != NIL || list_length(select->targetList) != 1)
		reject(expression, "It closes its parentheses and continues as a query.");
	target = linitial_node(ResTarget, select->targetList);
	if (target->name != NULL)
		reject(expression, "It names its result.");
}

/* segment_rule_check(expression text): errors unless one expression. */
Datum
segment_rule_check(PG_FUNCTION_ARGS)
{
	check_expression(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	PG_RETURN_VOID();
}

/* BEFORE INSERT OR UPDATE trigger of segment_rules: checks the expression. */
Datum
segment_rules_check_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	HeapTuple	tuple;
	bool		isnull;
	Datum		expression;
	int			attnum;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		elog(ERROR, "segment_rules_check_trigger must be a BEFORE ROW trigger");

	tuple = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ?
		trigdata->tg_newtuple : trigdata->tg_trigtuple;
	attnum = SPI_fnumber(trigdata->tg_relation->rd_att, "expression");
	if (attnum <= 0)
		elog(ERROR, "segment_rules has no column \"expression\"");
	expression = heap_getattr(tuple, attnum, trigdata->tg_relation->rd_att, &isnull);
	if (!isnull)
		check_expression(TextDatumGetCString(expression));
	return PointerGetDatum(tuple);
}
