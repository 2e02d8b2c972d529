--
-- segment_map: named RFM segments, segment maps and the default map.
--
-- Proves: for all 125 cells of the default map, segment_assign and
-- segment_map_cells agree with a hand-written CASE over the R-F-M grid and
-- with a generic "first box by priority" query over segment_map_boxes;
-- every cell has exactly one primary segment and every one of the 11
-- default segments is the primary segment of some cells (the distribution
-- is shown); segment_memberships equals every containing box in priority
-- order, primary first, for all cells; a user's map can be created,
-- assigned, copied, changed (seen by the next statement, also inside one
-- transaction), renamed, re-binned and deleted, several maps work in one
-- query, and cells outside a map's bins are an error (22023); bad
-- definitions are rejected by the triggers with their SQLSTATEs (blank and
-- null names, ranges outside 1..bins or empty, duplicate names and
-- priorities, unknown maps, bins 0 and 10, lowering bins below a box);
-- the default map cannot be changed (42501) but can be copied; names with
-- quotes, semicolons and SQL in them are stored verbatim and run nothing;
-- NULLs give NULL; the tables are readable by everyone, writable only by
-- their owner; both tables are registered for pg_dump with the default map
-- left out; every table and column has a comment.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segment;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT never

--
-- The default map
--
SELECT map_name, bins, description FROM segment_maps ORDER BY map_name;
SELECT priority, segment_name,
       recency_min || '..' || recency_max AS r, frequency_min || '..' || frequency_max AS f,
       monetary_min || '..' || monetary_max AS m
FROM segment_map_boxes WHERE map_name = 'default' ORDER BY priority;

-- ORACLE.  Three independent answers for every cell: segment_assign; a CASE
-- written by hand over the R-F-M grid (by recency first, not by priority);
-- and the generic definition, the first box by priority containing the cell,
-- as plain SQL over segment_map_boxes.  Any disagreement is listed.
CREATE TEMP TABLE default_cells AS
SELECT r, f, m, make_rfm(r, f, m) AS cell,
       segment_assign(make_rfm(r, f, m)) AS assigned,
       CASE r
           WHEN 5 THEN CASE WHEN f = 1 THEN 'New Customers'
                            WHEN f <= 3 THEN 'Potential Loyalists'
                            WHEN m >= 4 THEN 'Champions'
                            ELSE 'Loyal Customers' END
           WHEN 4 THEN CASE WHEN f = 1 THEN 'Promising'
                            WHEN f <= 3 THEN 'Potential Loyalists'
                            WHEN m >= 4 THEN 'Champions'
                            ELSE 'Loyal Customers' END
           WHEN 3 THEN CASE WHEN f >= 4 THEN 'Loyal Customers'
                            WHEN f >= 2 AND m >= 3 THEN 'Need Attention'
                            ELSE 'About to Sleep' END
           ELSE CASE WHEN f >= 4 AND m >= 4 THEN 'Can''t Lose Them'
                     WHEN f >= 3 THEN 'At Risk'
                     WHEN r = 1 AND f = 1 THEN 'Lost'
                     ELSE 'Hibernating' END
       END AS by_case,
       (SELECT b.segment_name FROM segment_map_boxes b
        WHERE b.map_name = 'default'
          AND r BETWEEN b.recency_min AND b.recency_max
          AND f BETWEEN b.frequency_min AND b.frequency_max
          AND m BETWEEN b.monetary_min AND b.monetary_max
        ORDER BY b.priority LIMIT 1) AS by_boxes,
       (SELECT count(*) FROM segment_map_boxes b
        WHERE b.map_name = 'default'
          AND r BETWEEN b.recency_min AND b.recency_max
          AND f BETWEEN b.frequency_min AND b.frequency_max
          AND m BETWEEN b.monetary_min AND b.monetary_max) AS containing_boxes
FROM generate_series(1, 5) r, generate_series(1, 5) f, generate_series(1, 5) m;
-- disagreements (none)
SELECT c.cell, c.assigned, c.by_case, c.by_boxes, g.segment AS from_grid
FROM default_cells c FULL JOIN segment_map_cells() g ON g.rfm = c.cell
WHERE c.assigned IS DISTINCT FROM c.by_case OR c.assigned IS DISTINCT FROM c.by_boxes
   OR c.assigned IS DISTINCT FROM g.segment;
