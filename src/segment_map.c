/*
 * segment_map.c
 *		Named RFM segments: loading a segment map, assigning cells to
 *		segments, and the triggers that validate the map tables.
 *
 * A map is read with one SPI query (the map name is a parameter, the tables
 * are qualified with the extension's schema and every operator with
 * pg_catalog) and turned into a lookup table from cell code to the first
 * box by priority that contains the cell, so assigning a customer costs one
 * array access.  The SQL functions keep the loaded maps in fn_extra, which
 * lives as long as the query: the next statement sees changes to the map.
 */
#include "postgres.h"

#include <string.h>

#include "access/htup_details.h"
#include "catalog/dependency.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "compat.h"
#include "rfm.h"
#include "segment_map.h"

PG_FUNCTION_INFO_V1(segment_assign);
PG_FUNCTION_INFO_V1(segment_memberships);
PG_FUNCTION_INFO_V1(segment_map_cells);
PG_FUNCTION_INFO_V1(copy_segment_map);
PG_FUNCTION_INFO_V1(segment_maps_check);
PG_FUNCTION_INFO_V1(segment_map_boxes_check);

/* The only map owned by the extension rather than by its users. */
#define DEFAULT_MAP_NAME "default"

static const char *const dimension_name[RFM_DIMENSIONS] = {
	"recency", "frequency", "monetary"
};
static const char *const min_column[RFM_DIMENSIONS] = {
	"recency_min", "frequency_min", "monetary_min"
};
static const char *const max_column[RFM_DIMENSIONS] = {
	"recency_max", "frequency_max", "monetary_max"
};

/* schema.table, the schema quoted as needed. */
static char *
qualified_table(Oid schema, const char *table)
{
	char	   *nspname = get_namespace_name(schema);

	if (nspname == NULL)
		elog(ERROR, "cache lookup failed for schema %u", schema);
	return psprintf("%s.%s", quote_identifier(nspname), table);
}

/* A text copy in the current memory context, whatever the source header. */
static text *
copy_text(text *value)
{
	return cstring_to_text_with_len(VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value));
}

static bool
same_text(text *a, text *b)
{
	return VARSIZE_ANY_EXHDR(a) == VARSIZE_ANY_EXHDR(b) &&
		memcmp(VARDATA_ANY(a), VARDATA_ANY(b), VARSIZE_ANY_EXHDR(a)) == 0;
}

/* An int4 column of the current SPI result; NULL is a corrupt map. */
static int
spi_int(int row, int column)
{
	bool		isnull;
	Datum		value = SPI_getbinval(SPI_tuptable->vals[row],
									  SPI_tuptable->tupdesc, column, &isnull);

	if (isnull)
		elog(ERROR, "unexpected null in column %d of a segment map", column);
	return DatumGetInt32(value);
}

