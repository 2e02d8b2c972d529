--
-- rfm_type: the rfm score type ("R-F-M", each score 1 to 9).
--
-- Proves: valid text input and its output; every accessor and make_rfm;
-- comparison operators and ORDER BY follow the cell code (recency, then
-- frequency, then monetary); GROUP BY and DISTINCT, sorted and hashed; a
-- btree index (index and index-only scans) and a hash index give the same
-- answers as sequential scans; hash and merge joins; the operator classes
-- validate; the text form round-trips and the order agrees with (r, f, m)
-- for all 729 values; COPY (FORMAT binary) round-trips them; malformed text
-- and out-of-range scores are rejected with SQLSTATE 22P02 / 22003; NULLs
-- pass through the accessors.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segment;
RESET client_min_messages;
SET TimeZone = 'UTC';
\set VERBOSITY default
\set SHOW_CONTEXT never

-- valid text input; spaces (and tabs, newlines) only around the whole value
SELECT v AS input, v::rfm AS rfm
FROM (VALUES ('1-1-1'), ('9-9-9'), ('5-4-3'), ('1-9-1'), ('  2-7-1'), ('3-3-3  '),
             (E'\t4-5-6\n')) t(v);

-- accessors: the three scores and the cell code
SELECT r, recency_score(r), frequency_score(r), monetary_score(r), rfm_cell(r)
FROM (VALUES ('5-4-3'::rfm), ('1-2-9'), ('9-1-1'), ('1-1-1'), ('9-9-9')) t(r);

-- make_rfm builds the same value as the text form
SELECT make_rfm(5, 4, 3), make_rfm(1, 1, 1), make_rfm(9, 9, 9),
       make_rfm(5, 4, 3) = '5-4-3'::rfm AS same_as_text,
       pg_typeof(make_rfm(1, 2, 3));

-- the type is two bytes, passed by value; its binary form is three bytes
SELECT typlen, typbyval, typalign FROM pg_type WHERE typname = 'rfm';
SELECT segment_internal.rfm_send('5-4-3'), segment_internal.rfm_send('1-9-1'), length(segment_internal.rfm_send('9-9-9'));

-- comparison operators follow the cell code
SELECT a, b, a = b AS eq, a <> b AS ne, a < b AS lt, a <= b AS le,
       a > b AS gt, a >= b AS ge, sign(segment_internal.rfm_cmp(a, b)) AS cmp
FROM (VALUES ('5-4-3'::rfm, '5-4-3'::rfm), ('5-4-3', '5-4-4'), ('5-4-3', '5-3-9'),
             ('1-9-9', '2-1-1'), ('9-1-1', '1-9-9')) t(a, b);

-- ORDER BY sorts by recency, then frequency, then monetary, both directions
SELECT r FROM (VALUES ('5-4-3'::rfm), ('1-9-9'), ('2-1-1'), ('5-4-2'), ('9-1-1'),
                      ('5-3-9'), ('1-1-1'), ('9-9-9'), ('5-4-3')) t(r)
ORDER BY r;
SELECT r FROM (VALUES ('5-4-3'::rfm), ('1-9-9'), ('2-1-1'), ('5-4-2'), ('9-1-1'),
                      ('5-3-9'), ('1-1-1'), ('9-9-9'), ('5-4-3')) t(r)
ORDER BY r DESC;

-- a table: every one of the 729 values three times, plus 100 rows of 5-4-1..5-4-3
CREATE TEMP TABLE rfm_rows (id int PRIMARY KEY, r rfm NOT NULL);
INSERT INTO rfm_rows
SELECT i, make_rfm(1 + i % 9, 1 + (i / 9) % 9, 1 + (i / 81) % 9)
FROM generate_series(0, 3 * 729 - 1) i;
INSERT INTO rfm_rows
SELECT 10000 + i, make_rfm(5, 4, 1 + i % 3)
FROM generate_series(1, 100) i;
VACUUM ANALYZE rfm_rows;

