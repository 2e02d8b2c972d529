-- rfm_thresholds: the aggregate gives percentile_cont(k/N) of each
-- dimension (hand-worked on ten customers, and equal to PostgreSQL's own
-- percentile_cont); stored and custom thresholds read back unchanged.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segment;
RESET client_min_messages;
SET TimeZone = 'UTC';

-- ten customers; customer i ordered i times, the last order i days before
-- 2024-12-31, and spent 10 * i in total
CREATE TABLE ten AS
SELECT i AS customer_id,
	   rfm_stats(timestamptz '2024-12-31' - make_interval(days => i + k), 10) AS stats
FROM generate_series(1, 10) i, generate_series(0, i - 1) k
GROUP BY i;
SELECT customer_id, order_count(stats), recency_days(stats, '2024-12-31'), total_amount(stats)
FROM ten ORDER BY customer_id;

-- values 1..10: percentile_cont(0.2) is at row 0.2 * 9 = 1.8, so 2 + 0.8 = 2.8;
-- 0.4 -> 4.6, 0.6 -> 6.4, 0.8 -> 8.2 (monetary ten times that); in double
-- precision 0.6 * 9 - 5 is 0.39999999999999947, hence 6.3999999999999995,
-- exactly as percentile_cont computes it
SELECT rfm_thresholds(stats, '2024-12-31') FROM ten;

-- three bins: 1/3 -> row 3 -> 4, 2/3 -> row 6 -> 7; one bin: no thresholds
SELECT rfm_thresholds(stats, '2024-12-31', 3) FROM ten;
SELECT rfm_thresholds(stats, '2024-12-31', 1, 2, 9) FROM ten;

-- one customer: every threshold is its own value
SELECT rfm_thresholds(stats, '2024-12-31') FROM ten WHERE customer_id = 7;

-- empty population, and NULL stats or as_of left out
SELECT rfm_thresholds(stats, '2024-12-31') FROM ten WHERE false;
SELECT rfm_thresholds(s, a)
FROM (VALUES (NULL::rfm_stats, '2024-12-31'::timestamptz),
			 ((SELECT stats FROM ten WHERE customer_id = 2), NULL),
			 ((SELECT stats FROM ten WHERE customer_id = 3), '2024-12-31')) v(s, a);

-- equal to percentile_cont over the same double precision values, for
-- every bin count
SELECT b AS bins,
	   ARRAY[recency_thresholds(t), frequency_thresholds(t), monetary_thresholds(t)] = theirs AS equal
FROM generate_series(2, 9) b,
	 LATERAL (SELECT array_agg(k::float8 / b ORDER BY k) AS p FROM generate_series(1, b - 1) k) q,
	 LATERAL (SELECT rfm_thresholds(stats, '2024-12-31', b) AS t,
					 ARRAY[percentile_cont(q.p) WITHIN GROUP (ORDER BY recency_days(stats, '2024-12-31')),
						   percentile_cont(q.p) WITHIN GROUP (ORDER BY order_count(stats)::float8),
						   percentile_cont(q.p) WITHIN GROUP (ORDER BY total_amount(stats)::float8)] AS theirs
			  FROM ten) x
ORDER BY b;

-- custom thresholds, and their accessors
SELECT make_rfm_thresholds('{7, 30, 90, 365}', '{1, 2, 5, 10}', '{100, 250.5, 1000, 5000}');
SELECT recency_thresholds(t), frequency_thresholds(t), monetary_thresholds(t)
FROM (SELECT make_rfm_thresholds('{7, 30}', '{}', '{0.1, 0.1, 1e300}') AS t) x;
SELECT make_rfm_thresholds('{}', '{}', '{}');

-- text round trip keeps every bit of every threshold
SELECT count(*) AS compared,
	   count(*) FILTER (WHERE t::text::rfm_thresholds::text <> t::text) AS differences,
	   count(*) FILTER (WHERE recency_thresholds(t::text::rfm_thresholds) <> recency_thresholds(t)) AS value_differences
FROM (SELECT rfm_thresholds(stats, as_of, b) AS t
	  FROM ten, generate_series(2, 9) b,
		   unnest(ARRAY['2024-12-31', '2025-01-01 00:00:00.000001', '2025-03-03 03:03:03.333333']::timestamptz[]) as_of
	  GROUP BY b, as_of) x;
SELECT '{"monetary":[1,2],"frequency":[ ],  "recency" : [ -1.5 , 0 ]}'::rfm_thresholds;
