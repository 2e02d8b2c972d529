-- (a) The floor: one pass over orders, one group per customer, the three
-- raw measures and nothing else.  Every RFM query has to do at least this.
SELECT customer_id, max(order_time) AS last_order, count(*) AS frequency,
       sum(amount) AS monetary
FROM orders
GROUP BY customer_id