-- GROUP BY and DISTINCT, sorted and hashed, agree
SET enable_hashagg = off;
CREATE TEMP TABLE groups_sorted AS
SELECT r, count(*) AS n FROM rfm_rows GROUP BY r;
CREATE TEMP TABLE distinct_sorted AS SELECT DISTINCT r FROM rfm_rows;
EXPLAIN (COSTS OFF) SELECT r, count(*) FROM rfm_rows GROUP BY r;
RESET enable_hashagg;
SET enable_sort = off;
CREATE TEMP TABLE groups_hashed AS
SELECT r, count(*) AS n FROM rfm_rows GROUP BY r;
CREATE TEMP TABLE distinct_hashed AS SELECT DISTINCT r FROM rfm_rows;
EXPLAIN (COSTS OFF) SELECT r, count(*) FROM rfm_rows GROUP BY r;
RESET enable_sort;
SELECT (SELECT count(*) FROM groups_sorted) AS groups,
       (SELECT sum(n) FROM groups_sorted) AS rows,
       (SELECT count(*) FROM (SELECT * FROM groups_sorted EXCEPT SELECT * FROM groups_hashed) d) AS sorted_not_hashed,
       (SELECT count(*) FROM (SELECT * FROM groups_hashed EXCEPT SELECT * FROM groups_sorted) d) AS hashed_not_sorted,
       (SELECT count(*) FROM distinct_sorted) AS distinct_sorted,
       (SELECT count(*) FROM distinct_hashed) AS distinct_hashed,
       (SELECT count(*) FROM (SELECT r FROM distinct_sorted EXCEPT SELECT r FROM distinct_hashed) d) AS distinct_differ;
-- the groups are the values of (r, f, m)
SELECT count(*) AS disagreements
FROM groups_sorted g
FULL JOIN (SELECT recency_score(r) AS rs, frequency_score(r) AS fs, monetary_score(r) AS ms,
                  count(*) AS n
           FROM rfm_rows GROUP BY 1, 2, 3) s
  ON (recency_score(g.r), frequency_score(g.r), monetary_score(g.r)) = (s.rs, s.fs, s.ms)
WHERE g.n IS DISTINCT FROM s.n;

-- reference answers from a sequential scan
CREATE TEMP TABLE queries (q int PRIMARY KEY, sql text NOT NULL);
INSERT INTO queries VALUES
  (1, $$SELECT count(*) FROM rfm_rows WHERE r = '5-4-3'$$),
  (2, $$SELECT count(*) FROM rfm_rows WHERE r < '2-1-1'$$),
  (3, $$SELECT count(*) FROM rfm_rows WHERE r <= '2-1-1'$$),
  (4, $$SELECT count(*) FROM rfm_rows WHERE r > '8-9-8'$$),
  (5, $$SELECT count(*) FROM rfm_rows WHERE r >= '8-9-8'$$),
  (6, $$SELECT count(*) FROM rfm_rows WHERE r BETWEEN '3-5-1' AND '4-2-9'$$),
  (7, $$SELECT string_agg(r::text, ',' ORDER BY r) FROM (SELECT DISTINCT r FROM rfm_rows WHERE r BETWEEN '3-5-1' AND '3-7-2') d$$),
  (8, $$SELECT string_agg(id::text, ',' ORDER BY id) FROM rfm_rows WHERE r = '1-2-3'$$),
  (9, $$SELECT count(*) FROM rfm_rows WHERE r = ANY ('{1-1-1,9-9-9,5-5-5}'::rfm[])$$);
