-- Oracle test: rfm_stats and rfm_score agree exactly with the same answers
-- computed independently in plain SQL (min, max, count, sum, array_agg,
-- percentile_cont and comparisons) on 12,000 generated customers in three
-- stores, for several bin counts.  The expected output is a row of zero
-- differences.  oracle_differences() is reused by the cdnow test.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segment;
RESET client_min_messages;
SET TimeZone = 'UTC';

CREATE TABLE oracle_orders (store int, customer_id bigint, order_time timestamptz, amount numeric);

-- Differences between the extension and plain SQL over oracle_orders.
CREATE FUNCTION oracle_differences(as_of timestamptz, recency_bins int, frequency_bins int, monetary_bins int)
RETURNS TABLE (customers bigint, stats_differences bigint, score_differences bigint)
LANGUAGE sql AS $$
WITH plain AS (
	SELECT store, customer_id, count(*) AS orders, min(order_time) AS first_order,
		   (array_agg(order_time ORDER BY order_time DESC))[2] AS previous_order,
		   max(order_time) AS last_order, coalesce(sum(amount), 0) AS total
	FROM oracle_orders WHERE order_time IS NOT NULL
	GROUP BY store, customer_id
), plain_values AS (
	SELECT *, (extract(epoch FROM as_of - last_order) * 1000000)::float8 / 86400000000.0 AS r,
		   orders::float8 AS f, total::float8 AS m
	FROM plain
), plain_thresholds AS (
	SELECT store,
		   percentile_cont((SELECT array_agg(k::float8 / recency_bins) FROM generate_series(1, recency_bins - 1) k))
			   WITHIN GROUP (ORDER BY r) AS rt,
		   percentile_cont((SELECT array_agg(k::float8 / frequency_bins) FROM generate_series(1, frequency_bins - 1) k))
			   WITHIN GROUP (ORDER BY f) AS ft,
		   percentile_cont((SELECT array_agg(k::float8 / monetary_bins) FROM generate_series(1, monetary_bins - 1) k))
			   WITHIN GROUP (ORDER BY m) AS mt
	FROM plain_values GROUP BY store
), plain_scores AS (
	SELECT v.*,
		   recency_bins - (SELECT count(*) FROM unnest(rt) t WHERE t < r)::int AS rs,
		   1 + (SELECT count(*) FROM unnest(ft) t WHERE t < f)::int AS fs,
		   1 + (SELECT count(*) FROM unnest(mt) t WHERE t < m)::int AS ms
	FROM plain_values v JOIN plain_thresholds USING (store)
), ours AS (
	SELECT store, customer_id, stats,
		   rfm_score(stats, as_of, recency_bins, frequency_bins, monetary_bins) OVER (PARTITION BY store) AS rfm
	FROM (SELECT store, customer_id, rfm_stats(order_time, amount) AS stats
		  FROM oracle_orders GROUP BY store, customer_id) s
)
SELECT count(*),
	   count(*) FILTER (WHERE order_count(stats) <> orders
						   OR first_order_time(stats) <> first_order
						   OR previous_order_time(stats) IS DISTINCT FROM previous_order
						   OR last_order_time(stats) <> last_order
						   OR total_amount(stats) <> total),
	   count(*) FILTER (WHERE (recency_score(rfm), frequency_score(rfm), monetary_score(rfm)) <> (rs, fs, ms))
FROM ours FULL JOIN plain_scores USING (store, customer_id)
$$;

-- 12,000 customers with 1 to about 40 orders (geometric), times to the
-- microsecond over two years, amounts with cents, a few refunds and many
-- repeated amounts so that ties occur in every dimension
CREATE FUNCTION unit(bigint) RETURNS float8 LANGUAGE sql IMMUTABLE
	AS $$ SELECT (hashint8($1)::bigint + 2147483648) / 4294967296.0 $$;
INSERT INTO oracle_orders
SELECT c % 3, c,
	   timestamptz '2023-01-01' + make_interval(secs => unit(c * 1000 + k) * 63072000),
	   CASE WHEN unit(c * 7000 + k) < 0.02 THEN -5.00
			WHEN unit(c * 9000 + k) < 0.3 THEN 19.99
			ELSE round((exp(unit(c * 5000 + k) * 6))::numeric, 2) END
FROM generate_series(1, 12000) c,
	 generate_series(1, 1 + floor(-ln(1 - unit(c * 3)) * 4)::int) k;
SELECT count(DISTINCT customer_id) AS customers, count(*) AS orders,
	   max(n) AS most_orders, count(*) FILTER (WHERE amount < 0) AS refunds
FROM oracle_orders JOIN (SELECT customer_id, count(*) AS n FROM oracle_orders GROUP BY 1) c USING (customer_id);

SELECT * FROM oracle_differences('2025-01-01', 5, 5, 5);
SELECT * FROM oracle_differences('2025-01-01 12:34:56.789', 3, 4, 7);
SELECT * FROM oracle_differences('2030-06-30', 9, 2, 1);
