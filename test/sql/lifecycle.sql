--
-- lifecycle: lifecycle_stage() and lifecycle_stages().
--
-- Proves: every stage (prospect, new, active, at_risk, lapsed, reactivated)
-- is reached; every threshold is tested one microsecond on each side, and at
-- the exact value where it is exact, so comparisons are strict (a recency
-- equal to at_risk_after or lapsed_after is not beyond it, a gap equal to the
-- lapsed threshold before the last order is no reactivation, a first order
-- exactly new_days ago is still new), both on the rhythm path (mean gap times
-- a multiple) and on the fixed-day path, with rhythm_min_orders on both sides
-- of the order count, for the current thresholds and for the threshold
-- before the last order; the precedence lapsed > at_risk > reactivated >
-- new > active; orders all at one instant (a zero gap) get the fixed days,
-- for the current thresholds and for the one before the last order; named
-- arguments; NULLs (prospect, NULL as_of, 22004 for NULL parameters); every bad
-- parameter (22023) and an order after as_of or an infinite as_of (22023).
-- An oracle computes the stage of 6,500 generated customers a second way,
-- in plain SQL over the raw orders, and finds zero differences for five
-- parameter sets.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segment;
RESET client_min_messages;
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
\set VERBOSITY default
\set SHOW_CONTEXT never

-- A customer's statistics from order times given as offsets from 2024-01-01.
CREATE FUNCTION lc_orders_at(VARIADIC offsets interval[]) RETURNS rfm_stats
LANGUAGE sql AS $$
	SELECT rfm_stats(timestamptz '2024-01-01' + o, 1) FROM unnest(offsets) o
$$;

--
-- The stages
--
SELECT * FROM lifecycle_stages() ORDER BY position;
SELECT array_agg(stage ORDER BY position) FROM lifecycle_stages();

--
-- Fixed-day path (fewer than rhythm_min_orders = 3 orders): new up to 30
-- days after the first order, at risk beyond 90 days without an order,
-- lapsed beyond 180.  One order on 2024-01-01.
--
SELECT as_of, recency_days(s, t) AS recency, lifecycle_stage(s, t) AS stage, expected
FROM lc_orders_at('0') s,
	 (VALUES (interval '0', 'new'),
			 ('30 days', 'new'),				-- first order exactly new_days ago
			 ('30 days 1 microsecond', 'active'),
			 ('90 days', 'active'),				-- recency = at_risk_days
			 ('90 days 1 microsecond', 'at_risk'),
			 ('180 days', 'at_risk'),			-- recency = lapsed_days
			 ('180 days 1 microsecond', 'lapsed'),
			 ('3 years', 'lapsed')) v(as_of, expected),
	 LATERAL (SELECT timestamptz '2024-01-01' + as_of AS t) x;

-- two orders (still fewer than 3): recency counts from the last order, the
-- age for "new" from the first
SELECT as_of, recency_days(s, t) AS recency, lifecycle_stage(s, t) AS stage, expected
FROM lc_orders_at('0', '10 days') s,
	 (VALUES (interval '30 days', 'new'),
			 ('30 days 1 microsecond', 'active'),
			 ('100 days', 'active'),
			 ('100 days 1 microsecond', 'at_risk'),
			 ('190 days', 'at_risk'),
			 ('190 days 1 microsecond', 'lapsed')) v(as_of, expected),
	 LATERAL (SELECT timestamptz '2024-01-01' + as_of AS t) x;

--
-- Rhythm path (rhythm_min_orders = 3 orders or more): three orders ten days
-- apart, mean gap 10 days, at risk beyond 2 * 10 = 20 days, lapsed beyond
-- 4 * 10 = 40 days.
--
SELECT mean_days_between_orders(lc_orders_at('0', '10 days', '20 days'));
SELECT as_of, recency_days(s, t) AS recency, lifecycle_stage(s, t) AS stage, expected
FROM lc_orders_at('0', '10 days', '20 days') s,
	 (VALUES (interval '20 days', 'new'),
			 ('30 days', 'new'),				-- first order exactly new_days ago
			 ('30 days 1 microsecond', 'active'),
			 ('40 days', 'active'),				-- recency 20 = at_risk_after
			 ('40 days 1 microsecond', 'at_risk'),
			 ('60 days', 'at_risk'),			-- recency 40 = lapsed_after
			 ('60 days 1 microsecond', 'lapsed')) v(as_of, expected),
	 LATERAL (SELECT timestamptz '2024-01-01' + as_of AS t) x;

-- a gap that is not a whole number of days: four orders over 29 days, mean
-- gap 29/3 days; at_risk_after = 58/3 days = 19 days 8 hours after the last
-- order (day 29), lapsed_after = 116/3 days = 38 days 16 hours
SELECT as_of, recency_days(s, t) AS recency, lifecycle_stage(s, t) AS stage, expected
FROM lc_orders_at('0', '10 days', '19 days', '29 days') s,
	 (VALUES (interval '48 days 8 hours' - interval '1 microsecond', 'active'),
			 ('48 days 8 hours 1 microsecond', 'at_risk'),
			 (interval '67 days 16 hours' - interval '1 microsecond', 'at_risk'),
			 ('67 days 16 hours 1 microsecond', 'lapsed')) v(as_of, expected),
	 LATERAL (SELECT timestamptz '2024-01-01' + as_of AS t) x;

