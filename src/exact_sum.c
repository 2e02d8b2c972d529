/*
 * exact_sum.c
 *		Exact sums of numeric amounts in a 128-bit integer, with a numeric
 *		fallback for amounts or totals too wide for it.
 *
 * Summing through numeric_add costs an allocation per row; almost every
 * real amount has a handful of digits, so the hot path reads the digits of
 * the numeric straight into an integer scaled by a power of ten.
 */
#include "postgres.h"

#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/fmgrprotos.h"

#include "compat.h"
#include "exact_sum.h"

/*
 * The stored layout of numeric, as numeric.c writes it (unchanged since
 * PostgreSQL 9.1; the special values for infinity appeared in 14).  The
 * payload, what follows the varlena header, is a 16-bit header word, for the
 * long form a 16-bit weight, then base-10000 digits, most significant first.
 */
#define NUM_FORM_MASK			0xC000
#define NUM_NEGATIVE			0x4000
#define NUM_SHORT				0x8000
#define NUM_SPECIAL				0xC000
#define NUM_SHORT_SIGN			0x2000
#define NUM_SHORT_DSCALE_MASK	0x1F80
#define NUM_SHORT_DSCALE_SHIFT	7
#define NUM_SHORT_WEIGHT_SIGN	0x0040
#define NUM_SHORT_WEIGHT_MASK	0x003F
#define NUM_LONG_DSCALE_MASK	0x3FFF
#define NUM_DIGITS_PER_WORD		4

/*
 * The integer form holds magnitudes below 10^37, so that adding two of them
 * never overflows int128 (whose limit is about 1.7 * 10^38).
 */
#define EXACT_DIGITS			37

/* Largest power of ten that is exact in a double. */
#define EXACT_DOUBLE_POW10		22

typedef enum PayloadKind
{
	PAYLOAD_SCALED,				/* decoded into value * 10^scale */
	PAYLOAD_TOO_WIDE,			/* finite, but beyond the integer form */
	PAYLOAD_SPECIAL				/* NaN or an infinity */
} PayloadKind;

static int128 pow10_128[EXACT_DIGITS + 1];

static void
init_pow10(void)
{
	if (pow10_128[0] != 0)
		return;
	pow10_128[0] = 1;
	for (int i = 1; i <= EXACT_DIGITS; i++)
		pow10_128[i] = pow10_128[i - 1] * 10;
}

static inline int128
abs128(int128 x)
{
	return x < 0 ? -x : x;
}

/*
 * Decodes a numeric payload into *value * 10^-*scale.  Reads unaligned
 * bytes with memcpy, so packed (short-header) datums need no copy.
 */
static PayloadKind
decode_payload(const char *payload, Size len, int128 *value, int *scale)
{
	uint16		header;
	int16		weight;
	bool		negative;
	const char *digits;
	int			ndigits;
	int			shift;
	int128		acc = 0;

	if (len < sizeof(uint16))
		elog(ERROR, "numeric datum too short");
	memcpy(&header, payload, sizeof(uint16));

	switch (header & NUM_FORM_MASK)
	{
		case NUM_SPECIAL:
			return PAYLOAD_SPECIAL;
		case NUM_SHORT:
			negative = (header & NUM_SHORT_SIGN) != 0;
			*scale = (header & NUM_SHORT_DSCALE_MASK) >> NUM_SHORT_DSCALE_SHIFT;
			weight = (int16) (((header & NUM_SHORT_WEIGHT_SIGN) ? ~NUM_SHORT_WEIGHT_MASK : 0) |
							  (header & NUM_SHORT_WEIGHT_MASK));
			digits = payload + sizeof(uint16);
			break;
		default:
			if (len < 2 * sizeof(uint16))
				elog(ERROR, "numeric datum too short");
			negative = (header & NUM_FORM_MASK) == NUM_NEGATIVE;
			*scale = header & NUM_LONG_DSCALE_MASK;
			memcpy(&weight, payload + sizeof(uint16), sizeof(int16));
			digits = payload + 2 * sizeof(uint16);
			break;
	}

	ndigits = (len - (digits - payload)) / sizeof(int16);
	if (*scale > EXACT_DIGITS || ndigits * NUM_DIGITS_PER_WORD > EXACT_DIGITS)
		return PAYLOAD_TOO_WIDE;
	if (ndigits == 0)
	{
		*value = 0;
		return PAYLOAD_SCALED;
	}

	init_pow10();
	for (int i = 0; i < ndigits; i++)
	{
		int16		digit;

		memcpy(&digit, digits + i * sizeof(int16), sizeof(int16));
		acc = acc * 10000 + digit;
	}

	/* acc is the digits as an integer; line its last digit up with scale */
	shift = NUM_DIGITS_PER_WORD * (weight - (ndigits - 1)) + *scale;
	if (shift > 0)
	{
		if (shift >= EXACT_DIGITS || acc >= pow10_128[EXACT_DIGITS - shift])
			return PAYLOAD_TOO_WIDE;
		acc *= pow10_128[shift];
	}
	else if (shift < 0)
	{
		/* digits beyond the display scale are zero in a well-formed value */
		if (-shift > EXACT_DIGITS || acc % pow10_128[-shift] != 0)
			return PAYLOAD_TOO_WIDE;
		acc /= pow10_128[-shift];
	}

	*value = negative ? -acc : acc;
	return PAYLOAD_SCALED;
}

