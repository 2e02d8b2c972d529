-- Deterministic customer segment memberships for the segment_set benchmark.
--
--   psql -v customers=1000000 -v seed=42 -f bench/segment_set.sql
--
-- (Re)creates, in the current schema, the same memberships three ways:
--   ss_set    (customer_id, segments segment_set)   one row per customer
--   ss_array  (customer_id, segments text[])        one row per customer
--   ss_pairs  (customer_id, segment text)           one row per membership
-- Every customer holds 3 to 8 of 200 segments named 'segment 000' ..
-- 'segment 199', uniformly: the count is 3 + h(customer, 1) mod 6 and the
-- k-th segment h(customer * 16 + k, 2) mod 200, where h is
-- hashint8extended with the seed added to the stream, never random(), so
-- the data depend only on the two variables.  A segment drawn twice counts
-- once (3 to 8 draws give on average 5.43 segments).  All three tables are
-- written in customer_id order; the indexes are built by bench/segment_set.sh.

\set ON_ERROR_STOP on
\set QUIET on
\if :{?customers}
\else
  \set customers 20000
\endif
\if :{?seed}
\else
  \set seed 42
\endif

SET client_min_messages = warning;
SET work_mem = '1GB';
DROP TABLE IF EXISTS ss_memberships, ss_set, ss_array, ss_pairs;

CREATE TABLE ss_memberships AS
SELECT DISTINCT c AS customer_id,
       'segment ' || lpad((abs(hashint8extended(c * 16 + k, 2 + :seed)) % 200)::text, 3, '0') AS segment
FROM generate_series(1, :customers) c,
     LATERAL generate_series(1, 3 + (abs(hashint8extended(c, 1 + :seed)) % 6)::int) k;

CREATE TABLE ss_set AS
SELECT customer_id, segment_set_agg(segment) AS segments
FROM ss_memberships GROUP BY customer_id ORDER BY customer_id;

CREATE TABLE ss_array AS
SELECT customer_id, array_agg(segment ORDER BY segment) AS segments
FROM ss_memberships GROUP BY customer_id ORDER BY customer_id;

CREATE TABLE ss_pairs AS
SELECT customer_id, segment FROM ss_memberships ORDER BY customer_id, segment;

DROP TABLE ss_memberships;
VACUUM (FREEZE, ANALYZE) ss_set, ss_array, ss_pairs;