/* Reads a map from the tables of schema into mcxt; error 42704 if missing. */
SegmentMap *
segment_map_load(Oid schema, text *map_name, MemoryContext mcxt)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	char	   *query;
	int			ret;
	SegmentMap *map;
	MemoryContext oldcxt;

	query = psprintf("SELECT m.bins, b.segment_name, b.priority,"
					 " b.recency_min, b.recency_max, b.frequency_min, b.frequency_max,"
					 " b.monetary_min, b.monetary_max"
					 " FROM %s AS m LEFT JOIN %s AS b"
					 " ON b.map_name OPERATOR(pg_catalog.=) m.map_name"
					 " WHERE m.map_name OPERATOR(pg_catalog.=) $1"
					 " ORDER BY b.priority, b.segment_name",
					 qualified_table(schema, "segment_maps"),
					 qualified_table(schema, "segment_map_boxes"));
	args[0] = PointerGetDatum(map_name);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ret = SPI_execute_with_args(query, 1, argtypes, args, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "reading segment map failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("segment map \"%s\" does not exist", text_to_cstring(map_name)),
				 errhint("The maps are the rows of %s; copy_segment_map('default', '...') makes a new one.",
						 qualified_table(schema, "segment_maps"))));

	oldcxt = MemoryContextSwitchTo(mcxt);
	map = palloc0(sizeof(SegmentMap));
	map->mcxt = mcxt;
	map->map_name = copy_text(map_name);
	map->bins = spi_int(0, 1);
	if (map->bins < 1 || map->bins > RFM_MAX_BINS)
		elog(ERROR, "segment map \"%s\" has %d bins", text_to_cstring(map_name), map->bins);

	/* a map without boxes comes back as one row of NULL boxes */
	{
		bool		no_box;

		SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &no_box);
		map->nboxes = no_box ? 0 : (int) SPI_processed;
	}
	map->boxes = palloc0(sizeof(SegmentMapBox) * Max(map->nboxes, 1));
	map->segment_names = palloc0(sizeof(text *) * Max(map->nboxes, 1));
	for (int i = 0; i < map->nboxes; i++)
	{
		SegmentMapBox *box = &map->boxes[i];
		bool		isnull;
		Datum		name = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc,
										 2, &isnull);

		if (isnull)
			elog(ERROR, "unexpected null segment name in segment map");
		map->segment_names[i] = copy_text(DatumGetTextPP(name));
		box->priority = spi_int(i, 3);
		for (int d = 0; d < RFM_DIMENSIONS; d++)
		{
			box->min[d] = spi_int(i, 4 + 2 * d);
			box->max[d] = spi_int(i, 5 + 2 * d);
		}
	}
	MemoryContextSwitchTo(oldcxt);
	SPI_finish();

	/*
	 * The lookup table: cells beyond the bins are marked, the others start
	 * uncovered and each box, from the last to the first by priority, writes
	 * its index over the cells it contains, so the first one wins.  Ranges
	 * are clipped to the scores that exist (the triggers keep them there
	 * anyway).
	 */
	for (int code = 0; code < SEGMENT_MAP_CODES; code++)
		map->primary[code] = SEGMENT_MAP_OUTSIDE;
	for (int r = 1; r <= map->bins; r++)
		for (int f = 1; f <= map->bins; f++)
			for (int m = 1; m <= map->bins; m++)
				map->primary[rfm_pack(r, f, m)] = SEGMENT_MAP_NONE;
	for (int i = map->nboxes - 1; i >= 0; i--)
	{
		const SegmentMapBox *box = &map->boxes[i];

		for (int r = Max(box->min[RFM_RECENCY], 1); r <= Min(box->max[RFM_RECENCY], map->bins); r++)
			for (int f = Max(box->min[RFM_FREQUENCY], 1); f <= Min(box->max[RFM_FREQUENCY], map->bins); f++)
				for (int m = Max(box->min[RFM_MONETARY], 1); m <= Min(box->max[RFM_MONETARY], map->bins); m++)
					map->primary[rfm_pack(r, f, m)] = (int16) i;
	}
	return map;
}

/* The map of that name, kept in fn_extra for the rest of the query. */
SegmentMap *
segment_map_cached(FmgrInfo *flinfo, text *map_name)
{
	SegmentMap *head = (SegmentMap *) flinfo->fn_extra;
	SegmentMap *prev = NULL;
	SegmentMap *map;

	for (map = head; map != NULL; prev = map, map = map->next)
	{
		if (same_text(map->map_name, map_name))
		{
			if (prev != NULL)
			{
				/* most recently used first */
				prev->next = map->next;
				map->next = head;
				flinfo->fn_extra = map;
			}
			return map;
		}
	}
	map = segment_map_load(get_func_namespace(flinfo->fn_oid), map_name, flinfo->fn_mcxt);
	map->next = head;
	flinfo->fn_extra = map;
	return map;
}

