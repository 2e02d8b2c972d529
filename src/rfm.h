/*
 * rfm.h
 *		The rfm type: a customer's recency, frequency and monetary scores.
 *
 * Each score is 1..RFM_MAX_BINS, so the value packs into a two-byte cell
 * code r*100 + f*10 + m whose integer order is the order of (r, f, m).
 */
#ifndef SEGMENT_RFM_H
#define SEGMENT_RFM_H

#include "postgres.h"

#include "fmgr.h"

/* Scores are single digits, so the text form and cell code stay unambiguous. */
#define RFM_MAX_BINS 9

typedef enum RfmDimension
{
	RFM_RECENCY = 0,
	RFM_FREQUENCY = 1,
	RFM_MONETARY = 2
} RfmDimension;

#define RFM_DIMENSIONS 3

static inline int16
rfm_pack(int recency, int frequency, int monetary)
{
	return (int16) (recency * 100 + frequency * 10 + monetary);
}

static inline int
rfm_score_of(int16 rfm, RfmDimension dimension)
{
	static const int divisor[RFM_DIMENSIONS] = {100, 10, 1};

	return (rfm / divisor[dimension]) % 10;
}

#define DatumGetRfm(d)		DatumGetInt16(d)
#define RfmGetDatum(r)		Int16GetDatum(r)
#define PG_GETARG_RFM(n)	DatumGetRfm(PG_GETARG_DATUM(n))
#define PG_RETURN_RFM(r)	return RfmGetDatum(r)

#endif							/* SEGMENT_RFM_H */
