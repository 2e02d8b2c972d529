--
-- bad_input: every kind of bad input to rfm_stats, rfm_thresholds, the
-- aggregates and rfm_score, each with its error and SQLSTATE or its
-- documented result.
--
-- Proves: the rfm_stats aggregate skips rows without a time, counts orders
-- without an amount, counts refunds, rejects NaN and infinite amounts and
-- infinite times (22023), is NULL over no orders, and sums exactly like
-- sum(numeric) at any size and scale; an order after as_of and an infinite
-- as_of are errors (22023) for recency_days, rfm_thresholds and rfm_score,
-- a NULL as_of gives a NULL score; bin counts outside 1..9 are 22023, NULL
-- bins 22004, one bin scores 1; malformed rfm_stats and rfm_thresholds text
-- is rejected and valid text round-trips; make_rfm_thresholds rejects bad
-- arrays; malformed binary input of all three types, read by COPY (FORMAT
-- binary) from files built byte by byte, is rejected, and valid binary
-- round-trips.  Nothing crashes the backend.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segment;
RESET client_min_messages;
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
\set VERBOSITY default
\set SHOW_CONTEXT never

--
-- The rfm_stats aggregate
--

-- a row with a NULL time is no order: skipped, its amount too
SELECT rfm_stats(t, a)
FROM (VALUES ('2020-01-01'::timestamptz, 1.00::numeric), (NULL, 5), ('2020-01-03', 2)) v(t, a);
-- only NULL times: no orders, NULL stats (even when the amount is NaN)
SELECT rfm_stats(t, a) IS NULL AS is_null
FROM (VALUES (NULL::timestamptz, 1::numeric), (NULL, 'NaN')) v(t, a);
-- no rows at all: NULL
SELECT rfm_stats(t, a) IS NULL AS is_null
FROM (VALUES ('2020-01-01'::timestamptz, 1::numeric)) v(t, a) WHERE false;
-- a NULL amount counts as an order and adds nothing
SELECT rfm_stats(t, a)
FROM (VALUES ('2020-01-01'::timestamptz, 1.50::numeric), ('2020-01-02', NULL), ('2020-01-03', 2)) v(t, a);
-- only NULL amounts: the orders count, the total is 0
SELECT s, order_count(s), total_amount(s)
FROM (SELECT rfm_stats(t, a) AS s
      FROM (VALUES ('2020-01-01'::timestamptz, NULL::numeric), ('2020-01-02', NULL)) v(t, a)) x;
-- refunds (negative amounts) are orders and reduce the total, even below zero
SELECT rfm_stats(t, a)
FROM (VALUES ('2020-01-01'::timestamptz, 10.00::numeric), ('2020-01-05', -10.00)) v(t, a);
SELECT rfm_stats(t, a)
FROM (VALUES ('2020-01-01'::timestamptz, 10::numeric), ('2020-01-05', -25.5)) v(t, a);
-- NaN and infinite amounts: 22023
SELECT rfm_stats(t, a)
FROM (VALUES ('2020-01-01'::timestamptz, 1::numeric), ('2020-01-02', 'NaN')) v(t, a);
\echo :LAST_ERROR_SQLSTATE
SELECT rfm_stats(t, a)
FROM (VALUES ('2020-01-01'::timestamptz, 'Infinity'::numeric)) v(t, a);
\echo :LAST_ERROR_SQLSTATE
SELECT rfm_stats(t, a)
FROM (VALUES ('2020-01-01'::timestamptz, '-Infinity'::numeric)) v(t, a);
\echo :LAST_ERROR_SQLSTATE
-- infinite order times: 22023
SELECT rfm_stats(t, a)
FROM (VALUES ('2020-01-01'::timestamptz, 1::numeric), ('infinity', 2)) v(t, a);
\echo :LAST_ERROR_SQLSTATE
SELECT rfm_stats(t, a)
FROM (VALUES ('-infinity'::timestamptz, 1::numeric)) v(t, a);
\echo :LAST_ERROR_SQLSTATE
-- several orders at the same time: previous equals last
SELECT rfm_stats(t, a)
FROM (VALUES ('2020-01-01 10:00'::timestamptz, 1::numeric), ('2020-01-01 10:00', 2)) v(t, a);
-- the earliest and latest possible times are fine
SELECT rfm_stats(t, a)
FROM (VALUES ('4714-11-24 00:00:00+00 BC'::timestamptz, 1::numeric),
             ('294276-12-31 23:59:59.999999+00', 2)) v(t, a);

-- totals are exact: the same value and display scale as sum(numeric)
CREATE TEMP TABLE amounts (grp text, amount numeric);
INSERT INTO amounts VALUES
  ('30 digits', 123456789012345678901234567890), ('30 digits', 987654321098765432109876543210),
  ('30 digits', 999999999999999999999999999999.99),
  ('beyond int64', 9223372036854775807), ('beyond int64', 9223372036854775807), ('beyond int64', 2),
  ('beyond 10^37', 9000000000000000000000000000000000000), ('beyond 10^37', 9000000000000000000000000000000000000),
  ('beyond 10^38', 99999999999999999999999999999999999999), ('beyond 10^38', 99999999999999999999999999999999999999),
  ('beyond 10^38', 0.01),
  ('beyond 10^38 and back', 99999999999999999999999999999999999999), ('beyond 10^38 and back', 5),
  ('beyond 10^38 and back', -99999999999999999999999999999999999999),
  ('negative beyond 10^38', -99999999999999999999999999999999999999), ('negative beyond 10^38', -99999999999999999999999999999999999999),
  ('10^100', 1e100), ('10^100', 1), ('10^100', 0.5),
  ('tiny', 0.000000000000000000000000000001), ('tiny', 0.000000000000000000000000000001),
  ('tiny', 0.000000000000000000000000000002),
  ('tinier than 10^-37', 0.00000000000000000000000000000000000000001), ('tinier than 10^-37', 1),
  ('big and tiny', 12345678901234567890), ('big and tiny', 0.000000000000000000001),
  ('mixed scales', 1.5), ('mixed scales', 2.25), ('mixed scales', 3),
  ('trailing zeros', 1.000), ('trailing zeros', 2.0), ('trailing zeros', 0.00000),
  ('zero with scale', 0.00), ('zero with scale', 0),
  ('to zero', 10.10), ('to zero', -10.10),
  ('below zero', 0.01), ('below zero', -0.02),
  ('round tens', 10000), ('round tens', 100000000), ('round tens', 1e20);
