--
-- segment_set: the set of segment labels of one customer, and its GIN
-- operator class.
--
-- Proves: text input accepts any order, duplicates and whitespace and
-- output is canonical (sorted bytewise, unique, quoted exactly when a label
-- holds anything but ASCII letters, digits, _ and -, or spells NULL); labels
-- are case-sensitive bytes; the limits (255 bytes a label, 1000 labels) hold
-- at the edge, for text (22P02) and functions (22023, 54000); malformed text
-- is rejected with 22P02 and a detail saying what is wrong; text and COPY
-- (text and binary) round-trip; send writes the documented bytes and recv
-- rejects malformed binary input (22P03, or 08P01 when cut short, 22021 for
-- bad encoding) and re-canonicalizes unsorted input; every operator and
-- function on hand-worked cases, empty sets and NULLs included; the order is
-- that of the sorted label arrays under COLLATE "C", hashing agrees with
-- equality, and GROUP BY and DISTINCT, sorted and hashed, agree; the
-- aggregate skips NULLs, compacts repeated labels, runs in parallel and
-- enforces the limit; the operator classes validate and every object has a
-- comment; on 20,000 generated customers (with NULL and empty sets) every
-- indexable query gives the same rows with the GIN index (bitmap scans;
-- half the rows read from the pending list, then from the index proper),
-- without it, and on a text[] column with the array operators.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segment;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT never

--
-- Text form
--

-- canonical output: sorted bytewise, duplicates removed, whitespace around
-- labels dropped, quotes only where needed
SELECT v AS input, v::segment_set AS output
FROM (VALUES ('{}'), ('  {  }  '), ('{vip}'), ('{vip,champions}'), ('{champions,vip,vip,champions}'),
             (E'{ vip ,\tchampions\n}'), ('{"vip"}'), ('{"Can''t Lose Them",Champions,vip}'),
             ('{Can''t Lose Them,vip}'), ('{ Can''t  Lose Them }'), ('{b,B,a,A,_,-,0,9,z,Z}'),
             ('{ab,a,abc,"a b",a-b,a_b}'), ('{"a,b","a}b","a{b"}'), ('{"quote\"d","back\\slash"}'),
             ('{"NULL","null",Null_,nullx}'), (E'{" padded ","\ttab"}'), ('{VIP,vip,Vip}'),
             ('{"x",x," x","x "}')) t(v);

-- output quoting: a label is quoted unless every byte is an ASCII letter,
-- digit, _ or -; inside quotes " and \ are escaped
SELECT label, segment_set(ARRAY[label]) AS set
FROM (VALUES ('plain_label-1'), ('has space'), ('comma,'), ('brace{'), ('brace}'), ('quote"'),
             ('back\slash'), ('apostrophe''s'), ('dot.'), ('NULL'), ('nULl'), ('NULLS'),
             (E'new\nline'), (U&'M\00FCller')) t(label);

-- every label above survives text output and input unchanged
SELECT label, s::text::segment_set = s AS round_trip, segment_set_labels(s::text::segment_set) = ARRAY[label] AS same_label
FROM (SELECT label, segment_set(ARRAY[label]) AS s
      FROM (VALUES ('plain_label-1'), ('has space'), ('comma,'), ('brace{'), ('brace}'), ('quote"'),
                   ('back\slash'), ('apostrophe''s'), ('dot.'), ('NULL'), ('nULl'), ('NULLS'),
                   (E'new\nline'), (U&'M\00FCller'), (' lead'), ('trail '), ('\"\\')) t(label)) x;

-- labels are exact bytes: case matters, and so do the bytes of accents
SELECT segment_set_count('{VIP,vip,Vip}') AS three_labels,
       '{VIP}'::segment_set ? 'VIP' AS has_upper, '{VIP}'::segment_set ? 'vip' AS has_lower,
       '{VIP}'::segment_set = '{vip}' AS equal,
       segment_set_count(segment_set(ARRAY[U&'\00FC', U&'u\0308'])) AS composed_and_decomposed;

-- the limits: labels of 255 bytes and 1000 labels are fine
SELECT segment_set_count(('{' || repeat('x', 255) || '}')::segment_set) AS one_255_byte_label,
       length((segment_set_labels(('{' || repeat('x', 255) || '}')::segment_set))[1]) AS bytes,
       segment_set_count(segment_set(ARRAY[repeat(U&'\00FC', 127)])) AS one_254_byte_label,
       segment_set_count(('{' || (SELECT string_agg('l' || i, ',') FROM generate_series(1, 1000) i) || '}')::segment_set) AS labels_1000,
       segment_set_count(('{' || (SELECT string_agg('l' || (i % 1000), ',') FROM generate_series(1, 5000) i) || '}')::segment_set) AS labels_5000_with_duplicates;
