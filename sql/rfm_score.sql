-- rfm_score: hand-worked scores a reader can check by eye; ties get equal
-- scores; PARTITION BY scores each partition on its own; the window
-- function equals scoring against the rfm_thresholds aggregate.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segment;
RESET client_min_messages;
SET TimeZone = 'UTC';

-- five customers a..e; as_of 2024-12-31
--            recency (days)  orders  total
--   a             1             5      500
--   b             2             4      400
--   c             3             3      300
--   d             4             2      200
--   e             5             1      100
-- with five bins, percentile_cont(k/5) over 1..5 is 1.8, 2.6, 3.4, 4.2:
-- a's recency 1 is above none of them, so R = 5 - 0 = 5; e's 5 is above all
-- four, so R = 1.  Frequency 5 is above all four: F = 5.
CREATE TABLE five AS
SELECT name, rfm_stats(timestamptz '2024-12-31' - make_interval(days => r) - make_interval(days => k), 100) AS stats
FROM (VALUES ('a', 1, 5), ('b', 2, 4), ('c', 3, 3), ('d', 4, 2), ('e', 5, 1)) v(name, r, n),
	 generate_series(0, n - 1) k
GROUP BY name;
SELECT name, rfm_score(stats, '2024-12-31') OVER () AS rfm,
	   rfm_score(stats, '2024-12-31', 3) OVER () AS three_bins,
	   rfm_score(stats, '2024-12-31', 2, 1, 9) OVER () AS mixed_bins
FROM five ORDER BY name;

-- ties: ten customers with 1, 1, 1, 1, 1, 1, 2, 2, 3, 10 orders.  The
-- frequency thresholds are 1, 1, 1.4, 2.2: the six one-order customers are
-- above none (F = 1), two orders are above three (F = 4), three and ten
-- orders are above all four (F = 5).
CREATE TABLE tied AS
SELECT id, rfm_stats(timestamptz '2024-06-01' + make_interval(hours => k), 10) AS stats
FROM (VALUES (1, 1), (2, 1), (3, 1), (4, 1), (5, 1), (6, 1), (7, 2), (8, 2), (9, 3), (10, 10)) v(id, n),
	 generate_series(1, n) k
GROUP BY id;
SELECT frequency_thresholds(rfm_thresholds(stats, '2024-12-31')) FROM tied;
SELECT order_count(stats) AS orders, frequency_score(rfm) AS f, count(*)
FROM (SELECT stats, rfm_score(stats, '2024-12-31') OVER () AS rfm FROM tied) x
GROUP BY 1, 2 ORDER BY 1;
-- equal values always get equal scores: here customers with as many orders
-- also have the same recency and total, so they must share the whole rfm
SELECT count(*) AS twins_scored_differently
FROM (SELECT stats, rfm_score(stats, '2024-12-31') OVER () AS rfm FROM tied) a
JOIN (SELECT stats, rfm_score(stats, '2024-12-31') OVER () AS rfm FROM tied) b
  ON order_count(a.stats) = order_count(b.stats) AND a.rfm <> b.rfm;

-- all customers tied: every threshold equals the common value and nobody is
-- above it, so everyone gets R = 5, F = 1, M = 1
SELECT rfm, count(*)
FROM (SELECT rfm_score(rfm_stats('2024-12-01', 42), '2024-12-31') OVER () AS rfm
	  FROM generate_series(1, 7) g GROUP BY g) x
GROUP BY 1;

-- one customer: the same as everyone tied
SELECT rfm_score(stats, '2024-12-31') OVER () FROM five WHERE name = 'c';

-- customers without orders (NULL stats) get NULL and are not counted in
-- the population: d and e alone split into 5-5-5 and 1-1-1
SELECT name, rfm_score(CASE WHEN name IN ('d', 'e') THEN stats END, '2024-12-31') OVER () AS rfm
FROM five ORDER BY name;

-- PARTITION BY: each store is scored against its own customers
SELECT store, name, rfm_score(stats, '2024-12-31') OVER (PARTITION BY store) AS rfm
FROM (SELECT CASE WHEN name IN ('a', 'b') THEN 'north' ELSE 'south' END AS store, name, stats FROM five) x
ORDER BY store, name;

-- the window function is the same as the thresholds aggregate followed by
-- the plain scoring function, for many bin counts
SELECT count(*) AS compared, count(*) FILTER (WHERE w.rfm <> p.rfm) AS differences
FROM (SELECT id, b, rfm_score(stats, '2024-12-31', b, b + 1, 10 - b) OVER (PARTITION BY b) AS rfm
	  FROM tied, generate_series(1, 8) b) w
JOIN (SELECT id, b, rfm_score(stats, '2024-12-31',
							  (SELECT rfm_thresholds(stats, '2024-12-31', b, b + 1, 10 - b) FROM tied)) AS rfm
	  FROM tied, generate_series(1, 8) b) p USING (id, b);

-- as_of need not be a constant: a subquery or a column gives the same
-- scores as the literal
CREATE TABLE analysis_date AS SELECT timestamptz '2024-12-31' AS as_of;
SELECT count(*) FILTER (WHERE by_subquery <> by_literal OR by_column <> by_literal) AS differences
FROM (SELECT rfm_score(stats, '2024-12-31') OVER () AS by_literal,
			 rfm_score(stats, (SELECT max(as_of) FROM analysis_date)) OVER () AS by_subquery,
			 rfm_score(stats, as_of) OVER () AS by_column
	  FROM tied, analysis_date) x;

-- scoring against custom thresholds: 7 days is above none of the recency
-- thresholds (7 is not above 7), so R = 5; one order is above none, F = 1;
-- 250 is above 100 only, M = 2
SELECT rfm_score(rfm_stats('2024-12-24', 250), '2024-12-31',
				 make_rfm_thresholds('{7, 30, 90, 365}', '{1, 2, 5, 10}', '{100, 250, 1000, 5000}'));