SELECT grp, total_amount(rfm_stats('2020-01-01', amount)) AS total, sum(amount) AS sum,
       total_amount(rfm_stats('2020-01-01', amount))::text = sum(amount)::text AS same_text
FROM amounts GROUP BY grp ORDER BY grp;
-- the same through the text form of rfm_stats
SELECT grp, total_amount(rfm_stats('2020-01-01', amount)::text::rfm_stats)::text = sum(amount)::text AS same_text
FROM amounts GROUP BY grp ORDER BY grp;
-- many amounts of many sizes and scales, in one group and in 100 groups
CREATE TEMP TABLE many_amounts AS
SELECT i % 100 AS grp,
       round((i * 7919 % 100003) * power(10::numeric, i % 41 - 20), i % 23) * (1 - 2 * (i % 3 % 2)) AS amount
FROM generate_series(1, 20000) i;
SELECT count(*) AS groups,
       count(*) FILTER (WHERE total::text <> sum::text) AS differ
FROM (SELECT grp, total_amount(rfm_stats('2020-01-01', amount)) AS total, sum(amount) AS sum
      FROM many_amounts GROUP BY grp) g;
SELECT total_amount(rfm_stats('2020-01-01', amount))::text = sum(amount)::text AS same_text
FROM many_amounts;

-- rfm_stats_merge: NULLs skipped, none at all is NULL, the order count
-- overflowing int64 is 22003
SELECT rfm_stats_merge(s)
FROM (VALUES (NULL::rfm_stats), ('(orders=1, total=1.5, first=2020-01-05, last=2020-01-05)'),
             ('(orders=2, total=-1, first=2020-01-01, previous=2020-01-02, last=2020-01-03)')) v(s);
SELECT rfm_stats_merge(s) IS NULL AS is_null FROM (VALUES (NULL::rfm_stats)) v(s);
SELECT rfm_stats_merge(s)
FROM (VALUES ('(orders=9223372036854775807, total=1, first=2020-01-01, previous=2020-01-02, last=2020-01-03)'::rfm_stats),
             ('(orders=1, total=1, first=2020-01-01, last=2020-01-01)')) v(s);
\echo :LAST_ERROR_SQLSTATE

-- extreme but valid order times: day counts must not overflow
SELECT mean_days_between_orders(s) > 0 AS mean_positive,
       days_before_last_order(s) > 0 AS gap_positive,
       round(mean_days_between_orders(s)) AS mean_days
FROM (SELECT '(orders=2, total=1, first=4713-01-01 00:00:00+00 BC, previous=4713-01-01 00:00:00+00 BC, last=294276-12-31 00:00:00+00)'::rfm_stats AS s) x;
SELECT recency_days(s, '294276-12-31 00:00:00+00') > 0 AS recency_positive,
       round(recency_days(s, '294276-12-31 00:00:00+00')) AS recency_days
FROM (SELECT '(orders=1, total=1, first=4713-01-01 00:00:00+00 BC, last=4713-01-01 00:00:00+00 BC)'::rfm_stats AS s) x;

--
-- as_of: an order after it, infinite, NULL
--
CREATE TEMP TABLE customers AS
SELECT c AS customer,
       rfm_stats('2020-01-01'::timestamptz + make_interval(days => c * 10 + o), (c * o)::numeric) AS stats
FROM generate_series(1, 10) c, generate_series(1, c) o
GROUP BY c ORDER BY c;
SELECT customer, stats FROM customers ORDER BY customer LIMIT 3;

