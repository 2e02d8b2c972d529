/*
 * segment_rule.c
 *		Checks the boolean expression of a rule segment before it is stored.
 *
 * A rule's expression is SQL that the attachment's views evaluate for every
 * customer, so it must be one expression and nothing more: no second
 * statement, no FROM, WHERE or set operation smuggled in behind a closing
 * parenthesis.  The views splice it as (expression<newline>), so its own
 * tokens must balance their parentheses and hold no semicolon (then no
 * text can close the parenthesis around it), and it is parsed inside
 * SELECT (...), where the parse tree must be exactly one target without any
 * clause.  Names of columns are checked later, when the views are built
 * with the expression in them.
 *
 * A rule is an attribute rule when a customer's row of the customers table
 * alone decides it, for good: the expression compiles over that row (named
 * as the customers view names it), is boolean, and has no subquery, no
 * aggregate and no function whose result may change (now(), random(),
 * segment_as_of(), a stable cast).  Maintained attachments store the
 * segments of such rules per customer (src/tags_trigger.c).
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/keywords.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "optimizer/optimizer.h"
#include "parser/parser.h"
#include "parser/scanner.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/plancache.h"
#include "utils/rel.h"
#include "utils/resowner.h"

PG_FUNCTION_INFO_V1(segment_rule_check);
PG_FUNCTION_INFO_V1(segment_rules_check_trigger);
PG_FUNCTION_INFO_V1(segment_rule_is_attribute);
PG_FUNCTION_INFO_V1(segment_rule_names_segments);

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

/* The error being caught, raised again as the rule's (context: the caller's). */
static void
pg_attribute_noreturn()
reject_caught(MemoryContext context, const char *expression)
{
	ErrorData  *error;

	MemoryContextSwitchTo(context);
	error = CopyErrorData();
	FlushErrorState();
	reject(expression, error->message);
}

/*
 * Raises an error unless the tokens of expression, read alone, are some and
 * balance their parentheses without a semicolon.  Comments and literals are
 * the scanner's, so a parenthesis or semicolon in them does not count, and
 * an unterminated one is an error here rather than in a view.
 */
static void
check_tokens(const char *expression)
{
	MemoryContext context = CurrentMemoryContext;
	const char *volatile problem = NULL;
	volatile int tokens = 0;

	PG_TRY();
	{
		core_yy_extra_type extra;
		core_yyscan_t scanner = scanner_init(expression, &extra, &ScanKeywords, ScanKeywordTokens);
		core_YYSTYPE value;
		YYLTYPE		location;
		int			depth = 0;
		int			token;

		while (problem == NULL && (token = core_yylex(&value, &location, scanner)) != 0)
		{
			tokens++;
			if (token == ';')
				problem = "It holds a semicolon, which would end a statement.";
			else if (token == '(')
				depth++;
			else if (token == ')' && --depth < 0)
				problem = "It closes a parenthesis it did not open.";
		}
		if (problem == NULL && depth > 0)
			problem = "It leaves a parenthesis open.";
		scanner_finish(scanner);
	}
	PG_CATCH();
	{
		reject_caught(context, expression);
	}
	PG_END_TRY();
	if (problem != NULL)
		reject(expression, problem);
	if (tokens == 0)
		reject(expression, "It holds nothing but comments.");
}

/*
 * Raises an error unless expression is exactly one SQL expression; returns
 * its raw parse tree.
 */
static Node *
check_expression(const char *expression)
{
	MemoryContext context = CurrentMemoryContext;
	List	   *statements = NIL;
	SelectStmt *select;
	ResTarget  *target;

	if (expression == NULL || expression[strspn(expression, " \t\r\n")] == '\0')
		reject(expression ? expression : "", "The expression is empty.");
	check_tokens(expression);

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
		reject_caught(context, expression);
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
	return target->val;
}