/* The lookup entry of a cell: a box index or SEGMENT_MAP_NONE; errors beyond the bins. */
static int
cell_entry(const SegmentMap *map, int16 rfm)
{
	int			entry;

	if (rfm < 0 || rfm >= SEGMENT_MAP_CODES)
		elog(ERROR, "invalid rfm value %d", rfm);
	entry = map->primary[rfm];
	if (unlikely(entry == SEGMENT_MAP_OUTSIDE))
	{
		int			highest = Max(rfm_score_of(rfm, RFM_RECENCY),
								  Max(rfm_score_of(rfm, RFM_FREQUENCY),
									  rfm_score_of(rfm, RFM_MONETARY)));
		char	   *name = text_to_cstring(map->map_name);

		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rfm %d-%d-%d is outside segment map \"%s\"",
						rfm_score_of(rfm, RFM_RECENCY), rfm_score_of(rfm, RFM_FREQUENCY),
						rfm_score_of(rfm, RFM_MONETARY), name),
				 errdetail("Segment map \"%s\" has %d bins: its scores range from 1 to %d.",
						   name, map->bins, map->bins),
				 errhint("Score the customers with %d bins, or use a segment map with at least %d bins.",
						 map->bins, highest)));
	}
	return entry;
}

/* Index into map->boxes of the primary segment of a cell, -1 if none. */
int
segment_map_assign(const SegmentMap *map, int16 rfm)
{
	return cell_entry(map, rfm);
}

/* Every segment containing the cell, in priority order; owned by the map. */
ArrayType *
segment_map_memberships(SegmentMap *map, int16 rfm)
{
	(void) cell_entry(map, rfm);
	if (map->memberships == NULL)
		map->memberships = MemoryContextAllocZero(map->mcxt,
												  sizeof(ArrayType *) * SEGMENT_MAP_CODES);
	if (map->memberships[rfm] == NULL)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(map->mcxt);
		int			score[RFM_DIMENSIONS];
		Datum	   *names = palloc(sizeof(Datum) * Max(map->nboxes, 1));
		int			count = 0;

		for (int d = 0; d < RFM_DIMENSIONS; d++)
			score[d] = rfm_score_of(rfm, d);
		for (int i = 0; i < map->nboxes; i++)
		{
			const SegmentMapBox *box = &map->boxes[i];
			bool		inside = true;

			for (int d = 0; d < RFM_DIMENSIONS; d++)
				inside = inside && box->min[d] <= score[d] && score[d] <= box->max[d];
			if (inside)
				names[count++] = PointerGetDatum(map->segment_names[i]);
		}
		map->memberships[rfm] = count == 0 ? construct_empty_array(TEXTOID) :
			construct_array(names, count, TEXTOID, -1, false, TYPALIGN_INT);
		pfree(names);
		MemoryContextSwitchTo(oldcxt);
	}
	return map->memberships[rfm];
}

/* A copy of a varlena in the current memory context, for returning cached values. */
static void *
copy_varlena(const void *value)
{
	Size		size = VARSIZE(value);
	void	   *copy = palloc(size);

	memcpy(copy, value, size);
	return copy;
}

/* segment_assign(rfm, map_name): the primary segment of the cell, or NULL. */
Datum
segment_assign(PG_FUNCTION_ARGS)
{
	int16		rfm = PG_GETARG_RFM(0);
	SegmentMap *map = segment_map_cached(fcinfo->flinfo, PG_GETARG_TEXT_PP(1));
	int			box = segment_map_assign(map, rfm);

	if (box < 0)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(copy_varlena(map->segment_names[box]));
}

/* segment_memberships(rfm, map_name): every containing segment, by priority. */
Datum
segment_memberships(PG_FUNCTION_ARGS)
{
	int16		rfm = PG_GETARG_RFM(0);
	SegmentMap *map = segment_map_cached(fcinfo->flinfo, PG_GETARG_TEXT_PP(1));

	PG_RETURN_ARRAYTYPE_P(copy_varlena(segment_map_memberships(map, rfm)));
}