-- recency_days: 0 at the last order, an error before it (22023, with a hint;
-- the detail gives the last order's time and as_of)
SELECT recency_days(stats, last_order_time(stats)) AS at_last,
       recency_days(stats, last_order_time(stats) + interval '36 hours') AS later
FROM customers WHERE customer = 1;
SELECT recency_days(stats, last_order_time(stats) - interval '1 microsecond')
FROM customers WHERE customer = 1;
\echo :LAST_ERROR_SQLSTATE
SELECT recency_days(stats, 'infinity') FROM customers WHERE customer = 1;
\echo :LAST_ERROR_SQLSTATE
SELECT recency_days(stats, '-infinity') FROM customers WHERE customer = 1;
\echo :LAST_ERROR_SQLSTATE
SELECT recency_days(stats, NULL) IS NULL AS is_null FROM customers WHERE customer = 1;

-- the window function: one customer after as_of fails the whole partition
-- (customers 6 to 10 are; the error names the first, customer 6)
SELECT customer, rfm_score(stats, '2020-03-01') OVER (ORDER BY customer) FROM customers;
\echo :LAST_ERROR_SQLSTATE
SELECT customer, rfm_score(stats, 'infinity') OVER (ORDER BY customer) FROM customers;
\echo :LAST_ERROR_SQLSTATE
-- the aggregate likewise
SELECT rfm_thresholds(stats, '2020-03-01' ORDER BY customer) FROM customers;
\echo :LAST_ERROR_SQLSTATE
SELECT rfm_thresholds(stats, 'infinity') FROM customers;
\echo :LAST_ERROR_SQLSTATE
-- scoring against stored thresholds likewise
SELECT rfm_score(stats, '2020-03-01', '{"recency": [10], "frequency": [2], "monetary": [5]}'::rfm_thresholds)
FROM customers WHERE customer = 10;
\echo :LAST_ERROR_SQLSTATE
SELECT rfm_score(stats, 'infinity', '{"recency": [10], "frequency": [2], "monetary": [5]}'::rfm_thresholds)
FROM customers WHERE customer = 10;
\echo :LAST_ERROR_SQLSTATE
-- a NULL as_of: that row's score is NULL and it is left out of the population
SELECT customer, rfm_score(stats, CASE WHEN customer <> 3 THEN '2021-01-01'::timestamptz END, 3) OVER () AS score,
       rfm_score(stats, '2021-01-01', 3) OVER (PARTITION BY customer = 3) AS without_3
FROM customers ORDER BY customer;
SELECT rfm_score(stats, NULL, '{"recency": [10], "frequency": [2], "monetary": [5]}'::rfm_thresholds) IS NULL AS is_null
FROM customers WHERE customer = 10;
SELECT rfm_thresholds(stats, CASE WHEN customer <> 3 THEN '2021-01-01'::timestamptz END, 3)::text
     = (rfm_thresholds(stats, '2021-01-01', 3) FILTER (WHERE customer <> 3))::text AS null_as_of_left_out
FROM customers;
-- a NULL stats likewise
SELECT s IS NULL AS stats_null, rfm_score(s, '2021-01-01', 3) OVER () AS score
FROM (SELECT stats FROM customers UNION ALL SELECT NULL) x(s) ORDER BY score NULLS FIRST LIMIT 2;

--
-- bins: 1..9; 0, -1, 10, 1000 are 22023; NULL is 22004
--
SELECT rfm_score(stats, '2021-01-01', 0) OVER () FROM customers;
\echo :LAST_ERROR_SQLSTATE
SELECT rfm_score(stats, '2021-01-01', -1) OVER () FROM customers;
\echo :LAST_ERROR_SQLSTATE
SELECT rfm_score(stats, '2021-01-01', 10) OVER () FROM customers;
\echo :LAST_ERROR_SQLSTATE
SELECT rfm_score(stats, '2021-01-01', 1000) OVER () FROM customers;
\echo :LAST_ERROR_SQLSTATE
SELECT rfm_score(stats, '2021-01-01', 5, 0, 5) OVER () FROM customers;
\echo :LAST_ERROR_SQLSTATE
SELECT rfm_score(stats, '2021-01-01', 5, 5, 10) OVER () FROM customers;
\echo :LAST_ERROR_SQLSTATE
SELECT rfm_score(stats, '2021-01-01', NULL::int) OVER () FROM customers;
\echo :LAST_ERROR_SQLSTATE
SELECT rfm_score(stats, '2021-01-01', 5, NULL, 5) OVER () FROM customers;
\echo :LAST_ERROR_SQLSTATE
-- bins that change from row to row
SELECT rfm_score(stats, '2021-01-01', CASE WHEN customer < 5 THEN 3 ELSE 4 END) OVER () FROM customers;
\echo :LAST_ERROR_SQLSTATE
SELECT rfm_thresholds(stats, '2021-01-01', 0) FROM customers;
\echo :LAST_ERROR_SQLSTATE
SELECT rfm_thresholds(stats, '2021-01-01', -1) FROM customers;
\echo :LAST_ERROR_SQLSTATE
SELECT rfm_thresholds(stats, '2021-01-01', 10) FROM customers;
\echo :LAST_ERROR_SQLSTATE
SELECT rfm_thresholds(stats, '2021-01-01', 1000) FROM customers;
\echo :LAST_ERROR_SQLSTATE
SELECT rfm_thresholds(stats, '2021-01-01', 0, 5, 5) FROM customers;
\echo :LAST_ERROR_SQLSTATE
SELECT rfm_thresholds(stats, '2021-01-01', 5, 5, -1) FROM customers;
\echo :LAST_ERROR_SQLSTATE
SELECT rfm_thresholds(stats, '2021-01-01', NULL::int) FROM customers;
\echo :LAST_ERROR_SQLSTATE
SELECT rfm_thresholds(stats, '2021-01-01', 5, 5, NULL) FROM customers;
\echo :LAST_ERROR_SQLSTATE
SELECT rfm_thresholds(stats, '2021-01-01', CASE WHEN customer < 5 THEN 3 ELSE 4 END) FROM customers;
\echo :LAST_ERROR_SQLSTATE
-- one bin: every score of that dimension is 1, and it has no thresholds
SELECT customer, rfm_score(stats, '2021-01-01', 1) OVER () AS one_bin,
       rfm_score(stats, '2021-01-01', 1, 3, 9) OVER () AS one_recency_bin,
       rfm_score(stats, '2021-01-01', 9, 1, 3) OVER () AS one_frequency_bin,
       rfm_score(stats, '2021-01-01', 3, 9, 1) OVER () AS one_monetary_bin
FROM customers ORDER BY customer;
SELECT rfm_thresholds(stats, '2021-01-01', 1) AS one_bin,
       rfm_thresholds(stats, '2021-01-01', 1, 3, 2) AS one_recency_bin
FROM customers;
-- totals near the double precision limit: a threshold interpolated between
-- them would overflow to Infinity (as percentile_cont's would), which no
-- rfm_thresholds value may hold, so this is an error
SELECT rfm_thresholds(stats, '2021-01-01', 2)
FROM (VALUES ('(orders=1, total=1.7e308, first=2020-01-01 00:00:00+00, last=2020-01-01 00:00:00+00)'::rfm_stats),
             ('(orders=1, total=-1.7e308, first=2020-01-01 00:00:00+00, last=2020-01-01 00:00:00+00)')) v(stats);
\echo :LAST_ERROR_SQLSTATE
-- the window function and stored thresholds agree
SELECT count(*) FILTER (WHERE w <> s) AS disagree
FROM (SELECT rfm_score(c.stats, '2021-01-01', 1, 3, 9) OVER () AS w,
             rfm_score(c.stats, '2021-01-01', t.th) AS s
      FROM customers c,
           (SELECT rfm_thresholds(stats, '2021-01-01', 1, 3, 9) AS th FROM customers) t) x;

--
-- rfm_stats text input
--

-- valid values round-trip, with or without spaces, in any key order
SELECT v::rfm_stats AS stats, v::rfm_stats::text::rfm_stats::text = v::rfm_stats::text AS round_trip
FROM (VALUES
  ('(orders=3, total=57.45, first=1997-01-02 00:00:00+00, previous=1997-11-15 00:00:00+00, last=1998-05-28 00:00:00+00)'),
  ('(orders=1, total=0, first=2020-01-01 00:00:00+00, last=2020-01-01 00:00:00+00)'),
  ('(orders=1,total=-3.5,first=2020-01-01 12:00:00+00,last=2020-01-01 12:00:00+00)'),
  ('  ( orders = 2 , total = 1e3 , first = 2020-01-01 , previous = 2020-01-01 , last = 2020-02-01 )  '),
  ('(last=2020-02-01 00:00:00+00, previous=2020-01-15 00:00:00+00, first=2020-01-01 00:00:00+00, total=1, orders=3)'),
  ('(orders=2, total=1, first=2020-01-01 00:00:00+01, previous=2020-01-01 00:00:00-01, last=2020-01-01 00:00:00-01)'),
  ('(orders=9223372036854775807, total=99999999999999999999999999999999999999999.000000000000000000000000000001, first=2020-01-01 00:00:00.000001+00, previous=2020-01-01 00:00:00.000002+00, last=2020-01-01 00:00:00.000002+00)')
) t(v);
-- accessors
SELECT order_count(s), first_order_time(s), previous_order_time(s), last_order_time(s),
       total_amount(s), mean_days_between_orders(s), days_before_last_order(s)
FROM (VALUES ('(orders=3, total=57.45, first=1997-01-02 00:00:00+00, previous=1997-11-15 00:00:00+00, last=1998-05-28 00:00:00+00)'::rfm_stats),
             ('(orders=1, total=0, first=2020-01-01 00:00:00+00, last=2020-01-01 00:00:00+00)')) t(s);
-- the text form is in UTC whatever the TimeZone
SET TimeZone = 'America/New_York';
SELECT '(orders=1, total=0, first=2020-07-01 00:00:00, last=2020-07-01 00:00:00)'::rfm_stats;
SELECT last_order_time('(orders=1, total=0, first=2020-07-01 00:00:00+00, last=2020-07-01 00:00:00+00)');
SET TimeZone = 'UTC';
-- NULL in, NULL out
SELECT NULL::rfm_stats IS NULL AS is_null, order_count(NULL), total_amount(NULL) IS NULL AS total_null;

-- malformed: 22P02 unless stated
SELECT ''::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '   '::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '()'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders=1)'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT 'orders=1, total=1, first=2020-01-01, last=2020-01-01'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders=1, total=1, first=2020-01-01, last=2020-01-01'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders=1, first=2020-01-01, last=2020-01-01)'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(total=1, first=2020-01-01, last=2020-01-01)'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders=1, total=1, last=2020-01-01)'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders=1, total=1, first=2020-01-01)'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders=1, total=1, first=2020-01-01, last=2020-01-01, customer=7)'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders=1, total=1, total=2, first=2020-01-01, last=2020-01-01)'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders=1, Orders=1, total=1, first=2020-01-01, last=2020-01-01)'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders=1, total=1, =2, first=2020-01-01, last=2020-01-01)'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders 1, total=1, first=2020-01-01, last=2020-01-01)'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders=, total=1, first=2020-01-01, last=2020-01-01)'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders=1, total=1,, first=2020-01-01, last=2020-01-01)'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders=0, total=1, first=2020-01-01, last=2020-01-01)'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders=-1, total=1, first=2020-01-01, last=2020-01-01)'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders=abc, total=1, first=2020-01-01, last=2020-01-01)'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders=1.5, total=1, first=2020-01-01, last=2020-01-01)'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders=99999999999999999999, total=1, first=2020-01-01, previous=2020-01-01, last=2020-01-01)'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders=9223372036854775808, total=1, first=2020-01-01, previous=2020-01-01, last=2020-01-01)'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders=1, total=NaN, first=2020-01-01, last=2020-01-01)'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders=1, total=Infinity, first=2020-01-01, last=2020-01-01)'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders=1, total=-Infinity, first=2020-01-01, last=2020-01-01)'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders=1, total=abc, first=2020-01-01, last=2020-01-01)'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders=1, total=1, first=garbage, last=2020-01-01)'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders=1, total=1, first=2020-01-01, last=2020-13-01)'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders=2, total=1, first=2020-01-02, previous=2020-01-02, last=2020-01-01)'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders=1, total=1, first=2020-01-02, last=2020-01-01)'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders=1, total=1, first=2020-01-01, last=2020-01-02)'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders=1, total=1, first=2020-01-01, previous=2020-01-01, last=2020-01-01)'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders=2, total=1, first=2020-01-01, last=2020-01-02)'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders=2, total=1, first=2020-01-02, previous=2020-01-01, last=2020-01-03)'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders=2, total=1, first=2020-01-01, previous=2020-01-04, last=2020-01-03)'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders=1, total=1, first=infinity, last=2020-01-01)'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders=1, total=1, first=infinity, last=infinity)'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders=2, total=1, first=-infinity, previous=2020-01-01, last=2020-01-01)'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders=2, total=1, first=2020-01-01, previous=-infinity, last=2020-01-01)'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders=1, total=1, first=2020-01-01, last=2020-01-01) x'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders=1, total=1, first=2020-01-01, last=2020-01-01))'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE
SELECT '(orders=1, total=1, first=2020-01-01, last=2020-01-01),'::rfm_stats;
\echo :LAST_ERROR_SQLSTATE

