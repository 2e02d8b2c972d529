--
-- edges: the aggregates at the edges of their input, and the same answers
-- from every kind of plan.
--
-- Proves: every aggregate (rfm_stats, rfm_stats_merge, the three
-- rfm_thresholds, segment_set_agg, min and max of rfm) is NULL over no rows
-- and over only NULL input, grouped or not, and rfm_stats_of_order and
-- rfm_stats_combine likewise; the bins of rows left out of a population
-- are checked in any order (22023); NaN and infinite amounts and infinite times
-- are 22023 from the functions too; totals beyond int64, beyond 10^37 and
-- beyond 10^38, amounts with 30 significant digits and with scales of 20 to
-- 40, and negative totals equal sum(numeric) as text (value and display
-- scale), and their double, which the monetary score compares, equals
-- total::float8; percentile thresholds and monetary scores over such totals
-- equal percentile_cont and counting in plain SQL; serial plans, parallel
-- plans, force_parallel_mode = regress (debug_parallel_query on PG16+),
-- sorted and hashed grouping, and partitionwise aggregation over a
-- partitioned orders table (partial aggregates per partition, an empty
-- partition, a partition of NULL times) give identical rows, an error
-- raised in a worker or a partition's partial aggregate keeps its SQLSTATE,
-- and segment_set_agg's limit of 1000 labels holds exactly across
-- partitions and workers (54000).
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segment;
RESET client_min_messages;
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET extra_float_digits = 0;
\set VERBOSITY default
\set SHOW_CONTEXT never

--
-- No rows and only NULLs: every aggregate is NULL, like sum()
--
CREATE TABLE edges_rows (grp text, order_time timestamptz, amount numeric,
						 stats rfm_stats, as_of timestamptz, label text, score rfm);
INSERT INTO edges_rows VALUES
	-- no order time (whatever the amount), no stats, no label, no score
	('only nulls', NULL, NULL, NULL, '2025-01-01', NULL, NULL),
	('only nulls', NULL, 5, NULL, '2025-01-01', NULL, NULL),
	('only nulls', NULL, 'NaN', NULL, NULL, NULL, NULL),
	('only nulls', NULL, '-Infinity', NULL, NULL, NULL, NULL),
	('some values', NULL, 7, NULL, NULL, NULL, NULL),
	('some values', '2024-01-01', NULL, '(orders=2, total=3, first=2023-01-01, previous=2023-06-01, last=2024-01-01)',
	 '2025-01-01', 'vip', '3-2-1'),
	('some values', '2024-02-01', -2.5, NULL, NULL, NULL, '1-2-3');
-- how many of the nine aggregates are not NULL: none over nothing, all
-- nine over values
CREATE VIEW edges_nonnulls AS
SELECT grp,
	   num_nonnulls(rfm_stats(order_time, amount), rfm_stats_merge(stats),
					rfm_thresholds(stats, as_of), rfm_thresholds(stats, as_of, 3),
					rfm_thresholds(stats, as_of, 2, 3, 4), segment_set_agg(label),
					min(score), max(score),
					rfm_stats_merge(rfm_stats_of_order(order_time, amount))) AS not_null
FROM edges_rows GROUP BY grp;
SELECT * FROM edges_nonnulls ORDER BY grp;
SET enable_hashagg = off;
SELECT * FROM edges_nonnulls ORDER BY grp;
RESET enable_hashagg;
-- customers without as_of are left out of a population: none is left
SELECT num_nonnulls(rfm_thresholds(stats, NULL), rfm_thresholds(stats, NULL, 3),
					rfm_thresholds(stats, NULL, 2, 3, 4)) AS not_null
FROM edges_rows WHERE stats IS NOT NULL;
-- but their bins count: every row of a population must have the same
-- bins, whichever row comes first and whether or not it is left out (22023),
-- in the aggregate as in the window function
SELECT rfm_thresholds(s, '2025-01-01', b ORDER BY k)
FROM (VALUES (1, NULL::rfm_stats, 3), (2, '(orders=1, total=1, first=2024-01-01, last=2024-01-01)', 4)) v(k, s, b);
\echo :LAST_ERROR_SQLSTATE
SELECT rfm_thresholds(s, '2025-01-01', b ORDER BY k DESC)
FROM (VALUES (1, NULL::rfm_stats, 3), (2, '(orders=1, total=1, first=2024-01-01, last=2024-01-01)', 4)) v(k, s, b);
\echo :LAST_ERROR_SQLSTATE
SELECT rfm_thresholds(s, NULL, b) FROM (VALUES ('(orders=1, total=1, first=2024-01-01, last=2024-01-01)'::rfm_stats, 3),
											 (NULL, 4)) v(s, b);
