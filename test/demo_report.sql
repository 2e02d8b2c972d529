-- RFM report for the demo data set; test/demo.sh runs it with
--   psql -d segment_demo -f test/demo_report.sql
-- Needs tables customers and orders (bench/generate_orders.sql) and the
-- segment extension.  Given the psql variables grid_csv and sizes_csv (file
-- names), it also writes the data of the demo's two pictures there as CSV:
-- the R x F grid (recency score, frequency score, customers, average total
-- amount or NaN) and the primary segments (position, segment, customers,
-- share %).
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

-- The shares are of all customers the views list.
SELECT count(*) AS listed FROM demo_customers \gset

\pset title 'Named segments: every member (view demo_segment_summary, member_* columns)'
SELECT segment, kind, member_customers AS customers, round(100 * member_share, 1) AS "share %",
       member_orders AS orders, member_revenue AS revenue, average_order_value AS "avg order"
FROM demo_segment_summary WHERE kind <> 'unsegmented';

-- Each customer once, in its primary segment: column segment of the
-- customers view, the first segment of the map (the default one here) whose
-- box holds the customer's cell.  The shares are rounded by largest
-- remainder, so that the rows add up to the total's 100.0.
CREATE TEMP TABLE primary_segments AS
WITH customer AS (
    SELECT coalesce(segment, CASE WHEN order_count = 0 THEN '(no orders)'
                                  ELSE '(no segment)' END) AS segment,
           order_count, total_amount
    FROM demo_customers
), counted AS (
    SELECT coalesce(b.priority, 1000000) AS position, coalesce(b.segment_name, c.segment) AS segment,
           count(c.segment) AS customers,
           coalesce(sum(c.order_count), 0) AS orders,
           coalesce(sum(c.total_amount), 0) AS revenue,
           round(sum(c.total_amount) / nullif(sum(c.order_count), 0), 2) AS "avg order"
    FROM (SELECT * FROM segment_map_boxes WHERE map_name = 'default') b
         FULL JOIN customer c ON c.segment = b.segment_name
    GROUP BY 1, 2
), tenths AS (
    SELECT *, 1000.0 * customers / nullif(sum(customers) OVER (), 0) AS exact FROM counted
), ranked AS (
    SELECT *, floor(exact) AS shown,
           1000 - sum(floor(exact)) OVER () AS left_over,
           row_number() OVER (ORDER BY exact - floor(exact) DESC, position, segment) AS rank
    FROM tenths
)
SELECT position, segment, customers,
       ((shown + CASE WHEN rank <= left_over THEN 1 ELSE 0 END) / 10)::numeric(4, 1) AS "share %",
       orders, revenue, "avg order"
FROM ranked;

\pset title 'Primary segments: each customer once (view demo_customers, column segment)'
SELECT segment, customers, "share %", orders, revenue, "avg order"
FROM (
    SELECT 0 AS part, position, segment, customers, "share %", orders, revenue, "avg order"
    FROM primary_segments
    UNION ALL
    SELECT 1, 0, 'total', sum(customers), sum("share %"), sum(orders), sum(revenue),
           round(sum(revenue) / nullif(sum(orders), 0), 2)
    FROM primary_segments
) t
ORDER BY part, position, segment;

\pset title 'Lifecycle stages (view demo_lifecycle_summary)'
SELECT lifecycle_stage AS stage, customers, round(100.0 * customers / nullif(:listed, 0), 1) AS "share %",
       orders, revenue, average_order_value AS "avg order"
FROM demo_lifecycle_summary;

-- History from three snapshots of the (unmaintained) attachment: 90 and
-- 60 days before the last order, and at it.
SET client_min_messages = warning;
SELECT :'as_of'::timestamptz - interval '90 days' AS t90, :'as_of'::timestamptz - interval '60 days' AS t60 \gset
SET segment.as_of = :'t90';
SELECT snapshot_segments('demo') AS changes \gset
SET segment.as_of = :'t60';
SELECT snapshot_segments('demo') AS changes \gset
SET segment.as_of = :'as_of';
SELECT snapshot_segments('demo') AS changes \gset

\pset title 'Who moved in the last 90 days: primary segment then and now (segment_transitions, the 12 largest moves)'
SELECT coalesce(from_segment, '(no orders yet)') AS "90 days ago", coalesce(to_segment, '-') AS "now", customers
FROM segment_transitions('demo', :'t90', :'as_of')
WHERE from_segment IS DISTINCT FROM to_segment
ORDER BY customers DESC, 1, 2
LIMIT 12;

-- A campaign 60 days before the last order to 40% of the customers, with
-- generated opens and clicks; a conversion is an order within 5 days.
SELECT setseed(0.7) \gset
CREATE TABLE demo_campaign_events AS
SELECT c.customer_id, 'Winter sale'::text AS campaign, :'t60'::timestamptz AS sent_at,
       CASE WHEN r.open < 0.35 THEN :'t60'::timestamptz + r.delay * interval '2 days' END AS opened_at,
       CASE WHEN r.open < 0.08 THEN :'t60'::timestamptz + r.delay * interval '2 days' + interval '5 minutes' END AS clicked_at
FROM customers c, LATERAL (SELECT random() AS pick, random() AS open, random() AS delay, c.customer_id AS k) r
WHERE r.pick < 0.4;
SELECT count(*) AS views FROM attach_campaigns('demo', 'demo_campaign_events', 'customer_id', 'campaign', 'sent_at',
                                               'opened_at', 'clicked_at') \gset

\pset title 'Winter sale, 60 days ago, per RFM segment its recipients were in then (view demo_campaign_performance)'
SELECT segment, recipients, round(100 * open_rate, 1) AS "open %", round(100 * click_rate, 1) AS "click %",
       conversions, round(100 * conversion_rate, 1) AS "conv %", revenue,
       round(revenue_per_recipient, 2) AS "per recipient"
FROM demo_campaign_performance
WHERE kind = 'rfm'
ORDER BY recipients DESC, segment;

\pset title
DROP TABLE scored;

-- The data of the pictures (test/demo.sh draws them with gnuplot).
\if :{?grid_csv}
SELECT recency_score, frequency_score, customers, coalesce(average_total_amount::text, 'NaN')
FROM demo_rf_grid
ORDER BY recency_score, frequency_score
\g (format=csv tuples_only=on) :grid_csv
\endif
\if :{?sizes_csv}
SELECT row_number() OVER (ORDER BY position, segment), segment, customers, "share %"
FROM primary_segments
ORDER BY position, segment
\g (format=csv tuples_only=on) :sizes_csv
\endif
DROP TABLE primary_segments;
SELECT count(*) AS views FROM detach_campaigns('demo') \gset
DROP TABLE demo_campaign_events;
