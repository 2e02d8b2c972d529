/*
 * segment_set.c
 *		The segment_set type: text form {champions,"Can't Lose Them",vip},
 *		binary form, set operators, constructors and accessors, and the
 *		B-tree and hash support of its operator classes.
 *
 * The layout is described in segment_set.h.  Every value is canonical:
 * labels sorted bytewise and unique.  The functions here only ever read
 * values through segment_set_view and only ever build them through
 * segment_set_from_labels.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "compat.h"
#include "segment_set.h"

PG_FUNCTION_INFO_V1(segment_set_in);
PG_FUNCTION_INFO_V1(segment_set_out);
PG_FUNCTION_INFO_V1(segment_set_recv);
PG_FUNCTION_INFO_V1(segment_set_send);
PG_FUNCTION_INFO_V1(segment_set_from_array);
PG_FUNCTION_INFO_V1(segment_set_labels);
PG_FUNCTION_INFO_V1(segment_set_count);
PG_FUNCTION_INFO_V1(segment_set_has);
PG_FUNCTION_INFO_V1(segment_set_add);
PG_FUNCTION_INFO_V1(segment_set_remove);
PG_FUNCTION_INFO_V1(segment_set_union);
PG_FUNCTION_INFO_V1(segment_set_intersect);
PG_FUNCTION_INFO_V1(segment_set_contains);
PG_FUNCTION_INFO_V1(segment_set_contained);
PG_FUNCTION_INFO_V1(segment_set_overlaps);
PG_FUNCTION_INFO_V1(segment_set_eq);
PG_FUNCTION_INFO_V1(segment_set_ne);
PG_FUNCTION_INFO_V1(segment_set_lt);
PG_FUNCTION_INFO_V1(segment_set_le);
PG_FUNCTION_INFO_V1(segment_set_gt);
PG_FUNCTION_INFO_V1(segment_set_ge);
PG_FUNCTION_INFO_V1(segment_set_cmp);
PG_FUNCTION_INFO_V1(segment_set_hash);
PG_FUNCTION_INFO_V1(segment_set_hash_extended);

/*
 * Values
 */

/* Points a view at the labels of a detoasted (possibly short) value. */
void
segment_set_view(const struct varlena *set, SegmentSetView *view)
{
	const uint8 *p = (const uint8 *) VARDATA_ANY(set);
	Size		size = VARSIZE_ANY_EXHDR(set);

	if (size < SEGMENT_SET_HEADER_BYTES || p[0] != SEGMENT_SET_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("corrupt segment_set value"),
				 errdetail("The value has %zu bytes and format version %d; version %d was expected.",
						   size, size > 0 ? p[0] : -1, SEGMENT_SET_VERSION)));
	view->count = (p[1] << 8) | p[2];
	if (size < (Size) SEGMENT_SET_HEADER_BYTES + view->count)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("corrupt segment_set value"),
				 errdetail("The value has %zu bytes, too few for %d labels.",
						   size, view->count)));
	view->lengths = p + SEGMENT_SET_HEADER_BYTES;
	view->bytes = (const char *) (p + SEGMENT_SET_HEADER_BYTES + view->count);
}

static int
label_qsort_cmp(const void *a, const void *b)
{
	return segment_set_label_cmp((const SegmentSetLabel *) a,
								 (const SegmentSetLabel *) b);
}

/* Sorts labels and removes duplicates in place; returns how many remain. */
int
segment_set_canonicalize(SegmentSetLabel *labels, int count)
{
	int			unique = 0;

	if (count <= 1)
		return count;
	qsort(labels, count, sizeof(SegmentSetLabel), label_qsort_cmp);
	for (int i = 0; i < count; i++)
		if (unique == 0 || segment_set_label_cmp(&labels[unique - 1], &labels[i]) != 0)
			labels[unique++] = labels[i];
	return unique;
}

/*
 * Builds a value from canonical labels: sorted, unique, each 1..255 bytes
 * and at most SEGMENT_SET_MAX_LABELS of them (callers check, each with its
 * own SQLSTATE).
 */