-- 125 cells, each with exactly one primary segment (inside at least one box)
SELECT count(*) AS cells, count(DISTINCT cell) AS distinct_cells,
       count(assigned) AS assigned, count(*) FILTER (WHERE containing_boxes = 0) AS uncovered,
       count(*) FILTER (WHERE assigned = by_case AND assigned = by_boxes) AS agreeing
FROM default_cells;
-- every default segment is reachable: cells per segment, none zero
SELECT b.priority, b.segment_name, count(c.cell) AS cells
FROM segment_map_boxes b LEFT JOIN default_cells c ON c.assigned = b.segment_name
WHERE b.map_name = 'default'
GROUP BY b.priority, b.segment_name ORDER BY b.priority;
-- and they are exactly the 11 widely used segments
SELECT coalesce(b.segment_name, '(missing)') AS in_map, coalesce(w.name, '(extra)') AS expected
FROM (SELECT segment_name FROM segment_map_boxes WHERE map_name = 'default') b
FULL JOIN (VALUES ('Champions'), ('Loyal Customers'), ('Potential Loyalists'), ('New Customers'),
                  ('Promising'), ('Need Attention'), ('About to Sleep'), ('At Risk'),
                  ('Can''t Lose Them'), ('Hibernating'), ('Lost')) w(name) ON w.name = b.segment_name
WHERE b.segment_name IS NULL OR w.name IS NULL;

-- the map as a grid: one line per R and F, the segments of M = 1..5
SELECT recency AS r, frequency AS f, string_agg(segment, ' | ' ORDER BY monetary) AS "M = 1 | 2 | 3 | 4 | 5"
FROM segment_map_cells() GROUP BY recency, frequency ORDER BY recency DESC, frequency DESC;
-- segment_map_cells lists the cells in cell order
SELECT count(*), min(rfm), max(rfm),
       bool_and(rfm = make_rfm(recency, frequency, monetary)) AS consistent
FROM segment_map_cells();
SELECT * FROM segment_map_cells() LIMIT 3;

-- memberships: every containing box in priority order, the primary first
SELECT c.cell, segment_memberships(c.cell) AS memberships
FROM default_cells c
WHERE c.cell IN ('5-5-5', '4-4-3', '3-3-3', '3-1-5', '2-5-5', '1-3-1', '1-1-1', '2-2-2', '5-1-1')
ORDER BY c.cell DESC;
SELECT count(*) AS cells,
       count(*) FILTER (WHERE (segment_memberships(c.cell))[1] = c.assigned) AS primary_first,
       count(*) FILTER (WHERE segment_memberships(c.cell) = c.expected) AS all_boxes
FROM (SELECT d.*,
             ARRAY(SELECT b.segment_name FROM segment_map_boxes b
                   WHERE b.map_name = 'default'
                     AND d.r BETWEEN b.recency_min AND b.recency_max
                     AND d.f BETWEEN b.frequency_min AND b.frequency_max
                     AND d.m BETWEEN b.monetary_min AND b.monetary_max
                   ORDER BY b.priority) AS expected
      FROM default_cells d) c;
SELECT cardinality(segment_memberships(cell)) AS segments, count(*) AS cells
FROM default_cells GROUP BY 1 ORDER BY 1;

-- the default map is the default argument
SELECT segment_assign('5-5-5') = segment_assign('5-5-5', 'default') AS same,
       segment_memberships('2-4-5') = segment_memberships('2-4-5', 'default') AS same_memberships;
-- scores of 9 bins do not fit the 5 bins of the default map
SELECT segment_assign('6-1-1');
\echo :LAST_ERROR_SQLSTATE
SELECT segment_memberships('1-1-9');
\echo :LAST_ERROR_SQLSTATE

--
-- A user's map
--
INSERT INTO segment_maps (map_name, bins, description) VALUES ('vip', 3, 'three bins, gaps left');
INSERT INTO segment_map_boxes VALUES
    ('vip', 'Top',    10, 3, 3, 3, 3, 3, 3),
    ('vip', 'Recent', 20, 3, 3, 1, 3, 1, 3),
    ('vip', 'Big',    30, 1, 3, 1, 3, 3, 3);