/* segment_rule_check(expression text): errors unless one expression. */
Datum
segment_rule_check(PG_FUNCTION_ARGS)
{
	check_expression(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	PG_RETURN_VOID();
}

/* Whether a raw expression refers to the customer's segments column. */
static bool
names_segments_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, ColumnRef))
	{
		List	   *fields = ((ColumnRef *) node)->fields;
		Node	   *first = linitial(fields);
		Node	   *last = llast(fields);

		/* segments, customer.segments, and the whole row: customer, customer.* */
		if (IsA(last, String) && strcmp(strVal(last), "segments") == 0 &&
			(list_length(fields) == 1 ||
			 (list_length(fields) == 2 && IsA(first, String) && strcmp(strVal(first), "customer") == 0)))
			return true;
		return IsA(first, String) && strcmp(strVal(first), "customer") == 0 &&
			(list_length(fields) == 1 || (list_length(fields) == 2 && IsA(last, A_Star)));
	}
	return raw_expression_tree_walker(node, names_segments_walker, context);
}

/*
 * segment_rule_names_segments(expression text): whether a rule refers to
 * the customer's segments (segments or customer.segments, or the whole row
 * customer, whose field it is: (customer).segments, to_jsonb(customer)),
 * and so is judged after the rules that do not.
 */
Datum
segment_rule_names_segments(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(names_segments_walker(check_expression(text_to_cstring(PG_GETARG_TEXT_PP(0))), NULL));
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

/*
 * A query evaluating expression over each row of the customers table, the
 * row named customer with the columns the customers view gives it: the key
 * as customer_id, then the table's other columns.  NULL if the key is no
 * column of the table.
 */
static char *
attribute_query(const char *expression, Oid customers, const char *key)
{
	Relation	relation = relation_open(customers, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(relation);
	StringInfoData columns;
	bool		key_found = false;

	initStringInfo(&columns);
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped)
			continue;
		if (strcmp(NameStr(att->attname), key) == 0)
			key_found = true;
		else
			appendStringInfo(&columns, ", c.%s", quote_identifier(NameStr(att->attname)));
	}
	relation_close(relation, AccessShareLock);
	if (!key_found)
		return NULL;
	return psprintf("SELECT (%s\n) FROM (SELECT c.%s AS customer_id%s FROM %s c) AS customer",
					expression, quote_identifier(key), columns.data,
					quote_qualified_identifier(get_namespace_name(get_rel_namespace(customers)),
											   get_rel_name(customers)));
}

/* Whether an analyzed query's one target is boolean and fixed by its row. */
static bool
decided_by_row(Query *query)
{
	TargetEntry *target;

	if (query->commandType != CMD_SELECT || list_length(query->targetList) != 1 ||
		query->hasSubLinks || query->hasAggs || query->hasWindowFuncs || query->hasTargetSRFs)
		return false;
	target = linitial_node(TargetEntry, query->targetList);
	return exprType((Node *) target->expr) == BOOLOID &&
		!contain_mutable_functions((Node *) target->expr);
}

/*
 * segment_rule_is_attribute(expression text, customers regclass,
 * customer_key name): whether a customer's row of the customers table alone
 * decides the rule, for good.  False for an expression that does not
 * compile over that row.
 */
Datum
segment_rule_is_attribute(PG_FUNCTION_ARGS)
{
	char	   *expression = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Oid			customers = PG_GETARG_OID(1);
	char	   *key = NameStr(*PG_GETARG_NAME(2));
	char	   *query;
	bool		attribute = false;
	MemoryContext context = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;

	check_expression(expression);
	if (get_rel_name(customers) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", customers)));
	query = attribute_query(expression, customers, key);
	if (query == NULL)
		PG_RETURN_BOOL(false);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* a rule that names other columns fails to compile: not an attribute rule */
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(context);
	PG_TRY();
	{
		SPIPlanPtr	plan = SPI_prepare(query, 0, NULL);
		List	   *sources;

		if (plan == NULL)
			elog(ERROR, "could not prepare \"%s\": %s", query, SPI_result_code_string(SPI_result));
		sources = SPI_plan_get_plan_sources(plan);
		if (list_length(sources) == 1)
		{
			CachedPlanSource *source = linitial(sources);

			attribute = list_length(source->query_list) == 1 &&
				decided_by_row(linitial_node(Query, source->query_list));
		}
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(context);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *error;

		MemoryContextSwitchTo(context);
		error = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(context);
		CurrentResourceOwner = owner;
		/* a cancel is the user's, not the rule's */
		if (error->sqlerrcode == ERRCODE_QUERY_CANCELED)
			ReThrowError(error);
		attribute = false;
	}
	PG_END_TRY();
	SPI_finish();
	PG_RETURN_BOOL(attribute);
}
