-- Deterministic synthetic order data for the segment benchmarks.
--
--   psql -v customers=1000000 -v seed=42 -f bench/generate_orders.sql
--
-- (Re)creates customers and orders in the current schema.  Every random
-- choice is a hash of (seed, stream, key) mapped to (0,1) rather than
-- random(), so the data depend only on the two variables, never on the plan,
-- parallelism or the server's random state.
--
-- Model, per customer:
--   n      orders: truncated Pareto (alpha 0.9, 1..2500), mean about 10,
--          median 2, about 70% of customers have 1-3 orders;
--   gap    typical days between orders: lognormal, median 21 days;
--   life   (n - 1) * gap, capped at the 731-day window 2024-01-01..2025-12-31;
--   start  uniform so that start + life stays inside the window;
--   orders uniform in [start, start + life] (a Poisson-like rhythm), so
--          heavy buyers are active to the end, one-off buyers have any
--          recency;
--   amount lognormal: a per-customer spending level times a per-order
--          factor, median about 30, rounded to cents, at least 0.01.

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

SET work_mem = '1GB';   -- the final 10M-row sort by order_time stays in memory
SET client_min_messages = warning;

-- u(key, stream): uniform on (0,1) from 53 bits of a 64-bit hash.  An
-- inlinable SQL function, so it costs about as much as writing it out.
CREATE FUNCTION pg_temp.u(k bigint, stream bigint) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT ((hashint8extended(k, stream) & 9007199254740991)::float8 + 0.5)
          / 9007199254740992.0 $$;

-- Standard normal by Box-Muller from two streams.
CREATE FUNCTION pg_temp.z(k bigint, stream bigint) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT sqrt(-2 * ln(pg_temp.u(k, stream)))
          * cos(2 * pi() * pg_temp.u(k, stream + 1)) $$;

DROP TABLE IF EXISTS orders, customers, gen_customer_params;

-- Per-customer parameters, an ordinary (unlogged) table rather than a
-- temporary one so the order generation below can scan it in parallel.
-- Streams are seed * 100 + k, so different seeds never share a stream.
CREATE UNLOGGED TABLE gen_customer_params AS
SELECT id, n, life, floor(pg_temp.u(id, :seed * 100 + 4) * (63158400 - life)) AS start,
       ln(30) + 0.6 * pg_temp.z(id, :seed * 100 + 5) AS mu
FROM (
  SELECT id, n,
         -- seconds; 63158400 = 731 days, the length of the window
         least(63158400, floor((n - 1) * 86400 * exp(ln(21) + 0.7 * pg_temp.z(id, :seed * 100 + 2)))) AS life
  FROM (
    -- inverse CDF of a Pareto(alpha = 0.9) truncated to [1, 2500]
    SELECT id, floor((1 - pg_temp.u(id, :seed * 100 + 1) * (1 - 2500::float8 ^ -0.9))
                     ^ (-1 / 0.9))::int AS n
    FROM generate_series(1, :customers::bigint) id
  ) a
) b;

CREATE TABLE customers (
  customer_id bigint PRIMARY KEY,
  signup_date date,
  country     text,
  city        text,
  age         int,
  gender      text,
  device      text
);

INSERT INTO customers
SELECT p.id,
       -- signed up 0..89 days before the first possible order
       ((timestamptz '2024-01-01 00:00:00+00' + p.start * interval '1 second')
          AT TIME ZONE 'UTC')::date - floor(pg_temp.u(p.id, :seed * 100 + 20) * 90)::int,
       g.country,
       -- within a country the first cities are the biggest
       g.cities[1 + floor(pg_temp.u(p.id, :seed * 100 + 22) ^ 2 * cardinality(g.cities))::int],
       -- triangular 18..79, peak near 48
       18 + floor(31 * (pg_temp.u(p.id, :seed * 100 + 23) + pg_temp.u(p.id, :seed * 100 + 24)))::int,
       CASE WHEN pg_temp.u(p.id, :seed * 100 + 25) < 0.49 THEN 'female'
            WHEN pg_temp.u(p.id, :seed * 100 + 25) < 0.97 THEN 'male'
            ELSE 'unknown' END,
       CASE WHEN pg_temp.u(p.id, :seed * 100 + 26) < 0.55 THEN 'mobile'
            WHEN pg_temp.u(p.id, :seed * 100 + 26) < 0.90 THEN 'desktop'
            ELSE 'tablet' END
FROM gen_customer_params p
JOIN (VALUES
  -- country, cumulative share [lo, hi), cities
  ('US', 0.00, 0.30, '{New York,Los Angeles,Chicago,Houston,Phoenix,Seattle}'::text[]),
  ('DE', 0.30, 0.45, '{Berlin,Hamburg,Munich,Cologne,Frankfurt}'),
  ('GB', 0.45, 0.57, '{London,Birmingham,Manchester,Glasgow,Leeds}'),
  ('FR', 0.57, 0.67, '{Paris,Marseille,Lyon,Toulouse}'),
  ('ES', 0.67, 0.74, '{Madrid,Barcelona,Valencia,Seville}'),
  ('IT', 0.74, 0.81, '{Rome,Milan,Naples,Turin}'),
  ('NL', 0.81, 0.87, '{Amsterdam,Rotterdam,Utrecht}'),
  ('PL', 0.87, 0.92, '{Warsaw,Krakow,Wroclaw}'),
  ('SE', 0.92, 0.96, '{Stockholm,Gothenburg,Malmo}'),
  ('CA', 0.96, 1.00, '{Toronto,Montreal,Vancouver}')
) g(country, lo, hi, cities)
  ON pg_temp.u(p.id, :seed * 100 + 21) >= g.lo AND pg_temp.u(p.id, :seed * 100 + 21) < g.hi;

CREATE TABLE orders (
  order_id    bigint,
  customer_id bigint,
  order_time  timestamptz,
  amount      numeric(12,2)
);

-- Generate every order, sort by time and insert in that order, numbering
-- them as we go, so the heap is physically in time order like a real
-- order table.  Order j of customer c is keyed c * 4096 + j (n <= 2500).
INSERT INTO orders
SELECT row_number() OVER (ORDER BY t, customer_id, j), customer_id, t, amount
FROM (
  SELECT p.id AS customer_id, j,
         timestamptz '2024-01-01 00:00:00+00'
           + (p.start + floor(pg_temp.u(p.id * 4096 + j, :seed * 100 + 10) * p.life)) * interval '1 second' AS t,
         greatest(0.01, exp(p.mu + 0.8 * pg_temp.z(p.id * 4096 + j, :seed * 100 + 11)))::numeric(12,2) AS amount
  FROM gen_customer_params p, generate_series(1, p.n) j
) o
ORDER BY t, customer_id, j;

DROP TABLE gen_customer_params;
ANALYZE customers, orders;

SELECT (SELECT count(*) FROM customers) AS customers,
       (SELECT count(*) FROM orders) AS orders;
