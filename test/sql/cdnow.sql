-- Oracle test on real data: the CDNOW purchase log (69,659 orders of 23,570
-- customers, 1997-1998) from ../shared/data beside the checkout, scored by
-- the extension and by plain SQL (oracle_differences from the rfm_oracle
-- test) with zero differences.  Skipped cleanly when the file is absent
-- (expected/cdnow_1.out).
SET TimeZone = 'UTC';
\set have_cdnow `test -r "${PG_ABS_SRCDIR:-test}/../../shared/data/cdnow_orders.csv" && echo true || echo false`
\if :have_cdnow
TRUNCATE oracle_orders;
CREATE TEMP TABLE cdnow (customer_id bigint, order_date date, quantity int, amount numeric);
\copy cdnow FROM PROGRAM 'cat "${PG_ABS_SRCDIR:-test}/../../shared/data/cdnow_orders.csv"' WITH (FORMAT csv, HEADER)
INSERT INTO oracle_orders SELECT 0, customer_id, order_date, amount FROM cdnow;
SELECT count(DISTINCT customer_id) AS customers, count(*) AS orders, sum(amount) AS revenue FROM oracle_orders;
-- the thresholds are percentile_cont over the customers, bit for bit
WITH customer AS (
	SELECT rfm_stats(order_time, amount) AS stats,
		   (extract(epoch FROM timestamptz '1998-07-01' - max(order_time)) * 1000000)::float8 / 86400000000.0 AS r,
		   count(*)::float8 AS f, sum(amount)::float8 AS m
	FROM oracle_orders GROUP BY customer_id
), thresholds AS (
	SELECT rfm_thresholds(stats, '1998-07-01') AS t,
		   percentile_cont(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY r) AS r,
		   percentile_cont(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY f) AS f,
		   percentile_cont(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY m) AS m
	FROM customer
)
SELECT recency_thresholds(t) = r AS recency, frequency_thresholds(t) = f AS frequency,
	   monetary_thresholds(t) = m AS monetary
FROM thresholds;
SELECT * FROM oracle_differences('1998-07-01', 5, 5, 5);
SELECT * FROM oracle_differences('1999-01-01 06:00', 4, 3, 9);
\else
\echo cdnow_orders.csv is not beside the checkout: skipped
\endif
