/*
 * analysis_time.h
 *		The time customers are judged at (analysis_time.c).
 */
#ifndef SEGMENT_ANALYSIS_TIME_H
#define SEGMENT_ANALYSIS_TIME_H

#include "postgres.h"

#include "datatype/timestamp.h"

extern TimestampTz segment_analysis_time(void);

#endif							/* SEGMENT_ANALYSIS_TIME_H */
