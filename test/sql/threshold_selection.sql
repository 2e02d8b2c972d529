-- Thresholds found in passes over a population (rfm_thresholds_by_selection,
-- what refresh_attachment_thresholds uses on Citus) equal those of the
-- rfm_thresholds aggregate, text for text, over populations that need one
-- pass or several: refunds (negative totals), ties, one customer, values
-- packed into one narrow range, very large and very small values, and
-- every number of bins.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segment;
RESET client_min_messages;
SET TimeZone = 'UTC';
CREATE SCHEMA selection;
SET search_path = selection, public;

-- populations by name; customers and orders drawn from a hash, so the
-- data is the same on every run
CREATE TABLE population (name text, customer_id bigint, stats rfm_stats);
CREATE FUNCTION add_population(name text, customers integer, first_order timestamptz, span_seconds float8,
							   amount text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format(
		'INSERT INTO population
		 SELECT %L, c, rfm_stats(%L::timestamptz + make_interval(secs => (h & 16777215) / 16777215.0 * %s), (%s)::numeric)
		 FROM generate_series(1, %s) c, generate_series(1, 1 + c %% 5) k,
			  LATERAL (SELECT hashint8(c * 10 + k)::bigint AS h) x
		 GROUP BY c', name, first_order, span_seconds, amount, customers);
END $$;
SELECT add_population('spread', 20000, '2024-01-01', 3e7, '(h >> 8 & 65535) / 100.0 - 50');
SELECT add_population('ties', 9000, '2024-01-01', 0, '(h >> 8 & 3) * 10');
SELECT add_population('narrow', 30000, '2024-06-01', 5, '100 + (h >> 8 & 65535) / 1e9');
SELECT add_population('wide', 5000, '2000-01-01', 7e8, 'CASE WHEN h % 3 = 0 THEN -1e300 WHEN h % 3 = 1 THEN 1e-300 ELSE 1e300 END * (h >> 8 & 255)');
SELECT add_population('one', 1, '2024-01-01', 0, '42');
SELECT add_population('two', 2, '2024-01-01', 1e6, 'h % 100');

-- the same thresholds, both ways, for every population and bin counts
CREATE TABLE compared AS
SELECT p.name, b.bins,
	   segment_internal.rfm_thresholds_by_selection(format('SELECT stats FROM selection.population WHERE name = %L', p.name),
													'2025-01-01', b.bins)::text AS by_selection,
	   (SELECT rfm_thresholds(stats, '2025-01-01', b.bins[1], b.bins[2], b.bins[3])::text
		FROM population q WHERE q.name = p.name) AS aggregated
FROM (SELECT DISTINCT name FROM population) p,
	 (VALUES ('{5,5,5}'::integer[]), ('{9,9,9}'), ('{2,3,4}'), ('{1,1,1}'), ('{1,7,1}')) b(bins);
SELECT count(*) AS cases, count(*) FILTER (WHERE by_selection IS DISTINCT FROM aggregated) AS different,
	   count(*) FILTER (WHERE by_selection IS NULL) AS missing
FROM compared;
SELECT name, bins, by_selection, aggregated FROM compared WHERE by_selection IS DISTINCT FROM aggregated;

-- the last orders of the narrow population's 30,000 customers fall within
-- 5 seconds, so their recencies share more leading bits than one pass
-- reads: the search goes on over several passes (how many, and how many
-- counts each brings back, is for bench/citus_thresholds.sh to report)
SELECT by_selection = aggregated AS narrow_equal FROM compared WHERE name = 'narrow' AND bins = '{5,5,5}';

-- NULL stats are left out, as the aggregate leaves them out; an empty
-- population, or one without an analysis time, has no thresholds
INSERT INTO population VALUES ('spread', 0, NULL);
SELECT segment_internal.rfm_thresholds_by_selection('SELECT stats FROM selection.population WHERE name = ''spread''', '2025-01-01', '{5,5,5}')::text
	= (SELECT by_selection FROM compared WHERE name = 'spread' AND bins = '{5,5,5}') AS nulls_left_out;
SELECT segment_internal.rfm_thresholds_by_selection('SELECT stats FROM selection.population WHERE false', '2025-01-01', '{5,5,5}') IS NULL AS empty,
	   segment_internal.rfm_thresholds_by_selection('SELECT stats FROM selection.population', NULL, '{1,1,1}') IS NULL AS no_analysis_time;

-- a population that changes between passes gives NULL, for the caller to
-- aggregate in one pass instead (a fixed seed: the same draws every run)
SELECT setseed(0.25);
SELECT segment_internal.rfm_thresholds_by_selection(
	'SELECT stats FROM selection.population WHERE name = ''spread'' AND random() < 0.5', '2025-01-01', '{5,5,5}') IS NULL AS changed;

-- ... also when each range keeps its count: the second pass sees other
-- customers (an uncorrelated subquery runs once per pass), the range of
-- the three totals near 100 still holds three of them, but the customers
-- below it changed
CREATE SEQUENCE passes;
CREATE TABLE swapped (variant text, stats rfm_stats);
INSERT INTO swapped
SELECT v.variant, (SELECT rfm_stats(o.t, o.a) FROM (VALUES (timestamptz '2025-01-01' - make_interval(days => v.days), v.total)) o(t, a))
FROM (VALUES ('first', 1, 1), ('first', 10, 100.25), ('first', 100, 100.5), ('first', 1000, 100.75), ('first', 5000, 1000),
			 ('second', 1, 100.25), ('second', 10, 100.3), ('second', 100, 100.75), ('second', 1000, 1000), ('second', 5000, 3000))
	 v(variant, days, total);
SELECT segment_internal.rfm_thresholds_by_selection(
	'SELECT stats FROM selection.swapped
	 WHERE variant = (SELECT CASE WHEN nextval(''selection.passes'') = 1 THEN ''first'' ELSE ''second'' END)',
	'2025-01-01', '{5,5,5}') IS NULL AS changed_within_ranges;

-- bad input
\set VERBOSITY terse
SELECT segment_internal.rfm_thresholds_by_selection('SELECT stats FROM selection.population', '2025-01-01', '{5,5}');
SELECT segment_internal.rfm_thresholds_by_selection('SELECT stats FROM selection.population', '2025-01-01', '{5,5,10}');
SELECT segment_internal.rfm_thresholds_by_selection('SELECT stats FROM selection.population', '2025-01-01', NULL);
SELECT segment_internal.percentile_rows(0, '{5,5,5}', 1);
SELECT segment_internal.percentile_rows(10, '{5,0,5}', 1);
SELECT segment_internal.percentile_rows(10, '{5,5,5}', 4);
SELECT segment_internal.percentile_rows(10, '{5,NULL,5}', 1);
SELECT segment_internal.percentile_thresholds_from_keys(10, '{2,2,2}', 3, '{4,5}', '{1}');
SELECT segment_internal.percentile_thresholds_from_keys(10, '{2,2,2}', 3, '{4,5}', '{1,NULL}');
SELECT segment_internal.percentile_thresholds_from_keys(10, '{2,2,2}', 3, '{3,4}', '{1,2}');
SELECT segment_internal.percentile_thresholds_from_keys(10, '{2,2,2}', 3, '{4,5}', '{2,1}');
SELECT segment_internal.percentile_thresholds_from_keys(10, '{2,2,2}', 3, '{4,5}', '{1,9218868437227405312}');
SELECT segment_internal.percentile_thresholds_from_keys(10, '{2,2,2}', 3, '{{4,5}}', '{{1,2}}');
\set VERBOSITY default
SELECT segment_internal.percentile_rows(10, '{5,9,2}', 2), segment_internal.percentile_rows(1, '{9,9,9}', 3),
	   segment_internal.percentile_thresholds_from_keys(10, '{2,2,2}', 3, '{4,5}', '{0,4607182418800017408}') AS half_of_0_and_1;

-- keys order as the values do, across signs and zero
SELECT count(*) AS pairs, count(*) FILTER (WHERE k1 < k2) AS ordered
FROM (SELECT (segment_internal.rfm_value_keys((SELECT rfm_stats('2024-01-01', o.a) FROM (VALUES (v.a)) o(a)), '2025-01-01'))[3] AS k1,
			 (segment_internal.rfm_value_keys((SELECT rfm_stats('2024-01-01', o.b) FROM (VALUES (v.b)) o(b)), '2025-01-01'))[3] AS k2
	  FROM (VALUES (-1e300, -2.5), (-2.5, -1e-300), (-1e-300, 0), (0, 1e-300), (1e-300, 1), (1, 1.0000000000001),
				   (1, 1e300)) v(a, b)) t;

DROP SCHEMA selection CASCADE;
