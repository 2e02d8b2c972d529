-- (c) The extension: one aggregate per customer (rfm_stats) and one window
-- function over all customers (rfm_score) that computes the thresholds and
-- scores, same semantics as (b2).  Needs CREATE EXTENSION segment.
SELECT customer_id, recency_score(s) AS r, frequency_score(s) AS f,
       monetary_score(s) AS m
FROM (
  SELECT customer_id,
         rfm_score(rfm_stats(order_time, amount), :'as_of'::timestamptz) OVER () AS s
  FROM orders
  GROUP BY customer_id
) scored
