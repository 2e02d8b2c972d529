/*
 * prepared.h
 *		Statements the triggers prepare once and keep for the life of the
 *		backend (prepared.c).
 */
#ifndef SEGMENT_PREPARED_H
#define SEGMENT_PREPARED_H

#include "postgres.h"

#include "executor/spi.h"

extern SPIPlanPtr prepare_kept(const char *query, int nargs, Oid *argtypes);
extern void run_prepared(SPIPlanPtr plan, Datum *values, const char *nulls);

#endif							/* SEGMENT_PREPARED_H */