-- rhythm_min_orders on both sides of the order count: the three-order
-- customer has a rhythm with rhythm_min_orders 3, not with 4 (then the fixed
-- 90 and 180 days apply); a two-order customer (gap 10 days) has one with 2
SELECT n, as_of, lifecycle_stage(s, t, rhythm_min_orders => n) AS stage, expected
FROM lc_orders_at('0', '10 days', '20 days') s,
	 (VALUES (3, interval '40 days 1 microsecond', 'at_risk'),
			 (4, '40 days 1 microsecond', 'active'),
			 (3, '60 days 1 microsecond', 'lapsed'),
			 (4, '60 days 1 microsecond', 'active'),
			 (4, '110 days', 'active'),
			 (4, '110 days 1 microsecond', 'at_risk'),
			 (4, '200 days 1 microsecond', 'lapsed')) v(n, as_of, expected),
	 LATERAL (SELECT timestamptz '2024-01-01' + as_of AS t) x;
SELECT n, as_of, lifecycle_stage(s, t, rhythm_min_orders => n) AS stage, expected
FROM lc_orders_at('0', '10 days') s,
	 (VALUES (2, interval '30 days', 'new'),	-- recency 20 = 2 * 10
			 (2, '30 days 1 microsecond', 'at_risk'),
			 (3, '30 days 1 microsecond', 'active'),
			 (2, '50 days', 'at_risk'),			-- recency 40 = 4 * 10
			 (2, '50 days 1 microsecond', 'lapsed'),
			 (3, '50 days 1 microsecond', 'active')) v(n, as_of, expected),
	 LATERAL (SELECT timestamptz '2024-01-01' + as_of AS t) x;

--
-- Reactivated: the gap before the last order is beyond the lapsed threshold
-- of the orders before it.
--
-- Fixed path: one order before the last (fewer than 3), so that threshold is
-- lapsed_days = 180.  A gap of exactly 180 days is no reactivation; the
-- customer is then active (first order over 30 days ago), or new when
-- new_days is large; a reactivated customer stays reactivated even then.
SELECT gap, days_before_last_order(s) AS last_gap, lifecycle_stage(s, t) AS stage,
	   lifecycle_stage(s, t, new_days => 1000) AS stage_new_days_1000, expected
FROM (VALUES (interval '180 days', 'active'),
			 ('180 days 1 microsecond', 'reactivated')) v(gap, expected),
	 LATERAL (SELECT lc_orders_at('0', gap) AS s,
					 timestamptz '2024-01-01' + gap + interval '1 day' AS t) x;
-- a reactivated customer falls behind again: at risk beyond 90 days after the
-- last order (two orders: fixed path), lapsed beyond 180
SELECT as_of, lifecycle_stage(s, t) AS stage, expected
FROM lc_orders_at('0', '200 days') s,
	 (VALUES (interval '200 days', 'reactivated'),
			 ('290 days', 'reactivated'),
			 ('290 days 1 microsecond', 'at_risk'),
			 ('380 days', 'at_risk'),
			 ('380 days 1 microsecond', 'lapsed')) v(as_of, expected),
	 LATERAL (SELECT timestamptz '2024-01-01' + as_of AS t) x;

-- Three orders, two before the last: below rhythm_min_orders 3 the threshold
-- before the last order is lapsed_days = 180; with rhythm_min_orders 2 it is
-- 4 * 10 = 40 days (the gap of the two orders before the last is 10 days).
SELECT gap, n, lifecycle_stage(s, t, rhythm_min_orders => n) AS stage, expected
FROM (VALUES (interval '180 days', 3, 'active'),
			 ('180 days 1 microsecond', 3, 'reactivated'),
			 ('40 days', 2, 'active'),
			 ('40 days 1 microsecond', 2, 'reactivated'),
			 ('180 days', 2, 'reactivated')) v(gap, n, expected),
	 LATERAL (SELECT lc_orders_at('0', '10 days', interval '10 days' + gap) AS s,
					 timestamptz '2024-01-01' + interval '10 days' + gap AS t) x;

-- Rhythm path: three orders ten days apart before the last one, so the
-- threshold before it is 4 * 10 = 40 days.  With the last order 40 days
-- after the third the customer is active; one microsecond later reactivated.
-- With four orders over 60 days and 1 microsecond the mean gap is 20 days
-- and a third of a microsecond: at risk beyond 40 days and 2/3 microsecond,
-- lapsed beyond 80 days and 4/3 microseconds after the last order.
SELECT gap, as_of, days_before_last_order(s) AS last_gap,
	   recency_days(s, t) AS recency, lifecycle_stage(s, t) AS stage, expected
