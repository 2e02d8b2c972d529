-- rfm_stats: per-customer behaviour from orders, checked on hand-worked
-- cases; the merge aggregate equals the aggregate over all orders; the text
-- form reads back to the same value under any TimeZone.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segment;
RESET client_min_messages;
SET TimeZone = 'UTC';

CREATE TABLE orders (customer_id int, order_time timestamptz, amount numeric);
INSERT INTO orders VALUES
	-- customer 1: three orders, ten days apart, 10 + 20.5 + 30.25 = 60.75
	(1, '2024-01-01 00:00', 10),
	(1, '2024-01-11 00:00', 20.5),
	(1, '2024-01-21 00:00', 30.25),
	-- customer 2: one order
	(2, '2024-02-01 12:00', 99.99),
	-- customer 3: two orders at the same time, then a refund a day later
	(3, '2024-03-01 00:00', 5),
	(3, '2024-03-01 00:00', 5),
	(3, '2024-03-02 00:00', -3),
	-- customer 4: inserted out of time order
	(4, '2024-04-30 00:00', 1),
	(4, '2024-04-01 00:00', 2),
	(4, '2024-04-20 00:00', 3),
	(4, '2024-04-10 00:00', 4);

-- customer 1: mean gap (21-1)/2 = 10 days; the last gap is 10 days.
-- customer 3: the previous order is the second latest, 2024-03-01.
-- customer 4: previous = 2024-04-20, mean gap 29/3 days, last gap 10 days.
SELECT customer_id, rfm_stats(order_time, amount) AS stats
FROM orders GROUP BY customer_id ORDER BY customer_id;

SELECT customer_id, order_count(s), first_order_time(s), previous_order_time(s),
	   last_order_time(s), total_amount(s),
	   round(mean_days_between_orders(s)::numeric, 6) AS mean_gap,
	   days_before_last_order(s) AS last_gap,
	   recency_days(s, '2024-05-01 00:00') AS recency
FROM (SELECT customer_id, rfm_stats(order_time, amount) AS s
	  FROM orders GROUP BY customer_id) x
ORDER BY customer_id;

-- recency is fractional: twelve hours is half a day
SELECT recency_days(rfm_stats(order_time, amount), '2024-02-02 00:00')
FROM orders WHERE customer_id = 2;

-- the statistics of all customers together (a single population)
SELECT rfm_stats(order_time, amount) FROM orders;

-- no rows: NULL, like sum()
SELECT rfm_stats(order_time, amount) FROM orders WHERE false;

-- merging per-period statistics gives the statistics of all orders, for
-- every way of cutting the orders into periods
CREATE TABLE cuts AS SELECT c FROM unnest(ARRAY['2024-01-05', '2024-01-15', '2024-03-01 00:00', '2024-03-01 12:00', '2024-04-15']::timestamptz[]) c;
WITH direct AS (
	SELECT customer_id, rfm_stats(order_time, amount) AS s FROM orders GROUP BY customer_id
), merged AS (
	SELECT c, customer_id, rfm_stats_merge(s) AS s
	FROM (SELECT c, customer_id, order_time < c AS early, rfm_stats(order_time, amount) AS s
		  FROM orders CROSS JOIN cuts GROUP BY c, customer_id, early) parts
	GROUP BY c, customer_id
)
SELECT count(*) AS compared, count(*) FILTER (WHERE m.s::text <> d.s::text) AS differences
FROM merged m JOIN direct d USING (customer_id);

-- merge skips NULLs and gives NULL for none
SELECT rfm_stats_merge(s) FROM (VALUES (NULL::rfm_stats)) v(s);
SELECT rfm_stats_merge(s::rfm_stats) FROM (VALUES
	('(orders=1, total=5, first=2024-01-01 00:00:00+00, last=2024-01-01 00:00:00+00)'),
	(NULL),
	('(orders=2, total=1.5, first=2023-12-01 00:00:00+00, previous=2023-12-01 00:00:00+00, last=2024-01-01 00:00:00+00)')) v(s);

-- text round trip, in a time zone far from UTC
SET TimeZone = 'Asia/Kathmandu';
SELECT count(*) AS customers,
	   count(*) FILTER (WHERE s::text::rfm_stats::text <> s::text) AS round_trip_differences,
	   count(*) FILTER (WHERE last_order_time(s::text::rfm_stats) <> last_order_time(s)) AS time_differences
FROM (SELECT rfm_stats(order_time, amount) AS s FROM orders GROUP BY customer_id) x;
RESET TimeZone;
SET TimeZone = 'UTC';

-- input accepts spaces and keys in any order
SELECT ' ( last = 2024-01-02 00:00:00+00 ,orders=2,total=3 , previous=2024-01-01 00:00:00+00, first=2024-01-01 00:00:00+00 ) '::rfm_stats;
