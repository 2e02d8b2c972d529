-- RFM report for the demo data set; test/demo.sh runs it with
--   psql -d segment_demo -f test/demo_report.sql
-- Needs tables customers and orders (bench/generate_orders.sql) and the
-- segment extension.
\set QUIET on
\set ON_ERROR_STOP on
\pset footer off
\pset null '-'
SET TimeZone = 'UTC';

-- Score as of the last order in the data, not today, so the same data
-- always gives the same report.
SELECT max(order_time) AS as_of FROM orders \gset

\echo '=================================================================='
\echo ' RFM report, database' :DBNAME
\echo '=================================================================='
\echo

\pset title 'Data set'
SELECT (SELECT count(*) FROM customers) AS customers,
       (SELECT count(DISTINCT customer_id) FROM orders) AS "with orders",
       (SELECT count(*) FROM orders) AS orders,
       (SELECT min(order_time)::date FROM orders) AS "first order",
       :'as_of'::timestamptz AS "as of (last order)";

-- One row per customer with orders: the stats aggregate per customer, then
-- the window function that scores each customer against all the others.
CREATE TEMP TABLE scored AS
WITH s AS (
    SELECT customer_id, rfm_stats(order_time, amount) AS stats
    FROM orders
    GROUP BY customer_id
), scored AS (
    SELECT customer_id, rfm_score(stats, :'as_of') OVER () AS rfm
    FROM s
)
SELECT customer_id,
       rfm,
       recency_score(rfm) AS r,
       frequency_score(rfm) AS f,
       monetary_score(rfm) AS m
FROM scored;

\pset title 'Scores per dimension (5 = most recent, most frequent, highest spend)'
WITH counts AS (
    SELECT g.score,
           count(*) FILTER (WHERE s.r = g.score) AS r,
           count(*) FILTER (WHERE s.f = g.score) AS f,
           count(*) FILTER (WHERE s.m = g.score) AS m
    FROM generate_series(1, 5) AS g(score) CROSS JOIN scored AS s
    GROUP BY g.score
), total AS (
    SELECT nullif(count(*), 0) AS n FROM scored
)
SELECT score,
       r AS recency,   round(100.0 * r / n, 1) AS "share %",
       f AS frequency, round(100.0 * f / n, 1) AS "share %",
       m AS monetary,  round(100.0 * m / n, 1) AS "share %"
FROM counts, total
ORDER BY score DESC;

\pset title 'Top 15 R-F-M cells by customers'
SELECT format('%s-%s-%s', r, f, m) AS cell,   -- the same text as rfm::text
       count(*) AS customers,
       round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS "share %",
       round(100.0 * sum(count(*)) OVER (ORDER BY count(*) DESC, r DESC, f DESC, m DESC)
             / sum(count(*)) OVER (), 1) AS "cumulative %"
FROM scored
GROUP BY r, f, m
ORDER BY count(*) DESC, r DESC, f DESC, m DESC
LIMIT 15;

-- Bind the extension to the demo tables: the views a BI tool would read.
SET segment.as_of = :'as_of';
SELECT count(*) AS views FROM attach('demo', 'orders', 'customer_id', 'order_time', 'amount',
                                     customers => 'customers', customer_key => 'customer_id') \gset
SELECT define_segment_rule('demo', 'Big baskets', 'average_order_value > 2 * population_average_order_value',
                           'orders twice the average size') \gset

\pset title 'Named segments (view demo_segment_summary)'
SELECT segment, kind, customers, round(100 * share_of_customers, 1) AS "share %",
       orders, revenue, average_order_value AS "avg order"
FROM demo_segment_summary;

\pset title 'Lifecycle stages (view demo_lifecycle_summary)'
SELECT lifecycle_stage AS stage, customers, round(100 * share_of_customers, 1) AS "share %",
       orders, revenue, average_order_value AS "avg order"
FROM demo_lifecycle_summary;

\pset title
DROP TABLE scored;
\echo 'The views of attachment demo are listed by \\dv demo_*; read them like tables.'