FROM (VALUES (interval '40 days', interval '0', 'active'),
			 ('40 days 1 microsecond', '0', 'reactivated'),
			 ('40 days 1 microsecond', '40 days', 'reactivated'),
			 ('40 days 1 microsecond', '40 days 1 microsecond', 'at_risk'),
			 ('40 days 1 microsecond', '80 days 1 microsecond', 'at_risk'),
			 ('40 days 1 microsecond', '80 days 2 microseconds', 'lapsed')) v(gap, as_of, expected),
	 LATERAL (SELECT lc_orders_at('0', '10 days', '20 days', interval '20 days' + gap) AS s,
					 timestamptz '2024-01-01' + interval '20 days' + gap + as_of AS t) x;

--
-- Orders all at one instant show no rhythm: their mean gap is 0, and
-- thresholds of 0 would make the customer lapsed one microsecond later.  The
-- fixed days apply instead, as with too few orders.  Three orders on
-- 2024-01-01 (date-only order times): new for 30 days, at risk beyond 90
-- days, lapsed beyond 180, whatever rhythm_min_orders.
--
SELECT mean_days_between_orders(lc_orders_at('0', '0', '0'));
SELECT as_of, lifecycle_stage(s, t) AS stage,
	   lifecycle_stage(s, t, rhythm_min_orders => 2) AS rhythm_min_orders_2,
	   lifecycle_stage(s, t, rhythm_min_orders => 4) AS rhythm_min_orders_4, expected
FROM lc_orders_at('0', '0', '0') s,
	 (VALUES (interval '0', 'new'),
			 ('1 microsecond', 'new'),
			 ('1 day', 'new'),					-- the next day
			 ('30 days 1 microsecond', 'active'),
			 ('90 days', 'active'),
			 ('90 days 1 microsecond', 'at_risk'),
			 ('180 days', 'at_risk'),
			 ('180 days 1 microsecond', 'lapsed')) v(as_of, expected),
	 LATERAL (SELECT timestamptz '2024-01-01' + as_of AS t) x;
-- nor do orders closer together than a day on average: a burst of three
-- orders a minute apart is new the next day and at risk only after 90
-- days; a mean gap of exactly one day is a rhythm (at risk beyond 2 days)
SELECT lifecycle_stage(s, '2024-01-02') AS next_day,
	   lifecycle_stage(s, timestamptz '2024-01-01 00:02' + interval '90 days') AS ninety_days_later,
	   lifecycle_stage(s, timestamptz '2024-01-01 00:02' + interval '90 days 1 microsecond') AS beyond_ninety_days
FROM lc_orders_at('0', '1 minute', '2 minutes') s;
SELECT lifecycle_stage(lc_orders_at('0', '1 day', '2 days'), '2024-01-05 00:00:00.000001') AS mean_gap_one_day,
	   lifecycle_stage(lc_orders_at('0', '1 day', '2 days') , '2024-01-05') AS two_days_after_last,
	   lifecycle_stage(lc_orders_at('0', '1 day', '2 days -1 microsecond'), '2024-01-05 00:00:00.000001')
		   AS mean_gap_under_a_day;
-- the same rule for the threshold before the last order: three orders on
-- 2024-01-01 and a fourth G days later (a rhythm of G/3 days, so not behind
-- at the last order); the threshold before it is lapsed_days = 180, not 0
SELECT gap, lifecycle_stage(s, t) AS stage,
	   lifecycle_stage(s, t, lapsed_days => 365) AS lapsed_days_365, expected
FROM (VALUES (interval '1 day', 'new'),
			 ('180 days', 'active'),
			 ('180 days 1 microsecond', 'reactivated')) v(gap, expected),
	 LATERAL (SELECT lc_orders_at('0', '0', '0', gap) AS s,
					 timestamptz '2024-01-01' + gap AS t) x;

--
-- Named and positional arguments
--
-- one order on 2024-01-01, 200 days later: lapsed by default, at risk when
-- lapsed_days is 365
SELECT lifecycle_stage(s, t) AS by_default,
	   lifecycle_stage(s, t, lapsed_days => 365) AS lapsed_days_365,
	   lifecycle_stage(s, t, at_risk_days => 250, lapsed_days => 365) AS at_risk_days_250,
	   lifecycle_stage(s, t, new_days => 200, at_risk_days => 200, lapsed_days => 200) AS new_days_200,
	   lifecycle_stage(s, t, 30, 2, 4, 3, 199, 365) AS positional
FROM lc_orders_at('0') s, LATERAL (SELECT timestamptz '2024-01-01 00:00' + interval '200 days' AS t) x;
-- new_days 0: new only at the instant of the first order
SELECT lifecycle_stage(lc_orders_at('0'), '2024-01-01', new_days => 0) AS at_first_order,
	   lifecycle_stage(lc_orders_at('0'), '2024-01-01 00:00:00.000001', new_days => 0) AS one_microsecond_later;
-- fractional days: new_days 0.5 is twelve hours
SELECT lifecycle_stage(lc_orders_at('0'), '2024-01-01 12:00', new_days => 0.5) AS twelve_hours,
	   lifecycle_stage(lc_orders_at('0'), '2024-01-01 12:00:00.000001', new_days => 0.5) AS just_after;