-- one byte more is too long, in bytes not characters (22P02 as text, 22023 as an argument)
SELECT ('{' || repeat('x', 256) || '}')::segment_set;
\echo :LAST_ERROR_SQLSTATE
SELECT ('{"' || repeat('x', 256) || '"}')::segment_set;
\echo :LAST_ERROR_SQLSTATE
SELECT segment_set(ARRAY[repeat(U&'\00FC', 128)]);
\echo :LAST_ERROR_SQLSTATE
SELECT '{}'::segment_set + repeat('x', 256);
\echo :LAST_ERROR_SQLSTATE
-- one label more is too many (22P02 as text, 54000 from functions)
SELECT ('{' || (SELECT string_agg('l' || i, ',') FROM generate_series(0, 1000) i) || '}')::segment_set;
\echo :LAST_ERROR_SQLSTATE
SELECT segment_set(ARRAY(SELECT 'l' || i FROM generate_series(0, 1000) i));
\echo :LAST_ERROR_SQLSTATE
SELECT segment_set(ARRAY(SELECT 'l' || i FROM generate_series(1, 1000) i)) + 'one more';
\echo :LAST_ERROR_SQLSTATE
SELECT segment_set(ARRAY(SELECT 'l' || i FROM generate_series(1, 600) i))
     | segment_set(ARRAY(SELECT 'm' || i FROM generate_series(1, 401) i));
\echo :LAST_ERROR_SQLSTATE
-- at the limit, adding a label it already holds is fine
SELECT segment_set_count(segment_set(ARRAY(SELECT 'l' || i FROM generate_series(1, 1000) i)) + 'l1') AS still_1000;

-- a large value is stored compressed and out of line, and reads back whole
CREATE TEMP TABLE big_sets (s segment_set);
INSERT INTO big_sets
SELECT segment_set(ARRAY(SELECT lpad(i::text, 255, 'x') FROM generate_series(1, 1000) i));
SELECT segment_set_count(s), pg_column_size(s) < 100000 AS compressed,
       s ? lpad('500', 255, 'x') AS has_500, s @> segment_set(ARRAY[lpad('1', 255, 'x'), lpad('1000', 255, 'x')]) AS contains,
       s = segment_set(ARRAY(SELECT lpad(i::text, 255, 'x') FROM generate_series(1000, 1, -1) i)) AS equal,
       s::text::segment_set = s AS text_round_trip
FROM big_sets;

--
-- Malformed text: 22P02, with a detail
--
SELECT ''::segment_set;
\echo :LAST_ERROR_SQLSTATE
SELECT '   '::segment_set;
\echo :LAST_ERROR_SQLSTATE
SELECT 'vip'::segment_set;
\echo :LAST_ERROR_SQLSTATE
SELECT 'vip,champions'::segment_set;
\echo :LAST_ERROR_SQLSTATE
SELECT '}'::segment_set;
\echo :LAST_ERROR_SQLSTATE
SELECT '[vip]'::segment_set;
\echo :LAST_ERROR_SQLSTATE
-- unbalanced braces
SELECT '{'::segment_set;
\echo :LAST_ERROR_SQLSTATE
SELECT '{vip'::segment_set;
\echo :LAST_ERROR_SQLSTATE
SELECT '{vip,'::segment_set;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"vip"'::segment_set;
\echo :LAST_ERROR_SQLSTATE
SELECT '{vip}}'::segment_set;
\echo :LAST_ERROR_SQLSTATE
SELECT '{{vip}}'::segment_set;
\echo :LAST_ERROR_SQLSTATE
SELECT '{vip,{champions}}'::segment_set;
\echo :LAST_ERROR_SQLSTATE
-- unbalanced quotes
SELECT '{"vip}'::segment_set;
\echo :LAST_ERROR_SQLSTATE
SELECT '{vip"}'::segment_set;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"vip\"}'::segment_set;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"vip\'::segment_set;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"vip""}'::segment_set;
\echo :LAST_ERROR_SQLSTATE
-- empty labels, quoted or not
SELECT '{,}'::segment_set;
\echo :LAST_ERROR_SQLSTATE
SELECT '{vip,}'::segment_set;
\echo :LAST_ERROR_SQLSTATE
SELECT '{,vip}'::segment_set;
\echo :LAST_ERROR_SQLSTATE
SELECT '{vip,,champions}'::segment_set;
\echo :LAST_ERROR_SQLSTATE
SELECT '{vip,  ,champions}'::segment_set;
\echo :LAST_ERROR_SQLSTATE
SELECT '{""}'::segment_set;
\echo :LAST_ERROR_SQLSTATE
-- NULL, in any case, unquoted
SELECT '{NULL}'::segment_set;
\echo :LAST_ERROR_SQLSTATE
SELECT '{vip, null }'::segment_set;
\echo :LAST_ERROR_SQLSTATE
-- text after a quoted label, or after the closing brace
SELECT '{"vip"champions}'::segment_set;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"vip" "champions"}'::segment_set;
\echo :LAST_ERROR_SQLSTATE
SELECT '{vip}x'::segment_set;
\echo :LAST_ERROR_SQLSTATE
SELECT '{vip} ,'::segment_set;
\echo :LAST_ERROR_SQLSTATE
SELECT '{}{}'::segment_set;
\echo :LAST_ERROR_SQLSTATE
-- backslashes: only \" and \\ inside quotes
SELECT '{vip\,x}'::segment_set;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"new\nline"}'::segment_set;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"\x"}'::segment_set;
\echo :LAST_ERROR_SQLSTATE

