-- Oracle test on real data: the CDNOW purchase log (69,659 orders of 23,570
-- customers, 1997-1998) from ../shared/data beside the checkout, scored by
-- the extension and by plain SQL (oracle_differences from the rfm_oracle
-- test) with zero differences.  Skipped cleanly when the file is absent
-- (expected/cdnow_1.out).
SET TimeZone = 'UTC';
\set have_cdnow `test -r "$PG_ABS_SRCDIR/../shared/data/cdnow_orders.csv" && echo true || echo false`
\if :have_cdnow
TRUNCATE oracle_orders;
CREATE TEMP TABLE cdnow (customer_id bigint, order_date date, quantity int, amount numeric);
\copy cdnow FROM PROGRAM 'cat "$PG_ABS_SRCDIR/../shared/data/cdnow_orders.csv"' WITH (FORMAT csv, HEADER)
INSERT INTO oracle_orders SELECT 0, customer_id, order_date, amount FROM cdnow;
SELECT count(DISTINCT customer_id) AS customers, count(*) AS orders, sum(amount) AS revenue FROM oracle_orders;
SELECT rfm_thresholds(rfm_stats(order_time, amount), '1998-07-01') OVER () AS thresholds
FROM oracle_orders GROUP BY customer_id LIMIT 1;
SELECT * FROM oracle_differences('1998-07-01', 5, 5, 5);
SELECT * FROM oracle_differences('1999-01-01 06:00', 4, 3, 9);
\else
\echo cdnow_orders.csv is not beside the checkout: skipped
\endif