--
-- rfm_thresholds text input
--

-- valid values round-trip; an empty list is one bin
SELECT v::rfm_thresholds AS thresholds,
       v::rfm_thresholds::text::rfm_thresholds::text = v::rfm_thresholds::text AS round_trip
FROM (VALUES
  ('{"recency": [12.5, 40, 95, 210], "frequency": [1, 2, 3, 6], "monetary": [20.5, 41, 80, 160]}'),
  ('{"recency": [], "frequency": [], "monetary": []}'),
  ('{"monetary":[1,1,1],"recency":[-5],"frequency":[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8]}'),
  (E' {\n "recency" : [ 1 , 2 ] ,\t"frequency" : [ ] , "monetary" : [ 3e2 ] } '),
  ('{"recency": [1e-300, 1.7976931348623157e308], "frequency": [-0, 0], "monetary": [0.1]}')
) t(v);
SELECT recency_thresholds(th), frequency_thresholds(th), monetary_thresholds(th)
FROM (VALUES ('{"recency": [12.5, 40], "frequency": [], "monetary": [7]}'::rfm_thresholds)) t(th);

-- malformed: 22P02, or 22023 for values that parse but are not thresholds
SELECT ''::rfm_thresholds;
\echo :LAST_ERROR_SQLSTATE
SELECT '{}'::rfm_thresholds;
\echo :LAST_ERROR_SQLSTATE
SELECT '[]'::rfm_thresholds;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"recency": [], "frequency": []}'::rfm_thresholds;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"recency": [], "frequency": [], "frequency": []}'::rfm_thresholds;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"recency": [], "frequency": [], "monetary": [], "recency": []}'::rfm_thresholds;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"recency": [], "frequency": [], "value": []}'::rfm_thresholds;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"recency": [], "frequency": [], "monetary": [], "extra": []}'::rfm_thresholds;
\echo :LAST_ERROR_SQLSTATE
SELECT '{recency: [], frequency: [], monetary: []}'::rfm_thresholds;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"Recency": [], "frequency": [], "monetary": []}'::rfm_thresholds;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"recency": [1,2,3,4,5,6,7,8,9], "frequency": [], "monetary": []}'::rfm_thresholds;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"recency": [], "frequency": [], "monetary": [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20]}'::rfm_thresholds;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"recency": [NaN], "frequency": [], "monetary": []}'::rfm_thresholds;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"recency": [], "frequency": [Infinity], "monetary": []}'::rfm_thresholds;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"recency": [], "frequency": [], "monetary": [1, -Infinity]}'::rfm_thresholds;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"recency": [], "frequency": [], "monetary": [1e400]}'::rfm_thresholds;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"recency": [3, 2], "frequency": [], "monetary": []}'::rfm_thresholds;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"recency": [], "frequency": [1, 2, 2, 1.5], "monetary": []}'::rfm_thresholds;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"recency": [abc], "frequency": [], "monetary": []}'::rfm_thresholds;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"recency": ["1"], "frequency": [], "monetary": []}'::rfm_thresholds;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"recency": [1 2], "frequency": [], "monetary": []}'::rfm_thresholds;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"recency": [1,], "frequency": [], "monetary": []}'::rfm_thresholds;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"recency": [,1], "frequency": [], "monetary": []}'::rfm_thresholds;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"recency": 1, "frequency": [], "monetary": []}'::rfm_thresholds;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"recency": [], "frequency": [], "monetary": []} x'::rfm_thresholds;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"recency": [], "frequency": [], "monetary": []}}'::rfm_thresholds;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"recency": [], "frequency": [], "monetary": [}'::rfm_thresholds;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"recency": [[1]], "frequency": [], "monetary": []}'::rfm_thresholds;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"recency": [1]], "frequency": [], "monetary": []}'::rfm_thresholds;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"recency": [], "frequency": [], "monetary": []'::rfm_thresholds;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"recency": [1'::rfm_thresholds;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"recency" [], "frequency": [], "monetary": []}'::rfm_thresholds;
\echo :LAST_ERROR_SQLSTATE

