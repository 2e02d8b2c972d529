/*
 * fuzz_types.c
 *		Feeds generated inputs to the text input and binary receive functions
 *		of the extension's types and checks what comes back.
 *
 * Every input goes through a prepared statement "SELECT $1, $1::text" whose
 * parameter has the type under test: a text-format parameter calls the
 * type's input function, a binary-format one its receive function.  The
 * result comes back in binary, so its first column is the value's send
 * output and its second the value's text output.
 *
 * An input may be accepted or rejected with an ERROR; an internal error
 * (SQLSTATE class XX), a statement timeout or a lost connection (a crashed
 * backend) is a finding.  An accepted value must read back unchanged from
 * its own output: its text output through the input function and its send
 * output through the receive function give the same text and the same
 * bytes again.
 *
 * Inputs are valid values built by a generator per type and mode (with
 * boundary numbers, extreme times, special floats, odd numeric digits,
 * UTF-8 oddities, huge counts), then mutated byte by byte, plus plain random
 * bytes.  Input number i of a type and mode depends only on the seed, the
 * type, the mode and i, so one input can be replayed alone:
 *
 *	fuzz_types --seed S --type T --mode M --index I
 *	fuzz_types --type T --mode M --hex 0a1b...		(an input given in hex)
 *
 * --list-types prints the types it knows, so that a test can check that
 * every base type of the extension is among them.
 * The connection comes from the PG* environment variables.
 */
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libpq-fe.h"

#ifndef LIBPQ_HAS_PIPELINING
#error "fuzz_types needs libpq 14 or later (pipeline mode)"
#endif

#define MAX_INPUT_BYTES (1024 * 1024)
#define PIPELINE_WINDOW 64
#define MAX_REPORTED_FINDINGS 20

/* PostgreSQL's timestamp limits, in microseconds since 2000-01-01 UTC. */
#define MIN_TIMESTAMP INT64_C(-211813488000000000)
#define END_TIMESTAMP INT64_C(9223371331200000000)
#define USECS_PER_DAY INT64_C(86400000000)
#define POSTGRES_EPOCH_JDATE 2451545

/*
 * Byte buffers
 */

typedef struct Buf
{
	unsigned char *data;
	size_t		len;
	size_t		cap;
} Buf;

static void
buf_reserve(Buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	while (b->len + extra + 1 > b->cap)
		b->cap = b->cap ? b->cap * 2 : 256;
	b->data = realloc(b->data, b->cap);
	if (b->data == NULL)
	{
		fprintf(stderr, "out of memory\n");
		exit(3);
	}
}