/* segment_map_cells(map_name): every cell of the map and its primary segment. */
Datum
segment_map_cells(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	SegmentMap *map;

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext oldcxt;
		TupleDesc	tupdesc;

		funcctx = SRF_FIRSTCALL_INIT();
		oldcxt = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "segment_map_cells must return a row type");
		funcctx->tuple_desc = BlessTupleDesc(tupdesc);
		map = segment_map_load(get_func_namespace(fcinfo->flinfo->fn_oid),
							   PG_GETARG_TEXT_PP(0), funcctx->multi_call_memory_ctx);
		funcctx->user_fctx = map;
		funcctx->max_calls = map->bins * map->bins * map->bins;
		MemoryContextSwitchTo(oldcxt);
	}

	funcctx = SRF_PERCALL_SETUP();
	map = (SegmentMap *) funcctx->user_fctx;
	if (funcctx->call_cntr < funcctx->max_calls)
	{
		int			i = (int) funcctx->call_cntr;
		int			bins = map->bins;
		int			r = i / (bins * bins) + 1;
		int			f = i / bins % bins + 1;
		int			m = i % bins + 1;
		int16		code = rfm_pack(r, f, m);
		int			box = map->primary[code];
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		values[0] = Int32GetDatum(r);
		values[1] = Int32GetDatum(f);
		values[2] = Int32GetDatum(m);
		values[3] = RfmGetDatum(code);
		if (box >= 0)
			values[4] = PointerGetDatum(map->segment_names[box]);
		else
		{
			values[4] = (Datum) 0;
			nulls[4] = true;
		}
		SRF_RETURN_NEXT(funcctx,
						HeapTupleGetDatum(heap_form_tuple(funcctx->tuple_desc, values, nulls)));
	}
	SRF_RETURN_DONE(funcctx);
}

/* copy_segment_map(source, target): a new map with the bins and boxes of source. */
Datum
copy_segment_map(PG_FUNCTION_ARGS)
{
	Oid			schema = get_func_namespace(fcinfo->flinfo->fn_oid);
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	Datum		args[2];
	char	   *maps = qualified_table(schema, "segment_maps");
	char	   *boxes = qualified_table(schema, "segment_map_boxes");
	int			ret;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the source and target segment map names must not be null")));
	args[0] = PointerGetDatum(PG_GETARG_TEXT_PP(0));
	args[1] = PointerGetDatum(PG_GETARG_TEXT_PP(1));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ret = SPI_execute_with_args(psprintf("INSERT INTO %s (map_name, bins, description)"
										 " SELECT $2, m.bins, m.description FROM %s AS m"
										 " WHERE m.map_name OPERATOR(pg_catalog.=) $1",
										 maps, maps),
								2, argtypes, args, NULL, false, 0);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "copying segment map failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("segment map \"%s\" does not exist", TextDatumGetCString(args[0])),
				 errhint("The maps are the rows of %s.", maps)));
	ret = SPI_execute_with_args(psprintf("INSERT INTO %s (map_name, segment_name, priority,"
										 " recency_min, recency_max, frequency_min, frequency_max,"
										 " monetary_min, monetary_max)"
										 " SELECT $2, b.segment_name, b.priority,"
										 " b.recency_min, b.recency_max, b.frequency_min, b.frequency_max,"
										 " b.monetary_min, b.monetary_max"
										 " FROM %s AS b WHERE b.map_name OPERATOR(pg_catalog.=) $1"
										 " ORDER BY b.priority",
										 boxes, boxes),
								2, argtypes, args, NULL, false, 0);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "copying segment map boxes failed: %s", SPI_result_code_string(ret));
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * The triggers
 */

/* The trigger data, after checking how the trigger was fired. */
static TriggerData *
trigger_data(FunctionCallInfo fcinfo, const char *function)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s() was not called by a trigger", function)));
	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!(TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		  TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s() must be fired BEFORE, for each row or on TRUNCATE", function)));
	return trigdata;
}

/* A text column as a C string; NULL when the column is null. */
static char *
string_column(Relation rel, HeapTuple tuple, const char *column)
{
	int			attnum = SPI_fnumber(RelationGetDescr(rel), column);
	bool		isnull;
	Datum		value;

	if (attnum <= 0)
		elog(ERROR, "relation \"%s\" has no column \"%s\"", RelationGetRelationName(rel), column);
	value = heap_getattr(tuple, attnum, RelationGetDescr(rel), &isnull);
	return isnull ? NULL : TextDatumGetCString(value);
}