SELECT c.cell, segment_assign(c.cell, 'vip') AS segment, segment_memberships(c.cell, 'vip') AS memberships
FROM (VALUES ('3-3-3'::rfm), ('3-1-1'), ('1-1-3'), ('2-3-3'), ('1-1-1'), ('2-2-2')) c(cell);
-- uncovered cells are NULL; the grid has 27 cells
SELECT count(*) AS cells, count(segment) AS covered, count(*) FILTER (WHERE segment IS NULL) AS uncovered
FROM segment_map_cells('vip');
-- a 9-bin score does not fit a 3-bin map
SELECT segment_assign('4-1-1', 'vip');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_map_cells('vip') WHERE rfm = '1-1-4';
-- several maps in one query, alternating row by row
SELECT c.cell, c.map, segment_assign(c.cell, c.map), segment_memberships(c.cell, c.map)
FROM (VALUES ('3-3-3'::rfm, 'vip'), ('3-3-3', 'default'), ('1-1-3', 'vip'), ('1-1-3', 'default'),
             ('3-3-3', 'vip')) c(cell, map);

-- copy the default map, change the copy; the next statement sees the change
SELECT copy_segment_map('default', 'mine');
SELECT map_name, bins, description FROM segment_maps WHERE map_name = 'mine';
SELECT count(*) AS boxes_copied,
       count(*) FILTER (WHERE (b.segment_name, b.priority, b.recency_min, b.recency_max, b.frequency_min,
                               b.frequency_max, b.monetary_min, b.monetary_max)
                              = (d.segment_name, d.priority, d.recency_min, d.recency_max, d.frequency_min,
                                 d.frequency_max, d.monetary_min, d.monetary_max)) AS identical
FROM segment_map_boxes b JOIN segment_map_boxes d ON d.map_name = 'default' AND d.segment_name = b.segment_name
WHERE b.map_name = 'mine';
SELECT segment_assign('4-4-4', 'mine') AS before;
UPDATE segment_map_boxes SET recency_min = 5 WHERE map_name = 'mine' AND segment_name = 'Champions';
SELECT segment_assign('4-4-4', 'mine') AS after, segment_memberships('4-4-4', 'mine'),
       segment_assign('4-4-4') AS in_default;
-- and inside one transaction
BEGIN;
SELECT segment_assign('3-3-3', 'mine') AS before;
UPDATE segment_map_boxes SET priority = 5 WHERE map_name = 'mine' AND segment_name = 'About to Sleep';
SELECT segment_assign('3-3-3', 'mine') AS after, segment_memberships('3-3-3', 'mine');
ROLLBACK;
SELECT segment_assign('3-3-3', 'mine') AS rolled_back;
-- a new box of the copy, in a gap of priorities
INSERT INTO segment_map_boxes VALUES ('mine', 'Whales', 5, 1, 5, 1, 5, 5, 5);
SELECT segment_assign('1-1-5', 'mine'), segment_memberships('1-1-5', 'mine');
-- the same segment name in another map is fine
INSERT INTO segment_map_boxes VALUES ('vip', 'Champions', 40, 2, 3, 2, 3, 2, 3);
-- a box moves to another map: checked against that map
UPDATE segment_map_boxes SET map_name = 'vip' WHERE map_name = 'mine' AND segment_name = 'Whales';
\echo :LAST_ERROR_SQLSTATE
UPDATE segment_map_boxes SET map_name = 'vip', priority = 1, monetary_min = 3, monetary_max = 3,
                             recency_max = 3, frequency_max = 3
WHERE map_name = 'mine' AND segment_name = 'Whales';
SELECT map_name, segment_name, priority FROM segment_map_boxes WHERE segment_name = 'Whales';
SELECT segment_assign('1-1-5', 'mine') AS mine, segment_assign('1-1-3', 'vip') AS vip;
-- renaming a map renames its boxes
UPDATE segment_maps SET map_name = 'vip 2' WHERE map_name = 'vip';
SELECT map_name, count(*) FROM segment_map_boxes WHERE map_name LIKE 'vip%' GROUP BY 1;
SELECT segment_assign('3-3-3', 'vip 2');
SELECT segment_assign('3-3-3', 'vip');
\echo :LAST_ERROR_SQLSTATE
-- raising and lowering bins while the boxes still fit
UPDATE segment_maps SET bins = 4 WHERE map_name = 'vip 2';
SELECT segment_assign('4-4-4', 'vip 2') AS uncovered, count(*) AS cells FROM segment_map_cells('vip 2');
UPDATE segment_maps SET bins = 3 WHERE map_name = 'vip 2';
-- a map without boxes: every cell uncovered
INSERT INTO segment_maps (map_name, bins) VALUES ('empty', 1);
SELECT segment_assign('1-1-1', 'empty'), segment_memberships('1-1-1', 'empty'), count(*) AS cells
FROM segment_map_cells('empty');
-- a 9-bin map
INSERT INTO segment_maps (map_name, bins) VALUES ('nine', 9);
INSERT INTO segment_map_boxes VALUES ('nine', 'Top', 1, 9, 9, 9, 9, 9, 9), ('nine', 'Rest', 2, 1, 9, 1, 9, 1, 9);
SELECT segment_assign('9-9-9', 'nine'), segment_assign('9-9-8', 'nine'), count(*) AS cells
FROM segment_map_cells('nine');
-- deleting a map deletes its boxes
DELETE FROM segment_maps WHERE map_name IN ('empty', 'nine');
SELECT count(*) AS boxes_left FROM segment_map_boxes WHERE map_name IN ('empty', 'nine');

