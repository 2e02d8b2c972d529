-- rfm_score: hand-worked scores a reader can check by eye; ties get equal
-- scores; PARTITION BY scores each partition on its own; the window
-- function equals scoring against the rfm_thresholds aggregate; scoring
-- against stored thresholds that change from row to row (or are NULL) gives
-- the scores plain SQL gives.
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
SELECT (SELECT array_agg(round(x::numeric, 9)::float8) FROM unnest(t) x) AS frequency_thresholds,
	   t = (SELECT percentile_cont(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY order_count(stats)::float8) FROM tied)
	   AS as_percentile_cont
FROM (SELECT frequency_thresholds(rfm_thresholds(stats, '2024-12-31')) AS t FROM tied) f;
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

--
-- Scoring against stored thresholds keeps the unpacked thresholds from one
-- call to the next and must notice when they change.  Every row below gets
-- other thresholds than the row before: stored values of several sizes, the
-- same value from two rows (two addresses), a NULL, the same values made
-- again from their text every other row, and values made per row that take
-- the address of the previous row's value.  Each
-- score is compared with one computed in plain SQL from the thresholds as
-- arrays: 1 plus the number of thresholds below the value, recency reversed.
--
CREATE FUNCTION score_cache_plain(stats rfm_stats, as_of timestamptz,
								  rt float8[], ft float8[], mt float8[]) RETURNS int[]
LANGUAGE sql AS $$
	SELECT ARRAY[cardinality(rt) + 1 - (SELECT count(*) FROM unnest(rt) t WHERE t < recency_days(stats, as_of))::int,
				 1 + (SELECT count(*) FROM unnest(ft) t WHERE t < order_count(stats)::float8)::int,
				 1 + (SELECT count(*) FROM unnest(mt) t WHERE t < total_amount(stats)::float8)::int]
$$;
CREATE FUNCTION score_cache_scores(rfm) RETURNS int[] LANGUAGE sql
	AS $$ SELECT ARRAY[recency_score($1), frequency_score($1), monetary_score($1)] $$;
-- 300 customers: 1 to 5 orders over 2024, amounts 1 to 100
CREATE TABLE score_cache_customers AS
SELECT c AS id, rfm_stats(timestamptz '2024-01-01' + make_interval(days => (c * 37 + k * 11) % 360),
						  1 + (c * 13 + k * 7) % 100) AS stats
FROM generate_series(1, 300) c, generate_series(1, 1 + c % 5) k
GROUP BY c;
-- thresholds 0 to 8 (bins, and the population: every p-th customer); row
-- k scores customer ids k, k + 9, ...  8 and 0 hold the same value, and so
-- do 1 and 2; 7 and 8 differ but have the same size; 3 is NULL
CREATE TABLE score_cache_thresholds AS
SELECT k, CASE WHEN k <> 3 THEN (SELECT rfm_thresholds(stats, '2024-12-31', b[1], b[2], b[3])
								 FROM score_cache_customers WHERE id % p = 0) END AS t
FROM (VALUES (0, '{5,5,5}'::int[], 1), (1, '{3,4,9}', 2), (2, '{3,4,9}', 2), (3, NULL, 1),
			 (4, '{9,9,9}', 3), (5, '{1,1,1}', 1), (6, '{2,9,2}', 5), (7, '{5,5,5}', 4),
			 (8, '{5,5,5}', 1)) v(k, b, p);
SELECT k, cardinality(recency_thresholds(t)) AS recency, cardinality(frequency_thresholds(t)) AS frequency,
	   cardinality(monetary_thresholds(t)) AS monetary,
	   pg_column_size(t) = (SELECT pg_column_size(t) FROM score_cache_thresholds WHERE k = 8) AS size_of_8
FROM score_cache_thresholds ORDER BY k;

-- stored values; the same values alternately as stored and as made again
-- from their text
SELECT count(*) AS scored,
	   count(*) FILTER (WHERE t IS NULL AND rfm IS NULL AND rfm_remade IS NULL) AS null_thresholds_null_score,
	   count(*) FILTER (WHERE t::text IS DISTINCT FROM previous_t) AS value_changes,
	   count(*) FILTER (WHERE t IS NOT NULL
						  AND (score_cache_scores(rfm) <> plain OR score_cache_scores(rfm_remade) <> plain)) AS differences
FROM (
	SELECT t, lag(t::text) OVER (ORDER BY id) AS previous_t,
		   rfm_score(stats, '2024-12-31', t) AS rfm,
		   rfm_score(stats, '2024-12-31', CASE WHEN id % 2 = 0 THEN t ELSE t::text::rfm_thresholds END) AS rfm_remade,
		   score_cache_plain(stats, '2024-12-31', recency_thresholds(t), frequency_thresholds(t),
							 monetary_thresholds(t)) AS plain
	FROM (SELECT id, stats, th.t FROM score_cache_customers c JOIN score_cache_thresholds th ON th.k = c.id % 9
		  ORDER BY id OFFSET 0) x
) y;

-- thresholds made per row, different every row
SELECT count(*) AS scored,
	   count(DISTINCT (rt, ft, mt)) AS distinct_thresholds,
	   count(*) FILTER (WHERE score_cache_scores(rfm_score(stats, '2024-12-31', make_rfm_thresholds(rt, ft, mt)))
						  <> score_cache_plain(stats, '2024-12-31', rt, ft, mt)) AS differences
FROM (SELECT id, stats,
			 ARRAY[(id % 7) * 20, 150 + (id % 3) * 50]::float8[] AS rt,
			 CASE WHEN id % 4 = 0 THEN '{}' ELSE ARRAY[(id % 4)::float8] END AS ft,
			 ARRAY[50 + (id % 5) * 20, 200, 250]::float8[] AS mt
	  FROM score_cache_customers ORDER BY id OFFSET 0) x;

DROP TABLE score_cache_customers, score_cache_thresholds;
DROP FUNCTION score_cache_plain(rfm_stats, timestamptz, float8[], float8[], float8[]), score_cache_scores(rfm);