struct varlena *
segment_set_from_labels(const SegmentSetLabel *labels, int count)
{
	Size		size = VARHDRSZ + SEGMENT_SET_HEADER_BYTES + count;
	struct varlena *result;
	uint8	   *p;
	char	   *bytes;

	Assert(count >= 0 && count <= SEGMENT_SET_MAX_LABELS);
	for (int i = 0; i < count; i++)
		size += labels[i].len;
	result = (struct varlena *) palloc(size);
	SET_VARSIZE(result, size);
	p = (uint8 *) VARDATA(result);
	p[0] = SEGMENT_SET_VERSION;
	p[1] = (uint8) (count >> 8);
	p[2] = (uint8) count;
	bytes = (char *) (p + SEGMENT_SET_HEADER_BYTES + count);
	for (int i = 0; i < count; i++)
	{
		Assert(labels[i].len >= 1 && labels[i].len <= SEGMENT_SET_MAX_LABEL_BYTES);
		p[SEGMENT_SET_HEADER_BYTES + i] = (uint8) labels[i].len;
		memcpy(bytes, labels[i].data, labels[i].len);
		bytes += labels[i].len;
	}
	return result;
}

/*
 * The labels of a view as an array with room for extra more (palloc'd; the
 * bytes stay in place).
 */
static SegmentSetLabel *
view_labels(const SegmentSetView *view, int extra)
{
	SegmentSetLabel *labels = palloc(sizeof(SegmentSetLabel) * Max(view->count + extra, 1));
	SegmentSetIter iter;
	int			i = 0;

	segment_set_iter_init(&iter, view);
	while (segment_set_iter_next(&iter, &labels[i]))
		i++;
	return labels;
}

/* The GIN key of a label: a 32-bit hash of its bytes. */
int32
segment_set_label_key(const char *data, int len)
{
	return (int32) DatumGetUInt32(hash_any((const unsigned char *) data, len));
}

/*
 * Checks a label given to a function (not text input): not empty, not too
 * long.  Errors are 22023, like any other bad argument.
 */
void
segment_set_check_label(int len)
{
	if (len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("segment labels must not be empty")));
	if (len > SEGMENT_SET_MAX_LABEL_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("segment label is too long"),
				 errdetail("The label has %d bytes; labels are at most %d bytes.",
						   len, SEGMENT_SET_MAX_LABEL_BYTES)));
}

/* Reports a set that would hold too many labels (54000). */
static void
check_label_count(int count)
{
	if (count > SEGMENT_SET_MAX_LABELS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a segment_set can hold at most %d labels", SEGMENT_SET_MAX_LABELS),
				 errdetail("The result would have %d labels.", count)));
}

/*
 * Text form
 */

static bool
set_isspace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Letters, digits, _ and - (ASCII only, whatever the locale) go unquoted. */
static bool
plain_label_byte(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c == '_' || c == '-';
}

static bool
is_null_word(const char *data, int len)
{
	return len == 4 && pg_strncasecmp(data, "null", 4) == 0;
}

#define SEGMENT_SET_SYNTAX_ERROR(...) \
	ereturn(fcinfo->context, (Datum) 0, \
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION), \
			 errmsg("invalid input syntax for type %s: \"%s\"", "segment_set", input), \
			 errdetail(__VA_ARGS__)))

/*
 * Text input: labels in braces separated by commas, in any order, with
 * duplicates, whitespace around them allowed.  A label is quoted ("...",
 * with \" and \\ as the only escapes) or unquoted (any characters but
 * {}",\ and surrounding whitespace; the word NULL must be quoted).
 */
