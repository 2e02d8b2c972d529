/*
 * segment_map.h
 *		Named RFM segments: a segment map is a list of boxes of recency,
 *		frequency and monetary score ranges, each naming a segment; the first
 *		box by ascending priority that contains a customer's cell gives the
 *		customer's primary segment.
 *
 * The maps live in the tables segment_maps and segment_map_boxes of the
 * extension's schema.  A loaded map answers "which segment is this cell
 * in" with one array lookup, so code that assigns segments row by row (the
 * SQL functions here, or a trigger) loads the map once per query and keeps
 * it in fn_extra with segment_map_cached().
 */
#ifndef SEGMENT_SEGMENT_MAP_H
#define SEGMENT_SEGMENT_MAP_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/array.h"

#include "rfm.h"

/* Cell codes r*100 + f*10 + m are below this, so they index arrays directly. */
#define SEGMENT_MAP_CODES 1000

/* The score ranges of one box, inclusive, per dimension (RfmDimension). */
typedef struct SegmentMapBox
{
	int			priority;
	int			min[RFM_DIMENSIONS];
	int			max[RFM_DIMENSIONS];
} SegmentMapBox;

/* Entries of SegmentMap.primary that are not box indexes. */
#define SEGMENT_MAP_NONE	(-1)	/* no box contains the cell */
#define SEGMENT_MAP_OUTSIDE (-2)	/* a score is above the bins of the map */

/*
 * A loaded map.  Boxes are in ascending priority; primary[code] is the index
 * of the first box containing the cell, or one of the marks above; use
 * segment_map_assign(), which reports cells outside the map.  memberships[code]
 * caches the text[] of every containing box, built when first asked for.
 * Maps cached in fn_extra form a list through next.
 */
typedef struct SegmentMap
{
	struct SegmentMap *next;
	text	   *map_name;		/* the name it was loaded by (cache key) */
	int			bins;			/* scores of the map range from 1 to bins */
	int			nboxes;
	SegmentMapBox *boxes;
	text	  **segment_names;	/* segment_names[i] names boxes[i] */
	int16		primary[SEGMENT_MAP_CODES];
	ArrayType **memberships;	/* NULL until segment_map_memberships runs */
	MemoryContext mcxt;			/* where the map and its caches live */
} SegmentMap;

/* Reads a map from the tables of schema into mcxt; error 42704 if missing. */
extern SegmentMap *segment_map_load(Oid schema, text *map_name, MemoryContext mcxt);

/*
 * The map of that name for the calling function, loaded on first use in the
 * query and kept in flinfo->fn_extra (so the caller must not use fn_extra
 * for anything else).  The tables are found in the function's own schema.
 */
extern SegmentMap *segment_map_cached(FmgrInfo *flinfo, text *map_name);

/*
 * Index into map->boxes of the primary segment of a cell, -1 if no box
 * contains it; error 22023 if a score is above the map's bins.
 */
extern int	segment_map_assign(const SegmentMap *map, int16 rfm);

/* Every segment containing the cell, in priority order; owned by the map. */
extern ArrayType *segment_map_memberships(SegmentMap *map, int16 rfm);

#endif							/* SEGMENT_SEGMENT_MAP_H */