--
-- Binary form: a version byte (1), an int32 count, then each label as an
-- int32 length and its bytes
--
SELECT segment_internal.segment_set_send('{}') AS empty, segment_internal.segment_set_send('{vip,champions}') AS two,
       segment_internal.segment_set_send(segment_set(ARRAY['b', 'a', 'b'])) AS sorted;

-- COPY (FORMAT binary) through a server-side file round-trips every value,
-- NULLs and empty sets included; so does COPY in text format
CREATE TEMP TABLE copy_src (id int, s segment_set);
INSERT INTO copy_src VALUES
	(1, '{}'), (2, NULL), (3, '{vip}'), (4, '{"Can''t Lose Them",Champions,vip}'),
	(5, segment_set(ARRAY['quote"', 'back\slash', 'comma,', 'brace{}', 'NULL', E'new\nline', U&'M\00FCller'])),
	(6, segment_set(ARRAY(SELECT 'l' || i FROM generate_series(1, 1000) i))),
	(7, segment_set(ARRAY[repeat('x', 255)]));
SELECT setting AS data_directory FROM pg_settings WHERE name = 'data_directory' \gset
\set binfile :data_directory '/segset.bin'
\set textfile :data_directory '/segset.txt'
COPY copy_src TO :'binfile' (FORMAT binary);
CREATE TEMP TABLE copy_bin (id int, s segment_set);
COPY copy_bin FROM 'segset.bin' (FORMAT binary);
COPY copy_src TO :'textfile';
CREATE TEMP TABLE copy_txt (id int, s segment_set);
COPY copy_txt FROM 'segset.txt';
SELECT id, a.s IS NULL AS is_null, a.s = b.s AS binary_same, a.s = t.s AS text_same,
       a.s::text = b.s::text AND a.s::text = t.s::text AS same_text, segment_set_count(b.s) AS labels
FROM copy_src a JOIN copy_bin b USING (id) JOIN copy_txt t USING (id)
ORDER BY id;

-- labels travel in the client encoding, like text: in LATIN1 the u-umlaut
-- is one byte (the label has 6 bytes, not 7), and reads back the same
SET client_encoding = 'LATIN1';
COPY (SELECT segment_set(ARRAY[U&'M\00FCller'])) TO :'binfile' (FORMAT binary);
SELECT substring(pg_read_binary_file('segset.bin') FROM 22 FOR 4) AS field_length,
       substring(pg_read_binary_file('segset.bin') FROM 26 FOR 15) AS field;
CREATE TEMP TABLE copy_latin1 (s segment_set);
COPY copy_latin1 FROM 'segset.bin' (FORMAT binary);
RESET client_encoding;
SELECT s = segment_set(ARRAY[U&'M\00FCller']) AS same FROM copy_latin1;

-- malformed binary input, read by COPY (FORMAT binary) from a file written
-- byte by byte: the 11-byte signature, flags and header extension length
-- (int32 0 each), one tuple of one field (int16 1, int32 length, bytes),
-- then the trailer int16 -1
CREATE FUNCTION copy_binary_file(field bytea) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
	SELECT '\x5047434f50590aff0d0a00'::bytea || int4send(0) || int4send(0)
		|| int2send(1::int2) || int4send(length(field)) || field
		|| int2send(-1::int2)
$$;
-- a field from a version, a count and labels given as bytes
CREATE FUNCTION set_bytes(version int, count int, VARIADIC labels bytea[] DEFAULT '{}') RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
	SELECT set_byte('\x00'::bytea, 0, version) || int4send(count)
		|| coalesce((SELECT string_agg(int4send(length(l)) || l, '' ORDER BY i)
		             FROM unnest(labels) WITH ORDINALITY u(l, i)), '')
$$;
-- writes the file with a large object (unlinked at once), loads it with
-- COPY into an emptied table and returns what was loaded, as text
CREATE TEMP TABLE bin_set (s segment_set);
CREATE FUNCTION load_binary(field bytea) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	lo oid := lo_from_bytea(0, copy_binary_file(field));
BEGIN
	PERFORM lo_export(lo, 'segset_bad.bin');
	PERFORM lo_unlink(lo);
	TRUNCATE bin_set;
	COPY bin_set FROM 'segset_bad.bin' (FORMAT binary);
	RETURN QUERY SELECT s::text FROM bin_set;
