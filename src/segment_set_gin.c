/*
 * segment_set_gin.c
 */
#include "postgres.h"

#include "fmgr.h"
