/*
 * segment_set.c
 */
#include "postgres.h"

#include "fmgr.h"
