/*
 * rfm.c
 *		The rfm type: text form "R-F-M" such as "5-4-3", binary form, score
 *		accessors, and the comparison and hash support of its B-tree and
 *		hash operator classes.
 */
#include "postgres.h"

#include <ctype.h>

#include "common/hashfn.h"
#include "fmgr.h"
#include "libpq/pqformat.h"

#include "compat.h"
#include "rfm.h"

PG_FUNCTION_INFO_V1(rfm_in);
PG_FUNCTION_INFO_V1(rfm_out);
PG_FUNCTION_INFO_V1(rfm_recv);
PG_FUNCTION_INFO_V1(rfm_send);
PG_FUNCTION_INFO_V1(make_rfm);
PG_FUNCTION_INFO_V1(rfm_recency_score);
PG_FUNCTION_INFO_V1(rfm_frequency_score);
PG_FUNCTION_INFO_V1(rfm_monetary_score);
PG_FUNCTION_INFO_V1(rfm_cell);
PG_FUNCTION_INFO_V1(rfm_eq);
PG_FUNCTION_INFO_V1(rfm_ne);
PG_FUNCTION_INFO_V1(rfm_lt);
PG_FUNCTION_INFO_V1(rfm_le);
PG_FUNCTION_INFO_V1(rfm_gt);
PG_FUNCTION_INFO_V1(rfm_ge);
PG_FUNCTION_INFO_V1(rfm_cmp);
PG_FUNCTION_INFO_V1(rfm_smaller);
PG_FUNCTION_INFO_V1(rfm_larger);
PG_FUNCTION_INFO_V1(rfm_hash);
PG_FUNCTION_INFO_V1(rfm_hash_extended);

static bool
valid_score(int score)
{
	return score >= 1 && score <= RFM_MAX_BINS;
}

/* Text input: three scores 1..9 joined by hyphens, spaces allowed around. */
Datum
rfm_in(PG_FUNCTION_ARGS)
{
	char	   *input = PG_GETARG_CSTRING(0);
	const char *p = input;
	int			score[RFM_DIMENSIONS];

	while (isspace((unsigned char) *p))
		p++;
	for (int d = 0; d < RFM_DIMENSIONS; d++)
	{
		if (d > 0 && *p++ != '-')
			goto syntax_error;
		if (*p < '1' || *p > '9')
			goto syntax_error;
		score[d] = *p++ - '0';
	}
	while (isspace((unsigned char) *p))
		p++;
	if (*p != '\0')
		goto syntax_error;
	PG_RETURN_RFM(rfm_pack(score[0], score[1], score[2]));

syntax_error:
	ereturn(fcinfo->context, (Datum) 0,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type %s: \"%s\"", "rfm", input),
			 errdetail("Expected recency, frequency and monetary scores from 1 to %d joined by hyphens, such as \"5-4-3\".",
					   RFM_MAX_BINS)));
}

/* Text output, "R-F-M". */
Datum
rfm_out(PG_FUNCTION_ARGS)
{
	int16		rfm = PG_GETARG_RFM(0);

	PG_RETURN_CSTRING(psprintf("%d-%d-%d",
							   rfm_score_of(rfm, RFM_RECENCY),
							   rfm_score_of(rfm, RFM_FREQUENCY),
							   rfm_score_of(rfm, RFM_MONETARY)));
}

/* Binary input: the three scores as bytes, each checked. */
Datum
rfm_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			score[RFM_DIMENSIONS];

	for (int d = 0; d < RFM_DIMENSIONS; d++)
	{
		score[d] = pq_getmsgbyte(buf);
		if (!valid_score(score[d]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid score %d in binary rfm value", score[d]),
					 errdetail("Scores range from 1 to %d.", RFM_MAX_BINS)));
	}
	PG_RETURN_RFM(rfm_pack(score[0], score[1], score[2]));
}

/* Binary output: three bytes, recency first. */
Datum
rfm_send(PG_FUNCTION_ARGS)
{
	int16		rfm = PG_GETARG_RFM(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	for (int d = 0; d < RFM_DIMENSIONS; d++)
		pq_sendbyte(&buf, rfm_score_of(rfm, d));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* make_rfm(recency, frequency, monetary) */
Datum
make_rfm(PG_FUNCTION_ARGS)
{
	int			score[RFM_DIMENSIONS];

	for (int d = 0; d < RFM_DIMENSIONS; d++)
	{
		score[d] = PG_GETARG_INT32(d);
		if (!valid_score(score[d]))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("rfm score %d is out of range", score[d]),
					 errdetail("Scores range from 1 to %d.", RFM_MAX_BINS)));
	}
	PG_RETURN_RFM(rfm_pack(score[0], score[1], score[2]));
}

/* Recency score: higher is more recent. */
Datum
rfm_recency_score(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(rfm_score_of(PG_GETARG_RFM(0), RFM_RECENCY));
}

/* Frequency score: higher is more orders. */
Datum
rfm_frequency_score(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(rfm_score_of(PG_GETARG_RFM(0), RFM_FREQUENCY));
}

/* Monetary score: higher is more spent. */
Datum
rfm_monetary_score(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(rfm_score_of(PG_GETARG_RFM(0), RFM_MONETARY));
}

/* The three-digit cell code, 543 for 5-4-3. */
Datum
rfm_cell(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(PG_GETARG_RFM(0));
}

/* Comparison follows the cell code: recency, then frequency, then monetary. */
Datum
rfm_cmp(PG_FUNCTION_ARGS)
{
	int16		a = PG_GETARG_RFM(0);
	int16		b = PG_GETARG_RFM(1);

	PG_RETURN_INT32((a > b) - (a < b));
}

Datum
rfm_eq(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(PG_GETARG_RFM(0) == PG_GETARG_RFM(1));
}

Datum
rfm_ne(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(PG_GETARG_RFM(0) != PG_GETARG_RFM(1));
}

Datum
rfm_lt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(PG_GETARG_RFM(0) < PG_GETARG_RFM(1));
}

Datum
rfm_le(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(PG_GETARG_RFM(0) <= PG_GETARG_RFM(1));
}

Datum
rfm_gt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(PG_GETARG_RFM(0) > PG_GETARG_RFM(1));
}

Datum
rfm_ge(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(PG_GETARG_RFM(0) >= PG_GETARG_RFM(1));
}

/* Transition functions of min(rfm) and max(rfm). */
Datum
rfm_smaller(PG_FUNCTION_ARGS)
{
	PG_RETURN_RFM(Min(PG_GETARG_RFM(0), PG_GETARG_RFM(1)));
}

Datum
rfm_larger(PG_FUNCTION_ARGS)
{
	PG_RETURN_RFM(Max(PG_GETARG_RFM(0), PG_GETARG_RFM(1)));
}

/* Hash support for hash indexes, hash joins and hashed GROUP BY. */
Datum
rfm_hash(PG_FUNCTION_ARGS)
{
	return hash_uint32((uint32) PG_GETARG_RFM(0));
}

Datum
rfm_hash_extended(PG_FUNCTION_ARGS)
{
	return hash_uint32_extended((uint32) PG_GETARG_RFM(0), PG_GETARG_INT64(1));
}