END
$$;
-- the helpers build exactly what COPY TO and send write
COPY (SELECT '{vip,champions}'::segment_set) TO :'binfile' (FORMAT binary);
SELECT pg_read_binary_file('segset.bin') = copy_binary_file(segment_internal.segment_set_send('{vip,champions}')) AS same_file,
       set_bytes(1, 2, 'champions', 'vip') = segment_internal.segment_set_send('{vip,champions}') AS same_field,
       set_bytes(1, 0) = segment_internal.segment_set_send('{}') AS same_empty;
SELECT load_binary(set_bytes(1, 2, 'champions', 'vip'));
SELECT load_binary(set_bytes(1, 0));
-- unsorted labels and duplicates are put in canonical order
SELECT load_binary(set_bytes(1, 4, 'vip', 'champions', 'vip', 'a b'));
-- a version other than 1
SELECT load_binary(set_bytes(0, 1, 'vip'));
\echo :LAST_ERROR_SQLSTATE
SELECT load_binary(set_bytes(2, 1, 'vip'));
\echo :LAST_ERROR_SQLSTATE
-- a count below 0 or above 1000
SELECT load_binary(set_bytes(1, -1));
\echo :LAST_ERROR_SQLSTATE
SELECT load_binary(set_bytes(1, 1001, 'vip'));
\echo :LAST_ERROR_SQLSTATE
-- more labels than the count says: bytes left over
SELECT load_binary(set_bytes(1, 1, 'vip', 'champions'));
\echo :LAST_ERROR_SQLSTATE
-- fewer labels than the count says, a length beyond the data: cut short
SELECT load_binary(set_bytes(1, 3, 'vip', 'champions'));
\echo :LAST_ERROR_SQLSTATE
SELECT load_binary(set_bytes(1, 1) || int4send(10) || '\x766970'::bytea);
\echo :LAST_ERROR_SQLSTATE
SELECT load_binary('\x01000000'::bytea);
\echo :LAST_ERROR_SQLSTATE
SELECT load_binary('\x'::bytea);
\echo :LAST_ERROR_SQLSTATE
-- an empty label, a negative length, a label of 256 bytes
SELECT load_binary(set_bytes(1, 1, ''));
\echo :LAST_ERROR_SQLSTATE
SELECT load_binary(set_bytes(1, 1) || int4send(-1));
\echo :LAST_ERROR_SQLSTATE
SELECT length(load_binary(set_bytes(1, 1, convert_to(repeat('x', 255), 'UTF8')))) AS text_length;
SELECT load_binary(set_bytes(1, 1, convert_to(repeat('x', 256), 'UTF8')));
\echo :LAST_ERROR_SQLSTATE
-- a zero byte, bytes that are not UTF8
SELECT load_binary(set_bytes(1, 1, '\x760070'));
\echo :LAST_ERROR_SQLSTATE
SELECT load_binary(set_bytes(1, 1, '\x76ff70'));
\echo :LAST_ERROR_SQLSTATE

--
-- Operators and functions, worked by hand
--
CREATE TEMP TABLE pairs (a segment_set, b segment_set);
INSERT INTO pairs VALUES
	('{}', '{}'), ('{}', '{a}'), ('{a}', '{}'), ('{a}', '{a}'), ('{a,b}', '{a}'), ('{a}', '{a,b}'),
	('{a,b}', '{b,c}'), ('{a,b}', '{c,d}'), ('{a,b,c}', '{a,c}'), ('{a,c}', '{a,b,c}'),
	('{a,b}', '{a,b}'), ('{ab}', '{a,b}'), ('{a}', '{A}'), ('{a b}', '{a,b}'),
	(NULL, '{a}'), ('{a}', NULL), (NULL, NULL);
SELECT a, b, a @> b AS contains, a <@ b AS contained, a && b AS overlaps,
       a = b AS eq, a <> b AS ne, a | b AS "union", a & b AS intersection
FROM pairs;
SELECT a, b, a < b AS lt, a <= b AS le, a > b AS gt, a >= b AS ge, sign(segment_internal.segment_set_cmp(a, b)) AS cmp
FROM pairs;

-- one label: ?, segment_set_has, + and -
SELECT s, l, s ? l AS has, segment_set_has(s, l) AS has_fn, s + l AS plus, s - l AS minus
FROM (VALUES ('{}'::segment_set, 'a'), ('{a}', 'a'), ('{a}', 'b'), ('{b,d}', 'c'), ('{b,d}', 'a'),
             ('{b,d}', 'e'), ('{b,d}', 'd'), ('{a,ab}', 'ab'), ('{VIP}', 'vip'),
             ('{"Can''t Lose Them"}', 'Can''t Lose Them'), ('{a}', NULL), (NULL, 'a')) t(s, l);