Datum
segment_set_in(PG_FUNCTION_ARGS)
{
	char	   *input = PG_GETARG_CSTRING(0);
	const char *p = input;
	char	   *buffer = palloc(strlen(input) + 1);
	char	   *out = buffer;
	SegmentSetLabel *labels;
	int			count = 0;
	int			capacity = 8;

	labels = palloc(sizeof(SegmentSetLabel) * capacity);
	while (set_isspace(*p))
		p++;
	if (*p == '\0')
		SEGMENT_SET_SYNTAX_ERROR("A segment_set is written as labels in braces, such as {champions,vip}; {} is the empty set.");
	if (*p != '{')
		ereturn(fcinfo->context, (Datum) 0,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type %s: \"%s\"", "segment_set", input),
				 errdetail("A segment_set is written as labels in braces, such as {champions,vip}; {} is the empty set."),
				 errhint("A set of one label is written {vip}; to test for one label use the ? operator, segments ? 'vip'.")));
	p++;
	while (set_isspace(*p))
		p++;
	if (*p == '}')
		p++;
	else
	{
		for (;;)
		{
			SegmentSetLabel label;

			while (set_isspace(*p))
				p++;
			label.data = out;
			if (*p == '"')
			{
				p++;
				for (;;)
				{
					if (*p == '\0')
						SEGMENT_SET_SYNTAX_ERROR("A quoted label is missing its closing double quote.");
					if (*p == '"')
						break;
					if (*p == '\\')
					{
						p++;
						if (*p == '\0')
							SEGMENT_SET_SYNTAX_ERROR("A quoted label is missing its closing double quote.");
						if (*p != '"' && *p != '\\')
							SEGMENT_SET_SYNTAX_ERROR("Inside double quotes only \\\" and \\\\ are escapes.");
					}
					*out++ = *p++;
				}
				p++;			/* the closing quote */
				label.len = out - label.data;
				if (label.len == 0)
					SEGMENT_SET_SYNTAX_ERROR("A label must not be empty, quoted or not.");
				while (set_isspace(*p))
					p++;
				if (*p != ',' && *p != '}' && *p != '\0')
					SEGMENT_SET_SYNTAX_ERROR("A quoted label must be followed by \",\" or \"}\".");
			}
			else
			{
				const char *start = p;
				const char *end;

				while (*p != ',' && *p != '}' && *p != '\0')
				{
					if (*p == '{')
						SEGMENT_SET_SYNTAX_ERROR("Braces cannot be nested; quote a label that contains \"{\".");
					if (*p == '"')
						SEGMENT_SET_SYNTAX_ERROR("A double quote inside an unquoted label; quote the whole label and write \\\" for the quote.");
					if (*p == '\\')
						SEGMENT_SET_SYNTAX_ERROR("A backslash inside an unquoted label; quote the whole label and write \\\\ for the backslash.");
					p++;
				}
				end = p;
				while (end > start && set_isspace(end[-1]))
					end--;
				if (end == start)
				{
					if (*p == '\0')
						SEGMENT_SET_SYNTAX_ERROR("The closing \"}\" is missing.");
					SEGMENT_SET_SYNTAX_ERROR("A label must not be empty, quoted or not.");
				}
				if (is_null_word(start, end - start))
					ereturn(fcinfo->context, (Datum) 0,
							(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
							 errmsg("invalid input syntax for type %s: \"%s\"", "segment_set", input),
							 errdetail("A segment_set cannot contain NULL."),
							 errhint("Write \"NULL\" in double quotes for a label spelled NULL.")));
				memcpy(out, start, end - start);
				out += end - start;
				label.len = end - start;
			}
			if (label.len > SEGMENT_SET_MAX_LABEL_BYTES)
				SEGMENT_SET_SYNTAX_ERROR("A label of %d bytes is too long; labels are at most %d bytes.",
										 label.len, SEGMENT_SET_MAX_LABEL_BYTES);
			if (count == capacity)
			{
				capacity *= 2;
				labels = repalloc(labels, sizeof(SegmentSetLabel) * capacity);
			}
			labels[count++] = label;
			if (*p == '\0')
				SEGMENT_SET_SYNTAX_ERROR("The closing \"}\" is missing.");
			if (*p++ == '}')
				break;
		}
	}
	while (set_isspace(*p))
		p++;
	if (*p != '\0')
		SEGMENT_SET_SYNTAX_ERROR("Unexpected text after the closing \"}\".");
	count = segment_set_canonicalize(labels, count);
	if (count > SEGMENT_SET_MAX_LABELS)
		SEGMENT_SET_SYNTAX_ERROR("%d different labels are too many; a segment_set holds at most %d.",
								 count, SEGMENT_SET_MAX_LABELS);
	PG_RETURN_POINTER(segment_set_from_labels(labels, count));
}