--
-- Bad definitions: each is an error with its SQLSTATE
--
-- blank and null map names
INSERT INTO segment_maps (map_name) VALUES ('');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO segment_maps (map_name) VALUES ('   ');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO segment_maps (map_name) VALUES (E' \t\n');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO segment_maps (map_name) VALUES (NULL);
\echo :LAST_ERROR_SQLSTATE
UPDATE segment_maps SET map_name = ' ' WHERE map_name = 'mine';
\echo :LAST_ERROR_SQLSTATE
-- a map name taken
INSERT INTO segment_maps (map_name) VALUES ('mine');
\echo :LAST_ERROR_SQLSTATE
UPDATE segment_maps SET map_name = 'mine' WHERE map_name = 'vip 2';
\echo :LAST_ERROR_SQLSTATE
-- bins 0, 10, -1 and NULL
INSERT INTO segment_maps (map_name, bins) VALUES ('zero', 0);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO segment_maps (map_name, bins) VALUES ('ten', 10);
\echo :LAST_ERROR_SQLSTATE
UPDATE segment_maps SET bins = -1 WHERE map_name = 'mine';
\echo :LAST_ERROR_SQLSTATE
INSERT INTO segment_maps (map_name, bins) VALUES ('null bins', NULL);
\echo :LAST_ERROR_SQLSTATE
-- lowering bins below a box's range: the first such box by priority is named
UPDATE segment_maps SET bins = 4 WHERE map_name = 'mine';
\echo :LAST_ERROR_SQLSTATE
UPDATE segment_maps SET bins = 2 WHERE map_name = 'vip 2';
\echo :LAST_ERROR_SQLSTATE
-- blank and null segment names
INSERT INTO segment_map_boxes VALUES ('mine', '', 200, 1, 1, 1, 1, 1, 1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO segment_map_boxes VALUES ('mine', '  ', 200, 1, 1, 1, 1, 1, 1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO segment_map_boxes VALUES ('mine', NULL, 200, 1, 1, 1, 1, 1, 1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO segment_map_boxes VALUES (' ', 'Blank map', 200, 1, 1, 1, 1, 1, 1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO segment_map_boxes VALUES (NULL, 'No map', 200, 1, 1, 1, 1, 1, 1);
\echo :LAST_ERROR_SQLSTATE
-- a box of a map that does not exist
INSERT INTO segment_map_boxes VALUES ('no such map', 'Lonely', 1, 1, 1, 1, 1, 1, 1);
\echo :LAST_ERROR_SQLSTATE
-- ranges: 0, 6 with 5 bins, min > max, NULL, and a null priority
INSERT INTO segment_map_boxes VALUES ('mine', 'Zero', 200, 0, 5, 1, 5, 1, 5);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO segment_map_boxes VALUES ('mine', 'Six', 200, 1, 5, 1, 5, 1, 6);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO segment_map_boxes VALUES ('mine', 'Upside down', 200, 1, 5, 4, 2, 1, 5);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO segment_map_boxes VALUES ('mine', 'Open', 200, 1, 5, 1, 5, NULL, 5);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO segment_map_boxes VALUES ('mine', 'Unranked', NULL, 1, 5, 1, 5, 1, 5);
\echo :LAST_ERROR_SQLSTATE
UPDATE segment_map_boxes SET recency_max = 6 WHERE map_name = 'mine' AND segment_name = 'Lost';
\echo :LAST_ERROR_SQLSTATE
-- a segment name twice in a map; a priority twice in a map
INSERT INTO segment_map_boxes VALUES ('mine', 'Champions', 200, 1, 5, 1, 5, 1, 5);
\echo :LAST_ERROR_SQLSTATE
UPDATE segment_map_boxes SET segment_name = 'Lost' WHERE map_name = 'mine' AND segment_name = 'Hibernating';
\echo :LAST_ERROR_SQLSTATE
INSERT INTO segment_map_boxes VALUES ('mine', 'Second', 10, 1, 5, 1, 5, 1, 5);
\echo :LAST_ERROR_SQLSTATE
UPDATE segment_map_boxes SET priority = 20 WHERE map_name = 'mine' AND segment_name = 'Lost';
\echo :LAST_ERROR_SQLSTATE
-- unknown maps in the functions
SELECT segment_assign('1-1-1', 'no such map');
\echo :LAST_ERROR_SQLSTATE
SELECT segment_memberships('1-1-1', 'no such map');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_map_cells('no such map');
\echo :LAST_ERROR_SQLSTATE
SELECT copy_segment_map('no such map', 'copy');
\echo :LAST_ERROR_SQLSTATE
-- copying onto an existing map, or with NULL names
SELECT copy_segment_map('default', 'mine');
\echo :LAST_ERROR_SQLSTATE
SELECT copy_segment_map(NULL, 'copy');
\echo :LAST_ERROR_SQLSTATE
SELECT copy_segment_map('default', NULL);
\echo :LAST_ERROR_SQLSTATE
-- the map name is case and space sensitive, like any text key
SELECT segment_assign('1-1-1', 'Default');
\echo :LAST_ERROR_SQLSTATE
-- nothing above was stored
SELECT map_name, bins, (SELECT count(*) FROM segment_map_boxes b WHERE b.map_name = m.map_name) AS boxes
FROM segment_maps m ORDER BY map_name;

--
-- The default map belongs to the extension: it cannot be changed, only copied
--
UPDATE segment_map_boxes SET recency_min = 3 WHERE map_name = 'default' AND segment_name = 'Champions';
\echo :LAST_ERROR_SQLSTATE
DELETE FROM segment_map_boxes WHERE map_name = 'default' AND segment_name = 'Lost';
\echo :LAST_ERROR_SQLSTATE
INSERT INTO segment_map_boxes VALUES ('default', 'Whales', 5, 1, 5, 1, 5, 5, 5);
\echo :LAST_ERROR_SQLSTATE
UPDATE segment_map_boxes SET map_name = 'default' WHERE map_name = 'mine' AND segment_name = 'Lost';
\echo :LAST_ERROR_SQLSTATE
UPDATE segment_maps SET description = 'mine now' WHERE map_name = 'default';
\echo :LAST_ERROR_SQLSTATE
UPDATE segment_maps SET map_name = 'renamed' WHERE map_name = 'default';
\echo :LAST_ERROR_SQLSTATE
DELETE FROM segment_maps WHERE map_name = 'default';
\echo :LAST_ERROR_SQLSTATE
DELETE FROM segment_maps;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO segment_maps (map_name) VALUES ('default');
\echo :LAST_ERROR_SQLSTATE
TRUNCATE segment_map_boxes;
\echo :LAST_ERROR_SQLSTATE
SET client_min_messages = warning;  -- not the notices of the tables the cascade reaches
TRUNCATE segment_maps CASCADE;
\echo :LAST_ERROR_SQLSTATE
RESET client_min_messages;
-- untouched
SELECT (SELECT count(*) FROM segment_map_boxes WHERE map_name = 'default') AS default_boxes,
       count(*) FILTER (WHERE segment_assign(cell) = assigned) AS cells_unchanged
FROM default_cells;

--
-- Names that look like SQL are stored verbatim and run nothing
--
SELECT copy_segment_map('vip 2', $n$x'; DROP TABLE segment_maps; --$n$);
INSERT INTO segment_map_boxes VALUES
    ($n$x'; DROP TABLE segment_maps; --$n$, $s$Robert'); DROP TABLE segment_map_boxes; --$s$, 100, 1, 1, 1, 1, 1, 1),
    ($n$x'; DROP TABLE segment_maps; --$n$, $s$"; SELECT pg_sleep(10); --$s$, 101, 1, 1, 1, 1, 1, 2),
    ($n$x'; DROP TABLE segment_maps; --$n$, $s$$1 \' ''; $$ OPERATOR(pg_catalog.=)$s$, 102, 1, 1, 1, 1, 1, 3);
SELECT segment_assign('1-1-1', $n$x'; DROP TABLE segment_maps; --$n$) AS assigned,
       segment_memberships('1-1-3', $n$x'; DROP TABLE segment_maps; --$n$) AS memberships;
SELECT segment_name, length(segment_name)
FROM segment_map_boxes WHERE map_name = $n$x'; DROP TABLE segment_maps; --$n$ AND priority >= 100
ORDER BY priority;
SELECT segment FROM segment_map_cells($n$x'; DROP TABLE segment_maps; --$n$) WHERE rfm = '1-1-2';
SELECT copy_segment_map($n$x'; DROP TABLE segment_maps; --$n$, $n$'); DELETE FROM segment_map_boxes; --$n$);
SELECT map_name, length(map_name), (SELECT count(*) FROM segment_map_boxes b WHERE b.map_name = m.map_name) AS boxes
FROM segment_maps m WHERE map_name LIKE '%;%' ORDER BY map_name;
-- errors show the names as they are
SELECT segment_assign('1-1-1', $n$nope'; DROP TABLE segment_maps; --$n$);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO segment_map_boxes VALUES
    ($n$x'; DROP TABLE segment_maps; --$n$, $s$Robert'); DROP TABLE segment_map_boxes; --$s$, 9, 1, 1, 1, 1, 1, 1);
\echo :LAST_ERROR_SQLSTATE
-- both tables are still there and the default map is whole
SELECT to_regclass('segment_maps') IS NOT NULL AS maps, to_regclass('segment_map_boxes') IS NOT NULL AS boxes,
       (SELECT count(*) FROM segment_map_boxes WHERE map_name = 'default') AS default_boxes;

--
-- NULLs
--
SELECT segment_assign(NULL) IS NULL AS null_rfm, segment_assign('1-1-1', NULL) IS NULL AS null_map,
       segment_memberships(NULL) IS NULL AS null_rfm_memberships,
       segment_memberships('1-1-1', NULL) IS NULL AS null_map_memberships,
       (SELECT count(*) FROM segment_map_cells(NULL)) AS null_map_cells;
SELECT c.cell, segment_assign(c.cell) FROM (VALUES ('5-5-5'::rfm), (NULL), ('1-1-1')) c(cell);

--
-- Catalog: function properties, privileges, pg_dump registration, comments
--
SELECT p.oid::regprocedure AS function, p.provolatile, p.proparallel, p.proisstrict
FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'segment'
WHERE p.proname IN ('segment_assign', 'segment_memberships', 'segment_map_cells', 'copy_segment_map')
ORDER BY p.proname;
SELECT c.relname, has_table_privilege('public', c.oid, 'SELECT') AS public_select,
       has_table_privilege('public', c.oid, 'INSERT') AS public_insert,
       has_table_privilege('public', c.oid, 'UPDATE') AS public_update,
       has_table_privilege('public', c.oid, 'DELETE') AS public_delete,
       has_table_privilege('public', c.oid, 'TRUNCATE') AS public_truncate
FROM pg_class c WHERE c.relname IN ('segment_maps', 'segment_map_boxes') ORDER BY 1;
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_segment_map_reader;
RESET client_min_messages;
CREATE ROLE regress_segment_map_reader;
SET ROLE regress_segment_map_reader;
SELECT segment_assign('5-5-5'), (SELECT count(*) FROM segment_map_boxes WHERE map_name = 'default') AS boxes;
INSERT INTO segment_maps (map_name) VALUES ('mine too');
\echo :LAST_ERROR_SQLSTATE
SELECT copy_segment_map('default', 'mine too');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP ROLE regress_segment_map_reader;
-- pg_dump keeps the users' maps and leaves the default map to CREATE EXTENSION
SELECT c.relname, x.condition
FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS x(config, condition)
JOIN pg_class c ON c.oid = x.config
WHERE e.extname = 'segment' AND c.relname IN ('segment_maps', 'segment_map_boxes') ORDER BY 1;
-- every table and column has a comment
SELECT c.relname, obj_description(c.oid, 'pg_class') IS NOT NULL AS commented,
       count(a.attnum) FILTER (WHERE col_description(c.oid, a.attnum) IS NULL) AS columns_without_comment
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relname IN ('segment_maps', 'segment_map_boxes') GROUP BY c.oid, c.relname ORDER BY 1;

-- tidy up the users' maps
DELETE FROM segment_maps WHERE map_name <> 'default';
SELECT map_name FROM segment_maps;
