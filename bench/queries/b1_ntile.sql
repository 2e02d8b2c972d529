-- (b1) RFM as it is usually written by hand: aggregate per customer, then
-- one ntile(5) window per measure.  Recency is reversed (the customer who
-- ordered most recently gets 5).  ntile splits ties arbitrarily, so its
-- scores are not the same as (b2)'s and (c)'s; it is here for speed only.
WITH per_customer AS (
  SELECT customer_id,
         :'as_of'::timestamptz - max(order_time) AS recency,
         count(*) AS frequency,
         sum(amount) AS monetary
  FROM orders
  GROUP BY customer_id
)
SELECT customer_id,
       ntile(5) OVER (ORDER BY recency DESC) AS r,
       ntile(5) OVER (ORDER BY frequency) AS f,
       ntile(5) OVER (ORDER BY monetary) AS m
FROM per_customer