/* Appends a label to the text form, quoted if it needs to be. */
static void
append_label(StringInfo buf, const SegmentSetLabel *label)
{
	bool		quote = is_null_word(label->data, label->len);

	for (int i = 0; i < label->len && !quote; i++)
		quote = !plain_label_byte(label->data[i]);
	if (!quote)
	{
		appendBinaryStringInfo(buf, label->data, label->len);
		return;
	}
	appendStringInfoChar(buf, '"');
	for (int i = 0; i < label->len; i++)
	{
		char		c = label->data[i];

		if (c == '"' || c == '\\')
			appendStringInfoChar(buf, '\\');
		appendStringInfoChar(buf, c);
	}
	appendStringInfoChar(buf, '"');
}

/* Text output: canonical, labels sorted bytewise, quoted when needed. */
Datum
segment_set_out(PG_FUNCTION_ARGS)
{
	SegmentSetView view;
	SegmentSetIter iter;
	SegmentSetLabel label;
	StringInfoData buf;

	segment_set_view(PG_GETARG_SEGMENT_SET(0), &view);
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	segment_set_iter_init(&iter, &view);
	while (segment_set_iter_next(&iter, &label))
	{
		if (iter.next > 1)
			appendStringInfoChar(&buf, ',');
		append_label(&buf, &label);
	}
	appendStringInfoChar(&buf, '}');
	PG_RETURN_CSTRING(buf.data);
}

/*
 * Binary form: a version byte, an int32 label count, then each label as an
 * int32 length and its bytes in the client encoding (as for text).
 */

/*
 * Binary input.  The bytes are untrusted: version, count and every length
 * are checked, the labels must be valid text, and the set is put in
 * canonical order again (the order of bytes may differ between encodings).
 */
Datum
segment_set_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			version = pq_getmsgbyte(buf);
	int			count;
	SegmentSetLabel *labels;

	if (version != SEGMENT_SET_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("unsupported segment_set binary format version %d", version),
				 errdetail("Version %d is the only one.", SEGMENT_SET_VERSION)));
	count = (int) pq_getmsgint(buf, 4);
	if (count < 0 || count > SEGMENT_SET_MAX_LABELS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid label count %d in binary segment_set value", count),
				 errdetail("A segment_set holds 0 to %d labels.", SEGMENT_SET_MAX_LABELS)));
	labels = palloc(sizeof(SegmentSetLabel) * Max(count, 1));
	for (int i = 0; i < count; i++)
	{
		int			rawlen = (int) pq_getmsgint(buf, 4);
		int			len;
		char	   *data;

		if (rawlen <= 0 || rawlen > SEGMENT_SET_MAX_LABEL_BYTES * MAX_CONVERSION_GROWTH)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid label length %d in binary segment_set value", rawlen),
					 errdetail("Labels have 1 to %d bytes.", SEGMENT_SET_MAX_LABEL_BYTES)));
		/* checks that the bytes are there and valid in the encoding */
		data = pq_getmsgtext(buf, rawlen, &len);
		if ((int) strlen(data) != len)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("a label in a binary segment_set value contains a zero byte")));
		if (len > SEGMENT_SET_MAX_LABEL_BYTES)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid label length %d in binary segment_set value", len),
					 errdetail("Labels have 1 to %d bytes.", SEGMENT_SET_MAX_LABEL_BYTES)));
		labels[i].data = data;
		labels[i].len = len;
	}
	count = segment_set_canonicalize(labels, count);
	PG_RETURN_POINTER(segment_set_from_labels(labels, count));
}

