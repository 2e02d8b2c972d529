-- (b2) RFM with quintile thresholds from percentile_cont, the exact
-- semantics of the extension: score = 1 + number of thresholds the value
-- is strictly greater than; recency reversed (5 - that number), so the
-- most recent customers get 5.  Recency is in days, as a double.
WITH per_customer AS (
  SELECT customer_id,
         (extract(epoch FROM (:'as_of'::timestamptz - max(order_time))) * 1000000)::float8
           / 86400000000.0 AS recency,
         count(*)::float8 AS frequency,
         sum(amount)::float8 AS monetary
  FROM orders
  GROUP BY customer_id
), thresholds AS (
  SELECT percentile_cont(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY recency) AS r,
         percentile_cont(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY frequency) AS f,
         percentile_cont(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY monetary) AS m
  FROM per_customer
)
SELECT customer_id,
       5 - ((recency > t.r[1])::int + (recency > t.r[2])::int
            + (recency > t.r[3])::int + (recency > t.r[4])::int) AS r,
       1 + (frequency > t.f[1])::int + (frequency > t.f[2])::int
         + (frequency > t.f[3])::int + (frequency > t.f[4])::int AS f,
       1 + (monetary > t.m[1])::int + (monetary > t.m[2])::int
         + (monetary > t.m[3])::int + (monetary > t.m[4])::int AS m
FROM per_customer, thresholds t