CREATE FUNCTION run_query(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	result text;
BEGIN
	EXECUTE sql INTO result;
	RETURN result;
END
$$;
SET enable_indexscan = off;
SET enable_bitmapscan = off;
SET enable_indexonlyscan = off;
CREATE TEMP TABLE answers AS SELECT q, run_query(sql) AS seqscan FROM queries;
RESET enable_indexscan;
RESET enable_bitmapscan;
RESET enable_indexonlyscan;
SELECT q, seqscan FROM answers ORDER BY q;

-- a btree index answers the same; its plans are index (only) scans
CREATE INDEX rfm_rows_btree ON rfm_rows (r);
VACUUM ANALYZE rfm_rows;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM rfm_rows WHERE r = '5-4-3';
EXPLAIN (COSTS OFF) SELECT count(*) FROM rfm_rows WHERE r BETWEEN '3-5-1' AND '4-2-9';
EXPLAIN (COSTS OFF) SELECT id FROM rfm_rows WHERE r = '1-2-3';
EXPLAIN (COSTS OFF) SELECT r FROM rfm_rows ORDER BY r DESC LIMIT 3;
SELECT r FROM rfm_rows ORDER BY r DESC LIMIT 3;
SELECT a.q, a.seqscan, run_query(q.sql) AS btree, a.seqscan = run_query(q.sql) AS same
FROM answers a JOIN queries q USING (q) ORDER BY a.q;
DROP INDEX rfm_rows_btree;

-- a hash index answers the same equality queries
CREATE INDEX rfm_rows_hash ON rfm_rows USING hash (r);
VACUUM ANALYZE rfm_rows;
EXPLAIN (COSTS OFF) SELECT count(*) FROM rfm_rows WHERE r = '5-4-3';
EXPLAIN (COSTS OFF) SELECT id FROM rfm_rows WHERE r = '1-2-3';
SELECT a.q, a.seqscan, run_query(q.sql) AS hash, a.seqscan = run_query(q.sql) AS same
FROM answers a JOIN queries q USING (q) WHERE q.q IN (1, 8, 9) ORDER BY a.q;
DROP INDEX rfm_rows_hash;
RESET enable_seqscan;
RESET enable_bitmapscan;

-- hash join and merge join on rfm give the nested loop's answer
CREATE TEMP TABLE rfm_labels (r rfm, label text);
INSERT INTO rfm_labels VALUES ('5-5-5', 'champion'), ('1-1-1', 'lost'), ('5-4-3', 'loyal'),
                              ('1-2-3', 'at risk'), ('5-4-3', 'loyal again');
ANALYZE rfm_labels;
-- the join method the plan uses (its top node), not the rest of the plan
CREATE FUNCTION pg_temp.top_node(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	plan json;
BEGIN
	EXECUTE 'EXPLAIN (COSTS OFF, FORMAT JSON) ' || query INTO plan;
	RETURN plan -> 0 -> 'Plan' ->> 'Node Type';
END $$;
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SELECT pg_temp.top_node('SELECT l.label, t.id FROM rfm_rows t JOIN rfm_labels l ON t.r = l.r') AS join_method;
CREATE TEMP TABLE joined_nestloop AS
SELECT l.label, t.id FROM rfm_rows t JOIN rfm_labels l ON t.r = l.r;
RESET enable_hashjoin;
SET enable_nestloop = off;
SELECT pg_temp.top_node('SELECT l.label, t.id FROM rfm_rows t JOIN rfm_labels l ON t.r = l.r') AS join_method;
CREATE TEMP TABLE joined_hash AS
SELECT l.label, t.id FROM rfm_rows t JOIN rfm_labels l ON t.r = l.r;
RESET enable_mergejoin;
SET enable_hashjoin = off;
SELECT pg_temp.top_node('SELECT l.label, t.id FROM rfm_rows t JOIN rfm_labels l ON t.r = l.r') AS join_method;
CREATE TEMP TABLE joined_merge AS
SELECT l.label, t.id FROM rfm_rows t JOIN rfm_labels l ON t.r = l.r;
RESET enable_hashjoin;
RESET enable_nestloop;
SELECT label, count(*) FROM joined_nestloop GROUP BY label ORDER BY label;
SELECT (SELECT count(*) FROM joined_nestloop) AS nestloop,
       (SELECT count(*) FROM joined_hash) AS hash,
       (SELECT count(*) FROM joined_merge) AS merge,
       (SELECT count(*) FROM (SELECT * FROM joined_nestloop EXCEPT ALL SELECT * FROM joined_hash) d) AS hash_misses,
       (SELECT count(*) FROM (SELECT * FROM joined_hash EXCEPT ALL SELECT * FROM joined_nestloop) d) AS hash_extra,
       (SELECT count(*) FROM (SELECT * FROM joined_nestloop EXCEPT ALL SELECT * FROM joined_merge) d) AS merge_misses,
       (SELECT count(*) FROM (SELECT * FROM joined_merge EXCEPT ALL SELECT * FROM joined_nestloop) d) AS merge_extra;

-- the btree and hash operator classes are complete and valid
SELECT opcname, amname, amvalidate(c.oid)
FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
WHERE opcname IN ('rfm_ops', 'rfm_hash_ops') ORDER BY opcname;

-- all 729 values: text round trip, accessors, cell code
CREATE TEMP TABLE all_rfm AS
SELECT r, f, m, make_rfm(r, f, m) AS v
FROM generate_series(1, 9) r, generate_series(1, 9) f, generate_series(1, 9) m;
SELECT count(*) AS values,
       count(DISTINCT v) AS distinct_values,
       count(*) FILTER (WHERE v::text::rfm <> make_rfm(r, f, m)) AS text_round_trip_differs,
       count(*) FILTER (WHERE v::text <> format('%s-%s-%s', r, f, m)) AS text_form_differs,
       count(*) FILTER (WHERE (recency_score(v), frequency_score(v), monetary_score(v)) <> (r, f, m)) AS scores_differ,
       count(*) FILTER (WHERE rfm_cell(v) <> 100 * r + 10 * f + m) AS cell_differs,
       count(*) FILTER (WHERE segment_internal.rfm_send(v) <> set_byte(set_byte(set_byte('\x000000'::bytea, 0, r), 1, f), 2, m)) AS send_differs
FROM all_rfm;

-- all 729 * 729 pairs: every operator agrees with the order of (r, f, m)
SELECT count(*) AS pairs,
       count(*) FILTER (WHERE (a.v = b.v) <> ((a.r, a.f, a.m) = (b.r, b.f, b.m))) AS eq_disagrees,
       count(*) FILTER (WHERE (a.v <> b.v) <> ((a.r, a.f, a.m) <> (b.r, b.f, b.m))) AS ne_disagrees,
       count(*) FILTER (WHERE (a.v < b.v) <> ((a.r, a.f, a.m) < (b.r, b.f, b.m))) AS lt_disagrees,
       count(*) FILTER (WHERE (a.v <= b.v) <> ((a.r, a.f, a.m) <= (b.r, b.f, b.m))) AS le_disagrees,
       count(*) FILTER (WHERE (a.v > b.v) <> ((a.r, a.f, a.m) > (b.r, b.f, b.m))) AS gt_disagrees,
       count(*) FILTER (WHERE (a.v >= b.v) <> ((a.r, a.f, a.m) >= (b.r, b.f, b.m))) AS ge_disagrees,
       count(*) FILTER (WHERE sign(segment_internal.rfm_cmp(a.v, b.v)) <> sign(100 * (a.r - b.r) + 10 * (a.f - b.f) + (a.m - b.m))) AS cmp_disagrees,
       count(*) FILTER (WHERE (a.v = b.v) AND segment_internal.rfm_hash(a.v) <> segment_internal.rfm_hash(b.v)) AS hash_disagrees
FROM all_rfm a, all_rfm b;

-- hashes: the seeded hash with seed 0 matches the plain hash in its low 32 bits
SELECT count(*) FILTER (WHERE (segment_internal.rfm_hash(v)::bigint & 4294967295) <> (segment_internal.rfm_hash_extended(v, 0) & 4294967295)) AS seed0_differs,
       count(DISTINCT segment_internal.rfm_hash(v)) AS distinct_hashes,
       count(DISTINCT segment_internal.rfm_hash_extended(v, 42)) AS distinct_seeded_hashes
FROM all_rfm;

-- binary round trip of all 729 values through a server-side COPY file
SELECT current_setting('data_directory') || '/segment_rfm_type.bin' AS binfile \gset
COPY (SELECT v FROM all_rfm ORDER BY v) TO :'binfile' (FORMAT binary);
CREATE TEMP TABLE rfm_copied (v rfm);
COPY rfm_copied FROM :'binfile' (FORMAT binary);
SELECT (SELECT count(*) FROM rfm_copied) AS copied,
       (SELECT count(*) FROM (SELECT v FROM all_rfm EXCEPT ALL SELECT v FROM rfm_copied) d) AS missing,
       (SELECT count(*) FROM (SELECT v FROM rfm_copied EXCEPT ALL SELECT v FROM all_rfm) d) AS extra;
-- and of a NULL
TRUNCATE rfm_copied;
COPY (SELECT NULL::rfm) TO :'binfile' (FORMAT binary);
COPY rfm_copied FROM :'binfile' (FORMAT binary);
SELECT v, v IS NULL AS is_null FROM rfm_copied;

-- malformed text input: 22P02
SELECT ''::rfm;
\echo :LAST_ERROR_SQLSTATE
SELECT ' '::rfm;
\echo :LAST_ERROR_SQLSTATE
SELECT '5-4'::rfm;
\echo :LAST_ERROR_SQLSTATE
SELECT '5-4-3-2'::rfm;
\echo :LAST_ERROR_SQLSTATE
SELECT '0-1-1'::rfm;
\echo :LAST_ERROR_SQLSTATE
SELECT '1-1-0'::rfm;
\echo :LAST_ERROR_SQLSTATE
SELECT '10-1-1'::rfm;
\echo :LAST_ERROR_SQLSTATE
SELECT '1-1-10'::rfm;
\echo :LAST_ERROR_SQLSTATE
SELECT '5-4-3x'::rfm;
\echo :LAST_ERROR_SQLSTATE
SELECT 'a-b-c'::rfm;
\echo :LAST_ERROR_SQLSTATE
SELECT '5--4-3'::rfm;
\echo :LAST_ERROR_SQLSTATE
SELECT '5 - 4 - 3'::rfm;
\echo :LAST_ERROR_SQLSTATE
SELECT '+5-4-3'::rfm;
\echo :LAST_ERROR_SQLSTATE
SELECT '-5-4-3'::rfm;
\echo :LAST_ERROR_SQLSTATE
SELECT '5-4-3-'::rfm;
\echo :LAST_ERROR_SQLSTATE
SELECT '5,4,3'::rfm;
\echo :LAST_ERROR_SQLSTATE
SELECT '543'::rfm;
\echo :LAST_ERROR_SQLSTATE
-- a bad value in a table is rejected too, and nothing is stored
CREATE TEMP TABLE rfm_insert (r rfm);
INSERT INTO rfm_insert VALUES ('5-4-3'), ('5-4-0');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM rfm_insert;

-- make_rfm with a score out of 1..9: 22003
SELECT make_rfm(0, 1, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT make_rfm(1, 10, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT make_rfm(1, 1, 10);
\echo :LAST_ERROR_SQLSTATE
SELECT make_rfm(-1, 1, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT make_rfm(2147483647, 1, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT make_rfm(1, 1, -2147483648);
\echo :LAST_ERROR_SQLSTATE

-- NULLs: input, make_rfm and every accessor are strict
SELECT NULL::rfm AS r, recency_score(NULL::rfm), frequency_score(NULL::rfm),
       monetary_score(NULL::rfm), rfm_cell(NULL::rfm), segment_internal.rfm_send(NULL::rfm),
       make_rfm(NULL, 1, 1) IS NULL AS make_null,
       NULL::rfm = '5-4-3' AS eq_null, NULL::rfm < '5-4-3' AS lt_null;
-- NULLs sort last, or first when asked
SELECT r FROM (VALUES ('5-4-3'::rfm), (NULL), ('1-1-1')) t(r) ORDER BY r;
SELECT r FROM (VALUES ('5-4-3'::rfm), (NULL), ('1-1-1')) t(r) ORDER BY r NULLS FIRST;

DROP FUNCTION run_query(text);
DROP TABLE rfm_rows;