/* Binary output: version, count, then length-prefixed labels. */
Datum
segment_set_send(PG_FUNCTION_ARGS)
{
	SegmentSetView view;
	SegmentSetIter iter;
	SegmentSetLabel label;
	StringInfoData buf;

	segment_set_view(PG_GETARG_SEGMENT_SET(0), &view);
	pq_begintypsend(&buf);
	pq_sendbyte(&buf, SEGMENT_SET_VERSION);
	pq_sendint32(&buf, view.count);
	segment_set_iter_init(&iter, &view);
	while (segment_set_iter_next(&iter, &label))
	{
		char	   *converted = pg_server_to_client(label.data, label.len);
		int			len = converted == label.data ? label.len : (int) strlen(converted);

		pq_sendint32(&buf, len);
		pq_sendbytes(&buf, converted, len);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*
 * Constructors and accessors
 */

/* segment_set(text[]): the set of the array's labels; NULLs are errors. */
Datum
segment_set_from_array(PG_FUNCTION_ARGS)
{
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(0);
	Datum	   *elements;
	bool	   *nulls;
	int			count;
	SegmentSetLabel *labels;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("segment labels must be a one-dimensional array")));
	deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT,
					  &elements, &nulls, &count);
	labels = palloc(sizeof(SegmentSetLabel) * Max(count, 1));
	for (int i = 0; i < count; i++)
	{
		text	   *t;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("segment labels must not be NULL")));
		t = DatumGetTextPP(elements[i]);
		labels[i].data = VARDATA_ANY(t);
		labels[i].len = VARSIZE_ANY_EXHDR(t);
		segment_set_check_label(labels[i].len);
	}
	count = segment_set_canonicalize(labels, count);
	check_label_count(count);
	PG_RETURN_POINTER(segment_set_from_labels(labels, count));
}

/* The labels as a text[], sorted bytewise. */
Datum
segment_set_labels(PG_FUNCTION_ARGS)
{
	SegmentSetView view;
	SegmentSetIter iter;
	SegmentSetLabel label;
	Datum	   *elements;

	segment_set_view(PG_GETARG_SEGMENT_SET(0), &view);
	elements = palloc(sizeof(Datum) * Max(view.count, 1));
	segment_set_iter_init(&iter, &view);
	while (segment_set_iter_next(&iter, &label))
		elements[iter.next - 1] =
			PointerGetDatum(cstring_to_text_with_len(label.data, label.len));
	PG_RETURN_ARRAYTYPE_P(construct_array(elements, view.count, TEXTOID, -1,
										  false, TYPALIGN_INT));
}

/* Number of labels. */
Datum
segment_set_count(PG_FUNCTION_ARGS)
{
	SegmentSetView view;

	segment_set_view(PG_GETARG_SEGMENT_SET(0), &view);
	PG_RETURN_INT32(view.count);
}

/*
 * Set operations
 */

/* Where label is in the view: its index, or -(insertion point) - 1. */
static int
view_find(const SegmentSetView *view, const SegmentSetLabel *label)
{
	SegmentSetIter iter;
	SegmentSetLabel current;

	segment_set_iter_init(&iter, view);
	while (segment_set_iter_next(&iter, &current))
	{
		int			c = segment_set_label_cmp(&current, label);

		if (c == 0)
			return iter.next - 1;
		if (c > 0)
			return -iter.next;
	}
	return -view->count - 1;
}

/* Does a hold every label of b? */
static bool
view_contains(const SegmentSetView *a, const SegmentSetView *b)
{
	SegmentSetIter ia;
	SegmentSetIter ib;
	SegmentSetLabel la;
	SegmentSetLabel lb;

	if (b->count > a->count)
		return false;
	segment_set_iter_init(&ia, a);
	segment_set_iter_init(&ib, b);
	if (!segment_set_iter_next(&ib, &lb))
		return true;
	while (segment_set_iter_next(&ia, &la))
	{
		int			c = segment_set_label_cmp(&la, &lb);

		if (c > 0)
			return false;
		if (c == 0 && !segment_set_iter_next(&ib, &lb))
			return true;
	}
	return false;
}

/* Do a and b share a label? */
static bool
view_overlaps(const SegmentSetView *a, const SegmentSetView *b)
{
	SegmentSetIter ia;
	SegmentSetIter ib;
	SegmentSetLabel la;
	SegmentSetLabel lb;
	bool		more;

	segment_set_iter_init(&ia, a);
	segment_set_iter_init(&ib, b);
	more = segment_set_iter_next(&ia, &la) && segment_set_iter_next(&ib, &lb);
	while (more)
	{
		int			c = segment_set_label_cmp(&la, &lb);

		if (c == 0)
			return true;
		more = c < 0 ? segment_set_iter_next(&ia, &la) : segment_set_iter_next(&ib, &lb);
	}
	return false;
}