/* An integer column; isnull tells whether it is null. */
static int
int_column(Relation rel, HeapTuple tuple, const char *column, bool *isnull)
{
	int			attnum = SPI_fnumber(RelationGetDescr(rel), column);
	Datum		value;

	if (attnum <= 0)
		elog(ERROR, "relation \"%s\" has no column \"%s\"", RelationGetRelationName(rel), column);
	value = heap_getattr(tuple, attnum, RelationGetDescr(rel), isnull);
	return *isnull ? 0 : DatumGetInt32(value);
}

/* Empty or only white space. */
static bool
is_blank(const char *name)
{
	return name[strspn(name, " \t\n\r\f\v")] == '\0';
}

static bool
is_default_map(const char *name)
{
	return name != NULL && strcmp(name, DEFAULT_MAP_NAME) == 0;
}

/* Whether the extension's own script (CREATE or ALTER EXTENSION) is running. */
static bool
extension_script_running(Relation rel)
{
	return creating_extension &&
		CurrentExtensionObject == getExtensionOfObject(RelationRelationId,
													   RelationGetRelid(rel));
}

/* Rejects writing the default map outside the extension's scripts. */
static void
protect_default_map(Relation rel)
{
	if (extension_script_running(rel))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("segment map \"%s\" cannot be changed", DEFAULT_MAP_NAME),
			 errdetail("The default map belongs to the extension: CREATE EXTENSION writes it and pg_dump leaves it out, so changes to it would be lost."),
			 errhint("Copy it under a new name with copy_segment_map('default', 'my_map') and change the copy.")));
}

/* Rejects TRUNCATE, which would remove the default map too. */
static void
protect_truncate(Relation rel)
{
	if (extension_script_running(rel))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("cannot truncate %s", RelationGetRelationName(rel)),
			 errdetail("It holds segment map \"%s\", which belongs to the extension.", DEFAULT_MAP_NAME),
			 errhint("Delete the other maps with DELETE FROM segment_maps WHERE map_name <> 'default'.")));
}

static void
reject_blank_map_name(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_CHECK_VIOLATION),
			 errmsg("segment map name must not be blank"),
			 errdetail("A name needs at least one character other than white space.")));
}

/* Runs a query of the triggers (SPI connected); returns the rows found. */
static uint64
trigger_query(const char *query, int nargs, Oid *argtypes, Datum *args, long limit)
{
	int			ret = SPI_execute_with_args(query, nargs, argtypes, args, NULL, false, limit);

	if (ret != SPI_OK_SELECT)
		elog(ERROR, "checking segment map failed: %s", SPI_result_code_string(ret));
	return SPI_processed;
}

/*
 * BEFORE trigger of segment_maps: names not blank, bins 1..9, no box left
 * beyond lowered bins, the default map left alone.
 */
