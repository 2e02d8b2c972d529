-- Parallel plans: rfm_stats, rfm_stats_merge and rfm_thresholds run as
-- partial aggregates in parallel workers (their states are serialized,
-- deserialized and combined), and give exactly the serial results, also
-- when amounts are too large for the 128-bit fast path.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segment;
RESET client_min_messages;
SET TimeZone = 'UTC';

CREATE TABLE parallel_orders AS
SELECT c AS customer_id,
	   timestamptz '2024-01-01' + make_interval(secs => (hashint8(c * 100 + k)::bigint & 16777215) * 3.7) AS order_time,
	   CASE WHEN c % 1000 = 0 AND k = 1 THEN 1e36 + k	-- beyond the integer fast path
			ELSE ((hashint8(c * 31 + k)::bigint & 65535) / 100.0)::numeric(12, 2) END AS amount
FROM generate_series(1, 20000) c, generate_series(1, 1 + c % 7) k;
ANALYZE parallel_orders;

CREATE TABLE customer_stats AS
SELECT customer_id, rfm_stats(order_time, amount) AS stats FROM parallel_orders GROUP BY customer_id;
ANALYZE customer_stats;

-- serial results
SET max_parallel_workers_per_gather = 0;
CREATE TABLE serial_groups AS
SELECT customer_id % 500 AS bucket, rfm_stats(order_time, amount)::text AS stats
FROM parallel_orders GROUP BY 1;
CREATE TABLE serial_all AS
SELECT (SELECT rfm_stats(order_time, amount)::text FROM parallel_orders) AS stats,
	   rfm_thresholds(stats, '2026-01-01')::text AS thresholds,
	   rfm_stats_merge(stats)::text AS merged
FROM customer_stats;

-- force parallel plans
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000
					   THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END, 'regress', false);

-- grouped: 500 groups of about 160 orders each (sorted grouping, since
-- the planner keeps hashed grouping out of the workers at this size)
SET enable_hashagg = off;
CREATE FUNCTION pg_temp.aggregate_modes(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	plan jsonb;
BEGIN
	EXECUTE 'EXPLAIN (COSTS OFF, FORMAT JSON) ' || query INTO plan;
	RETURN (SELECT string_agg(m #>> '{}', ', ' ORDER BY m #>> '{}')
			FROM jsonb_path_query(plan, 'strict $.**."Partial Mode"') m)
		   || CASE WHEN jsonb_path_exists(plan, 'strict $.**."Node Type" ? (@ == "Gather" || @ == "Gather Merge")')
				   THEN ', in workers' ELSE ', in the backend' END;
END $$;
SELECT pg_temp.aggregate_modes('SELECT customer_id % 500, rfm_stats(order_time, amount) FROM parallel_orders GROUP BY 1')
	   AS grouped;
SELECT count(*) AS groups, count(*) FILTER (WHERE p.stats IS DISTINCT FROM s.stats) AS differences
FROM (SELECT customer_id % 500 AS bucket, rfm_stats(order_time, amount)::text AS stats
	  FROM parallel_orders GROUP BY 1) p
FULL JOIN serial_groups s USING (bucket);
RESET enable_hashagg;

-- ungrouped: all orders at once; the thresholds of all customers; merging
-- all customers' statistics gives the statistics of all orders
EXPLAIN (COSTS OFF)
SELECT rfm_stats(order_time, amount) FROM parallel_orders;
EXPLAIN (COSTS OFF)
SELECT rfm_thresholds(stats, '2026-01-01'), rfm_stats_merge(stats) FROM customer_stats;
SELECT p.stats = s.stats AS stats_equal, p.thresholds = s.thresholds AS thresholds_equal,
	   p.merged = s.merged AS merged_equal, p.merged = p.stats AS merge_gives_all
FROM (SELECT (SELECT rfm_stats(order_time, amount)::text FROM parallel_orders) AS stats,
			 rfm_thresholds(stats, '2026-01-01')::text AS thresholds,
			 rfm_stats_merge(stats)::text AS merged
	  FROM customer_stats) p,
	 serial_all s;
SELECT total_amount(rfm_stats(order_time, amount)) = sum(amount) AS exact_total,
	   sum(amount) > 1e37 AS beyond_fast_path
FROM parallel_orders;
