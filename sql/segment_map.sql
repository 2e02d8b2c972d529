
-- segment_map: named RFM segments (src/segment_map.c)
--
-- A segment map is a list of boxes of R, F and M score ranges, each naming a
-- segment; the first box by ascending priority that contains a customer's
-- cell is the customer's primary segment.  The map 'default' belongs to the
-- extension (written here, not dumped, read-only); users copy it under a new
-- name with copy_segment_map to change it.  Users' maps are dumped by pg_dump.

CREATE TABLE @extschema@.segment_maps (
	map_name text PRIMARY KEY,
	bins integer NOT NULL DEFAULT 5,
	description text,
	-- the trigger reports these first and more clearly; they hold even when
	-- triggers are off (session_replication_role = replica)
	CONSTRAINT segment_maps_name_not_blank
		CHECK (pg_catalog.btrim(map_name, E' \t\n\r\f\x0B') OPERATOR(pg_catalog.<>) ''),
	CONSTRAINT segment_maps_bins_range
		CHECK (bins OPERATOR(pg_catalog.>=) 1 AND bins OPERATOR(pg_catalog.<=) 9)
);
COMMENT ON TABLE @extschema@.segment_maps IS
	'segment maps: named sets of RFM segments; map default belongs to the extension, copy it with copy_segment_map to change it';
COMMENT ON COLUMN @extschema@.segment_maps.map_name IS 'name of the map, as passed to segment_assign';
COMMENT ON COLUMN @extschema@.segment_maps.bins IS 'scores of the map range from 1 to bins (1 to 9); customers must be scored with this many bins';
COMMENT ON COLUMN @extschema@.segment_maps.description IS 'free text about the map';
COMMENT ON CONSTRAINT segment_maps_name_not_blank ON @extschema@.segment_maps IS 'a map name has a character other than white space';
COMMENT ON CONSTRAINT segment_maps_bins_range ON @extschema@.segment_maps IS 'bins range from 1 to 9';

CREATE TABLE @extschema@.segment_map_boxes (
	map_name text NOT NULL REFERENCES @extschema@.segment_maps (map_name) ON UPDATE CASCADE ON DELETE CASCADE,
	segment_name text NOT NULL,
	priority integer NOT NULL,
	recency_min integer NOT NULL,
	recency_max integer NOT NULL,
	frequency_min integer NOT NULL,
	frequency_max integer NOT NULL,
	monetary_min integer NOT NULL,
	monetary_max integer NOT NULL,
	PRIMARY KEY (map_name, segment_name),
	UNIQUE (map_name, priority),
	CONSTRAINT segment_map_boxes_name_not_blank
		CHECK (pg_catalog.btrim(segment_name, E' \t\n\r\f\x0B') OPERATOR(pg_catalog.<>) ''),
	CONSTRAINT segment_map_boxes_ranges CHECK (
		recency_min OPERATOR(pg_catalog.>=) 1 AND recency_min OPERATOR(pg_catalog.<=) recency_max AND
		recency_max OPERATOR(pg_catalog.<=) 9 AND
		frequency_min OPERATOR(pg_catalog.>=) 1 AND frequency_min OPERATOR(pg_catalog.<=) frequency_max AND
		frequency_max OPERATOR(pg_catalog.<=) 9 AND
		monetary_min OPERATOR(pg_catalog.>=) 1 AND monetary_min OPERATOR(pg_catalog.<=) monetary_max AND
		monetary_max OPERATOR(pg_catalog.<=) 9)
);
COMMENT ON TABLE @extschema@.segment_map_boxes IS
	'the segments of the segment maps: a box of R, F and M score ranges each; the first box by priority containing a cell is its primary segment';
COMMENT ON COLUMN @extschema@.segment_map_boxes.map_name IS 'the map the segment belongs to';
COMMENT ON COLUMN @extschema@.segment_map_boxes.segment_name IS 'name of the segment, unique in its map';
COMMENT ON COLUMN @extschema@.segment_map_boxes.priority IS 'boxes are tried in ascending priority; unique in the map';
COMMENT ON COLUMN @extschema@.segment_map_boxes.recency_min IS 'lowest recency score in the box';
COMMENT ON COLUMN @extschema@.segment_map_boxes.recency_max IS 'highest recency score in the box';
COMMENT ON COLUMN @extschema@.segment_map_boxes.frequency_min IS 'lowest frequency score in the box';
COMMENT ON COLUMN @extschema@.segment_map_boxes.frequency_max IS 'highest frequency score in the box';
COMMENT ON COLUMN @extschema@.segment_map_boxes.monetary_min IS 'lowest monetary score in the box';
COMMENT ON COLUMN @extschema@.segment_map_boxes.monetary_max IS 'highest monetary score in the box';
COMMENT ON CONSTRAINT segment_map_boxes_name_not_blank ON @extschema@.segment_map_boxes IS 'a segment name has a character other than white space';
COMMENT ON CONSTRAINT segment_map_boxes_ranges ON @extschema@.segment_map_boxes IS 'every range is within 1 to 9 and not empty (the trigger checks the bins of the map)';

CREATE FUNCTION segment_internal.segment_maps_check() RETURNS trigger
	AS 'MODULE_PATHNAME' LANGUAGE C;
COMMENT ON FUNCTION segment_internal.segment_maps_check() IS
	'trigger of segment_maps: names not blank, bins 1 to 9 and no box beyond them, map default left alone';
CREATE TRIGGER segment_maps_check BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.segment_maps
	FOR EACH ROW EXECUTE FUNCTION segment_internal.segment_maps_check();
