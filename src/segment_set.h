/*
 * segment_set.h
 *		The segment_set type: the set of segment labels of one customer.
 *
 * A segment_set is a varlena whose payload is byte-oriented, so that it can
 * be read in place even from a short (1-byte header) datum:
 *
 *		byte 0			format version, SEGMENT_SET_VERSION
 *		bytes 1-2		number of labels n, big-endian
 *		bytes 3..		n label lengths, one byte each (1..255)
 *		then			the label bytes, one label after the other
 *
 * Labels are sorted bytewise (memcmp, a prefix before its extensions) and
 * unique, so equal sets have equal bytes: equality and hashing work on the
 * bytes.  Labels are non-empty text compared exactly, byte for byte: 'VIP'
 * and 'vip' are different labels.
 */
#ifndef SEGMENT_SET_H
#define SEGMENT_SET_H

#include "postgres.h"

#include "fmgr.h"

#include "compat.h"

#define SEGMENT_SET_VERSION 1
#define SEGMENT_SET_HEADER_BYTES 3
#define SEGMENT_SET_MAX_LABELS 1000
#define SEGMENT_SET_MAX_LABEL_BYTES 255

/* One label: bytes that need not be NUL-terminated. */
typedef struct SegmentSetLabel
{
	const char *data;
	int			len;
} SegmentSetLabel;

/* A read-only view of a segment_set value, pointing into the datum. */
typedef struct SegmentSetView
{
	int			count;
	const uint8 *lengths;		/* count lengths */
	const char *bytes;			/* the labels' bytes, concatenated */
} SegmentSetView;

/* Walks the labels of a view: label (data, len) for each i in turn. */
typedef struct SegmentSetIter
{
	const SegmentSetView *view;
	int			next;
	const char *data;
} SegmentSetIter;

static inline void
segment_set_iter_init(SegmentSetIter *iter, const SegmentSetView *view)
{
	iter->view = view;
	iter->next = 0;
	iter->data = view->bytes;
}

static inline bool
segment_set_iter_next(SegmentSetIter *iter, SegmentSetLabel *label)
{
	if (iter->next >= iter->view->count)
		return false;
	label->data = iter->data;
	label->len = iter->view->lengths[iter->next];
	iter->data += label->len;
	iter->next++;
	return true;
}

/* The argument, detoasted but possibly still with a short header. */
#define PG_GETARG_SEGMENT_SET(n) \
	((struct varlena *) PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(n)))

/*
 * Bytewise order of labels; a label sorts before its extensions.  Labels
 * are short, and rechecks compare many of them, so the loop is inline
 * rather than a call to memcmp.
 */
static inline int
segment_set_label_cmp(const SegmentSetLabel *a, const SegmentSetLabel *b)
{
	const unsigned char *x = (const unsigned char *) a->data;
	const unsigned char *y = (const unsigned char *) b->data;
	int			n = Min(a->len, b->len);

	for (int i = 0; i < n; i++)
		if (x[i] != y[i])
			return (int) x[i] - (int) y[i];
	return a->len - b->len;
}

extern void segment_set_view(const struct varlena *set, SegmentSetView *view);
extern int	segment_set_canonicalize(SegmentSetLabel *labels, int count);
extern struct varlena *segment_set_from_labels(const SegmentSetLabel *labels,
											   int count);

/* The GIN key of a label: a 32-bit hash of its bytes. */
extern int32 segment_set_label_key(const char *data, int len);
extern void segment_set_check_label(int len);

#endif							/* SEGMENT_SET_H */