-- other multiples: mean gap 10, at risk beyond 1.5 * 10 = 15, lapsed beyond 3 * 10 = 30
SELECT as_of, lifecycle_stage(s, t, at_risk_multiple => 1.5, lapsed_multiple => 3) AS stage, expected
FROM lc_orders_at('0', '10 days', '20 days') s,
	 (VALUES (interval '35 days', 'active'),
			 ('35 days 1 microsecond', 'at_risk'),
			 ('50 days', 'at_risk'),
			 ('50 days 1 microsecond', 'lapsed')) v(as_of, expected),
	 LATERAL (SELECT timestamptz '2024-01-01' + as_of AS t) x;
-- equal multiples or equal days are allowed: the customer goes straight from
-- active to lapsed
SELECT lifecycle_stage(s, '2024-02-20', at_risk_multiple => 3, lapsed_multiple => 3) AS recency_30,
	   lifecycle_stage(s, '2024-02-20 00:00:00.000001', at_risk_multiple => 3, lapsed_multiple => 3) AS just_after,
	   lifecycle_stage(lc_orders_at('0'), '2024-03-31 00:00:00.000001', at_risk_days => 90, lapsed_days => 90) AS fixed_equal
FROM lc_orders_at('0', '10 days', '20 days') s;
-- thresholds beyond double precision are infinite and never exceeded
SELECT lifecycle_stage(lc_orders_at('0', '10 days', '20 days'), '9999-12-31',
					   at_risk_multiple => 1e308, lapsed_multiple => 1e308) AS huge_multiples,
	   lifecycle_stage(lc_orders_at('0', '10 days', '20 days', '9000 days'), '2049-01-01',
					   at_risk_multiple => 1e308, lapsed_multiple => 1e308) AS huge_not_reactivated;

--
-- NULLs
--
-- no statistics (no orders): a prospect; no as_of: NULL, prospect or not
SELECT lifecycle_stage(NULL, '2024-01-01') AS no_stats,
	   lifecycle_stage(NULL, '2024-01-01', lapsed_days => 365) AS no_stats_named,
	   lifecycle_stage(lc_orders_at('0'), NULL) IS NULL AS no_as_of,
	   lifecycle_stage(NULL, NULL) IS NULL AS neither;