CREATE TRIGGER segment_maps_truncate BEFORE TRUNCATE ON @extschema@.segment_maps
	FOR EACH STATEMENT EXECUTE FUNCTION segment_internal.segment_maps_check();
COMMENT ON TRIGGER segment_maps_check ON @extschema@.segment_maps IS 'validates maps as they are written';
COMMENT ON TRIGGER segment_maps_truncate ON @extschema@.segment_maps IS 'keeps map default from being truncated away';

CREATE FUNCTION segment_internal.segment_map_boxes_check() RETURNS trigger
	AS 'MODULE_PATHNAME' LANGUAGE C;
COMMENT ON FUNCTION segment_internal.segment_map_boxes_check() IS
	'trigger of segment_map_boxes: names not blank, ranges within the bins of the map, names and priorities unique, map default left alone';
CREATE TRIGGER segment_map_boxes_check BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.segment_map_boxes
	FOR EACH ROW EXECUTE FUNCTION segment_internal.segment_map_boxes_check();
CREATE TRIGGER segment_map_boxes_truncate BEFORE TRUNCATE ON @extschema@.segment_map_boxes
	FOR EACH STATEMENT EXECUTE FUNCTION segment_internal.segment_map_boxes_check();
COMMENT ON TRIGGER segment_map_boxes_check ON @extschema@.segment_map_boxes IS 'validates segments as they are written';
COMMENT ON TRIGGER segment_map_boxes_truncate ON @extschema@.segment_map_boxes IS 'keeps map default from being truncated away';

-- The default map: the widely used RFM segments over 5 bins.  Every one of
-- the 125 cells has exactly one primary segment and every segment is the
-- primary segment of some cells (sql/segment_map.sql proves both).  Boxes
-- overlap on purpose: Champions are Loyal Customers too, Can't Lose Them
-- are At Risk, Need Attention are About to Sleep, Lost are Hibernating.
INSERT INTO @extschema@.segment_maps (map_name, bins, description) VALUES
	('default', 5, 'the widely used RFM segments (Champions, Loyal Customers, ..., Lost) over 5 bins');
INSERT INTO @extschema@.segment_map_boxes (map_name, segment_name, priority,
										   recency_min, recency_max, frequency_min, frequency_max,
										   monetary_min, monetary_max) VALUES
	('default', 'Champions',           10, 4, 5, 4, 5, 4, 5),
	('default', 'Loyal Customers',     20, 3, 5, 4, 5, 1, 5),
	('default', 'Can''t Lose Them',    30, 1, 2, 4, 5, 4, 5),
	('default', 'At Risk',             40, 1, 2, 3, 5, 1, 5),
	('default', 'New Customers',       50, 5, 5, 1, 1, 1, 5),
	('default', 'Promising',           60, 4, 4, 1, 1, 1, 5),
	('default', 'Potential Loyalists', 70, 4, 5, 2, 3, 1, 5),
	('default', 'Need Attention',      80, 3, 3, 2, 3, 3, 5),
	('default', 'About to Sleep',      90, 3, 3, 1, 3, 1, 5),
	('default', 'Lost',               100, 1, 1, 1, 1, 1, 5),
	('default', 'Hibernating',        110, 1, 2, 1, 2, 1, 5);

-- users' maps survive pg_dump; the default map is rewritten by CREATE EXTENSION
SELECT pg_catalog.pg_extension_config_dump(c.oid::pg_catalog.regclass, 'WHERE map_name <> ''default''')
FROM pg_catalog.pg_class c
WHERE c.relname OPERATOR(pg_catalog.=) 'segment_maps' AND c.relnamespace OPERATOR(pg_catalog.=)
	(SELECT e.extnamespace FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'segment');
SELECT pg_catalog.pg_extension_config_dump(c.oid::pg_catalog.regclass, 'WHERE map_name <> ''default''')
FROM pg_catalog.pg_class c
WHERE c.relname OPERATOR(pg_catalog.=) 'segment_map_boxes' AND c.relnamespace OPERATOR(pg_catalog.=)
	(SELECT e.extnamespace FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'segment');

-- everyone reads the maps; only the owner (and superusers) write them
GRANT SELECT ON @extschema@.segment_maps, @extschema@.segment_map_boxes TO PUBLIC;

CREATE FUNCTION @extschema@.segment_assign(rfm @extschema@.rfm, map_name text DEFAULT 'default') RETURNS text
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.segment_assign(@extschema@.rfm, text) IS
	'primary segment of a cell in a segment map: the first box by priority containing it, NULL if none';

CREATE FUNCTION @extschema@.segment_memberships(rfm @extschema@.rfm, map_name text DEFAULT 'default') RETURNS text[]
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.segment_memberships(@extschema@.rfm, text) IS
	'every segment of a segment map whose box contains the cell, in priority order (the primary segment first)';

CREATE FUNCTION @extschema@.segment_map_cells(map_name text DEFAULT 'default')
	RETURNS TABLE (recency integer, frequency integer, monetary integer, rfm @extschema@.rfm, segment text)
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL SAFE ROWS 125;
COMMENT ON FUNCTION @extschema@.segment_map_cells(text) IS
	'every cell of a segment map (bins cubed of them, in cell order) with its primary segment';

CREATE FUNCTION @extschema@.copy_segment_map(source text, target text) RETURNS void
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.copy_segment_map(text, text) IS
	'creates segment map target with the bins, description and segments of source; the way to change the default map';