/* Multiplies *x by 10^(to - from), to >= from; false if it would not fit. */
static bool
rescale(int128 *x, int from, int to)
{
	int			by = to - from;

	if (by == 0 || *x == 0)
		return true;
	if (by >= EXACT_DIGITS || abs128(*x) >= pow10_128[EXACT_DIGITS - by])
		return false;
	*x *= pow10_128[by];
	return true;
}

/* Adds value * 10^-scale to the integer form; false if it would not fit. */
static bool
add_scaled(ExactSum *sum, int128 value, int scale)
{
	int128		total = sum->scaled;
	int			target = Max(sum->scale, scale);

	init_pow10();
	if (!rescale(&total, sum->scale, target) || !rescale(&value, scale, target))
		return false;
	total += value;
	if (abs128(total) >= pow10_128[EXACT_DIGITS])
		return false;
	sum->scaled = total;
	sum->scale = target;
	return true;
}

/* The slow path: numeric_add, the result kept in sum_context. */
static void
add_as_numeric(ExactSum *sum, Numeric amount, MemoryContext sum_context)
{
	Numeric		current = exact_sum_get_numeric(sum);
	Numeric		result;
	Numeric		old = sum->is_numeric ? sum->numeric : NULL;

	result = DatumGetNumeric(DirectFunctionCall2(numeric_add,
												 NumericGetDatum(current),
												 NumericGetDatum(amount)));
	sum->numeric = MemoryContextAlloc(sum_context, VARSIZE(result));
	memcpy(sum->numeric, result, VARSIZE(result));
	sum->is_numeric = true;
	if (old != NULL)
		pfree(old);
}

/* Starts an empty sum (zero). */
void
exact_sum_init(ExactSum *sum)
{
	sum->is_numeric = false;
	sum->scale = 0;
	sum->scaled = 0;
	sum->numeric = NULL;
}

/*
 * Adds a numeric, given as the payload of its datum, to the sum.  The
 * caller rejects NaN and infinities first (numeric_payload_is_finite).
 */
void
exact_sum_add_payload(ExactSum *sum, const char *payload, Size len,
					  MemoryContext sum_context)
{
	if (!sum->is_numeric)
	{
		int128		value;
		int			scale;

		if (decode_payload(payload, len, &value, &scale) == PAYLOAD_SCALED &&
			add_scaled(sum, value, scale))
			return;
	}
	add_as_numeric(sum, numeric_from_payload(payload, len), sum_context);
}

/* Adds a numeric datum, possibly packed or toasted, to the sum. */
void
exact_sum_add_numeric(ExactSum *sum, Datum amount, MemoryContext sum_context)
{
	struct varlena *packed = PG_DETOAST_DATUM_PACKED(amount);

	exact_sum_add_payload(sum, VARDATA_ANY(packed), VARSIZE_ANY_EXHDR(packed),
						  sum_context);
}

/* Adds another sum to this one. */
void
exact_sum_add(ExactSum *sum, const ExactSum *other, MemoryContext sum_context)
{
	if (!sum->is_numeric && !other->is_numeric &&
		add_scaled(sum, other->scaled, other->scale))
		return;
	add_as_numeric(sum, exact_sum_get_numeric(other), sum_context);
}

/*
 * The sum as a numeric whose display scale is the largest of the amounts',
 * as sum(numeric) gives.  Not a copy once the sum is in numeric form.
 */
Numeric
exact_sum_get_numeric(const ExactSum *sum)
{
	char		digits[EXACT_DIGITS + 1];
	char		text[2 * EXACT_DIGITS + 4];
	int			ndigits = 0;
	int			pos = 0;
	int128		magnitude;

	if (sum->is_numeric)
		return sum->numeric;

	magnitude = abs128(sum->scaled);
	do
	{
		digits[ndigits++] = '0' + (int) (magnitude % 10);
		magnitude /= 10;
	} while (magnitude != 0);
	while (ndigits <= sum->scale)
		digits[ndigits++] = '0';

	if (sum->scaled < 0)
		text[pos++] = '-';
	while (ndigits > 0)
	{
		if (ndigits == sum->scale)
			text[pos++] = '.';
		text[pos++] = digits[--ndigits];
	}
	text[pos] = '\0';

	return DatumGetNumeric(DirectFunctionCall3(numeric_in,
											   CStringGetDatum(text),
											   ObjectIdGetDatum(InvalidOid),
											   Int32GetDatum(-1)));
}