-- a NULL parameter is an error (22004), whatever the customer
SELECT lifecycle_stage(lc_orders_at('0'), '2024-02-01', new_days => NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT lifecycle_stage(lc_orders_at('0'), '2024-02-01', at_risk_multiple => NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT lifecycle_stage(lc_orders_at('0'), '2024-02-01', lapsed_multiple => NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT lifecycle_stage(lc_orders_at('0'), '2024-02-01', rhythm_min_orders => NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT lifecycle_stage(lc_orders_at('0'), '2024-02-01', at_risk_days => NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT lifecycle_stage(lc_orders_at('0'), '2024-02-01', lapsed_days => NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT lifecycle_stage(NULL, '2024-02-01', lapsed_days => NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT lifecycle_stage(NULL, NULL, new_days => NULL);
\echo :LAST_ERROR_SQLSTATE

--
-- Bad parameters: 22023
--
SELECT lifecycle_stage(lc_orders_at('0'), '2024-02-01', new_days => -1);
\echo :LAST_ERROR_SQLSTATE
SELECT lifecycle_stage(lc_orders_at('0'), '2024-02-01', new_days => 'NaN');
\echo :LAST_ERROR_SQLSTATE
SELECT lifecycle_stage(lc_orders_at('0'), '2024-02-01', new_days => 'Infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT lifecycle_stage(lc_orders_at('0'), '2024-02-01', at_risk_multiple => 0);
\echo :LAST_ERROR_SQLSTATE
SELECT lifecycle_stage(lc_orders_at('0'), '2024-02-01', at_risk_multiple => -2);
\echo :LAST_ERROR_SQLSTATE
SELECT lifecycle_stage(lc_orders_at('0'), '2024-02-01', at_risk_multiple => 'NaN');
\echo :LAST_ERROR_SQLSTATE
SELECT lifecycle_stage(lc_orders_at('0'), '2024-02-01', at_risk_multiple => 'Infinity', lapsed_multiple => 'Infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT lifecycle_stage(lc_orders_at('0'), '2024-02-01', lapsed_multiple => 0);
\echo :LAST_ERROR_SQLSTATE
SELECT lifecycle_stage(lc_orders_at('0'), '2024-02-01', lapsed_multiple => '-Infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT lifecycle_stage(lc_orders_at('0'), '2024-02-01', lapsed_multiple => 1.999);
\echo :LAST_ERROR_SQLSTATE
SELECT lifecycle_stage(lc_orders_at('0'), '2024-02-01', at_risk_multiple => 5);
\echo :LAST_ERROR_SQLSTATE
SELECT lifecycle_stage(lc_orders_at('0'), '2024-02-01', rhythm_min_orders => 1);
\echo :LAST_ERROR_SQLSTATE
SELECT lifecycle_stage(lc_orders_at('0'), '2024-02-01', rhythm_min_orders => 0);
\echo :LAST_ERROR_SQLSTATE
SELECT lifecycle_stage(lc_orders_at('0'), '2024-02-01', rhythm_min_orders => -5);
\echo :LAST_ERROR_SQLSTATE
SELECT lifecycle_stage(lc_orders_at('0'), '2024-02-01', at_risk_days => -0.001);
\echo :LAST_ERROR_SQLSTATE
SELECT lifecycle_stage(lc_orders_at('0'), '2024-02-01', at_risk_days => 'NaN');
\echo :LAST_ERROR_SQLSTATE
SELECT lifecycle_stage(lc_orders_at('0'), '2024-02-01', at_risk_days => 'Infinity', lapsed_days => 'Infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT lifecycle_stage(lc_orders_at('0'), '2024-02-01', lapsed_days => -1);
\echo :LAST_ERROR_SQLSTATE
SELECT lifecycle_stage(lc_orders_at('0'), '2024-02-01', lapsed_days => 'Infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT lifecycle_stage(lc_orders_at('0'), '2024-02-01', lapsed_days => 89.5);
\echo :LAST_ERROR_SQLSTATE
SELECT lifecycle_stage(lc_orders_at('0'), '2024-02-01', at_risk_days => 200);
\echo :LAST_ERROR_SQLSTATE
-- parameters are checked for prospects too
SELECT lifecycle_stage(NULL, '2024-02-01', rhythm_min_orders => 1);
\echo :LAST_ERROR_SQLSTATE
-- the smallest valid values: with lapsed_days 0 any gap before the last
-- order is beyond the threshold of a single earlier order: reactivated
SELECT lifecycle_stage(lc_orders_at('0', '1 day'), '2024-01-02', 0, 1e-300, 1e-300, 2, 0, 0) AS smallest;

--
-- Orders after as_of and infinite as_of: the errors of recency_days (22023)
--
SELECT lifecycle_stage(lc_orders_at('0', '10 days'), '2024-01-10 23:59:59.999999');
\echo :LAST_ERROR_SQLSTATE
SELECT lifecycle_stage(lc_orders_at('0', '10 days'), '2024-01-11') AS at_the_last_order;
SELECT lifecycle_stage(lc_orders_at('0'), 'infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT lifecycle_stage(lc_orders_at('0'), '-infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT lifecycle_stage(NULL, 'infinity');
\echo :LAST_ERROR_SQLSTATE

--
-- Oracle: 6,500 generated customers.  4,000 of them: one in ten without
-- orders, the others with 1 to about 40 orders at their own rhythm (a gap of
-- 1 to 61 days, varied by half either way), occasional long breaks (6 to 12
-- times the gap) so that some lapse and come back, a few with all orders at
-- one instant, last orders spread over the 400 days before 2025-01-01; half
-- of them order at midnight, the others to the microsecond.  2,000 more
-- order like clockwork (below) so that thresholds are hit exactly, and 500
-- more order several times on one date (below).  The stage is computed
-- again in plain SQL from count, min, max and array_agg of the raw orders,
-- with the day count of the README, and compared for five parameter sets;
-- the counts show every stage reached, how many customers sit exactly on
-- each threshold and how many have orders all at one instant.
--
CREATE FUNCTION lc_unit(bigint) RETURNS float8 LANGUAGE sql IMMUTABLE
	AS $$ SELECT (hashint8($1)::bigint + 2147483648) / 4294967296.0 $$;
CREATE FUNCTION lc_days(t0 timestamptz, t1 timestamptz) RETURNS float8 LANGUAGE sql IMMUTABLE
	AS $$ SELECT (extract(epoch FROM t1 - t0) * 1000000)::float8 / 86400000000.0 $$;

CREATE TABLE lc_customers (customer_id int PRIMARY KEY);
INSERT INTO lc_customers SELECT generate_series(1, 4000);
CREATE TABLE lc_orders (customer_id int, order_time timestamptz);
INSERT INTO lc_orders
SELECT c, CASE WHEN lc_unit(c * 5) < 0.5 THEN date_trunc('day', t) ELSE t END
FROM (
	SELECT c, timestamptz '2025-01-01' - make_interval(days => floor(lc_unit(c * 13) * 400)::int)
			  - make_interval(secs => lc_unit(c * 17) * 86400)
			  - coalesce(sum(gap) OVER (PARTITION BY c ORDER BY k DESC
										ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
						 interval '0') AS t
	FROM (
		SELECT c, k,
			   CASE WHEN lc_unit(c * 11) < 0.03 THEN interval '0'
					ELSE make_interval(secs => 86400 * (1 + lc_unit(c * 7) * 60)
											* CASE WHEN lc_unit(c * 1000 + k) < 0.08 THEN 6 + lc_unit(c * 3000 + k) * 6
												   ELSE 0.5 + lc_unit(c * 2000 + k) END) END AS gap
		FROM generate_series(1, 4000) c,
			 generate_series(1, 1 + floor(-ln(1 - lc_unit(c * 3)) * 5)::int) k
		WHERE c % 10 <> 0
	) g
) o;
-- 2,000 more customers who order like clockwork, at midnight every G days
-- (1 to 30), with a last gap of G times 1 to 8 or of a round number of days,
-- and a last order G times 0 to 8 or a round number of days before
-- 2025-01-01: their recencies, ages and gaps fall on thresholds often.
INSERT INTO lc_customers SELECT generate_series(4001, 6000);
INSERT INTO lc_orders
SELECT c, timestamptz '2025-01-01' - make_interval(days => r)
		  - CASE WHEN k = n THEN interval '0'
				 ELSE make_interval(days => last_gap + (n - 1 - k) * g) END
FROM (
	SELECT c, g, n,
		   CASE WHEN lc_unit(c * 29) < 0.7 THEN g * (1 + floor(lc_unit(c * 31) * 8)::int)
				ELSE (ARRAY[30, 45, 60, 90, 180, 200, 365, 400])[1 + floor(lc_unit(c * 47) * 8)::int] END AS last_gap,
		   CASE WHEN lc_unit(c * 37) < 0.5 THEN g * floor(lc_unit(c * 41) * 9)::int
				ELSE (ARRAY[0, 30, 45, 60, 90, 180, 200, 365, 400])[1 + floor(lc_unit(c * 43) * 9)::int] END AS r
	FROM (SELECT c, 1 + floor(lc_unit(c * 19) * 30)::int AS g, 1 + floor(lc_unit(c * 23) * 6)::int AS n
		  FROM generate_series(4001, 6000) c) p
) q, generate_series(1, n) k;

-- 500 more customers with date-only order times who place 1 to 4 orders on
-- their first day, then 0 to 2 more on later days (round numbers of days
-- apart): orders all at one instant, or all but the last.
INSERT INTO lc_customers SELECT generate_series(6001, 6500);
INSERT INTO lc_orders
SELECT c, timestamptz '2025-01-01' - make_interval(days => r)
		  - make_interval(days => CASE WHEN k <= m THEN CASE p WHEN 0 THEN 0 WHEN 1 THEN g1 ELSE g1 + g2 END
									   WHEN k = m + 1 AND p = 2 THEN g2
									   ELSE 0 END)
FROM (
	SELECT c, 1 + floor(lc_unit(c * 53) * 4)::int AS m, floor(lc_unit(c * 59) * 3)::int AS p,
		   (ARRAY[0, 1, 30, 45, 60, 90, 180, 200, 365])[1 + floor(lc_unit(c * 61) * 9)::int] AS r,
		   (ARRAY[1, 10, 30, 45, 60, 90, 180, 181, 365])[1 + floor(lc_unit(c * 67) * 9)::int] AS g1,
		   (ARRAY[1, 7, 30, 90])[1 + floor(lc_unit(c * 71) * 4)::int] AS g2
	FROM generate_series(6001, 6500) c
) q, generate_series(1, m + p) k;

SELECT count(DISTINCT customer_id) AS customers_with_orders, max(n) > 1 AS repeat_buyers,
	   max(order_time) <= '2025-01-01' AS none_after_2025
FROM lc_orders JOIN (SELECT customer_id, count(*) AS n FROM lc_orders GROUP BY 1) c USING (customer_id);
-- the statistics as stored values (read back packed, with a short header)
CREATE TABLE lc_stats AS
SELECT customer_id, rfm_stats(order_time, 1) AS stats
FROM lc_customers LEFT JOIN lc_orders USING (customer_id)
GROUP BY customer_id;

-- Differences between lifecycle_stage and plain SQL at as_of, the stage
-- counts, how many customers sit exactly on each threshold (recency on
-- at_risk_after or lapsed_after, the age of the first order on new_days, the
-- gap before the last order on the lapsed threshold before it), and how
-- many have enough orders for a rhythm but all at one instant, or all but
-- the last (the threshold before the last order).
CREATE FUNCTION lc_oracle(as_of timestamptz, nd float8, am float8, lm float8, rmo int, ad float8, ld float8)
RETURNS TABLE (customers bigint, differences bigint, prospect bigint, new bigint, active bigint,
			   at_risk bigint, lapsed bigint, reactivated bigint,
			   on_at_risk bigint, on_lapsed bigint, on_new bigint, on_reactivation bigint,
			   zero_gap bigint, zero_gap_before bigint)
LANGUAGE sql AS $$
WITH raw AS (
	SELECT customer_id, count(order_time) AS n, min(order_time) AS first_o, max(order_time) AS last_o,
		   (array_agg(order_time ORDER BY order_time DESC) FILTER (WHERE order_time IS NOT NULL))[2] AS prev_o
	FROM lc_customers LEFT JOIN lc_orders USING (customer_id)
	GROUP BY customer_id
), thresholds AS (
	SELECT *, lc_days(last_o, as_of) AS recency, lc_days(first_o, as_of) AS age,
		   lc_days(prev_o, last_o) AS last_gap,
		   CASE WHEN n >= rmo AND lc_days(first_o, last_o) / (n - 1)::float8 >= 1
				THEN am * (lc_days(first_o, last_o) / (n - 1)::float8) ELSE ad END AS at_risk_after,
		   CASE WHEN n >= rmo AND lc_days(first_o, last_o) / (n - 1)::float8 >= 1
				THEN lm * (lc_days(first_o, last_o) / (n - 1)::float8) ELSE ld END AS lapsed_after,
		   CASE WHEN n - 1 >= rmo AND lc_days(first_o, prev_o) / (n - 2)::float8 >= 1
				THEN lm * (lc_days(first_o, prev_o) / (n - 2)::float8) ELSE ld END AS lapsed_before
	FROM raw
), plain AS (
	SELECT *, CASE WHEN n = 0 THEN 'prospect'
				   WHEN recency > lapsed_after THEN 'lapsed'
				   WHEN recency > at_risk_after THEN 'at_risk'
				   WHEN n >= 2 AND last_gap > lapsed_before THEN 'reactivated'
				   WHEN age <= nd THEN 'new'
				   ELSE 'active' END AS plain_stage
	FROM thresholds
), ours AS (
	SELECT customer_id, lifecycle_stage(stats, as_of, nd, am, lm, rmo, ad, ld) AS stage
	FROM lc_stats
)
SELECT count(*),
	   count(*) FILTER (WHERE stage IS DISTINCT FROM plain_stage),
	   count(*) FILTER (WHERE stage = 'prospect'),
	   count(*) FILTER (WHERE stage = 'new'),
	   count(*) FILTER (WHERE stage = 'active'),
	   count(*) FILTER (WHERE stage = 'at_risk'),
	   count(*) FILTER (WHERE stage = 'lapsed'),
	   count(*) FILTER (WHERE stage = 'reactivated'),
	   count(*) FILTER (WHERE recency = at_risk_after),
	   count(*) FILTER (WHERE recency = lapsed_after),
	   count(*) FILTER (WHERE age = nd),
	   count(*) FILTER (WHERE last_gap = lapsed_before),
	   count(*) FILTER (WHERE n >= rmo AND lc_days(first_o, last_o) / (n - 1)::float8 < 1),
	   count(*) FILTER (WHERE n - 1 >= rmo AND lc_days(first_o, prev_o) / (n - 2)::float8 < 1 AND prev_o < last_o)
FROM ours FULL JOIN plain USING (customer_id)
$$;

-- The oracle's differences, and for each stage and threshold whether some
-- customer is in it or on it (1) or none (0): the counts themselves follow
-- the generated data, what must hold is that every case is reached, and
-- none where the parameters make it impossible.
CREATE FUNCTION lc_reached(as_of timestamptz, nd float8, am float8, lm float8, rmo int, ad float8, ld float8)
RETURNS TABLE (customers bigint, differences bigint, prospect bigint, new int, active int, at_risk int,
			   lapsed int, reactivated int, on_at_risk int, on_lapsed int, on_new int, on_reactivation int,
			   zero_gap int, zero_gap_before int)
LANGUAGE sql AS $$
SELECT customers, differences, prospect, sign(new)::int, sign(active)::int, sign(at_risk)::int,
	   sign(lapsed)::int, sign(reactivated)::int, sign(on_at_risk)::int, sign(on_lapsed)::int,
	   sign(on_new)::int, sign(on_reactivation)::int, sign(zero_gap)::int, sign(zero_gap_before)::int
FROM lc_oracle(as_of, nd, am, lm, rmo, ad, ld)
$$;
-- the defaults
SELECT * FROM lc_reached('2025-01-01', 30, 2, 4, 3, 90, 180);
-- a rhythm from two orders on
SELECT * FROM lc_reached('2025-01-01', 60, 1.5, 3, 2, 30, 60);
-- equal multiples and equal days: nobody is at risk; new_days 0: new only
-- at the instant of the first order
SELECT * FROM lc_reached('2025-01-01', 0, 3, 3, 5, 45, 45);
-- an as_of to the millisecond: no recency or age is a whole number of days
SELECT * FROM lc_reached('2025-03-15 12:34:56.789', 90, 2, 6, 4, 60, 365);
-- long horizons
SELECT * FROM lc_reached('2025-04-01', 400, 5, 10, 2, 200, 400);

-- the BI use of lifecycle_stages(): every stage shows, even with no customers
SELECT count(*) AS stages, sum(customers) AS customers, bool_or(customers = 0) AS an_empty_stage_shows
FROM (SELECT l.position, l.stage, count(c.stage) AS customers
	  FROM lifecycle_stages() l
		   LEFT JOIN (SELECT lifecycle_stage(stats, '2025-01-01') AS stage
					  FROM lc_stats WHERE customer_id <= 20) c USING (stage)
	  GROUP BY l.position, l.stage) s;
-- every stage that lifecycle_stage returns is listed
SELECT lifecycle_stage(stats, '2025-01-01') AS unlisted FROM lc_stats
EXCEPT SELECT stage FROM lifecycle_stages();

-- An attachment's own lifecycle limits (set_lifecycle_limits()): the
-- customers views of an unmaintained and of a maintained attachment of the
-- same orders, and the stored stages, are what lifecycle_stage() gives
-- with those limits, before and after orders are written; the limits are
-- checked as lifecycle_stage() checks them; the defaults are stored as NULL.
SET TimeZone = 'UTC';
SET segment.as_of = '2025-01-01 00:00:00+00';
CREATE SCHEMA ll;
CREATE TABLE ll.orders (customer_id int, t timestamptz, amount numeric);
INSERT INTO ll.orders
SELECT c, timestamptz '2024-12-31' - make_interval(days => (c * 11 + k * 17) % 300), 10 + c % 50
FROM generate_series(1, 300) c, generate_series(1, 1 + c % 6) k;
CREATE INDEX ON ll.orders (customer_id);
SELECT count(*) AS views FROM attach('ll_plain', 'll.orders', 'customer_id', 't', 'amount');
SELECT count(*) AS views FROM attach('ll_kept', 'll.orders', 'customer_id', 't', 'amount');
SELECT maintain_attachment('ll_kept') IS NOT NULL AS maintained;
SELECT count(*) AS views FROM set_lifecycle_limits('ll_plain', new_days => 10, at_risk_multiple => 1.5,
	lapsed_multiple => 3, rhythm_min_orders => 2, at_risk_days => 40, lapsed_days => 100);
SELECT count(*) AS views FROM set_lifecycle_limits('ll_kept', new_days => 10, at_risk_multiple => 1.5,
	lapsed_multiple => 3, rhythm_min_orders => 2, at_risk_days => 40, lapsed_days => 100);
SELECT attachment_name, lifecycle_limits FROM attachments WHERE attachment_name LIKE 'll\_%' ORDER BY 1;
-- the stage by hand, with the limits and with the defaults
CREATE FUNCTION pg_temp.stage_differences(view_name text) RETURNS TABLE (differences bigint, differ_from_defaults bigint)
LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE format($q$
		SELECT count(*) FILTER (WHERE v.lifecycle_stage IS DISTINCT FROM
								lifecycle_stage(o.stats, '2025-01-01', 10, 1.5, 3, 2, 40, 100)),
			   count(*) FILTER (WHERE v.lifecycle_stage IS DISTINCT FROM lifecycle_stage(o.stats, '2025-01-01'))
		FROM %s v FULL JOIN (SELECT customer_id, rfm_stats(t, amount) AS stats FROM ll.orders
							 WHERE t <= '2025-01-01' GROUP BY 1) o USING (customer_id)$q$, view_name);
END $$;
SELECT * FROM pg_temp.stage_differences('ll.ll_plain_customers');
SELECT * FROM pg_temp.stage_differences('ll.ll_kept_customers');
SELECT count(*) AS stored_differences FROM ll.ll_kept_state s
WHERE s.lifecycle_stage IS DISTINCT FROM
	  lifecycle_stage(s.stats, GREATEST(s.scored_at, last_order_time(s.stats)), 10, 1.5, 3, 2, 40, 100);
-- orders written later are judged with them too
INSERT INTO ll.orders SELECT c, '2024-12-30', 25 FROM generate_series(1, 300, 7) c;
INSERT INTO ll.orders SELECT 1000 + c, '2024-12-25', 25 FROM generate_series(1, 5) c;
SELECT * FROM pg_temp.stage_differences('ll.ll_kept_customers');
SELECT count(*) AS stored_differences FROM ll.ll_kept_state s
WHERE s.lifecycle_stage IS DISTINCT FROM
	  lifecycle_stage(s.stats, GREATEST(s.scored_at, last_order_time(s.stats)), 10, 1.5, 3, 2, 40, 100);
-- bad limits, a missing attachment
SELECT set_lifecycle_limits('ll_kept', at_risk_days => 200, lapsed_days => 100);
\echo :LAST_ERROR_SQLSTATE
SELECT set_lifecycle_limits('ll_kept', new_days => NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT set_lifecycle_limits('ll_kept', rhythm_min_orders => 1);
\echo :LAST_ERROR_SQLSTATE
SELECT set_lifecycle_limits('nothing');
\echo :LAST_ERROR_SQLSTATE
-- written by hand, the limits are checked too
\set VERBOSITY terse
UPDATE attachments SET lifecycle_limits = '{30,2,4,3.5,90,180}' WHERE attachment_name = 'll_kept';
UPDATE attachments SET lifecycle_limits = '{30,2,4}' WHERE attachment_name = 'll_kept';
UPDATE attachments SET lifecycle_limits = '[0:5]={30,2,4,3,90,180}' WHERE attachment_name = 'll_kept';
\set VERBOSITY default
UPDATE attachments SET lifecycle_limits = '{NaN,2,4,3,90,180}' WHERE attachment_name = 'll_kept';
\echo :LAST_ERROR_SQLSTATE
UPDATE attachments SET lifecycle_limits = '{30,2,4,3,NULL,180}' WHERE attachment_name = 'll_kept';
\echo :LAST_ERROR_SQLSTATE
-- the defaults again: NULL, and the views agree with lifecycle_stage()'s defaults
SELECT count(*) AS views FROM set_lifecycle_limits('ll_kept');
SELECT lifecycle_limits FROM attachments WHERE attachment_name = 'll_kept';
SELECT count(*) FILTER (WHERE v.lifecycle_stage IS DISTINCT FROM lifecycle_stage(o.stats, '2025-01-01')) AS differences
FROM ll.ll_kept_customers v JOIN (SELECT customer_id, rfm_stats(t, amount) AS stats FROM ll.orders GROUP BY 1) o USING (customer_id);
SELECT detach('ll_plain'), detach('ll_kept');
DROP SCHEMA ll CASCADE;
RESET segment.as_of;