\echo :LAST_ERROR_SQLSTATE
SELECT rfm_score(s, '2025-01-01', b) OVER (ORDER BY k ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
FROM (VALUES (1, NULL::rfm_stats, 3), (2, '(orders=1, total=1, first=2024-01-01, last=2024-01-01)', 4)) v(k, s, b);
\echo :LAST_ERROR_SQLSTATE
-- no rows at all, ungrouped: one row of NULLs; grouped: no row
SELECT num_nonnulls(rfm_stats(order_time, amount), rfm_stats_merge(stats),
					rfm_thresholds(stats, as_of), rfm_thresholds(stats, as_of, 3),
					rfm_thresholds(stats, as_of, 2, 3, 4), segment_set_agg(label),
					min(score), max(score)) AS not_null, count(*) AS rows
FROM edges_rows WHERE false;
SELECT count(*) AS groups FROM (SELECT grp, rfm_stats(order_time, amount) FROM edges_rows WHERE false GROUP BY grp) g;
-- a FILTER that lets nothing through, in groups that have rows
SELECT grp, num_nonnulls(rfm_stats(order_time, amount) FILTER (WHERE false),
						 rfm_stats_merge(stats) FILTER (WHERE false),
						 rfm_thresholds(stats, as_of) FILTER (WHERE false),
						 segment_set_agg(label) FILTER (WHERE false),
						 min(score) FILTER (WHERE false)) AS not_null
FROM edges_rows GROUP BY grp ORDER BY grp;
-- the row functions: a NULL time is no order, NULL on both sides is none
SELECT rfm_stats_of_order(NULL, 5) IS NULL AS no_time,
	   rfm_stats_of_order(NULL, 'NaN') IS NULL AS no_time_nan_amount,
	   rfm_stats_combine(NULL, NULL) IS NULL AS none,
	   rfm_stats_of_order('2024-01-01', NULL) AS no_amount,
	   rfm_stats_combine(NULL, rfm_stats_of_order('2024-01-01', 2))::text
		 = rfm_stats_of_order('2024-01-01', 2)::text AS one_side;
-- and they reject what the aggregate rejects, with the same SQLSTATE
SELECT rfm_stats_of_order('2024-01-01', 'NaN');
\echo :LAST_ERROR_SQLSTATE
SELECT rfm_stats_of_order('2024-01-01', 'Infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT rfm_stats_of_order('2024-01-01', '-Infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT rfm_stats_of_order('infinity', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT rfm_stats_of_order('-infinity', NULL);
\echo :LAST_ERROR_SQLSTATE
-- a rejected amount in a row without a time is never looked at, in any aggregate
SELECT rfm_stats(order_time, amount) IS NULL AS skipped
FROM (VALUES (NULL::timestamptz, 'Infinity'::numeric), (NULL, '-Infinity'), (NULL, 'NaN')) v(order_time, amount);

--
-- Exact totals at the edges of the 128-bit fast path
--
CREATE TABLE edges_amounts (grp text, amount numeric);
INSERT INTO edges_amounts VALUES
	('scale 20', 0.00000000000000000001), ('scale 20', 0.00000000000000000001), ('scale 20', 0.00000000000000000003),
	('scale 25 and integers', 1.0000000000000000000000001), ('scale 25 and integers', 12345), ('scale 25 and integers', -0.5),
	('scale 37', 0.0000000000000000000000000000000000001), ('scale 37', 1),
	('scale 38', 0.00000000000000000000000000000000000001), ('scale 38', 1),
	('scale 40 alone', 0.0000000000000000000000000000000000000001),
	('30 digits, scale 20', 1234567890.12345678901234567890), ('30 digits, scale 20', 1234567890.12345678901234567890),
	('30 digits, scale 20', -1234567890.12345678901234567891),
	('30 digits, scale 29', 9.99999999999999999999999999999), ('30 digits, scale 29', 0.00000000000000000000000000001),
	('decimals that cancel', 0.1234567890123456789012345), ('decimals that cancel', -0.1234567890123456789012345),
	('int64 min twice', -9223372036854775808), ('int64 min twice', -9223372036854775808),
	('int64 max plus one', 9223372036854775807), ('int64 max plus one', 1),
	('37 nines', 9999999999999999999999999999999999999), ('37 nines', 0),
	('37 nines plus one', 9999999999999999999999999999999999999), ('37 nines plus one', 1),
	('to 10^37 and back', 5000000000000000000000000000000000000), ('to 10^37 and back', 5000000000000000000000000000000000000),
	('to 10^37 and back', -10000000000000000000000000000000000000),
	('10^30 then a decimal', 1000000000000000000000000000000), ('10^30 then a decimal', 0.0000001),
	('a decimal then 10^30', 0.0000001), ('a decimal then 10^30', 1000000000000000000000000000000),
	('negative beyond 10^40', -1e40), ('negative beyond 10^40', 1.5),
	('negative, many decimals', -0.000000000000000000000000000000000000000000000000001),
	('negative, many decimals', -1.00000000000000000000000000000000000000000000000001),
	('only NULL amounts', NULL), ('only NULL amounts', NULL),
	('NULL amounts and a value', NULL), ('NULL amounts and a value', 1.50), ('NULL amounts and a value', NULL),
	('zero with scale 30', 0.000000000000000000000000000000), ('zero with scale 30', 0);
-- generated: up to 37 significant digits at scales 20 to 37, both signs
INSERT INTO edges_amounts
SELECT 'generated ' || (i % 50),
	   round(((hashint8(i)::numeric * 1000000000000000000 + hashint8(-i)) * power(10::numeric, -(i % 18))),
			 20 + i % 18) * (1 - 2 * (i % 3 % 2))
FROM generate_series(1, 5000) i;
CREATE VIEW edges_totals AS
SELECT grp, rfm_stats('2024-01-01', amount) AS stats, coalesce(sum(amount), 0) AS sum, count(*) AS orders
FROM edges_amounts GROUP BY grp;
-- the totals equal sum(numeric) as text: same value, same display scale;
-- the double the monetary score uses equals total::float8
SELECT count(*) AS groups,
	   count(*) FILTER (WHERE total_amount(stats)::text <> sum::text) AS total_differs,
	   count(*) FILTER (WHERE order_count(stats) <> orders) AS count_differs,
	   count(*) FILTER (WHERE monetary <> ARRAY[sum::float8]) AS double_differs
FROM edges_totals t,
	 LATERAL (SELECT monetary_thresholds(rfm_thresholds(s, '2025-01-01', 2)) FROM (SELECT t.stats) one(s)) x(monetary);
-- which of the hand-picked groups end where (the oracle above checks them all)
SELECT grp, total_amount(stats) FROM edges_totals WHERE grp NOT LIKE 'generated%' ORDER BY grp;
-- merging the groups' statistics, in any order, and folding them pairwise
-- with rfm_stats_combine give the total of all amounts
SELECT total_amount(rfm_stats_merge(stats ORDER BY grp))::text = (SELECT sum(amount)::text FROM edges_amounts) AS merge_exact,
	   total_amount(rfm_stats_merge(stats ORDER BY grp DESC))::text = (SELECT sum(amount)::text FROM edges_amounts) AS reversed_exact
FROM edges_totals;
WITH RECURSIVE ordered AS (
	SELECT row_number() OVER (ORDER BY grp) AS n, stats FROM edges_totals
), folded AS (
	SELECT 0::bigint AS n, NULL::rfm_stats AS stats
	UNION ALL
	SELECT o.n, rfm_stats_combine(f.stats, o.stats) FROM folded f JOIN ordered o ON o.n = f.n + 1
)
SELECT total_amount(stats)::text = (SELECT sum(amount)::text FROM edges_amounts) AS combine_exact,
	   order_count(stats) = (SELECT count(*) FROM edges_amounts) AS combine_count
FROM folded WHERE n = (SELECT count(*) FROM ordered);

-- thresholds and monetary scores over negative, tiny and huge totals
-- (beyond int64, beyond 10^37) agree with percentile_cont and counting
CREATE TABLE edges_population AS
SELECT grp, stats, sum::float8 AS m FROM edges_totals;
SELECT count(*) FILTER (WHERE m < 0) AS negative, count(*) FILTER (WHERE abs(m) > 1e37) AS beyond_10_37,
	   count(*) FILTER (WHERE abs(m) < 1e-10) AS near_zero
FROM edges_population;
SELECT b AS bins,
	   monetary_thresholds(rfm_thresholds(stats, '2025-01-01', b))
		 = (SELECT percentile_cont((SELECT array_agg(k::float8 / b) FROM generate_series(1, b - 1) k))
					 WITHIN GROUP (ORDER BY m)
			FROM edges_population) AS same_thresholds
FROM edges_population, generate_series(2, 9) b GROUP BY b ORDER BY b;
SELECT count(*) AS customers,
	   count(*) FILTER (WHERE monetary_score(score)
						<> 1 + (SELECT count(*) FROM unnest(monetary_thresholds(th)) t WHERE m > t)) AS score_differs
FROM (SELECT m, rfm_score(stats, '2025-01-01', 7) OVER () AS score FROM edges_population) s,
	 (SELECT rfm_thresholds(stats, '2025-01-01', 7) AS th FROM edges_population) t;
-- a total beyond double precision cannot be scored (the message, from
-- PostgreSQL's float8 input, spells out all 309 digits)
\set VERBOSITY sqlstate
SELECT rfm_thresholds(s, '2025-01-01')
FROM (SELECT rfm_stats('2024-01-01', a) FROM (VALUES (1e308), (1e308)) v(a)) x(s);
\set VERBOSITY default

--
-- Serial, parallel and partitionwise plans give the same rows
--
-- Orders in yearly partitions, an empty one (2025) and a default one that
-- holds the rows without a time; amounts of every kind above.  Store -1
-- holds the customers without any order.
CREATE TABLE edges_orders (order_id int, store int, customer_id int, order_time timestamptz, amount numeric,
						   label text)
	PARTITION BY RANGE (order_time);
CREATE TABLE edges_orders_2022 PARTITION OF edges_orders FOR VALUES FROM (MINVALUE) TO ('2023-01-01');
CREATE TABLE edges_orders_2023 PARTITION OF edges_orders FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE edges_orders_2024 PARTITION OF edges_orders FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE edges_orders_2025 PARTITION OF edges_orders FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE edges_orders_no_time PARTITION OF edges_orders DEFAULT;
INSERT INTO edges_orders
SELECT row_number() OVER (ORDER BY c, k), CASE WHEN c % 50 = 0 THEN -1 ELSE c % 5 END, c,
	   CASE WHEN c % 50 = 0 THEN NULL				-- customers without any order
			WHEN c % 7 = 0 AND k = 3 THEN NULL		-- a row without a time among orders
			ELSE timestamptz '2022-01-01' + make_interval(secs => (hashint8(c * 10 + k) & 67108863) * 1.4) END,
	   CASE hashint4(c * 10 + k) & 15
			WHEN 0 THEN NULL
			WHEN 1 THEN -((hashint4(c + k) & 65535) / 100.0)
			WHEN 2 THEN 123456789012345678901234567890 + k
			WHEN 3 THEN 1234567890.12345678901234567890 * k
			WHEN 4 THEN 0.000000000000000000000000000001 * (hashint4(c) & 1023)
			WHEN 5 THEN 9000000000000000000000000000000000000
			WHEN 6 THEN -9223372036854775808
			WHEN 7 THEN 1e40 * k
			ELSE ((hashint4(c * 31 + k) & 1048575) / 100.0)::numeric(12, 2) END,
	   CASE WHEN k % 4 = 0 THEN NULL ELSE 'label ' || (hashint4(c * 7 + k) & 31) END
FROM generate_series(1, 3000) c, generate_series(1, 1 + c % 6) k;
ANALYZE edges_orders;
SELECT tableoid::regclass AS partition, count(*) AS rows, count(order_time) AS with_time
FROM edges_orders GROUP BY 1 ORDER BY 1;

-- the queries compared: per customer, per store, over everything (all
-- rows, no rows, only rows without a time)
CREATE VIEW edges_per_customer AS
SELECT customer_id, rfm_stats(order_time, amount)::text AS stats, segment_set_agg(label) AS labels,
	   count(*) AS rows
FROM edges_orders GROUP BY customer_id;
CREATE VIEW edges_per_store AS
SELECT store, rfm_stats(order_time, amount)::text AS stats, segment_set_agg(label) AS labels,
	   count(*) AS rows
FROM edges_orders GROUP BY store;
CREATE VIEW edges_overall AS
SELECT 'all' AS part, rfm_stats(order_time, amount)::text AS stats, segment_set_agg(label) AS labels,
	   count(*) AS rows
FROM edges_orders
UNION ALL
SELECT 'none', rfm_stats(order_time, amount)::text, segment_set_agg(label), count(*)
FROM edges_orders WHERE customer_id < 0
UNION ALL
SELECT 'no time', rfm_stats(order_time, amount)::text, segment_set_agg(label), count(*)
FROM edges_orders WHERE order_time IS NULL;

-- labels in two partitions: 1000 different ones in all, the most a
-- segment_set holds, and one more when label 'extra' is let in
CREATE TABLE edges_labels (part int, label text) PARTITION BY LIST (part);
CREATE TABLE edges_labels_1 PARTITION OF edges_labels FOR VALUES IN (1);
CREATE TABLE edges_labels_2 PARTITION OF edges_labels FOR VALUES IN (2);
INSERT INTO edges_labels SELECT 1, 'first ' || i FROM generate_series(1, 500) i, generate_series(1, 3);
INSERT INTO edges_labels SELECT 2, 'second ' || i FROM generate_series(1, 500) i;
INSERT INTO edges_labels VALUES (2, 'extra'), (2, 'first 1');
ANALYZE edges_labels;
\set label_at_limit 'SELECT segment_set_count(segment_set_agg(label)) AS labels FROM edges_labels WHERE label <> ''extra'''
\set label_beyond 'SELECT segment_set_agg(label) FROM edges_labels'

-- the oracle for the per-customer statistics, in plain SQL
SELECT count(*) AS customers,
	   count(*) FILTER (WHERE stats IS NULL) AS without_orders,
	   count(*) FILTER (WHERE stats IS DISTINCT FROM plain) AS differ
FROM edges_per_customer
JOIN (SELECT customer_id,
			 CASE WHEN count(order_time) > 0 THEN
				 format('(orders=%s, total=%s, first=%s, %slast=%s)', count(order_time),
						coalesce(sum(amount) FILTER (WHERE order_time IS NOT NULL), 0),
						min(order_time),
						CASE WHEN count(order_time) > 1
							 THEN format('previous=%s, ', (array_agg(order_time ORDER BY order_time DESC)
														   FILTER (WHERE order_time IS NOT NULL))[2]) END,
						max(order_time)) END AS plain
	  FROM edges_orders GROUP BY customer_id) p USING (customer_id);

-- the customers' statistics and scores, in hash partitions; compared per
-- store, over all customers and over none
SET max_parallel_workers_per_gather = 0;
SET enable_partitionwise_aggregate = off;
CREATE TABLE edges_customers (store int, customer_id int, stats rfm_stats, score rfm) PARTITION BY HASH (customer_id);
CREATE TABLE edges_customers_0 PARTITION OF edges_customers FOR VALUES WITH (MODULUS 3, REMAINDER 0);
CREATE TABLE edges_customers_1 PARTITION OF edges_customers FOR VALUES WITH (MODULUS 3, REMAINDER 1);
CREATE TABLE edges_customers_2 PARTITION OF edges_customers FOR VALUES WITH (MODULUS 3, REMAINDER 2);
INSERT INTO edges_customers
SELECT store, customer_id, stats, rfm_score(stats, '2025-06-01') OVER ()
FROM (SELECT store, customer_id, rfm_stats(order_time, amount) AS stats
	  FROM edges_orders GROUP BY store, customer_id) s;
ANALYZE edges_customers;
CREATE VIEW edges_by_population AS
SELECT store, rfm_thresholds(stats, '2025-06-01')::text AS thresholds,
	   rfm_thresholds(stats, '2025-06-01', 9)::text AS thresholds_9,
	   rfm_thresholds(stats, '2025-06-01', 9, 2, 4)::text AS thresholds_9_2_4,
	   rfm_stats_merge(stats)::text AS merged, min(score), max(score),
	   segment_set_agg(score::text) AS cells, count(*) AS rows
FROM edges_customers GROUP BY store
UNION ALL
SELECT -2, rfm_thresholds(stats, '2025-06-01')::text, rfm_thresholds(stats, '2025-06-01', 9)::text,
	   rfm_thresholds(stats, '2025-06-01', 9, 2, 4)::text,
	   rfm_stats_merge(stats)::text, min(score), max(score), segment_set_agg(score::text), count(*)
FROM edges_customers
UNION ALL
SELECT -3, rfm_thresholds(stats, '2025-06-01')::text, rfm_thresholds(stats, '2025-06-01', 9)::text,
	   rfm_thresholds(stats, '2025-06-01', 9, 2, 4)::text,
	   rfm_stats_merge(stats)::text, min(score), max(score), segment_set_agg(score::text), count(*)
FROM edges_customers WHERE customer_id < 0;

-- serial answers
CREATE TABLE edges_serial_per_customer AS SELECT * FROM edges_per_customer;
CREATE TABLE edges_serial_per_store AS SELECT * FROM edges_per_store;
CREATE TABLE edges_serial_overall AS SELECT * FROM edges_overall;
CREATE TABLE edges_serial_by_population AS SELECT * FROM edges_by_population;
SELECT store, stats IS NULL AS stats_null, labels IS NULL AS labels_null, rows FROM edges_serial_per_store ORDER BY store;
SELECT part, stats IS NULL AS stats_null, labels IS NULL AS labels_null, rows FROM edges_serial_overall ORDER BY part;
SELECT store, thresholds IS NULL AS thresholds_null, merged IS NULL AS merged_null, min, max, rows
FROM edges_serial_by_population WHERE store < 0 ORDER BY store;
-- the rows that differ from the serial answers, in either direction
\set differences 'SELECT (SELECT count(*) FROM ((TABLE edges_serial_per_customer EXCEPT ALL TABLE edges_per_customer) UNION ALL (TABLE edges_per_customer EXCEPT ALL TABLE edges_serial_per_customer)) d) AS per_customer, (SELECT count(*) FROM ((TABLE edges_serial_per_store EXCEPT ALL TABLE edges_per_store) UNION ALL (TABLE edges_per_store EXCEPT ALL TABLE edges_serial_per_store)) d) AS per_store, (SELECT count(*) FROM ((TABLE edges_serial_overall EXCEPT ALL TABLE edges_overall) UNION ALL (TABLE edges_overall EXCEPT ALL TABLE edges_serial_overall)) d) AS overall, (SELECT count(*) FROM ((TABLE edges_serial_by_population EXCEPT ALL TABLE edges_by_population) UNION ALL (TABLE edges_by_population EXCEPT ALL TABLE edges_serial_by_population)) d) AS by_population'
-- an order that the aggregate rejects, to see the error come back from
-- workers and partial aggregates with its SQLSTATE
\set rejected_amount 'SELECT store, rfm_stats(order_time, CASE WHEN order_id = 5000 THEN ''NaN'' ELSE amount END) FROM edges_orders GROUP BY store'
\set rejected_time 'SELECT rfm_stats(CASE WHEN order_id = 7000 THEN ''infinity'' ELSE order_time END, amount) FROM edges_orders'

-- serial, sorted grouping
SET enable_hashagg = off;
:differences;
RESET enable_hashagg;
:label_at_limit;
:label_beyond;
\echo :LAST_ERROR_SQLSTATE

-- serial, hashed grouping that spills to disk: every customer's state
-- goes through a batch written out and read back
SET enable_sort = off;
SET work_mem = '64kB';
CREATE FUNCTION edges_hash_batches(query text) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
	plan jsonb;
BEGIN
	EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, FORMAT JSON) ' || query INTO plan;
	RETURN (SELECT max(b::int) FROM jsonb_path_query(plan, 'strict $.**."HashAgg Batches"') b);
END
$$;
SELECT edges_hash_batches('SELECT * FROM edges_per_customer') > 1 AS spilled;
:differences;
RESET work_mem;
RESET enable_sort;

-- partitionwise: a partial aggregate per partition, finalized above them
-- (what the plans must show: how many aggregates run in which mode, and
-- whether in workers; not the order or kind of the other nodes)
CREATE FUNCTION edges_plan_shape(query text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	plan jsonb;
BEGIN
	EXECUTE 'EXPLAIN (COSTS OFF, FORMAT JSON) ' || query INTO plan;
	RETURN format('%s partial, %s finalize, %s',
		(SELECT count(*) FROM jsonb_path_query(plan, 'strict $.**."Partial Mode"') m WHERE m #>> '{}' = 'Partial'),
		(SELECT count(*) FROM jsonb_path_query(plan, 'strict $.**."Partial Mode"') m WHERE m #>> '{}' = 'Finalize'),
		CASE WHEN jsonb_path_exists(plan, 'strict $.**."Node Type" ? (@ == "Gather" || @ == "Gather Merge")')
			 THEN 'in workers' ELSE 'in the backend' END);
END
$$;
SET enable_partitionwise_aggregate = on;
SELECT edges_plan_shape('SELECT * FROM edges_per_store') AS per_store_5_partitions;
SELECT edges_plan_shape('SELECT rfm_stats(order_time, amount) FROM edges_orders') AS overall_5_partitions;
SELECT edges_plan_shape($$SELECT store, rfm_thresholds(stats, '2025-06-01'), rfm_stats_merge(stats), min(score)
						  FROM edges_customers GROUP BY store$$) AS customers_3_partitions;
:differences;
SET enable_hashagg = off;
:differences;
RESET enable_hashagg;
:rejected_amount;
\echo :LAST_ERROR_SQLSTATE
:rejected_time;
\echo :LAST_ERROR_SQLSTATE
SELECT edges_plan_shape(:'label_beyond') AS labels_2_partitions;
:label_at_limit;
:label_beyond;
\echo :LAST_ERROR_SQLSTATE

-- parallel: partial aggregates in workers, serialized and combined
SET enable_partitionwise_aggregate = off;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SELECT edges_plan_shape('SELECT rfm_stats(order_time, amount), segment_set_agg(label) FROM edges_orders') AS parallel;
:differences;
SET enable_hashagg = off;
:differences;
RESET enable_hashagg;
:rejected_amount;
\echo :LAST_ERROR_SQLSTATE
:rejected_time;
\echo :LAST_ERROR_SQLSTATE

SELECT edges_plan_shape(:'label_beyond') AS parallel_labels;
:label_at_limit;
:label_beyond;
\echo :LAST_ERROR_SQLSTATE

-- parallel and partitionwise together
SET enable_partitionwise_aggregate = on;
SELECT edges_plan_shape('SELECT * FROM edges_per_store') AS parallel_per_store_5_partitions;
:differences;

-- every query run in a worker (force_parallel_mode, renamed
-- debug_parallel_query in PostgreSQL 16)
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
SET max_parallel_workers_per_gather = 0;
SET enable_partitionwise_aggregate = off;
SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000
					   THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END, 'regress', false) AS forced;
:differences;
:rejected_amount;
\echo :LAST_ERROR_SQLSTATE
SET enable_partitionwise_aggregate = on;
:differences;
SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000
					   THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END, 'off', false) AS forced;
RESET max_parallel_workers_per_gather;
RESET enable_partitionwise_aggregate;

DROP VIEW edges_per_customer, edges_per_store, edges_overall, edges_by_population, edges_totals, edges_nonnulls;
DROP TABLE edges_orders, edges_labels, edges_customers, edges_serial_per_customer, edges_serial_per_store, edges_serial_overall,
	edges_serial_by_population, edges_population, edges_amounts, edges_rows;
DROP FUNCTION edges_hash_batches(text);
DROP FUNCTION edges_plan_shape(text);