-- ? of an impossible label is false; + of one is an error
SELECT '{a}'::segment_set ? '' AS empty_label, '{a}'::segment_set ? repeat('a', 300) AS long_label,
       '{a}'::segment_set - '' AS minus_empty;
SELECT '{a}'::segment_set + '';
\echo :LAST_ERROR_SQLSTATE
-- an unknown literal after + or - is a label, after @> a set
SELECT '{vip}'::segment_set + 'champions' AS plus_literal, '{vip,champions}'::segment_set - 'vip' AS minus_literal,
       '{vip,champions}'::segment_set @> '{vip}' AS contains_literal;
SELECT '{vip}'::segment_set @> 'vip';
\echo :LAST_ERROR_SQLSTATE

-- constructors, casts and accessors
SELECT segment_set(ARRAY['vip', 'champions', 'vip']) AS from_array, segment_set('{}'::text[]) AS from_empty,
       ARRAY['b', 'a']::segment_set AS cast_from_array, '{b,a}'::segment_set::text[] AS cast_to_array,
       segment_set_labels('{"Can''t Lose Them",vip,Champions}') AS labels,
       segment_set_labels('{}') AS no_labels, segment_set_count('{}') AS zero, segment_set_count('{a,b,c}') AS three,
       segment_set(NULL) IS NULL AS null_array, segment_set_labels(NULL) IS NULL AS null_labels;
-- text[] <-> segment_set are assignment casts
CREATE TEMP TABLE assigned (s segment_set, a text[]);
INSERT INTO assigned VALUES (ARRAY['y', 'x', 'y'], '{q,p}'::segment_set);
SELECT * FROM assigned;
SELECT segment_set(ARRAY['vip', NULL]);
\echo :LAST_ERROR_SQLSTATE
SELECT segment_set(ARRAY['vip', '']);
\echo :LAST_ERROR_SQLSTATE
SELECT segment_set(ARRAY[['a', 'b'], ['c', 'd']]);
\echo :LAST_ERROR_SQLSTATE
-- text[] with a lower bound other than 1 is fine
SELECT segment_set('[3:4]={b,a}'::text[]);

-- the order is that of the sorted labels as text[] under COLLATE "C":
-- label by label, a set before its extensions
SELECT s FROM (VALUES ('{b}'::segment_set), ('{a,b}'), ('{}'), ('{a}'), ('{a,c}'), ('{B}'), ('{ab}'),
                      ('{a,b,c}'), ('{"a b"}')) t(s)
ORDER BY s;

--
-- A generated population: 20,000 customers with 3 to 8 labels drawn from
-- 200 (deterministic: hashint8extended, no random()), some labels with
-- spaces and quotes, 100 customers with no labels (the empty set) and 100
-- with NULL.  Column a holds the same labels as a text[], built without
-- the extension, as an independent oracle.
--
CREATE TABLE gin_rows (id int PRIMARY KEY, s segment_set, a text[]) WITH (autovacuum_enabled = off);
CREATE TEMP TABLE memberships AS
SELECT id, CASE WHEN j % 25 = 0 THEN 'Can''t Lose ' || j ELSE 'seg_' || j END AS label
FROM generate_series(1, 20000) id,
     LATERAL (SELECT 3 + abs(hashint8extended(id, 1)) % 6 AS n) n,
     LATERAL (SELECT abs(hashint8extended(id * 16 + k, 2)) % 200 AS j
              FROM generate_series(1, n.n) k) draws;
-- labels drawn twice for a customer count once; the array oracle keeps them
-- unique and sorted bytewise
CREATE TEMP TABLE oracle_rows AS
SELECT id, array_agg(DISTINCT label COLLATE "C" ORDER BY label COLLATE "C") AS a
FROM memberships GROUP BY id;
-- the first half goes in before the index is built, the second half after,
-- into the pending list
INSERT INTO gin_rows SELECT id, segment_set(a), a FROM oracle_rows WHERE id <= 10000;
INSERT INTO gin_rows SELECT 20000 + i, '{}', '{}' FROM generate_series(1, 100) i;
CREATE INDEX gin_rows_s_idx ON gin_rows USING gin (s);
INSERT INTO gin_rows SELECT id, segment_set(a), a FROM oracle_rows WHERE id > 10000;
INSERT INTO gin_rows SELECT 20100 + i, NULL, NULL FROM generate_series(1, 100) i;
-- the aggregate builds the same sets from the membership rows
SELECT count(*) AS customers,
       count(*) FILTER (WHERE g.s IS DISTINCT FROM r.s) AS aggregate_differs,
       count(*) FILTER (WHERE segment_set_labels(r.s) IS DISTINCT FROM r.a) AS labels_differ