/* segment_set ? text: does the set hold the label? */
Datum
segment_set_has(PG_FUNCTION_ARGS)
{
	SegmentSetView view;
	text	   *t = PG_GETARG_TEXT_PP(1);
	SegmentSetLabel label = {VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)};

	segment_set_view(PG_GETARG_SEGMENT_SET(0), &view);
	PG_RETURN_BOOL(view_find(&view, &label) >= 0);
}

/* segment_set + text: the set with the label added. */
Datum
segment_set_add(PG_FUNCTION_ARGS)
{
	struct varlena *set = PG_GETARG_SEGMENT_SET(0);
	text	   *t = PG_GETARG_TEXT_PP(1);
	SegmentSetLabel label = {VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)};
	SegmentSetView view;
	SegmentSetLabel *labels;
	int			at;

	segment_set_check_label(label.len);
	segment_set_view(set, &view);
	at = view_find(&view, &label);
	if (at >= 0)
		PG_RETURN_POINTER(set);
	at = -at - 1;
	check_label_count(view.count + 1);
	labels = view_labels(&view, 1);
	memmove(&labels[at + 1], &labels[at], sizeof(SegmentSetLabel) * (view.count - at));
	labels[at] = label;
	PG_RETURN_POINTER(segment_set_from_labels(labels, view.count + 1));
}

/* segment_set - text: the set without the label. */
Datum
segment_set_remove(PG_FUNCTION_ARGS)
{
	struct varlena *set = PG_GETARG_SEGMENT_SET(0);
	text	   *t = PG_GETARG_TEXT_PP(1);
	SegmentSetLabel label = {VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)};
	SegmentSetView view;
	SegmentSetLabel *labels;
	int			at;

	segment_set_view(set, &view);
	at = view_find(&view, &label);
	if (at < 0)
		PG_RETURN_POINTER(set);
	labels = view_labels(&view, 0);
	memmove(&labels[at], &labels[at + 1], sizeof(SegmentSetLabel) * (view.count - at - 1));
	PG_RETURN_POINTER(segment_set_from_labels(labels, view.count - 1));
}

/* Merges two sets: their union, or their intersection. */
static struct varlena *
merge_sets(FunctionCallInfo fcinfo, bool keep_unshared)
{
	SegmentSetView a;
	SegmentSetView b;
	SegmentSetIter ia;
	SegmentSetIter ib;
	SegmentSetLabel la;
	SegmentSetLabel lb;
	SegmentSetLabel *labels;
	bool		more_a;
	bool		more_b;
	int			count = 0;

	segment_set_view(PG_GETARG_SEGMENT_SET(0), &a);
	segment_set_view(PG_GETARG_SEGMENT_SET(1), &b);
	labels = palloc(sizeof(SegmentSetLabel) * Max(a.count + b.count, 1));
	segment_set_iter_init(&ia, &a);
	segment_set_iter_init(&ib, &b);
	more_a = segment_set_iter_next(&ia, &la);
	more_b = segment_set_iter_next(&ib, &lb);
	/* an intersection ends with either set, a union with both */
	while (keep_unshared ? (more_a || more_b) : (more_a && more_b))
	{
		int			c = !more_a ? 1 : !more_b ? -1 : segment_set_label_cmp(&la, &lb);

		if (c == 0 || keep_unshared)
			labels[count++] = c <= 0 ? la : lb;
		if (c <= 0)
			more_a = segment_set_iter_next(&ia, &la);
		if (c >= 0)
			more_b = segment_set_iter_next(&ib, &lb);
	}
	check_label_count(count);
	return segment_set_from_labels(labels, count);
}

/* segment_set | segment_set: union. */
Datum
segment_set_union(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(merge_sets(fcinfo, true));
}

/* segment_set & segment_set: intersection. */
Datum
segment_set_intersect(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(merge_sets(fcinfo, false));
}

/* a @> b: a holds every label of b. */
Datum
segment_set_contains(PG_FUNCTION_ARGS)
{
	SegmentSetView a;
	SegmentSetView b;

	segment_set_view(PG_GETARG_SEGMENT_SET(0), &a);
	segment_set_view(PG_GETARG_SEGMENT_SET(1), &b);
	PG_RETURN_BOOL(view_contains(&a, &b));
}