Datum
segment_maps_check(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = trigger_data(fcinfo, "segment_maps_check");
	Relation	rel = trigdata->tg_relation;
	Oid			schema = RelationGetNamespace(rel);
	HeapTuple	newtuple;
	char	   *old_name = NULL;
	char	   *name;
	int			old_bins = 0;
	int			bins;
	bool		isnull;

	if (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
	{
		protect_truncate(rel);
		return PointerGetDatum(NULL);
	}
	if (!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		old_name = string_column(rel, trigdata->tg_trigtuple, "map_name");
		old_bins = int_column(rel, trigdata->tg_trigtuple, "bins", &isnull);
		if (is_default_map(old_name))
			protect_default_map(rel);
	}
	if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		return PointerGetDatum(trigdata->tg_trigtuple);

	newtuple = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ?
		trigdata->tg_newtuple : trigdata->tg_trigtuple;
	name = string_column(rel, newtuple, "map_name");
	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("segment map name must not be null")));
	if (is_default_map(name))
		protect_default_map(rel);
	if (is_blank(name))
		reject_blank_map_name();
	bins = int_column(rel, newtuple, "bins", &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("bins of segment map \"%s\" must not be null", name)));
	if (bins < 1 || bins > RFM_MAX_BINS)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("segment map \"%s\" cannot have %d bins", name, bins),
				 errdetail("Bins range from 1 to %d; 5 is the usual choice.", RFM_MAX_BINS)));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (old_name == NULL || strcmp(old_name, name) != 0)
	{
		Oid			argtypes[1] = {TEXTOID};
		Datum		args[1] = {CStringGetTextDatum(name)};

		if (trigger_query(psprintf("SELECT FROM %s AS m WHERE m.map_name OPERATOR(pg_catalog.=) $1",
								   qualified_table(schema, "segment_maps")),
						  1, argtypes, args, 1) > 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNIQUE_VIOLATION),
					 errmsg("segment map \"%s\" already exists", name)));
	}
	if (old_name != NULL && bins < old_bins)
	{
		/* boxes still carry the old name: a rename cascades after this */
		Oid			argtypes[2] = {TEXTOID, INT4OID};
		Datum		args[2] = {CStringGetTextDatum(old_name), Int32GetDatum(bins)};

		if (trigger_query(psprintf("SELECT b.segment_name, b.recency_min, b.recency_max,"
								   " b.frequency_min, b.frequency_max, b.monetary_min, b.monetary_max"
								   " FROM %s AS b WHERE b.map_name OPERATOR(pg_catalog.=) $1"
								   " AND (b.recency_max OPERATOR(pg_catalog.>) $2"
								   " OR b.frequency_max OPERATOR(pg_catalog.>) $2"
								   " OR b.monetary_max OPERATOR(pg_catalog.>) $2)"
								   " ORDER BY b.priority",
								   qualified_table(schema, "segment_map_boxes")),
						  2, argtypes, args, 1) > 0)
		{
			HeapTuple	box = SPI_tuptable->vals[0];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			char	   *segment = SPI_getvalue(box, desc, 1);

			for (int d = 0; d < RFM_DIMENSIONS; d++)
			{
				int			min = DatumGetInt32(SPI_getbinval(box, desc, 2 + 2 * d, &isnull));
				int			max = DatumGetInt32(SPI_getbinval(box, desc, 3 + 2 * d, &isnull));

				if (max > bins)
					ereport(ERROR,
							(errcode(ERRCODE_CHECK_VIOLATION),
							 errmsg("segment map \"%s\" cannot have %d bins", name, bins),
							 errdetail("Segment \"%s\" has %s range %d..%d, beyond score %d.",
									   segment, dimension_name[d], min, max, bins),
							 errhint("Change or delete the boxes that reach beyond score %d first.", bins)));
			}
		}
	}
	SPI_finish();
	return PointerGetDatum(newtuple);
}

/*
 * BEFORE trigger of segment_map_boxes: names not blank, the map exists,
 * ranges within 1..bins of the map and not empty, segment names and
 * priorities unique in the map, the default map left alone.
 */