FROM (SELECT id, segment_set_agg(label) AS s FROM memberships GROUP BY id) g
FULL JOIN gin_rows r USING (id)
WHERE r.id <= 20000 OR r.id IS NULL;
SELECT count(*) AS rows, count(s) AS non_null, count(*) FILTER (WHERE s = '{}') AS empty,
       min(segment_set_count(s)) AS min_labels, max(segment_set_count(s)) AS max_labels,
       (SELECT count(DISTINCT label) FROM memberships) AS distinct_labels
FROM gin_rows;

-- the queries: each on segment_set, and the same on text[]
CREATE TEMP TABLE queries (name text PRIMARY KEY, set_cond text, array_cond text);
INSERT INTO queries VALUES
	('contains one',        $$s @> '{seg_17}'$$,                       $$a @> '{seg_17}'$$),
	('contains one quoted', $$s @> '{"Can''t Lose 50"}'$$,              $$a @> '{"Can''t Lose 50"}'$$),
	('contains two',        $$s @> '{seg_17,seg_42}'$$,                $$a @> '{seg_17,seg_42}'$$),
	('contains three',      $$s @> (SELECT segment_set(a[1:3]) FROM gin_rows WHERE id = 777)$$,
	                        $$a @> (SELECT a[1:3] FROM gin_rows WHERE id = 777)$$),
	('contains absent',     $$s @> '{seg_17,nobody}'$$,                $$a @> '{seg_17,nobody}'$$),
	('contains empty',      $$s @> '{}'$$,                             $$a @> '{}'$$),
	('overlaps two',        $$s && '{seg_17,seg_42}'$$,                $$a && '{seg_17,seg_42}'$$),
	('overlaps absent',     $$s && '{nobody}'$$,                       $$a && '{nobody}'$$),
	('overlaps empty',      $$s && '{}'$$,                             $$a && '{}'$$),
	('contained by half',   $$s <@ (SELECT segment_set(array_agg('seg_' || j)) FROM generate_series(0, 199, 2) j)$$,
	                        $$a <@ (SELECT array_agg('seg_' || j) FROM generate_series(0, 199, 2) j)$$),
	('contained by two',    $$s <@ '{seg_17,seg_42}'$$,                $$a <@ '{seg_17,seg_42}'$$),
	('contained by empty',  $$s <@ '{}'$$,                             $$a <@ '{}'$$),
	('has',                 $$s ? 'seg_99'$$,                          $$'seg_99' = ANY (a)$$),
	('has quoted',          $$s ? 'Can''t Lose 75'$$,                  $$'Can''t Lose 75' = ANY (a)$$),
	('has absent',          $$s ? 'SEG_99'$$,                          $$'SEG_99' = ANY (a)$$),
	('equals a row',        $$s = (SELECT s FROM gin_rows WHERE id = 777)$$, $$a = (SELECT a FROM gin_rows WHERE id = 777)$$),
	('equals empty',        $$s = '{}'$$,                              $$a = '{}'$$);

-- runs a condition on gin_rows: the matching ids, or the plan
CREATE FUNCTION matching_ids(cond text) RETURNS SETOF int LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE 'SELECT id FROM gin_rows WHERE ' || cond;
END
$$;
CREATE FUNCTION plan_of(cond text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	line text;
	plan text := '';
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) SELECT id FROM gin_rows WHERE ' || cond LOOP
		plan := plan || line || E'\n';
	END LOOP;
	RETURN plan;
END
$$;
ANALYZE gin_rows;

-- with the index: every query is a bitmap scan of it
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM gin_rows WHERE s @> '{seg_17,seg_42}';
CREATE TEMP TABLE by_index AS
SELECT name, matching_ids(set_cond) AS id FROM queries;
SELECT name, plan_of(set_cond) LIKE '%Bitmap Index Scan on gin_rows_s_idx%' AS uses_index
FROM queries ORDER BY name;
RESET enable_seqscan;
-- without it: sequential scans
SET enable_indexscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM gin_rows WHERE s @> '{seg_17,seg_42}';
CREATE TEMP TABLE by_scan AS
SELECT name, matching_ids(set_cond) AS id FROM queries;
CREATE TEMP TABLE by_array AS
SELECT name, matching_ids(array_cond) AS id FROM queries;
SELECT name, plan_of(set_cond) NOT LIKE '%gin_rows_s_idx%' AS no_index
FROM queries ORDER BY name;
RESET enable_indexscan;
RESET enable_bitmapscan;