static void
buf_put(Buf *b, const void *data, size_t len)
{
	buf_reserve(b, len);
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

static void
buf_puts(Buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

static void
buf_putc(Buf *b, int c)
{
	unsigned char ch = (unsigned char) c;

	buf_put(b, &ch, 1);
}

static void
buf_printf(Buf *b, const char *format,...)
{
	char		small[512];
	va_list		args;
	int			n;

	va_start(args, format);
	n = vsnprintf(small, sizeof(small), format, args);
	va_end(args);
	if (n < (int) sizeof(small))
	{
		buf_put(b, small, n);
		return;
	}
	buf_reserve(b, n);
	va_start(args, format);
	vsnprintf((char *) b->data + b->len, n + 1, format, args);
	va_end(args);
	b->len += n;
}

/* An integer of 1 to 8 bytes, big-endian (network order). */
static void
buf_put_be(Buf *b, uint64_t value, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--)
		buf_putc(b, (int) ((value >> (8 * i)) & 0xff));
}

static void
buf_copy(Buf *to, const Buf *from)
{
	to->len = 0;
	buf_put(to, from->data, from->len);
}

/*
 * Random numbers: splitmix64, reseeded for every input
 */

static uint64_t rng_state;

static uint64_t
rand64(void)
{
	uint64_t	z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* 0 .. n-1 */
static uint32_t
below(uint32_t n)
{
	return n == 0 ? 0 : (uint32_t) (rand64() % n);
}

/* lo .. hi inclusive */
static int64_t
between(int64_t lo, int64_t hi)
{
	return lo + (int64_t) (rand64() % (uint64_t) (hi - lo + 1));
}

static bool
chance(int percent)
{
	return below(100) < (uint32_t) percent;
}

#define PICK(array) ((array)[below(sizeof(array) / sizeof((array)[0]))])

static void
seed_input(uint64_t seed, int type, int mode, uint64_t index)
{
	rng_state = seed ^ ((uint64_t) type << 56) ^ ((uint64_t) mode << 48);
	rng_state ^= rand64() + index * UINT64_C(0xD1B54A32D192ED03);
	(void) rand64();
}

/*
 * Pieces shared by the generators
 */

static const char *const whitespace[] = {" ", " ", "  ", "\t", "\n", "\r\n", "\v", "\f", ""};

static void
put_space(Buf *b)
{
	if (chance(80))
		return;
	buf_puts(b, PICK(whitespace));
}

/* Integers at the edges of 8, 16, 32 and 64 bits. */
static const uint64_t boundary_integers[] = {
	0, 1, 2, 3, 7, 8, 9, 10, 127, 128, 255, 256, 1000, 1001, 9999, 10000,
	0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff,
	UINT64_C(0x100000000), UINT64_C(0x7fffffffffffffff),
	UINT64_C(0x8000000000000000), UINT64_C(0xffffffffffffffff),
	UINT64_C(0xfffffffffffffffe), UINT64_C(0x8000000000000001),
};

static const char *const integer_words[] = {
	"0", "1", "2", "3", "-1", "+1", "00001", "9223372036854775807",
	"9223372036854775808", "-9223372036854775808", "18446744073709551616",
	"99999999999999999999999999", "1e3", "0x10", "1.0", "1_000", " 5", "5 ",
	"", "-", "+", "١", "１"
};

/* Snippets of UTF-8 text: letters of other scripts, a NBSP, combining marks. */
static const char *const unicode_snippets[] = {
	"é", "İ", "ı", "ß", "Ω", "日本", "😀", "\xC2\xA0", "e\xCC\x81", "\xE2\x80\x8B",
	"\xEF\xBB\xBF", "\xF4\x8F\xBF\xBF", "ﬁ", "Ǆ", "\xE2\x80\xAE"
};

/* Byte sequences that are not valid UTF-8. */
static const char *const bad_utf8[] = {
	"\xC3", "\xE2\x82", "\xF0\x9F\x98", "\xC0\x80", "\xED\xA0\x80", "\xF5\x80\x80\x80",
	"\xFF", "\x80", "\xF8\x88\x80\x80\x80"
};

/*
 * Times: microseconds since 2000-01-01 UTC, as PostgreSQL keeps them
 */

static const int64_t boundary_times[] = {
	MIN_TIMESTAMP, MIN_TIMESTAMP + 1, MIN_TIMESTAMP - 1,
	END_TIMESTAMP - 1, END_TIMESTAMP, END_TIMESTAMP - USECS_PER_DAY,
	INT64_MIN, INT64_MAX, INT64_MIN + 1, INT64_MAX - 1, 0, -1, 1,
};

/* A time, mostly valid, sometimes at or just beyond the ends of the range. */
static int64_t
random_time(void)
{
	switch (below(20))
	{
		case 0:
			return PICK(boundary_times);
		case 1:
			return MIN_TIMESTAMP + between(-2, 3) * USECS_PER_DAY + between(-1000, 1000);
		case 2:
			return END_TIMESTAMP + between(-3, 2) * USECS_PER_DAY + between(-1000, 1000);
		case 3:
			return between(MIN_TIMESTAMP, END_TIMESTAMP - 1);
		case 4:
			return (int64_t) rand64();
		default:
			/* 1990 to 2040, whole seconds or not */
			{
				int64_t		t = between(-10 * 365, 40 * 365) * USECS_PER_DAY +
					between(0, USECS_PER_DAY - 1);

				return chance(50) ? t - t % 1000000 : t;
			}
	}
}

/* Three times in order, for first <= previous <= last. */
static void
ordered_times(int64_t t[3])
{
	for (int i = 0; i < 3; i++)
		t[i] = random_time();
	if (chance(30))
	{
		/* close together, as real orders are */
		t[1] = (int64_t) ((uint64_t) t[0] + (chance(30) ? 0 : between(0, 400 * USECS_PER_DAY)));
		t[2] = (int64_t) ((uint64_t) t[1] + (chance(30) ? 0 : between(0, 400 * USECS_PER_DAY)));
	}
	if (chance(95))
	{
		for (int i = 0; i < 3; i++)
			for (int j = i + 1; j < 3; j++)
				if (t[j] < t[i])
				{
					int64_t		x = t[i];

					t[i] = t[j];
					t[j] = x;
				}
	}
}

/* The civil date of a Julian day number (our own copy of the textbook method). */
static void
julian_to_date(int64_t jd, int64_t *year, int *month, int *day)
{
	int64_t		a = jd + 32044;
	int64_t		b = (4 * a + 3) / 146097;
	int64_t		c = a - 146097 * b / 4;
	int64_t		d = (4 * c + 3) / 1461;
	int64_t		e = c - 1461 * d / 4;
	int64_t		m = (5 * e + 2) / 153;

	*day = (int) (e - (153 * m + 2) / 5 + 1);
	*month = (int) (m + 3 - 12 * (m / 10));
	*year = 100 * b + d - 4800 + m / 10;
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t		q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/*
 * Writes a time as timestamptz text, in a random zone offset and spelling.
 * Times beyond what the calendar arithmetic can hold come out as words.
 */
static void
put_time_text(Buf *b, int64_t usec)
{
	static const int offsets_minutes[] = {0, 0, 0, 60, -300, 330, 345, 840, -720, -959, 959};
	static const char *const words[] = {
		"infinity", "-infinity", "epoch", "now", "today", "tomorrow", "yesterday",
		"allballs", "J2451545", "J0", "4714-11-24 00:00:00+00 BC", "4714-11-23 23:59:59.999999+00 BC",
		"294276-12-31 23:59:59.999999+00", "294277-01-01 00:00:00+00", "294277-01-01 00:00:00+14",
		"2000-02-30 00:00:00+00", "2000-01-01 24:00:00+00", "2000-01-01 23:59:60+00",
		"1999-12-31T23:59:59Z", "Sat Jan 01 00:00:00 2000 UTC", "2000-01-01 00:00:00 Europe/Istanbul",
		"2000-01-01 00:00:00 Mars/Olympus", "2000-01-01 00:00:00.1234567+00", "20000101 000000",
		"0000-01-01 00:00:00+00", "-2000-01-01 00:00:00+00", "2000-13-01 00:00:00+00",
	};
	int			offset;
	int64_t		local;
	int64_t		days;
	int64_t		in_day;
	int64_t		year;
	int			month;
	int			day;
	int			fraction_digits;

	if (chance(3) || usec < MIN_TIMESTAMP - 10 * USECS_PER_DAY ||
		usec > END_TIMESTAMP + 3 * USECS_PER_DAY)
	{
		buf_puts(b, PICK(words));
		return;
	}
	offset = PICK(offsets_minutes);
	local = usec + (int64_t) offset * 60 * 1000000;
	days = floor_div(local, USECS_PER_DAY);
	in_day = local - days * USECS_PER_DAY;
	julian_to_date(days + POSTGRES_EPOCH_JDATE, &year, &month, &day);

	buf_printf(b, "%04" PRId64 "-%02d-%02d%s%02d:%02d:%02d",
			   year > 0 ? year : 1 - year, month, day, chance(10) ? "T" : " ",
			   (int) (in_day / 3600000000), (int) (in_day / 60000000 % 60),
			   (int) (in_day / 1000000 % 60));
	fraction_digits = in_day % 1000000 != 0 ? 6 : (chance(10) ? (int) below(8) : 0);
	if (fraction_digits > 0)
	{
		char		digits[16];

		snprintf(digits, sizeof(digits), "%06d", (int) (in_day % 1000000));
		buf_putc(b, '.');
		for (int i = 0; i < fraction_digits; i++)
			buf_putc(b, i < 6 ? digits[i] : '0' + (int) below(10));
	}
	if (chance(3))
		;						/* in the session's zone */
	else if (offset == 0 && chance(20))
		buf_puts(b, chance(50) ? "Z" : " UTC");
	else
	{
		int			magnitude = offset < 0 ? -offset : offset;

		buf_printf(b, "%c%02d", offset < 0 ? '-' : '+', magnitude / 60);
		if (magnitude % 60 != 0 || chance(20))
			buf_printf(b, ":%02d", magnitude % 60);
	}
	if (year <= 0)
		buf_puts(b, " BC");
}

/*
 * Numbers
 */

static const char *const numeric_words[] = {
	"0", "-0", "0.00", "57.45", "-12.5", "1e3", "1E-3", ".5", "5.", "+7", "NaN", "nan",
	"Infinity", "-Infinity", "inf", "-inf", "1e131071", "1e131072", "-1e-16383", "1e-16384",
	"0.1e-999", "9e999", "1_000", "0x1F", "1e", "e1", "--1", "1..2", " 12 ", "٣",
	"170141183460469231731687303715884105727", "-170141183460469231731687303715884105728",
	"9999999999999999999999999999999999999", "99999999999999999999999999999999999999",
	"0.0000000000000000000000000000000000001", "12345678901234567890.12345678901234567",
};

/* A numeric in text: short decimals mostly, long digit strings, exponents. */
static void
put_numeric_text(Buf *b)
{
	switch (below(8))
	{
		case 0:
		case 1:
			buf_puts(b, PICK(numeric_words));
			return;
		case 2:
			{
				/* a long digit string, the point anywhere */
				int			n = (int) (chance(90) ? between(1, 60) : between(61, 2000));
				int			point = (int) below(n + 1);

				if (chance(30))
					buf_putc(b, '-');
				for (int i = 0; i < n; i++)
				{
					if (i == point && i > 0)
						buf_putc(b, '.');
					buf_putc(b, '0' + (int) below(10));
				}
				return;
			}
		case 3:
			buf_printf(b, "%s%" PRId64 "e%d", chance(30) ? "-" : "", between(0, 999999),
					   (int) between(-1100, 1100));
			return;
		case 4:
			/* many zeros after the point: display scales up to the limit */
			{
				int			zeros = (int) (chance(80) ? between(0, 40) : between(16370, 16390));

				buf_puts(b, "0.");
				for (int i = 0; i < zeros; i++)
					buf_putc(b, '0');
				buf_putc(b, '1' + (int) below(9));
				return;
			}
		default:
			buf_printf(b, "%s%" PRId64 ".%02d", chance(10) ? "-" : "", between(0, 100000),
					   (int) below(100));
			return;
	}
}

/* numeric's binary form: ndigits, weight, sign, dscale, base-10000 digits. */
static void
put_numeric_binary(Buf *b)
{
	static const uint16_t signs[] = {0xC000, 0xD000, 0xF000, 0x8000, 0xFFFF, 0x0001};
	static const int16_t weights[] = {-32768, 32767, -1, 0, 1, 2, 9, 10, -10, 8191, -8192};
	int			ndigits = (int) (chance(90) ? below(7) : (chance(90) ? below(40) : below(2000)));
	int			declared = chance(95) ? ndigits : (int) below(ndigits + 3);
	int16_t		weight = chance(90) ? (int16_t) (ndigits - 1 - (int) below(4)) : PICK(weights);
	uint16_t	sign = chance(85) ? (chance(70) ? 0x0000 : 0x4000) :
		(chance(20) ? (uint16_t) rand64() : PICK(signs));
	uint16_t	dscale = chance(92) ? (uint16_t) below(9) :
		(uint16_t) PICK(boundary_integers);

	buf_put_be(b, declared, 2);
	buf_put_be(b, (uint16_t) weight, 2);
	buf_put_be(b, sign, 2);
	buf_put_be(b, dscale, 2);
	for (int i = 0; i < ndigits; i++)
	{
		int			digit;

		if (chance(97))
			digit = (int) below(10000);
		else
			digit = PICK(((const int[]) {10000, 65535, 32767, 32768, 9999, 0}));
		if (i == 0 && digit == 0 && chance(90))
			digit = 1;
		buf_put_be(b, (uint16_t) digit, 2);
	}
}

static const double special_doubles[] = {
	0.0, -0.0, 1.0, -1.0, 0.5, DBL_MAX, -DBL_MAX, DBL_MIN, -DBL_MIN, 4.9e-324,
	-4.9e-324, 1e308, 1e-308, 9007199254740992.0, 9007199254740993.0, 1e15,
	1e16, 1e17, 0.1, 2.2250738585072009e-308,
};

static double
random_double(void)
{
	uint32_t	kind = below(100);

	if (kind < 6)
		return PICK(special_doubles);
	if (kind < 9)
	{
		/* any bit pattern: NaNs and infinities among them */
		uint64_t	bits = rand64();
		double		d;

		memcpy(&d, &bits, sizeof(d));
		return d;
	}
	if (kind < 11)
		return chance(50) ? INFINITY : (chance(50) ? -INFINITY : NAN);
	if (kind < 20)
		return ldexp((double) rand64() / 18446744073709551616.0, (int) between(-1074, 1024));
	if (kind < 50)
		return (double) between(0, 20);
	return (double) between(0, 1000000) / (double) PICK(((const int[]) {1, 10, 100, 1000, 7}));
}

/* A double in text: round-trip digits, fewer digits, words. */
static void
put_double_text(Buf *b, double d)
{
	static const char *const words[] = {
		"NaN", "Infinity", "-Infinity", "inf", "-INF", "nan", "1e309", "-1e309",
		"1e-400", "4.9e-324", "2.4e-324", "0x1p3", "1e", ".", "-", "+1", "1.7976931348623157e308",
		"1.7976931348623159e308", "00000000000000000000000000001", "1" "0000000000" "0000000000" "0000000000"
	};

	switch (below(40))
	{
		case 0:
			buf_puts(b, PICK(words));
			return;
		case 1:
			buf_printf(b, "%g", d);
			return;
		case 2:
			buf_printf(b, "%.3f", d);
			return;
		case 3:
			buf_printf(b, "%a", d);
			return;
		default:
			buf_printf(b, "%.17g", d);
			return;
	}
}

static int
compare_doubles(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

/* Up to 8 thresholds mostly, sorted mostly. */
static int
random_thresholds(double *values, int max)
{
	int			count = chance(92) ? (int) below(9) : (int) between(9, max);
	bool		all_plain = chance(70);

	for (int i = 0; i < count; i++)
	{
		values[i] = random_double();
		if (all_plain && !isfinite(values[i]))
			values[i] = (double) i;
	}
	if (chance(90))
		qsort(values, count, sizeof(double), compare_doubles);
	return count;
}

/*
 * Labels of segment sets
 */

static const char *const label_words[] = {
	"Champions", "", "Can't Lose Them", "At Risk", "vip", "VIP", "New Customers", "a", "b", "_", "-",
	"NULL", "null", "Null", "nULL", "NULLx", "{", "}", ",", "\"", "\\", "a,b", "x y", " lead",
	"trail ", "tab\there", "line\nbreak", "\\\"", "'", "$$", "[1]"
};

/* Raw label bytes (not yet quoted). */
static void
put_label_bytes(Buf *b, bool allow_bad)
{
	switch (below(allow_bad ? 9 : 8))
	{
		case 0:
		case 1:
			buf_puts(b, PICK(label_words));
			return;
		case 2:
			{
				int			n = (int) between(1, 12);

				for (int i = 0; i < n; i++)
					buf_putc(b, "abcxyzABC019_-"[below(14)]);
				return;
			}
		case 3:
			{
				int			n = (int) between(1, 4);

				for (int i = 0; i < n; i++)
					buf_puts(b, chance(60) ? PICK(unicode_snippets) : PICK(label_words));
				return;
			}
		case 4:
			{
				/* near the 255-byte limit, sometimes ending in a multibyte char */
				int			n = (int) between(250, 258);

				for (int i = 0; i < n; i++)
					buf_putc(b, 'a' + (int) below(3));
				if (chance(40))
					buf_puts(b, PICK(unicode_snippets));
				return;
			}
		case 5:
			{
				/* printable ASCII of every kind */
				int			n = (int) between(1, 10);

				for (int i = 0; i < n; i++)
					buf_putc(b, (int) between(32, 126));
				return;
			}
		case 6:
			buf_printf(b, "l%u", (unsigned) below(2000));
			return;
		case 7:
			buf_puts(b, PICK(unicode_snippets));
			return;
		default:
			buf_puts(b, chance(50) ? PICK(bad_utf8) : "zero\0byte");
			if (chance(50))
				buf_putc(b, 0);
			return;
	}
}

/* A label as segment_set text: quoted with escapes, or as it is. */
static void
put_label_text(Buf *b)
{
	Buf			raw = {0};

	put_label_bytes(&raw, false);
	put_space(b);
	if (chance(50))
	{
		buf_putc(b, '"');
		for (size_t i = 0; i < raw.len; i++)
		{
			if ((raw.data[i] == '"' || raw.data[i] == '\\') && chance(97))
				buf_putc(b, '\\');
			buf_putc(b, raw.data[i]);
		}
		buf_putc(b, '"');
	}
	else
		buf_put(b, raw.data, raw.len);
	put_space(b);
	free(raw.data);
}

static int
random_label_count(void)
{
	if (chance(95))
		return (int) below(8);
	return (int) between(990, 1010);
}

/*
 * The types and their generators of (mostly) valid inputs
 */

static void
gen_rfm_text(Buf *b)
{
	static const char *const scores[] = {"1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "10", "", "a", "-1", "５"};
	static const char *const separators[] = {"-", "-", "-", "-", "--", " - ", "–", "", "+", "/"};

	put_space(b);
	for (int d = 0; d < 3; d++)
	{
		if (d > 0)
			buf_puts(b, chance(90) ? "-" : PICK(separators));
		buf_puts(b, chance(85) ? scores[below(9)] : PICK(scores));
	}
	put_space(b);
}

static void
gen_rfm_binary(Buf *b)
{
	int			n = chance(90) ? 3 : (int) below(6);

	for (int i = 0; i < n; i++)
		buf_putc(b, chance(90) ? (int) between(1, 9) : PICK(((const int[]) {0, 10, 255, 128, 0x31})));
}

/* How many orders: one, a few, or boundary counts. */
static int64_t
random_order_count(void)
{
	switch (below(8))
	{
		case 0:
			return (int64_t) PICK(boundary_integers);
		case 1:
			return (int64_t) rand64();
		case 2:
		case 3:
			return 1;
		default:
			return between(2, 50);
	}
}

static void
gen_rfm_stats_text(Buf *b)
{
	static const char *const key_names[] = {"orders", "total", "first", "previous", "last"};
	static const char *const odd_keys[] = {"Orders", "ORDERS", "count", "", "order s", "firstt", "=", "orders1"};
	int64_t		count = random_order_count();
	int64_t		t[3];
	int			order[5] = {0, 1, 2, 3, 4};
	bool		with_previous;

	ordered_times(t);
	if (count == 1 && chance(90))
		t[0] = t[1] = t[2];
	with_previous = chance(95) ? count > 1 : chance(50);
	if (chance(40))
		for (int i = 4; i > 0; i--)
		{
			int			j = (int) below(i + 1);
			int			x = order[i];

			order[i] = order[j];
			order[j] = x;
		}

	put_space(b);
	buf_putc(b, '(');
	for (int i = 0, written = 0; i < 5; i++)
	{
		int			k = order[i];

		if (k == 3 && !with_previous)
			continue;
		if (chance(2))
			continue;			/* a key left out */
		if (written++ > 0)
			buf_putc(b, ',');
		put_space(b);
		buf_puts(b, chance(98) ? key_names[k] : PICK(odd_keys));
		put_space(b);
		buf_putc(b, '=');
		put_space(b);
		switch (k)
		{
			case 0:
				if (chance(90))
					buf_printf(b, "%" PRId64, count);
				else
					buf_puts(b, PICK(integer_words));
				break;
			case 1:
				put_numeric_text(b);
				break;
			case 2:
				put_time_text(b, t[0]);
				break;
			case 3:
				put_time_text(b, t[1]);
				break;
			default:
				put_time_text(b, t[2]);
				break;
		}
		put_space(b);
		if (chance(2))
		{
			/* the same key again */
			buf_printf(b, ", %s=1", key_names[below(5)]);
		}
	}
	buf_putc(b, ')');
	put_space(b);
}

static void
gen_rfm_stats_binary(Buf *b)
{
	int64_t		count = random_order_count();
	int64_t		t[3];
	Buf			numeric = {0};

	ordered_times(t);
	if (count == 1 && chance(90))
		t[0] = t[2];
	buf_putc(b, chance(97) ? 1 : PICK(((const int[]) {0, 2, 255})));
	buf_put_be(b, (uint64_t) count, 8);
	buf_put_be(b, (uint64_t) t[0], 8);
	buf_put_be(b, (uint64_t) (count == 1 && chance(90) ? INT64_MIN : t[1]), 8);
	buf_put_be(b, (uint64_t) t[2], 8);
	put_numeric_binary(&numeric);
	if (chance(95))
		buf_put_be(b, numeric.len, 4);
	else
		buf_put_be(b, chance(50) ? numeric.len + between(-3, 3) : PICK(boundary_integers), 4);
	buf_put(b, numeric.data, numeric.len);
	free(numeric.data);
}

static void
gen_rfm_thresholds_text(Buf *b)
{
	static const char *const names[] = {"recency", "frequency", "monetary"};
	static const char *const odd_names[] = {"Recency", "recency ", "", "r", "recencyy", "monetar", "\\u0072ecency"};
	int			order[3] = {0, 1, 2};
	int			keys = chance(97) ? 3 : (int) below(5);

	for (int i = 2; i > 0; i--)
	{
		int			j = (int) below(i + 1);
		int			x = order[i];

		order[i] = order[j];
		order[j] = x;
	}
	put_space(b);
	buf_putc(b, '{');
	for (int k = 0; k < keys; k++)
	{
		double		values[16];
		int			count = random_thresholds(values, 12);

		if (k > 0)
			buf_putc(b, ',');
		put_space(b);
		if (chance(97))
			buf_printf(b, "\"%s\"", names[order[k % 3]]);
		else
			buf_puts(b, chance(50) ? names[below(3)] : PICK(odd_names));
		put_space(b);
		buf_putc(b, ':');
		put_space(b);
		buf_putc(b, '[');
		for (int i = 0; i < count; i++)
		{
			if (i > 0)
				buf_putc(b, ',');
			put_space(b);
			put_double_text(b, values[i]);
			put_space(b);
		}
		buf_putc(b, ']');
		put_space(b);
	}
	buf_putc(b, '}');
	put_space(b);
}

static void
gen_rfm_thresholds_binary(Buf *b)
{
	buf_putc(b, chance(97) ? 1 : PICK(((const int[]) {0, 2, 255})));
	for (int d = 0; d < 3; d++)
	{
		double		values[300];
		int			count = random_thresholds(values, chance(95) ? 12 : 300);
		int			declared = chance(97) ? count : (int) PICK(boundary_integers);

		buf_putc(b, declared);
		for (int i = 0; i < count; i++)
		{
			uint64_t	bits;

			memcpy(&bits, &values[i], sizeof(bits));
			buf_put_be(b, bits, 8);
		}
	}
}

static void
gen_segment_set_text(Buf *b)
{
	int			count = random_label_count();

	put_space(b);
	if (chance(98))
		buf_putc(b, '{');
	for (int i = 0; i < count; i++)
	{
		if (i > 0)
			buf_putc(b, chance(99) ? ',' : ';');
		if (count > 100 && chance(98))
			buf_printf(b, "l%d", chance(99) ? i : 0);
		else
			put_label_text(b);
	}
	if (count == 0)
		put_space(b);
	if (chance(98))
		buf_putc(b, '}');
	put_space(b);
}

static void
gen_segment_set_binary(Buf *b)
{
	int			count = random_label_count();

	buf_putc(b, chance(97) ? 1 : PICK(((const int[]) {0, 2, 255})));
	buf_put_be(b, chance(95) ? (uint64_t) count : PICK(boundary_integers), 4);
	for (int i = 0; i < count; i++)
	{
		Buf			label = {0};

		if (count > 100 && chance(98))
			buf_printf(&label, "l%d", chance(99) ? i : 0);
		else
			put_label_bytes(&label, true);
		if (chance(97))
			buf_put_be(b, label.len, 4);
		else
			buf_put_be(b, chance(50) ? label.len + between(-2, 2) : PICK(boundary_integers), 4);
		buf_put(b, label.data, label.len);
		free(label.data);
	}
}

typedef void (*Generator) (Buf *b);

enum
{
	MODE_TEXT, MODE_BINARY, NUM_MODES
};

static const char *const mode_names[NUM_MODES] = {"text", "binary"};

typedef struct TypeUnderTest
{
	const char *name;
	Generator	generate[NUM_MODES];
	const char *tokens;			/* characters of its text form, for mutations */
} TypeUnderTest;

static TypeUnderTest types[] = {
	{"rfm", {gen_rfm_text, gen_rfm_binary}, "-123456789 "},
	{"rfm_stats", {gen_rfm_stats_text, gen_rfm_stats_binary}, "(=,) :.-+eE0123456789TZBC"},
	{"rfm_thresholds", {gen_rfm_thresholds_text, gen_rfm_thresholds_binary}, "{\":[,]} .-+eE0123456789"},
	{"segment_set", {gen_segment_set_text, gen_segment_set_binary}, "{\",\\} aN"},
};

#define NUM_TYPES ((int) (sizeof(types) / sizeof(types[0])))

/*
 * Mutations
 */

static const char *const text_tokens[] = {
	"NaN", "Infinity", "-Infinity", "null", "NULL", "1e308", "1e-400", "9223372036854775807",
	"-9223372036854775808", "294277", "4714", " BC", "+14", "\"", "\\", "\\\"", ",", "{", "}", "[",
	"]", "(", ")", "=", "-", ":", "  ", "0000000000", "99999999999999999999", "e", ".", "%s", "%n",
};

/* Applies one random change to the bytes. */
static void
mutate_once(Buf *b, const TypeUnderTest *type, Generator generate)
{
	size_t		pos = b->len ? below((uint32_t) b->len) : 0;

	switch (below(13))
	{
		case 0:					/* flip a bit */
			if (b->len)
				b->data[pos] ^= (unsigned char) (1 << below(8));
			break;
		case 1:					/* set a byte */
			if (b->len)
				b->data[pos] = chance(50) ? (unsigned char) rand64() :
					(unsigned char) PICK(((const int[]) {0, 1, 0x7f, 0x80, 0xff, 0x20}));
			break;
		case 2:					/* a character of the type's text form */
			if (b->len)
				b->data[pos] = (unsigned char) type->tokens[below((uint32_t) strlen(type->tokens))];
			break;
		case 3:					/* insert bytes */
		case 4:
			{
				Buf			tail = {0};
				const char *token = PICK(text_tokens);
				size_t		at = below((uint32_t) b->len + 1);

				buf_put(&tail, b->data + at, b->len - at);
				b->len = at;
				if (chance(50))
					buf_puts(b, token);
				else if (chance(50))
					buf_putc(b, (int) rand64());
				else
					buf_puts(b, chance(50) ? PICK(unicode_snippets) : PICK(bad_utf8));
				buf_put(b, tail.data, tail.len);
				free(tail.data);
				break;
			}
		case 5:					/* delete a range */
			if (b->len)
			{
				size_t		n = 1 + below(chance(70) ? 4 : (uint32_t) (b->len - pos));

				if (n > b->len - pos)
					n = b->len - pos;
				memmove(b->data + pos, b->data + pos + n, b->len - pos - n);
				b->len -= n;
			}
			break;
		case 6:					/* truncate */
			b->len = pos;
			break;
		case 7:					/* extend with random bytes */
			{
				int			n = (int) below(16);

				for (int i = 0; i < n; i++)
					buf_putc(b, (int) rand64());
				break;
			}
		case 8:					/* repeat a range, often many times */
			if (b->len)
			{
				size_t		n = 1 + below((uint32_t) (b->len - pos));
				int			times = chance(80) ? 2 : (int) between(10, 5000);
				Buf			tail = {0};
				Buf			piece = {0};

				if (n * times > MAX_INPUT_BYTES / 2)
					times = 2;
				buf_put(&piece, b->data + pos, n);
				buf_put(&tail, b->data + pos, b->len - pos);
				b->len = pos;
				for (int i = 0; i < times; i++)
					buf_put(b, piece.data, piece.len);
				buf_put(b, tail.data + n, tail.len - n);
				free(piece.data);
				free(tail.data);
			}
			break;
		case 9:					/* overwrite with an integer at a boundary */
		case 10:
			{
				int			width = PICK(((const int[]) {1, 2, 4, 8}));
				uint64_t	value = chance(80) ? PICK(boundary_integers) : (uint64_t) PICK(boundary_times);

				if (b->len >= (size_t) width)
				{
					size_t		at = below((uint32_t) (b->len - width + 1));

					for (int i = 0; i < width; i++)
						b->data[at + i] = (unsigned char) (value >> (8 * (width - 1 - i)));
				}
				break;
			}
		case 11:				/* splice in part of another value */
			{
				Buf			other = {0};
				size_t		from;
				size_t		n;

				generate(&other);
				if (other.len)
				{
					from = below((uint32_t) other.len);
					n = 1 + below((uint32_t) (other.len - from));
					b->len = pos;
					buf_put(b, other.data + from, n);
				}
				free(other.data);
				break;
			}
		default:				/* swap two bytes */
			if (b->len > 1)
			{
				size_t		other = below((uint32_t) b->len);
				unsigned char x = b->data[pos];

				b->data[pos] = b->data[other];
				b->data[other] = x;
			}
			break;
	}
	if (b->len > MAX_INPUT_BYTES)
		b->len = MAX_INPUT_BYTES;
	if (b->data)
		b->data[b->len] = '\0';
}

/* Length of the valid UTF-8 sequence at p, or 0 (PostgreSQL's rules). */
static size_t
utf8_sequence(const unsigned char *p, size_t left)
{
	size_t		n;
	uint32_t	cp;

	if (p[0] < 0x80)
		return p[0] != 0;
	if (p[0] >= 0xC2 && p[0] <= 0xDF)
		n = 2, cp = p[0] & 0x1F;
	else if (p[0] >= 0xE0 && p[0] <= 0xEF)
		n = 3, cp = p[0] & 0x0F;
	else if (p[0] >= 0xF0 && p[0] <= 0xF4)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++)
	{
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
		(cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

/*
 * A text parameter is a C string in valid UTF-8, or the server rejects it
 * before the input function sees it: keep invalid bytes in a few inputs
 * only, and end at a zero byte.
 */
static void
make_text_parameter(Buf *b)
{
	bool		repair = chance(97);
	size_t		out = 0;

	for (size_t i = 0; i < b->len;)
	{
		size_t		n = utf8_sequence(b->data + i, b->len - i);

		if (b->data[i] == 0)
			break;
		if (n == 0)
		{
			b->data[out++] = repair ? '?' : b->data[i];
			i++;
			continue;
		}
		memmove(b->data + out, b->data + i, n);
		out += n;
		i += n;
	}
	b->len = out;
	buf_reserve(b, 0);
	b->data[b->len] = '\0';
}

/* Input number index of a type and mode. */
static void
generate_input(Buf *b, uint64_t seed, int t, int mode, uint64_t index)
{
	TypeUnderTest *type = &types[t];
	Generator	generate = type->generate[mode];

	seed_input(seed, t, mode, index);
	b->len = 0;
	buf_reserve(b, 0);
	if (chance(5))
	{
		/* plain random bytes; printable ones for text now and then */
		int			n = (int) (chance(90) ? below(40) : below(4000));
		bool		printable = mode == MODE_TEXT && chance(50);

		for (int i = 0; i < n; i++)
			buf_putc(b, printable ? (int) between(32, 126) : (int) rand64());
	}
	else
	{
		int			mutations = 0;

		generate(b);
		if (chance(60))
		{
			mutations = 1;
			while (mutations < 16 && chance(40))
				mutations++;
		}
		for (int i = 0; i < mutations; i++)
			mutate_once(b, type, generate);
	}
	if (mode == MODE_TEXT)
		make_text_parameter(b);
}

/*
 * Talking to the server: a pipeline of prepared statements, each with its
 * own sync, so one error aborts nothing else
 */

typedef enum ItemKind
{
	ITEM_INPUT,					/* a generated input */
	ITEM_TEXT_AGAIN,			/* an accepted value's text output, as input */
	ITEM_BINARY_AGAIN			/* an accepted value's send output, as input */
} ItemKind;

typedef struct Item
{
	ItemKind	kind;
	int			type;
	int			mode;			/* of the generated input */
	uint64_t	index;
	Buf			input;			/* what is sent */
	Buf			want_send;		/* round trips: the expected results */
	Buf			want_text;
	PGresult   *result;
	struct Item *next;
} Item;

typedef struct Counts
{
	uint64_t	inputs;
	uint64_t	accepted;
	uint64_t	rejected;
	uint64_t	round_trips;
	char		sqlstates[16][6];
	uint64_t	sqlstate_counts[16];
	uint64_t	other_sqlstates;
} Counts;

static PGconn *conn;
static uint64_t seed;
static Counts counts[16][NUM_MODES];
static int	findings;
static bool verbose;

static Item *queue_head,
		   *queue_tail;			/* round trips waiting to be sent */
static Item *flight_head,
		   *flight_tail;		/* sent, result not yet complete */
static int	in_flight;

static void
print_hex(FILE *out, const Buf *b)
{
	size_t		shown = b->len > 2048 ? 2048 : b->len;

	for (size_t i = 0; i < shown; i++)
		fprintf(out, "%02x", b->data[i]);
	if (shown < b->len)
		fprintf(out, "... (%zu more bytes: replay it to see them)", b->len - shown);
	fputc('\n', out);
}

static void
describe_item(FILE *out, const Item *item)
{
	fprintf(out, "  type %s, %s input number %" PRIu64 " of seed %" PRIu64,
			types[item->type].name, mode_names[item->mode], item->index, seed);
	if (item->kind == ITEM_INPUT)
		fprintf(out, "\n  replay: fuzz_types --seed %" PRIu64 " --type %s --mode %s --index %" PRIu64 "\n",
				seed, types[item->type].name, mode_names[item->mode], item->index);
	else
		fprintf(out, " (%s round trip of the accepted value)\n",
				item->kind == ITEM_TEXT_AGAIN ? "text output -> input" : "send -> receive");
	fprintf(out, "  sent as %s, %zu bytes, hex: ",
			item->kind == ITEM_TEXT_AGAIN || (item->kind == ITEM_INPUT && item->mode == MODE_TEXT)
			? "text" : "binary", item->input.len);
	print_hex(out, &item->input);
}

static void
finding(const Item *item, const char *what, const char *detail)
{
	findings++;
	if (findings > MAX_REPORTED_FINDINGS)
		return;
	fprintf(stderr, "FINDING: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	describe_item(stderr, item);
}

static void
crash(const Item *item, const char *message)
{
	fprintf(stderr, "CRASH: the connection was lost (%s)\n", message);
	if (item)
		describe_item(stderr, item);
	fprintf(stderr, "%d inputs were in flight; the first unanswered one is shown\n", in_flight);
	exit(2);
}

static void
item_free(Item *item)
{
	free(item->input.data);
	free(item->want_send.data);
	free(item->want_text.data);
	if (item->result)
		PQclear(item->result);
	free(item);
}

static void
count_sqlstate(Counts *c, const char *sqlstate)
{
	for (int i = 0; i < 16; i++)
	{
		if (c->sqlstates[i][0] == '\0')
			snprintf(c->sqlstates[i], sizeof(c->sqlstates[i]), "%s", sqlstate);
		if (strcmp(c->sqlstates[i], sqlstate) == 0)
		{
			c->sqlstate_counts[i]++;
			return;
		}
	}
	c->other_sqlstates++;
}

static void
enqueue_round_trip(const Item *from, ItemKind kind, const Buf *send, const Buf *text)
{
	Item	   *item = calloc(1, sizeof(Item));

	item->kind = kind;
	item->type = from->type;
	item->mode = from->mode;
	item->index = from->index;
	buf_copy(&item->input, kind == ITEM_TEXT_AGAIN ? text : send);
	buf_copy(&item->want_send, send);
	buf_copy(&item->want_text, text);
	if (queue_tail)
		queue_tail->next = item;
	else
		queue_head = item;
	queue_tail = item;
}

static bool
buf_equals(const Buf *a, const char *data, size_t len)
{
	return a->len == len && (len == 0 || memcmp(a->data, data, len) == 0);
}

/* Judges the complete result of an item. */
static void
judge(Item *item)
{
	PGresult   *res = item->result;
	Counts	   *c = &counts[item->type][item->mode];
	ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

	if (PQstatus(conn) == CONNECTION_BAD)
		crash(item, PQerrorMessage(conn));
	if (status == PGRES_TUPLES_OK && PQntuples(res) == 1 && PQnfields(res) == 2)
	{
		Buf			send = {0};
		Buf			text = {0};

		buf_put(&send, PQgetvalue(res, 0, 0), PQgetlength(res, 0, 0));
		buf_put(&text, PQgetvalue(res, 0, 1), PQgetlength(res, 0, 1));
		if (PQgetisnull(res, 0, 0))
			finding(item, "an input gave NULL", NULL);
		if (item->kind == ITEM_INPUT)
		{
			c->accepted++;
			if (verbose)
			{
				printf("accepted: %s\n  send: ", text.data);
				print_hex(stdout, &send);
			}
			enqueue_round_trip(item, ITEM_TEXT_AGAIN, &send, &text);
			enqueue_round_trip(item, ITEM_BINARY_AGAIN, &send, &text);
		}
		else
		{
			char		detail[1024];

			if (!buf_equals(&item->want_send, (char *) send.data, send.len) ||
				!buf_equals(&item->want_text, (char *) text.data, text.len))
			{
				snprintf(detail, sizeof(detail), "first read as %.400s, then as %.400s",
						 item->want_text.data, text.data);
				finding(item, "an accepted value changed on the way back", detail);
			}
			else
				c->round_trips++;
		}
		free(send.data);
		free(text.data);
		return;
	}
	if (status == PGRES_FATAL_ERROR)
	{
		const char *sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
		const char *message = res ? PQresultErrorMessage(res) : PQerrorMessage(conn);

		if (sqlstate == NULL)
			crash(item, message);
		if (verbose)
			printf("rejected: %s %s", sqlstate, message);
		if (strncmp(sqlstate, "XX", 2) == 0)
			finding(item, "internal error", message);
		else if (strcmp(sqlstate, "57014") == 0)
			finding(item, "statement timeout (the input may loop)", message);
		else if (strcmp(sqlstate, "57P01") == 0 || strcmp(sqlstate, "57P02") == 0 ||
				 strcmp(sqlstate, "57P03") == 0)
			crash(item, message);
		else if (item->kind != ITEM_INPUT)
			finding(item, "an accepted value's own output is rejected", message);
		else
		{
			c->rejected++;
			count_sqlstate(c, sqlstate);
		}
		return;
	}
	finding(item, "unexpected result status", PQresStatus(status));
}

static void
send_item(Item *item)
{
	const TypeUnderTest *type = &types[item->type];
	bool		binary = item->kind == ITEM_BINARY_AGAIN ||
		(item->kind == ITEM_INPUT && item->mode == MODE_BINARY);
	const char *values[1] = {item->input.data ? (const char *) item->input.data : ""};
	int			lengths[1] = {(int) item->input.len};
	int			formats[1] = {binary ? 1 : 0};
	char		statement[64];

	snprintf(statement, sizeof(statement), "fuzz_%s", type->name);
	if (!PQsendQueryPrepared(conn, statement, 1, values, lengths, formats, 1) ||
		!PQpipelineSync(conn))
		crash(item, PQerrorMessage(conn));
	item->next = NULL;
	if (flight_tail)
		flight_tail->next = item;
	else
		flight_head = item;
	flight_tail = item;
	in_flight++;
}

/* Reads whatever results have arrived, without blocking. */
static void
read_results(void)
{
	while (flight_head && !PQisBusy(conn))
	{
		PGresult   *res = PQgetResult(conn);

		if (res == NULL)
		{
			if (PQstatus(conn) == CONNECTION_BAD)
				crash(flight_head, PQerrorMessage(conn));
			continue;			/* the end of one statement's results */
		}
		if (PQresultStatus(res) == PGRES_PIPELINE_SYNC)
		{
			Item	   *done = flight_head;

			PQclear(res);
			flight_head = done->next;
			if (!flight_head)
				flight_tail = NULL;
			in_flight--;
			judge(done);
			item_free(done);
			continue;
		}
		if (flight_head->result)
			PQclear(flight_head->result);
		flight_head->result = res;
		if (PQresultStatus(res) == PGRES_FATAL_ERROR &&
			(PQstatus(conn) == CONNECTION_BAD ||
			 PQresultErrorField(res, PG_DIAG_SQLSTATE) == NULL))
			judge(flight_head);
	}
}

/* Waits until the server sends something or can take more. */
static void
wait_for_server(void)
{
	int			pending = PQflush(conn);
	struct pollfd pfd;
	int			ready;

	if (pending < 0)
		crash(flight_head, PQerrorMessage(conn));
	pfd.fd = PQsocket(conn);
	pfd.events = POLLIN | (pending ? POLLOUT : 0);
	pfd.revents = 0;
	ready = poll(&pfd, 1, 120000);
	if (ready < 0 && errno != EINTR)
	{
		perror("poll");
		exit(3);
	}
	if (ready == 0)
		crash(flight_head, "no answer for two minutes");
	if (!PQconsumeInput(conn))
		crash(flight_head, PQerrorMessage(conn));
}

/*
 * Runs inputs first..last-1 of a type and mode (or the one input given),
 * with the round trips of every accepted value.
 */
static void
run(int t, int mode, uint64_t first, uint64_t last, const Buf *given)
{
	uint64_t	next = first;

	while (next < last || queue_head || flight_head)
	{
		while (in_flight < PIPELINE_WINDOW && (queue_head || next < last))
		{
			Item	   *item;

			if (queue_head)
			{
				item = queue_head;
				queue_head = item->next;
				if (!queue_head)
					queue_tail = NULL;
			}
			else
			{
				item = calloc(1, sizeof(Item));
				item->kind = ITEM_INPUT;
				item->type = t;
				item->mode = mode;
				item->index = next++;
				if (given)
					buf_copy(&item->input, given);
				else
					generate_input(&item->input, seed, t, mode, item->index);
				counts[t][mode].inputs++;
				if (verbose)
				{
					printf("input %" PRIu64 " (%zu bytes): ", item->index, item->input.len);
					print_hex(stdout, &item->input);
				}
			}
			send_item(item);
		}
		if (flight_head)
		{
			wait_for_server();
			read_results();
		}
	}
}

static void
connect_and_prepare(void)
{
	PGresult   *res;

	conn = PQconnectdb("");
	if (PQstatus(conn) != CONNECTION_OK)
	{
		fprintf(stderr, "could not connect: %s", PQerrorMessage(conn));
		exit(3);
	}
	/*
	 * A zone with a half-hour offset and a day-first date style: text
	 * output must not depend on them, or the round trips fail.
	 */
	res = PQexec(conn, "SET statement_timeout = '20s'; SET TimeZone = 'Asia/Kathmandu'; "
				 "SET DateStyle = 'SQL, DMY'");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		fprintf(stderr, "could not set up the session: %s", PQerrorMessage(conn));
		exit(3);
	}
	PQclear(res);
	for (int t = 0; t < NUM_TYPES; t++)
	{
		char		sql[256];
		char		name[64];
		unsigned int oid;

		snprintf(sql, sizeof(sql), "SELECT '%s'::regtype::oid", types[t].name);
		res = PQexec(conn, sql);
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
		{
			fprintf(stderr, "type %s not found: %s", types[t].name, PQerrorMessage(conn));
			exit(3);
		}
		oid = (unsigned int) strtoul(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
		snprintf(name, sizeof(name), "fuzz_%s", types[t].name);
		res = PQprepare(conn, name, "SELECT $1, $1::text", 1, &oid);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
		{
			fprintf(stderr, "prepare failed: %s", PQerrorMessage(conn));
			exit(3);
		}
		PQclear(res);
	}
	if (!PQenterPipelineMode(conn) || PQsetnonblocking(conn, 1) != 0)
	{
		fprintf(stderr, "pipeline mode: %s", PQerrorMessage(conn));
		exit(3);
	}
}

static int
compare_by_count(const void *a, const void *b, const Counts *c)
{
	uint64_t	x = c->sqlstate_counts[*(const int *) a];
	uint64_t	y = c->sqlstate_counts[*(const int *) b];

	return (x < y) - (x > y);
}

static const Counts *sorting_counts;

static int
compare_sqlstates(const void *a, const void *b)
{
	return compare_by_count(a, b, sorting_counts);
}

static void
print_counts(int t, int mode)
{
	const Counts *c = &counts[t][mode];
	int			order[16];
	int			n = 0;

	if (c->inputs == 0)
		return;
	for (int i = 0; i < 16 && c->sqlstates[i][0]; i++)
		order[n++] = i;
	sorting_counts = c;
	qsort(order, n, sizeof(int), compare_sqlstates);
	printf("%-14s %-6s %7" PRIu64 " inputs: %7" PRIu64 " accepted (%" PRIu64 " round trips ok), %7" PRIu64 " rejected",
		   types[t].name, mode_names[mode], c->inputs, c->accepted, c->round_trips, c->rejected);
	for (int i = 0; i < n && i < 6; i++)
		printf("%s %s %" PRIu64, i == 0 ? " (" : ",", c->sqlstates[order[i]],
			   c->sqlstate_counts[order[i]]);
	if (n > 6 || c->other_sqlstates)
		printf(", ...");
	printf("%s\n", n > 0 ? ")" : "");
}

static int
hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void
usage(void)
{
	fprintf(stderr,
			"usage: fuzz_types [--seed N] [--count N] [--type NAME] [--mode text|binary]\n"
			"                  [--index I] [--hex HEX] [--verbose] [--list-types]\n");
	exit(3);
}

int
main(int argc, char **argv)
{
	uint64_t	count = 150000;
	int			only_type = -1;
	int			only_mode = -1;
	bool		one_index = false;
	uint64_t	index = 0;
	Buf			given = {0};
	bool		have_given = false;
	time_t		started = time(NULL);

	seed = (uint64_t) time(NULL) ^ ((uint64_t) clock() << 20);
	for (int i = 1; i < argc; i++)
	{
		const char *arg = argv[i];
		const char *value = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(arg, "--verbose") == 0)
		{
			verbose = true;
			continue;
		}
		if (strcmp(arg, "--list-types") == 0)
		{
			for (int t = 0; t < NUM_TYPES; t++)
				printf("%s\n", types[t].name);
			return 0;
		}
		if (value == NULL)
			usage();
		i++;
		if (strcmp(arg, "--seed") == 0)
			seed = strtoull(value, NULL, 10);
		else if (strcmp(arg, "--count") == 0)
			count = strtoull(value, NULL, 10);
		else if (strcmp(arg, "--index") == 0)
		{
			one_index = true;
			index = strtoull(value, NULL, 10);
		}
		else if (strcmp(arg, "--type") == 0)
		{
			for (int t = 0; t < NUM_TYPES; t++)
				if (strcmp(value, types[t].name) == 0)
					only_type = t;
			if (only_type < 0)
				usage();
		}
		else if (strcmp(arg, "--mode") == 0)
		{
			for (int m = 0; m < NUM_MODES; m++)
				if (strcmp(value, mode_names[m]) == 0)
					only_mode = m;
			if (only_mode < 0)
				usage();
		}
		else if (strcmp(arg, "--hex") == 0)
		{
			size_t		n = strlen(value);

			have_given = true;
			buf_reserve(&given, n / 2);
			for (size_t k = 0; k + 1 < n; k += 2)
			{
				int			hi = hex_value(value[k]);
				int			lo = hex_value(value[k + 1]);

				if (hi < 0 || lo < 0)
					usage();
				buf_putc(&given, hi * 16 + lo);
			}
		}
		else
			usage();
	}
	if ((one_index || have_given) && (only_type < 0 || only_mode < 0))
		usage();
	if (one_index || have_given)
		verbose = true;

	printf("fuzz_types: seed %" PRIu64 ", %" PRIu64 " inputs per type and mode\n",
		   seed, one_index || have_given ? 1 : count);
	fflush(stdout);
	connect_and_prepare();
	for (int t = 0; t < NUM_TYPES; t++)
		for (int m = 0; m < NUM_MODES; m++)
		{
			if ((only_type >= 0 && t != only_type) || (only_mode >= 0 && m != only_mode))
				continue;
			if (have_given)
				run(t, m, 0, 1, &given);
			else if (one_index)
				run(t, m, index, index + 1, NULL);
			else
				run(t, m, 0, count, NULL);
			print_counts(t, m);
			fflush(stdout);
		}
	PQfinish(conn);
	printf("%d findings, %ld s\n", findings, (long) (time(NULL) - started));
	return findings > 0 ? 1 : 0;
}