Datum
segment_map_boxes_check(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = trigger_data(fcinfo, "segment_map_boxes_check");
	Relation	rel = trigdata->tg_relation;
	Oid			schema = RelationGetNamespace(rel);
	bool		is_insert = TRIGGER_FIRED_BY_INSERT(trigdata->tg_event);
	HeapTuple	newtuple;
	char	   *old_map = NULL;
	char	   *old_segment = NULL;
	int			old_priority = 0;
	char	   *map;
	char	   *segment;
	int			priority;
	int			min[RFM_DIMENSIONS];
	int			max[RFM_DIMENSIONS];
	int			bins;
	bool		isnull;

	if (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
	{
		protect_truncate(rel);
		return PointerGetDatum(NULL);
	}
	if (!is_insert)
	{
		old_map = string_column(rel, trigdata->tg_trigtuple, "map_name");
		old_segment = string_column(rel, trigdata->tg_trigtuple, "segment_name");
		old_priority = int_column(rel, trigdata->tg_trigtuple, "priority", &isnull);
		if (is_default_map(old_map))
			protect_default_map(rel);
	}
	if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		return PointerGetDatum(trigdata->tg_trigtuple);

	newtuple = is_insert ? trigdata->tg_trigtuple : trigdata->tg_newtuple;
	map = string_column(rel, newtuple, "map_name");
	segment = string_column(rel, newtuple, "segment_name");
	if (map == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("the segment map name of a segment must not be null")));
	if (is_default_map(map))
		protect_default_map(rel);
	if (is_blank(map))
		reject_blank_map_name();
	if (segment == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("segment name in segment map \"%s\" must not be null", map)));
	if (is_blank(segment))
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("segment name in segment map \"%s\" must not be blank", map),
				 errdetail("A name needs at least one character other than white space.")));
	priority = int_column(rel, newtuple, "priority", &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("priority of segment \"%s\" in segment map \"%s\" must not be null",
						segment, map)));
	for (int d = 0; d < RFM_DIMENSIONS; d++)
	{
		min[d] = int_column(rel, newtuple, min_column[d], &isnull);
		if (!isnull)
			max[d] = int_column(rel, newtuple, max_column[d], &isnull);
		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_NOT_NULL_VIOLATION),
					 errmsg("%s range of segment \"%s\" in segment map \"%s\" must not be null",
							dimension_name[d], segment, map),
					 errdetail("Both %s and %s are needed.", min_column[d], max_column[d])));
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	{
		/* FOR SHARE: the bins cannot change until this transaction ends */
		Oid			argtypes[1] = {TEXTOID};
		Datum		args[1] = {CStringGetTextDatum(map)};

		if (trigger_query(psprintf("SELECT m.bins FROM %s AS m"
								   " WHERE m.map_name OPERATOR(pg_catalog.=) $1 FOR SHARE",
								   qualified_table(schema, "segment_maps")),
						  1, argtypes, args, 1) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
					 errmsg("segment map \"%s\" does not exist", map),
					 errhint("Insert the map into segment_maps first, or copy one with copy_segment_map.")));
		bins = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	for (int d = 0; d < RFM_DIMENSIONS; d++)
	{
		if (min[d] < 1 || min[d] > bins || max[d] < 1 || max[d] > bins)
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 errmsg("%s range %d..%d of segment \"%s\" is outside segment map \"%s\"",
							dimension_name[d], min[d], max[d], segment, map),
					 errdetail("Segment map \"%s\" has %d bins: its scores range from 1 to %d.",
							   map, bins, bins)));
		if (min[d] > max[d])
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 errmsg("%s range %d..%d of segment \"%s\" in segment map \"%s\" is empty",
							dimension_name[d], min[d], max[d], segment, map),
					 errdetail("The minimum %d is greater than the maximum %d.", min[d], max[d])));
	}
	if (is_insert || strcmp(old_map, map) != 0 || strcmp(old_segment, segment) != 0)
	{
		Oid			argtypes[2] = {TEXTOID, TEXTOID};
		Datum		args[2] = {CStringGetTextDatum(map), CStringGetTextDatum(segment)};

		if (trigger_query(psprintf("SELECT FROM %s AS b WHERE b.map_name OPERATOR(pg_catalog.=) $1"
								   " AND b.segment_name OPERATOR(pg_catalog.=) $2",
								   qualified_table(schema, "segment_map_boxes")),
						  2, argtypes, args, 1) > 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNIQUE_VIOLATION),
					 errmsg("segment \"%s\" already exists in segment map \"%s\"", segment, map),
					 errhint("A segment is one box; change the existing one with UPDATE.")));
	}
	if (is_insert || strcmp(old_map, map) != 0 || old_priority != priority)
	{
		Oid			argtypes[2] = {TEXTOID, INT4OID};
		Datum		args[2] = {CStringGetTextDatum(map), Int32GetDatum(priority)};

		if (trigger_query(psprintf("SELECT b.segment_name FROM %s AS b"
								   " WHERE b.map_name OPERATOR(pg_catalog.=) $1"
								   " AND b.priority OPERATOR(pg_catalog.=) $2",
								   qualified_table(schema, "segment_map_boxes")),
						  2, argtypes, args, 1) > 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNIQUE_VIOLATION),
					 errmsg("priority %d of segment \"%s\" is already taken in segment map \"%s\"",
							priority, segment, map),
					 errdetail("Segment \"%s\" has priority %d.",
							   SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1),
							   priority),
					 errhint("Priorities order the boxes, so each segment of a map needs its own; leave gaps (10, 20, 30) to insert boxes later.")));
	}
	SPI_finish();
	return PointerGetDatum(newtuple);
}