/* Appends a numeric in its binary send format, preceded by its length. */
void
pq_send_numeric(StringInfo buf, Numeric value)
{
	bytea	   *bytes = DatumGetByteaPP(DirectFunctionCall1(numeric_send,
															NumericGetDatum(value)));

	pq_sendint32(buf, VARSIZE_ANY_EXHDR(bytes));
	pq_sendbytes(buf, VARDATA_ANY(bytes), VARSIZE_ANY_EXHDR(bytes));
}

/*
 * Reads a numeric written by pq_send_numeric.  numeric_recv checks the
 * digits; this also demands that the length adds up and the value is finite.
 */
Numeric
pq_get_finite_numeric(StringInfo buf)
{
	int			len = pq_getmsgint(buf, 4);
	StringInfoData bytes;
	Numeric		value;

	if (len < 0 || len > buf->len - buf->cursor)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid numeric length %d in binary input", len)));
	initStringInfo(&bytes);
	appendBinaryStringInfo(&bytes, pq_getmsgbytes(buf, len), len);
	value = DatumGetNumeric(DirectFunctionCall3(numeric_recv,
												PointerGetDatum(&bytes),
												ObjectIdGetDatum(InvalidOid),
												Int32GetDatum(-1)));
	if (bytes.cursor != bytes.len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("numeric in binary input has trailing bytes")));
	if (!numeric_payload_is_finite(VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("amount in binary input is not a finite number")));
	return value;
}

/* Appends the sum to an aggregate's serialized state. */
void
exact_sum_serialize(StringInfo buf, const ExactSum *sum)
{
	pq_sendbyte(buf, sum->is_numeric ? 1 : 0);
	if (!sum->is_numeric)
	{
		uint128		bits = (uint128) sum->scaled;

		pq_sendint32(buf, sum->scale);
		pq_sendint64(buf, (uint64) (bits >> 64));
		pq_sendint64(buf, (uint64) bits);
	}
	else
		pq_send_numeric(buf, sum->numeric);
}

/* Reads a sum written by exact_sum_serialize; the bytes are not trusted. */
void
exact_sum_deserialize(StringInfo buf, ExactSum *sum, MemoryContext sum_context)
{
	int			form = pq_getmsgbyte(buf);

	exact_sum_init(sum);
	init_pow10();
	if (form == 0)
	{
		uint64		high;
		uint64		low;

		sum->scale = pq_getmsgint(buf, 4);
		high = (uint64) pq_getmsgint64(buf);
		low = (uint64) pq_getmsgint64(buf);
		sum->scaled = (int128) (((uint128) high << 64) | low);
		if (sum->scale < 0 || sum->scale > EXACT_DIGITS ||
			abs128(sum->scaled) >= pow10_128[EXACT_DIGITS])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid serialized sum"),
					 errdetail("Scale %d or digits out of range.", sum->scale)));
	}
	else if (form == 1)
	{
		Numeric		value = pq_get_finite_numeric(buf);

		sum->numeric = MemoryContextAlloc(sum_context, VARSIZE(value));
		memcpy(sum->numeric, value, VARSIZE(value));
		sum->is_numeric = true;
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid serialized sum"),
				 errdetail("Unknown form %d.", form)));
}

/* Is this numeric payload a number (not NaN or an infinity)? */
bool
numeric_payload_is_finite(const char *payload, Size len)
{
	uint16		header;

	if (len < sizeof(uint16))
		return false;
	memcpy(&header, payload, sizeof(uint16));
	return (header & NUM_FORM_MASK) != NUM_SPECIAL;
}

/*
 * The numeric as a double, exactly as numeric::float8 converts it (to the
 * nearest double).  When the value is an integer below 2^53 over an exact
 * power of ten, one IEEE division rounds correctly; otherwise numeric_float8
 * decides.
 */
double
numeric_payload_to_double(const char *payload, Size len)
{
	static const double pow10_double[EXACT_DOUBLE_POW10 + 1] = {
		1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
		1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
	};
	int128		value;
	int			scale;

	if (decode_payload(payload, len, &value, &scale) == PAYLOAD_SCALED &&
		scale <= EXACT_DOUBLE_POW10 &&
		abs128(value) <= ((int128) 1 << 53))
		return (double) value / pow10_double[scale];

	return DatumGetFloat8(DirectFunctionCall1(numeric_float8,
											  NumericGetDatum(numeric_from_payload(payload, len))));
}

/* A palloc'd numeric datum holding a copy of the payload. */
Numeric
numeric_from_payload(const char *payload, Size len)
{
	Numeric		result = palloc(VARHDRSZ + len);

	SET_VARSIZE(result, VARHDRSZ + len);
	memcpy(VARDATA(result), payload, len);
	return result;
}