-- the three agree on every query: no id in one and not in another
SELECT q.name,
       (SELECT count(*) FROM by_index i WHERE i.name = q.name) AS index_rows,
       (SELECT count(*) FROM by_scan i WHERE i.name = q.name) AS scan_rows,
       (SELECT count(*) FROM by_array i WHERE i.name = q.name) AS array_rows,
       (SELECT count(*) FROM ((SELECT id FROM by_index WHERE name = q.name EXCEPT ALL SELECT id FROM by_scan WHERE name = q.name)
                              UNION ALL
                              (SELECT id FROM by_scan WHERE name = q.name EXCEPT ALL SELECT id FROM by_index WHERE name = q.name)) d)
         AS index_vs_scan,
       (SELECT count(*) FROM ((SELECT id FROM by_scan WHERE name = q.name EXCEPT ALL SELECT id FROM by_array WHERE name = q.name)
                              UNION ALL
                              (SELECT id FROM by_array WHERE name = q.name EXCEPT ALL SELECT id FROM by_scan WHERE name = q.name)) d)
         AS scan_vs_array
FROM queries q ORDER BY q.name;
SELECT count(*) AS differences FROM (
	(SELECT * FROM by_index EXCEPT ALL SELECT * FROM by_scan) UNION ALL (SELECT * FROM by_scan EXCEPT ALL SELECT * FROM by_index)
	UNION ALL
	(SELECT * FROM by_scan EXCEPT ALL SELECT * FROM by_array) UNION ALL (SELECT * FROM by_array EXCEPT ALL SELECT * FROM by_scan)) d;

-- rows were read from the pending list; once it is moved into the index,
-- the index still gives the same rows
SELECT gin_clean_pending_list('gin_rows_s_idx') > 0 AS pending_list_cleaned;
VACUUM ANALYZE gin_rows;
SET enable_seqscan = off;
CREATE TEMP TABLE by_index_cleaned AS
SELECT name, matching_ids(set_cond) AS id FROM queries;
RESET enable_seqscan;
SELECT count(*) AS differences FROM (
	(SELECT * FROM by_index_cleaned EXCEPT ALL SELECT * FROM by_scan)
	UNION ALL (SELECT * FROM by_scan EXCEPT ALL SELECT * FROM by_index_cleaned)) d;

-- every pair of 300 customers (and the empty set): the order agrees with
-- text[] under COLLATE "C", equality with the arrays, hashes with equality
CREATE TEMP TABLE sample AS
SELECT s, a FROM gin_rows WHERE id % 67 = 0 AND s IS NOT NULL
UNION ALL SELECT '{}', '{}';
SELECT count(*) AS pairs,
       count(*) FILTER (WHERE (x.s < y.s) <> (x.a COLLATE "C" < y.a COLLATE "C")) AS lt_disagrees,
       count(*) FILTER (WHERE (x.s <= y.s) <> (x.a COLLATE "C" <= y.a COLLATE "C")) AS le_disagrees,
       count(*) FILTER (WHERE (x.s > y.s) <> (x.a COLLATE "C" > y.a COLLATE "C")) AS gt_disagrees,
       count(*) FILTER (WHERE (x.s >= y.s) <> (x.a COLLATE "C" >= y.a COLLATE "C")) AS ge_disagrees,
       count(*) FILTER (WHERE (x.s = y.s) <> (x.a = y.a)) AS eq_disagrees,
       count(*) FILTER (WHERE (x.s @> y.s) <> (x.a @> y.a)) AS contains_disagrees,
       count(*) FILTER (WHERE (x.s && y.s) <> (x.a && y.a)) AS overlaps_disagrees,
       count(*) FILTER (WHERE sign(segment_internal.segment_set_cmp(x.s, y.s)) <> sign(btarraycmp(x.a COLLATE "C", y.a COLLATE "C"))) AS cmp_disagrees,
       count(*) FILTER (WHERE x.s | y.s <> segment_set(x.a || y.a)) AS union_disagrees,
       count(*) FILTER (WHERE x.s = y.s AND segment_internal.segment_set_hash(x.s) <> segment_internal.segment_set_hash(y.s)) AS hash_disagrees
FROM sample x, sample y;
SELECT count(*) FILTER (WHERE (segment_internal.segment_set_hash(s)::bigint & 4294967295) <> (segment_internal.segment_set_hash_extended(s, 0) & 4294967295)) AS seed0_differs,
       count(DISTINCT segment_internal.segment_set_hash(s)) = count(DISTINCT s) AS hashes_distinct,
       count(DISTINCT segment_internal.segment_set_hash_extended(s, 42)) = count(DISTINCT s) AS seeded_distinct
FROM sample;

