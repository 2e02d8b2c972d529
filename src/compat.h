/*
 * compat.h
 *		Version guards that keep segment compiling on PostgreSQL 13 to 17.
 */
#ifndef SEGMENT_COMPAT_H
#define SEGMENT_COMPAT_H

#include "postgres.h"
#include "fmgr.h"
#include "utils/float.h"

#if PG_VERSION_NUM >= 160000
#include "nodes/miscnodes.h"
#include "varatt.h"
#else
/*
 * Before PostgreSQL 16 input functions cannot report soft errors: ereturn
 * and errsave raise an ordinary ERROR there, which is what a caller of the
 * input function sees on those versions anyway.
 */
#define ereturn(context, dummy_value, ...) \
	do { \
		ereport(ERROR, __VA_ARGS__); \
		return dummy_value; \
	} while (0)
#define errsave(context, ...) ereport(ERROR, __VA_ARGS__)
#define SOFT_ERROR_OCCURRED(escontext) false
#endif

/* float8in_internal gained an escontext argument in PostgreSQL 16. */
#if PG_VERSION_NUM >= 160000
#define segment_float8in(num, endptr, type_name, orig, escontext) \
	float8in_internal(num, endptr, type_name, orig, escontext)
#else
#define segment_float8in(num, endptr, type_name, orig, escontext) \
	float8in_internal(num, endptr, type_name, orig)
#endif

/*
 * Calls a type's input function, reporting a malformed value softly where
 * the server can (16 and later); false means escontext holds the error.
 */
static inline bool
segment_input_call(PGFunction input, char *text, struct Node *escontext,
				   Datum *result)
{
#if PG_VERSION_NUM >= 160000
	return DirectInputFunctionCallSafe(input, text, InvalidOid, -1,
									   escontext, result);
#else
	*result = DirectFunctionCall3(input, CStringGetDatum(text),
								  ObjectIdGetDatum(InvalidOid),
								  Int32GetDatum(-1));
	return true;
#endif
}

/* Whether the current user owns a relation: object_ownercheck from 16 on. */
#if PG_VERSION_NUM >= 160000
#include "catalog/pg_class.h"
#define relation_owned_by_current_user(relid) \
	object_ownercheck(RelationRelationId, (relid), GetUserId())
#else
#define relation_owned_by_current_user(relid) pg_class_ownercheck((relid), GetUserId())
#endif

#endif							/* SEGMENT_COMPAT_H */