/* a <@ b: b holds every label of a. */
Datum
segment_set_contained(PG_FUNCTION_ARGS)
{
	SegmentSetView a;
	SegmentSetView b;

	segment_set_view(PG_GETARG_SEGMENT_SET(0), &a);
	segment_set_view(PG_GETARG_SEGMENT_SET(1), &b);
	PG_RETURN_BOOL(view_contains(&b, &a));
}

/* a && b: a and b share a label. */
Datum
segment_set_overlaps(PG_FUNCTION_ARGS)
{
	SegmentSetView a;
	SegmentSetView b;

	segment_set_view(PG_GETARG_SEGMENT_SET(0), &a);
	segment_set_view(PG_GETARG_SEGMENT_SET(1), &b);
	PG_RETURN_BOOL(view_overlaps(&a, &b));
}

/*
 * Equality, order and hashing.  Canonical values make equality a comparison
 * of bytes.  The order is lexicographic over the sorted labels, like text[]
 * under the "C" collation: {} < {a} < {a,b} < {b}.
 */

static bool
sets_equal(FunctionCallInfo fcinfo)
{
	struct varlena *a = PG_GETARG_SEGMENT_SET(0);
	struct varlena *b = PG_GETARG_SEGMENT_SET(1);

	return VARSIZE_ANY_EXHDR(a) == VARSIZE_ANY_EXHDR(b) &&
		memcmp(VARDATA_ANY(a), VARDATA_ANY(b), VARSIZE_ANY_EXHDR(a)) == 0;
}

static int
sets_compare(FunctionCallInfo fcinfo)
{
	SegmentSetView a;
	SegmentSetView b;
	SegmentSetIter ia;
	SegmentSetIter ib;
	SegmentSetLabel la;
	SegmentSetLabel lb;

	segment_set_view(PG_GETARG_SEGMENT_SET(0), &a);
	segment_set_view(PG_GETARG_SEGMENT_SET(1), &b);
	segment_set_iter_init(&ia, &a);
	segment_set_iter_init(&ib, &b);
	for (;;)
	{
		bool		more_a = segment_set_iter_next(&ia, &la);
		bool		more_b = segment_set_iter_next(&ib, &lb);
		int			c;

		if (!more_a || !more_b)
			return (int) more_a - (int) more_b;
		c = segment_set_label_cmp(&la, &lb);
		if (c != 0)
			return c < 0 ? -1 : 1;
	}
}

/* Implementation of = for segment_set. */
Datum
segment_set_eq(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(sets_equal(fcinfo));
}

/* Implementation of <> for segment_set. */
Datum
segment_set_ne(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(!sets_equal(fcinfo));
}

/* Implementation of < for segment_set. */
Datum
segment_set_lt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(sets_compare(fcinfo) < 0);
}

/* Implementation of <= for segment_set. */
Datum
segment_set_le(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(sets_compare(fcinfo) <= 0);
}

/* Implementation of > for segment_set. */
Datum
segment_set_gt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(sets_compare(fcinfo) > 0);
}

/* Implementation of >= for segment_set. */
Datum
segment_set_ge(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(sets_compare(fcinfo) >= 0);
}

/* B-tree comparison: lexicographic over the sorted labels. */
Datum
segment_set_cmp(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(sets_compare(fcinfo));
}

/* Hash of the canonical bytes, for hash joins, hashed GROUP BY and DISTINCT. */
Datum
segment_set_hash(PG_FUNCTION_ARGS)
{
	struct varlena *set = PG_GETARG_SEGMENT_SET(0);

	return hash_any((const unsigned char *) VARDATA_ANY(set), VARSIZE_ANY_EXHDR(set));
}

/* Seeded hash of the canonical bytes. */
Datum
segment_set_hash_extended(PG_FUNCTION_ARGS)
{
	struct varlena *set = PG_GETARG_SEGMENT_SET(0);

	return hash_any_extended((const unsigned char *) VARDATA_ANY(set),
							 VARSIZE_ANY_EXHDR(set), PG_GETARG_INT64(1));
}