-- GROUP BY and DISTINCT, sorted and hashed, agree; so do hash and merge joins
CREATE TEMP TABLE coarse AS
SELECT id, s & '{seg_1,seg_2,seg_3,seg_4,seg_5,seg_6}' AS s FROM gin_rows WHERE s IS NOT NULL;
SET enable_hashagg = off;
EXPLAIN (COSTS OFF) SELECT s, count(*) FROM coarse GROUP BY s;
CREATE TEMP TABLE groups_sorted AS SELECT s, count(*) AS n FROM coarse GROUP BY s;
CREATE TEMP TABLE distinct_sorted AS SELECT DISTINCT s FROM coarse;
RESET enable_hashagg;
SET enable_sort = off;
EXPLAIN (COSTS OFF) SELECT s, count(*) FROM coarse GROUP BY s;
CREATE TEMP TABLE groups_hashed AS SELECT s, count(*) AS n FROM coarse GROUP BY s;
CREATE TEMP TABLE distinct_hashed AS SELECT DISTINCT s FROM coarse;
RESET enable_sort;
SELECT (SELECT count(*) FROM groups_sorted) AS groups, (SELECT sum(n) FROM groups_sorted) AS rows,
       (SELECT count(*) FROM (SELECT * FROM groups_sorted EXCEPT SELECT * FROM groups_hashed) d) AS sorted_not_hashed,
       (SELECT count(*) FROM (SELECT * FROM groups_hashed EXCEPT SELECT * FROM groups_sorted) d) AS hashed_not_sorted,
       (SELECT count(*) FROM distinct_sorted) AS distinct_sorted, (SELECT count(*) FROM distinct_hashed) AS distinct_hashed,
       (SELECT count(DISTINCT a & '{seg_1,seg_2,seg_3,seg_4,seg_5,seg_6}') FROM (SELECT s AS a FROM gin_rows WHERE s IS NOT NULL) x) AS check_groups;
SELECT s, n FROM groups_sorted ORDER BY n DESC, s LIMIT 8;
SET enable_mergejoin = off;
SET enable_nestloop = off;
SELECT count(*) AS hash_join FROM coarse x JOIN groups_sorted g ON x.s = g.s;
RESET enable_mergejoin;
SET enable_hashjoin = off;
SELECT count(*) AS merge_join FROM coarse x JOIN groups_sorted g ON x.s = g.s;
RESET enable_hashjoin;
RESET enable_nestloop;
-- a B-tree index on the column returns the rows in the order of the label arrays
CREATE INDEX coarse_s_btree ON coarse (s);
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT s FROM coarse ORDER BY s;
SELECT count(*) AS rows, count(*) FILTER (WHERE segment_set_labels(prev) COLLATE "C" > segment_set_labels(s) COLLATE "C") AS out_of_order
FROM (SELECT s, lag(s) OVER () AS prev FROM (SELECT s FROM coarse ORDER BY s) o) x;
RESET enable_seqscan;
RESET enable_bitmapscan;

--
-- segment_set_agg
--
SELECT g, segment_set_agg(l) AS set
FROM (VALUES (1, 'vip'), (1, 'champions'), (1, 'vip'), (1, NULL), (2, NULL), (3, 'Can''t Lose Them')) t(g, l)
GROUP BY g ORDER BY g;
SELECT segment_set_agg(l) IS NULL AS no_rows FROM (VALUES ('a')) t(l) WHERE false;
SELECT segment_set_agg(l) FROM (VALUES ('a'), ('')) t(l);
\echo :LAST_ERROR_SQLSTATE
-- many rows, few labels: the state compacts, the result holds each once
SELECT segment_set_count(segment_set_agg('l' || (i % 300))) AS labels, segment_set_agg('l' || (i % 3)) AS three
FROM generate_series(1, 100000) i;
-- too many different labels fails, even before the end
SELECT segment_set_agg('l' || i) FROM generate_series(1, 100000) i;
\echo :LAST_ERROR_SQLSTATE
-- in parallel: partial aggregates, serialized and combined, agree
CREATE TEMP TABLE agg_rows AS SELECT * FROM memberships;
CREATE TABLE agg_rows_shared AS SELECT * FROM memberships;
ANALYZE agg_rows_shared;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF) SELECT segment_set_agg(label) FROM agg_rows_shared;
SELECT segment_set_count(segment_set_agg(label)) AS parallel_labels,
       segment_set_agg(label) = (SELECT segment_set(array_agg(DISTINCT label)) FROM agg_rows) AS same_as_serial
FROM agg_rows_shared;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;

--
-- The operator classes are valid
--
SELECT opcname, amname, amvalidate(c.oid)
FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
WHERE opcname IN ('segment_set_ops', 'segment_set_btree_ops', 'segment_set_hash_ops')
ORDER BY opcname;
SELECT opcname, opcdefault FROM pg_opclass WHERE opcintype = 'segment_set'::regtype ORDER BY opcname;

-- every object of the extension that concerns segment_set has a comment
SELECT count(*) > 0 AS objects,
       count(*) FILTER (WHERE obj_description(d.objid, d.classid::regclass::text) IS NULL) AS without_comment
FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND e.extname = 'segment'
  AND pg_describe_object(d.classid, d.objid, 0) LIKE '%segment_set%';

DROP TABLE gin_rows;
DROP TABLE agg_rows_shared;