-- make_rfm_thresholds: the same checks for arrays
SELECT make_rfm_thresholds('{1,2}', '{}', '{3,3,3,3,3,3,3,3}');
SELECT make_rfm_thresholds('{1,NULL}', '{}', '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT make_rfm_thresholds('{}', '{{1,2},{3,4}}', '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT make_rfm_thresholds('{}', '{}', '{1,2,3,4,5,6,7,8,9}');
\echo :LAST_ERROR_SQLSTATE
SELECT make_rfm_thresholds('{2,1}', '{}', '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT make_rfm_thresholds('{}', '{NaN}', '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT make_rfm_thresholds('{}', '{}', '{1,Infinity}');
\echo :LAST_ERROR_SQLSTATE
SELECT make_rfm_thresholds(NULL, '{}', '{}') IS NULL AS is_null;

--
-- Malformed binary input, read by COPY (FORMAT binary) from a file written
-- byte by byte: the 11-byte signature, flags and header extension length
-- (int32 0 each), one tuple of one field (int16 1, int32 length, bytes),
-- then the trailer int16 -1.
--
CREATE FUNCTION copy_binary_file(field bytea) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
	SELECT '\x5047434f50590aff0d0a00'::bytea || int4send(0) || int4send(0)
		|| int2send(1::int2) || int4send(length(field)) || field
		|| int2send(-1::int2)
$$;
-- writes the file with a large object (unlinked at once), truncates the
-- table, loads the file with COPY and returns what was loaded, as text
CREATE FUNCTION load_binary(tbl regclass, field bytea) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	lo oid := lo_from_bytea(0, copy_binary_file(field));
BEGIN
	PERFORM lo_export(lo, 'segment_bad_input.bin');
	PERFORM lo_unlink(lo);
	EXECUTE format('TRUNCATE %s', tbl);
	EXECUTE format('COPY %s FROM %L (FORMAT binary)', tbl, 'segment_bad_input.bin');
	RETURN QUERY EXECUTE format('SELECT v::text FROM %s', tbl);
END
$$;
CREATE TEMP TABLE bin_rfm (v rfm);
CREATE TEMP TABLE bin_stats (v rfm_stats);
CREATE TEMP TABLE bin_thresholds (v rfm_thresholds);

-- the file format is right: a file written by COPY TO reads back the same
SELECT current_setting('data_directory') || '/segment_bad_input.bin' AS binfile \gset
COPY (SELECT '5-4-3'::rfm) TO :'binfile' (FORMAT binary);
SELECT pg_read_binary_file('segment_bad_input.bin') = copy_binary_file('\x050403') AS same_file;
SELECT load_binary('bin_rfm', segment_internal.rfm_send('5-4-3'));

-- rfm: three score bytes
SELECT load_binary('bin_rfm', '\x000403');
\echo :LAST_ERROR_SQLSTATE
SELECT load_binary('bin_rfm', '\x05040a');
\echo :LAST_ERROR_SQLSTATE
SELECT load_binary('bin_rfm', '\x05ff03');
\echo :LAST_ERROR_SQLSTATE
SELECT load_binary('bin_rfm', '\x0504');
\echo :LAST_ERROR_SQLSTATE
SELECT load_binary('bin_rfm', '\x');
\echo :LAST_ERROR_SQLSTATE
SELECT load_binary('bin_rfm', '\x05040301');
\echo :LAST_ERROR_SQLSTATE

-- rfm_stats: what send produces, a version byte, int64 count, first,
-- previous and last time (microseconds since 2000-01-01 UTC; previous is
-- the minimum int64 for one order), then int32 length and numeric_send bytes
SELECT segment_internal.rfm_stats_send('(orders=3, total=57.45, first=2000-01-01 00:00:00+00, previous=2000-01-02 00:00:00+00, last=2000-01-03 00:00:00+00)');
SELECT segment_internal.rfm_stats_send('(orders=1, total=-1, first=2000-01-01 00:00:00+00, last=2000-01-01 00:00:00+00)');
CREATE FUNCTION stats_bytes(version int, orders bigint, first bigint, previous bigint, last bigint, total bytea)
RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
	SELECT set_byte('\x00'::bytea, 0, version) || int8send(orders) || int8send(first)
		|| int8send(previous) || int8send(last) || int4send(length(total)) || total
$$;
-- the helper builds exactly what send produces (a day is 86400000000 us)
SELECT stats_bytes(1, 3, 0, 86400000000, 172800000000, numeric_send(57.45))
     = segment_internal.rfm_stats_send('(orders=3, total=57.45, first=2000-01-01 00:00:00+00, previous=2000-01-02 00:00:00+00, last=2000-01-03 00:00:00+00)') AS same_bytes,
       stats_bytes(1, 1, 0, -9223372036854775808, 0, numeric_send(-1))
     = segment_internal.rfm_stats_send('(orders=1, total=-1, first=2000-01-01 00:00:00+00, last=2000-01-01 00:00:00+00)') AS same_bytes_one_order;
SELECT load_binary('bin_stats', stats_bytes(1, 3, 0, 86400000000, 172800000000, numeric_send(57.45)));
SELECT load_binary('bin_stats', stats_bytes(1, 1, 0, -9223372036854775808, 0, numeric_send(-1)));
-- wrong version
SELECT load_binary('bin_stats', stats_bytes(0, 1, 0, -9223372036854775808, 0, numeric_send(1)));
\echo :LAST_ERROR_SQLSTATE
SELECT load_binary('bin_stats', stats_bytes(2, 1, 0, -9223372036854775808, 0, numeric_send(1)));
\echo :LAST_ERROR_SQLSTATE
-- values that decode but are no valid rfm_stats: 22P03 like every other
-- malformed binary input (22P02 is the SQLSTATE for malformed text)
-- order count 0 and negative
SELECT load_binary('bin_stats', stats_bytes(1, 0, 0, -9223372036854775808, 0, numeric_send(1)));
\echo :LAST_ERROR_SQLSTATE
SELECT load_binary('bin_stats', stats_bytes(1, -1, 0, -9223372036854775808, 0, numeric_send(1)));
\echo :LAST_ERROR_SQLSTATE
-- first after last
SELECT load_binary('bin_stats', stats_bytes(1, 2, 86400000000, 0, 0, numeric_send(1)));
\echo :LAST_ERROR_SQLSTATE
-- one order: first <> last, or a previous time
SELECT load_binary('bin_stats', stats_bytes(1, 1, 0, -9223372036854775808, 86400000000, numeric_send(1)));
\echo :LAST_ERROR_SQLSTATE
SELECT load_binary('bin_stats', stats_bytes(1, 1, 0, 0, 0, numeric_send(1)));
\echo :LAST_ERROR_SQLSTATE
-- two orders: previous outside [first, last], or missing
SELECT load_binary('bin_stats', stats_bytes(1, 2, 86400000000, 0, 172800000000, numeric_send(1)));
\echo :LAST_ERROR_SQLSTATE
SELECT load_binary('bin_stats', stats_bytes(1, 2, 0, -9223372036854775808, 86400000000, numeric_send(1)));
\echo :LAST_ERROR_SQLSTATE
-- infinite (int64 max) and out-of-range times
SELECT load_binary('bin_stats', stats_bytes(1, 1, 0, -9223372036854775808, 9223372036854775807, numeric_send(1)));
\echo :LAST_ERROR_SQLSTATE
SELECT load_binary('bin_stats', stats_bytes(1, 1, 9223372036854775807, -9223372036854775808, 9223372036854775807, numeric_send(1)));
\echo :LAST_ERROR_SQLSTATE
SELECT load_binary('bin_stats', stats_bytes(1, 1, -9223372036854775808, -9223372036854775808, -9223372036854775808, numeric_send(1)));
\echo :LAST_ERROR_SQLSTATE
SELECT load_binary('bin_stats', stats_bytes(1, 1, 9223372036854775806, -9223372036854775808, 9223372036854775806, numeric_send(1)));
\echo :LAST_ERROR_SQLSTATE
-- the numeric: NaN (sign word 0xC000) and infinities (0xD000, 0xF000)
SELECT numeric_send('NaN'), numeric_send('Infinity'), numeric_send('-Infinity');
SELECT load_binary('bin_stats', stats_bytes(1, 1, 0, -9223372036854775808, 0, '\x00000000c0000000'));
\echo :LAST_ERROR_SQLSTATE
SELECT load_binary('bin_stats', stats_bytes(1, 1, 0, -9223372036854775808, 0, '\x00000000d0000000'));
\echo :LAST_ERROR_SQLSTATE
SELECT load_binary('bin_stats', stats_bytes(1, 1, 0, -9223372036854775808, 0, '\x00000000f0000000'));
\echo :LAST_ERROR_SQLSTATE
-- the numeric: a bad sign word, a digit over 9999
SELECT load_binary('bin_stats', stats_bytes(1, 1, 0, -9223372036854775808, 0, '\x0001000012340000ffff'));
\echo :LAST_ERROR_SQLSTATE
SELECT load_binary('bin_stats', stats_bytes(1, 1, 0, -9223372036854775808, 0, '\x0001000000000000ffff'));
\echo :LAST_ERROR_SQLSTATE
-- the numeric truncated: fewer digits than its header says, a short header,
-- a length beyond the field, a negative length, no numeric at all
SELECT load_binary('bin_stats', stats_bytes(1, 1, 0, -9223372036854775808, 0, '\x00020000000000020039'));
\echo :LAST_ERROR_SQLSTATE
SELECT load_binary('bin_stats', stats_bytes(1, 1, 0, -9223372036854775808, 0, '\x000100'));
\echo :LAST_ERROR_SQLSTATE
SELECT load_binary('bin_stats', overlay(stats_bytes(1, 1, 0, -9223372036854775808, 0, numeric_send(57.45))
                                        placing int4send(13) from 34));
\echo :LAST_ERROR_SQLSTATE
SELECT load_binary('bin_stats', overlay(stats_bytes(1, 1, 0, -9223372036854775808, 0, numeric_send(57.45))
                                        placing int4send(-1) from 34));
\echo :LAST_ERROR_SQLSTATE
SELECT load_binary('bin_stats', substring(stats_bytes(1, 1, 0, -9223372036854775808, 0, numeric_send(1)) for 33));
\echo :LAST_ERROR_SQLSTATE
-- the fields truncated: no byte, the version only, half a time
SELECT load_binary('bin_stats', '\x');
\echo :LAST_ERROR_SQLSTATE
SELECT load_binary('bin_stats', '\x01');
\echo :LAST_ERROR_SQLSTATE
SELECT load_binary('bin_stats', substring(stats_bytes(1, 1, 0, -9223372036854775808, 0, numeric_send(1)) for 21));
\echo :LAST_ERROR_SQLSTATE
-- trailing bytes inside the numeric length, and after the value
SELECT load_binary('bin_stats', stats_bytes(1, 1, 0, -9223372036854775808, 0, numeric_send(1) || '\x00'));
\echo :LAST_ERROR_SQLSTATE
SELECT load_binary('bin_stats', stats_bytes(1, 1, 0, -9223372036854775808, 0, numeric_send(1)) || '\x00');
\echo :LAST_ERROR_SQLSTATE

-- rfm_thresholds: what send produces, a version byte, then per dimension a
-- count byte and that many float8 thresholds
SELECT segment_internal.rfm_thresholds_send('{"recency": [1.5, 2], "frequency": [], "monetary": [3]}');
CREATE FUNCTION thresholds_bytes(version int, r float8[], f float8[], m float8[]) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
	SELECT set_byte('\x00'::bytea, 0, version)
		|| (SELECT string_agg(set_byte('\x00'::bytea, 0, coalesce(cardinality(a), 0))
		                      || coalesce((SELECT string_agg(float8send(x), '' ORDER BY i)
		                                   FROM unnest(a) WITH ORDINALITY u(x, i)), ''),
		                      '' ORDER BY d)
		    FROM (VALUES (1, r), (2, f), (3, m)) v(d, a))
$$;
SELECT thresholds_bytes(1, '{1.5,2}', '{}', '{3}')
     = segment_internal.rfm_thresholds_send('{"recency": [1.5, 2], "frequency": [], "monetary": [3]}') AS same_bytes;
SELECT load_binary('bin_thresholds', thresholds_bytes(1, '{1.5,2}', '{}', '{3}'));
SELECT load_binary('bin_thresholds', thresholds_bytes(1, '{1,2,3,4,5,6,7,8}', '{-1}', '{0,0}'));
-- wrong version
SELECT load_binary('bin_thresholds', thresholds_bytes(0, '{1}', '{}', '{}'));
\echo :LAST_ERROR_SQLSTATE
SELECT load_binary('bin_thresholds', thresholds_bytes(2, '{1}', '{}', '{}'));
\echo :LAST_ERROR_SQLSTATE
-- count 9 (with nine values), count 255
SELECT load_binary('bin_thresholds', thresholds_bytes(1, '{}', '{1,2,3,4,5,6,7,8,9}', '{}'));
\echo :LAST_ERROR_SQLSTATE
SELECT load_binary('bin_thresholds', '\x0100ff00');
\echo :LAST_ERROR_SQLSTATE
-- NaN, infinite, decreasing values
SELECT load_binary('bin_thresholds', thresholds_bytes(1, '{1,NaN}', '{}', '{}'));
\echo :LAST_ERROR_SQLSTATE
SELECT load_binary('bin_thresholds', thresholds_bytes(1, '{}', '{}', '{-Infinity}'));
\echo :LAST_ERROR_SQLSTATE
SELECT load_binary('bin_thresholds', thresholds_bytes(1, '{}', '{Infinity}', '{}'));
\echo :LAST_ERROR_SQLSTATE
SELECT load_binary('bin_thresholds', thresholds_bytes(1, '{}', '{}', '{5,4}'));
\echo :LAST_ERROR_SQLSTATE
-- truncated: a count with fewer values, a missing dimension, half a value, nothing
SELECT load_binary('bin_thresholds', '\x010200' || float8send(1));
\echo :LAST_ERROR_SQLSTATE
SELECT load_binary('bin_thresholds', substring(thresholds_bytes(1, '{1}', '{2}', '{}') for 19));
\echo :LAST_ERROR_SQLSTATE
SELECT load_binary('bin_thresholds', substring(thresholds_bytes(1, '{1}', '{}', '{}') for 6));
\echo :LAST_ERROR_SQLSTATE
SELECT load_binary('bin_thresholds', '\x');
\echo :LAST_ERROR_SQLSTATE
-- trailing bytes
SELECT load_binary('bin_thresholds', thresholds_bytes(1, '{1}', '{}', '{}') || '\x00');
\echo :LAST_ERROR_SQLSTATE

-- valid binary round trips: COPY TO a file, then COPY FROM it
CREATE TEMP TABLE typed (id int, s rfm_stats, t rfm_thresholds, r rfm);
INSERT INTO typed VALUES
  (1, '(orders=3, total=57.45, first=1997-01-02 00:00:00+00, previous=1997-11-15 00:00:00+00, last=1998-05-28 00:00:00+00)',
      '{"recency": [12.5, 40, 95, 210], "frequency": [1, 2, 3, 6], "monetary": [20.5, 41, 80, 160]}', '5-4-3'),
  (2, '(orders=1, total=-0.000000000000000000000000000000000000000001, first=4714-11-24 00:00:00+00 BC, last=4714-11-24 00:00:00+00 BC)',
      '{"recency": [], "frequency": [], "monetary": []}', '1-1-1'),
  (3, '(orders=9223372036854775807, total=123456789012345678901234567890123456789012345678901234567890, first=2020-01-01 00:00:00+00, previous=294276-12-31 23:59:59.999999+00, last=294276-12-31 23:59:59.999999+00)',
      '{"recency": [1e-300, 1.7976931348623157e308], "frequency": [-0, 0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6], "monetary": [3]}', '9-9-9'),
  (4, NULL, NULL, NULL);
INSERT INTO typed SELECT 100 + customer, stats, NULL, NULL FROM customers;
INSERT INTO typed
SELECT 200, NULL, th, rfm_score(c.stats, '2021-01-01', th)
FROM customers c, (SELECT rfm_thresholds(stats, '2021-01-01', 9, 2, 5) AS th FROM customers) x
WHERE c.customer = 1;
COPY typed TO :'binfile' (FORMAT binary);
CREATE TEMP TABLE typed_copy (LIKE typed);
COPY typed_copy FROM :'binfile' (FORMAT binary);
SELECT (SELECT count(*) FROM typed) AS rows, (SELECT count(*) FROM typed_copy) AS copied,
       (SELECT count(*) FROM typed a FULL JOIN typed_copy b USING (id)
        WHERE a.s::text IS DISTINCT FROM b.s::text OR a.t::text IS DISTINCT FROM b.t::text
           OR a.r IS DISTINCT FROM b.r) AS differ;
-- the written values read back as they were written (computed ones, of
-- customers and row 200, are compared above)
SELECT id, s, t, r FROM typed_copy WHERE id < 100 ORDER BY id;
-- and send of the read value is the same bytes
SELECT count(*) FILTER (WHERE segment_internal.rfm_stats_send(a.s) IS DISTINCT FROM segment_internal.rfm_stats_send(b.s)
                           OR segment_internal.rfm_thresholds_send(a.t) IS DISTINCT FROM segment_internal.rfm_thresholds_send(b.t)) AS send_differs
FROM typed a JOIN typed_copy b USING (id);

-- the backend is still alive
SELECT 'alive' AS backend;

DROP TABLE typed, typed_copy, bin_rfm, bin_stats, bin_thresholds;
DROP FUNCTION load_binary(regclass, bytea);
DROP FUNCTION copy_binary_file(bytea);
DROP FUNCTION stats_bytes(int, bigint, bigint, bigint, bigint, bytea);
DROP FUNCTION thresholds_bytes(int, float8[], float8[], float8[]);
