-- Customer models: BG/NBD, Gamma-Gamma, lifetime value and k-means.
-- The fits are compared with R in test/t/models_r.sh; here: hand-worked
-- values, the paper's own example, bad input, the edges, determinism and
-- parallel plans.
SET client_min_messages = warning;
\set SHOW_CONTEXT never
CREATE EXTENSION IF NOT EXISTS segment;
CREATE SCHEMA mo;
SET search_path = mo, public;
SET extra_float_digits = 0;

-- The paper's example (Fader, Hardie and Lee 2005, section 5): with the
-- CDNOW parameters, a customer with x = 2, t_x = 30.43, T = 38.86 weeks is
-- expected to make 1.226 purchases in the next 39 weeks.
CREATE TEMP TABLE paper AS
SELECT ROW(0.243, 4.414, 0.793, 2.426, NULL, NULL, NULL, NULL)::bgnbd_model AS model;
SELECT round(bgnbd_expected_purchases(model, 39, 2, 30.43, 38.86)::numeric, 3) AS expected_39_weeks FROM paper;
-- P(alive) by hand: 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x))^(r + x))
SELECT abs(bgnbd_p_alive(model, 2, 30.43, 38.86)
		   - 1 / (1 + 0.793 / (2.426 + 2 - 1) * ((4.414 + 38.86) / (4.414 + 30.43)) ^ (0.243 + 2))) < 1e-14
	AS p_alive_by_hand,
	   bgnbd_p_alive(model, 0, 0, 38.86) AS p_alive_without_repeat_purchases,
	   bgnbd_expected_purchases(model, 0, 2, 30.43, 38.86) AS expected_in_no_time
FROM paper;
-- a = 1 makes the closed form 0/0: the value lies between its neighbours
SELECT bgnbd_expected_purchases(ROW(0.243, 4.414, 1, 2.426, NULL, NULL, NULL, NULL)::bgnbd_model, 39, 2, 30.43, 38.86)
	   BETWEEN bgnbd_expected_purchases(ROW(0.243, 4.414, 1.0001, 2.426, NULL, NULL, NULL, NULL)::bgnbd_model, 39, 2, 30.43, 38.86)
		   AND bgnbd_expected_purchases(ROW(0.243, 4.414, 0.9999, 2.426, NULL, NULL, NULL, NULL)::bgnbd_model, 39, 2, 30.43, 38.86)
	AS continuous_at_a_1;
-- a huge frequency: the transformed series converges at once; a customer who
-- bought 100,000 times and not for the last 0.86 weeks is gone, one who just
-- bought keeps buying at about (r + x) / (alpha + T) a week, less the
-- chance that each purchase is the last
SELECT round(bgnbd_expected_purchases(model, 39, 100000, 38, 38.86)::numeric, 1) AS gone,
	   bgnbd_expected_purchases(model, 39, 100000, 38.86, 38.86)
		   BETWEEN 0.5 * (0.243 + 100000) / (4.414 + 38.86) * 39 AND (0.243 + 100000) / (4.414 + 38.86) * 39
		   AS buying_below_the_rate
FROM paper;
-- where the usual series loses its digits, another form is taken; the true
-- values (60-digit arithmetic, and an integral over the posterior) are
-- 2.83121640049423, 1.07064112162622, 12.8165... and 17.5269...
SELECT round(bgnbd_expected_purchases(ROW(100, 10, 1.5, 1, NULL, NULL, NULL, NULL)::bgnbd_model, 100, 0, 0, 30)::numeric, 12)
		   AS large_r,
	   round(bgnbd_expected_purchases(ROW(0.5, 10, 1000, 10000, NULL, NULL, NULL, NULL)::bgnbd_model, 100, 0, 0, 30)::numeric, 12)
		   AS large_a_b,
	   round(bgnbd_expected_purchases(ROW(8875, 17774, 1.009, 3.05, NULL, NULL, NULL, NULL)::bgnbd_model, 365, 0, 0, 30)::numeric, 4)
		   AS one_rate_for_all,
	   round(bgnbd_expected_purchases(ROW(8875, 17774, 1.009, 3.05, NULL, NULL, NULL, NULL)::bgnbd_model, 365, 10, 25, 30)::numeric, 4)
		   AS one_rate_for_all_repeat;
-- a period ten million times the customers' age: refused, not guessed
SELECT bgnbd_expected_purchases(ROW(0.5, 10, 3, 5, NULL, NULL, NULL, NULL)::bgnbd_model, 1e8, 0, 0, 0);
-- expected purchases grow with the period and are below the rate's bound
SELECT bool_and(e1 <= e2) AS grows FROM (
	SELECT bgnbd_expected_purchases(model, t, 3, 20, 40) AS e1, bgnbd_expected_purchases(model, t + 1, 3, 20, 40) AS e2
	FROM paper, generate_series(0, 500, 10) t) e;

-- purchase_summary from rfm_stats: 3 orders over 14 days, observed 21 days after the first
SELECT (purchase_summary(rfm_stats(t, amount), '2024-01-22 00:00+00')).*
FROM (VALUES (timestamptz '2024-01-01 00:00+00', 10.0), ('2024-01-08 00:00+00', 20.0), ('2024-01-15 00:00+00', 60.0)) o(t, amount);
SELECT (purchase_summary(rfm_stats(t, 30.0), '2024-01-22 00:00+00', '1 week')).*
FROM (VALUES (timestamptz '2024-01-01 00:00+00'), ('2024-01-15 00:00+00')) o(t);
SELECT purchase_summary(rfm_stats_of_order('2024-01-15', 1), '2024-01-01');
SELECT purchase_summary(rfm_stats_of_order('2024-01-15', 1), '2024-02-01', '0 days');

-- Customers simulated from the model: rates Gamma(1, 4) a week, dropout
-- Beta(1, 2.5) after each repeat purchase, observed 30 to 80 weeks after
-- the first purchase; purchases worth Exp(mean nu), nu uniform on 10..40.
-- Deterministic for the seed.
CREATE FUNCTION pg_temp.simulate(n integer)
	RETURNS TABLE (customer_id integer, frequency float8, recency float8, age float8, mean_value float8)
	LANGUAGE plpgsql AS $$
DECLARE
	lambda float8; dropout float8; nu float8; t float8; last float8; total float8; x integer;
BEGIN
	PERFORM setseed(0.42);
	FOR i IN 1..n LOOP
		lambda := greatest(-ln(1 - random()) / 4, 1e-9);
		dropout := 1 - (1 - random()) ^ (1 / 2.5);
		nu := 10 + 30 * random();
		age := 30 + 50 * random();
		t := 0; last := 0; total := 0; x := 0;
		LOOP
			t := t - ln(1 - random()) / lambda;
			EXIT WHEN t > age;
			x := x + 1; last := t; total := total - nu * ln(1 - random());
			EXIT WHEN random() < dropout;
		END LOOP;
		-- the clock starts at the first purchase; x counts the repeat purchases
		customer_id := i;
		frequency := x;
		recency := last;
		mean_value := CASE WHEN x > 0 THEN total / x END;
		RETURN NEXT;
	END LOOP;
END $$;
CREATE TABLE model_customers AS SELECT * FROM pg_temp.simulate(20000);
CREATE TEMP TABLE fit AS
SELECT bgnbd_fit(frequency, recency, age) AS bgnbd, gamma_gamma_fit(frequency, mean_value) AS gamma_gamma
FROM model_customers;
-- the simulation's parameters (r 1, alpha 4, a 1, b 2.5) recovered within
-- 10%; every customer counted, and every repeat buyer by the spend model
SELECT abs((bgnbd).r / 1 - 1) < 0.1 AS r_recovered, abs((bgnbd).alpha / 4 - 1) < 0.1 AS alpha_recovered,
	   abs((bgnbd).a / 1 - 1) < 0.1 AS a_recovered, abs((bgnbd).b / 2.5 - 1) < 0.1 AS b_recovered,
	   (bgnbd).converged, (bgnbd).customers, (bgnbd).iterations < 100 AS few_iterations
FROM fit;
SELECT (gamma_gamma).converged,
	   (gamma_gamma).customers = (SELECT count(*) FROM model_customers WHERE frequency > 0) AS every_repeat_buyer
FROM fit;
-- the same fit whatever the order of the rows
SELECT (SELECT bgnbd_fit(frequency, recency, age) FROM (SELECT * FROM model_customers ORDER BY md5(customer_id::text)) c)
	   = bgnbd AS same_in_any_order
FROM fit;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
ALTER TABLE model_customers SET (parallel_workers = 2);
EXPLAIN (COSTS OFF) SELECT bgnbd_fit(frequency, recency, age) FROM model_customers;
SELECT (SELECT bgnbd_fit(frequency, recency, age) FROM model_customers) = bgnbd AS bgnbd_parallel_same,
	   (SELECT gamma_gamma_fit(frequency, mean_value) FROM model_customers) = gamma_gamma AS gamma_gamma_parallel_same,
	   (SELECT kmeans_fit(ARRAY[frequency, recency, age], 4) FROM model_customers)
	   = (SELECT kmeans_fit(ARRAY[frequency, recency, age], 4)
		  FROM (SELECT * FROM model_customers ORDER BY customer_id DESC OFFSET 0) c) AS kmeans_parallel_same
FROM fit;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

-- lifetime value: zero horizon, no discount equals spend times expected purchases
SELECT customer_lifetime_value(bgnbd, gamma_gamma, 3, 20, 40, 25, 0, 0.01) AS nothing_ahead,
	   abs(customer_lifetime_value(bgnbd, gamma_gamma, 3, 20, 40, 25, 6, 0, 30)
		   - gamma_gamma_expected_spend(gamma_gamma, 3, 25) * bgnbd_expected_purchases(bgnbd, 180, 3, 20, 40)) < 1e-9
	AS undiscounted,
	   gamma_gamma_expected_spend(gamma_gamma, 0, 0)
	   = (gamma_gamma).p * (gamma_gamma).v / ((gamma_gamma).q - 1) AS population_mean_without_repeats
FROM fit;
-- a spend model without a finite mean answers NULL
SELECT gamma_gamma_expected_spend(ROW(1, 0.5, 10, NULL, NULL, NULL, NULL)::gamma_gamma_model, 0, 0) AS infinite_mean;

-- Bad input: each a clear error
SELECT bgnbd_fit(f, r, a) FROM (VALUES (1.0::float8, 2.0::float8, 'NaN'::float8)) v(f, r, a);
SELECT bgnbd_fit(f, r, a) FROM (VALUES (1.0::float8, 2.0::float8, 'Infinity'::float8)) v(f, r, a);
SELECT bgnbd_fit(f, r, a) FROM (VALUES (-1.0::float8, 0::float8, 5::float8)) v(f, r, a);
SELECT bgnbd_fit(f, r, a) FROM (VALUES (1.5::float8, 1::float8, 5::float8)) v(f, r, a);
SELECT bgnbd_fit(f, r, a) FROM (VALUES (2::float8, 6::float8, 5::float8)) v(f, r, a);
SELECT bgnbd_fit(f, r, a) FROM (VALUES (0::float8, 1::float8, 5::float8)) v(f, r, a);
SELECT bgnbd_fit(f, r, a) FROM (VALUES (1::float8, 1::float8, 5::float8)) v(f, r, a) WHERE false;
SELECT bgnbd_fit(f, r, a) FROM (VALUES (NULL::float8, 1::float8, 5::float8)) v(f, r, a);
SELECT gamma_gamma_fit(f, m) FROM (VALUES (0::float8, 10::float8)) v(f, m);
SELECT gamma_gamma_fit(f, m) FROM (VALUES (2::float8, -10::float8)) v(f, m);
SELECT gamma_gamma_fit(f, m) FROM (VALUES (2::float8, 0::float8)) v(f, m);
SELECT bgnbd_p_alive(ROW(0.2, -1, 0.8, 2, NULL, NULL, NULL, NULL)::bgnbd_model, 1, 1, 2);
SELECT bgnbd_p_alive(ROW(0.2, NULL, 0.8, 2, NULL, NULL, NULL, NULL)::bgnbd_model, 1, 1, 2);
SELECT bgnbd_p_alive(ROW('NaN', 1, 0.8, 2, NULL, NULL, NULL, NULL)::bgnbd_model, 1, 1, 2);
SELECT bgnbd_p_alive(NULL::bgnbd_model, 1, 1, 2) IS NULL AS null_model_null_answer;
SELECT bgnbd_expected_purchases(model, -1, 1, 1, 2) FROM paper;
SELECT bgnbd_expected_purchases(model, 'Infinity', 1, 1, 2) FROM paper;
SELECT customer_lifetime_value(bgnbd, gamma_gamma, 1, 1, 2, 10, -1, 0.01) FROM fit;
SELECT customer_lifetime_value(bgnbd, gamma_gamma, 1, 1, 2, 10, 12, -1) FROM fit;
SELECT customer_lifetime_value(bgnbd, gamma_gamma, 1, 1, 2, 10, 12, 0.01, 0) FROM fit;
SELECT customer_lifetime_value(bgnbd, gamma_gamma, 1, 1, 2, 0, 12, 0.01) FROM fit;

-- Data that do not support the model: reported, not hidden
SELECT (b).converged, (b).customers
FROM (SELECT bgnbd_fit(0, 0, 10 + i) AS b FROM generate_series(1, 100) i) f;
-- a boundary fit (a and b huge) is still scored: the values are the limits
-- approached by a = 5 s, b = 20 s as s grows (0.31331, 1.51202)
SELECT round(bgnbd_expected_purchases(ROW(1, 10, 5e6, 2e7, NULL, NULL, NULL, NULL)::bgnbd_model, 13, 3, 20, 40)::numeric, 5)
	AS boundary_model_short_period,
	   round(bgnbd_expected_purchases(ROW(1, 10, 5e6, 2e7, NULL, NULL, NULL, NULL)::bgnbd_model, 180, 3, 20, 40)::numeric, 5)
	AS boundary_model_long_period;
-- one customer
SELECT (b).customers, (b).converged FROM (SELECT bgnbd_fit(3, 20, 30) AS b) f;
-- identical customers and huge frequencies still give finite parameters
SELECT (b).customers, (b).r > 0 AND (b).alpha > 0 AS finite, (b).converged
FROM (SELECT bgnbd_fit(1e6 + i % 2, 99, 100) AS b FROM generate_series(1, 100) i) f;

-- k-means
CREATE TEMP TABLE points AS
SELECT i, ARRAY[(i % 3) * 10 + (i % 5) * 0.1, (i % 3) * -5 + (i % 7) * 0.1]::float8[] AS features
FROM generate_series(1, 300) i;
SELECT (m).sizes, (m).silhouette > 0.9 AS well_separated, (m).scales, (m).restarts,
	   -- the groups' own sum of squares, computed apart
	   abs((m).within_ss - (SELECT sum((features[1] - m1) ^ 2 + (features[2] - m2) ^ 2)
							FROM (SELECT features, avg(features[1]) OVER w AS m1, avg(features[2]) OVER w AS m2
								  FROM points WINDOW w AS (PARTITION BY i % 3)) g)) < 1e-9 AS within_ss_of_the_groups
FROM (SELECT kmeans_fit(features, 3) AS m FROM points) f;
-- every point's cluster is the one kmeans_nearest gives it, and clusters follow the groups
SELECT count(DISTINCT (i % 3, kmeans_nearest(m, features))) AS groups_to_clusters
FROM points, (SELECT kmeans_fit(features, 3) AS m FROM points) f;
-- the seed decides, not the order of rows
SELECT (SELECT kmeans_fit(features, 3, 7) FROM points)
	   = (SELECT kmeans_fit(features, 3, 7) FROM (SELECT * FROM points ORDER BY md5(i::text)) p) AS deterministic;
-- standardized: scales are the sample standard deviations, centroids in the features' units
SELECT (SELECT round(stddev_samp(features[1])::numeric, 9) FROM points) = round(((m).scales[1])::numeric, 9) AS scale_is_sd,
	   array_dims((m).centroids) AS centroid_dims
FROM (SELECT kmeans_fit(features, 3, 0, true) AS m FROM points) f;
-- k = 1: the mean, no silhouette; identical points
SELECT (m).centroids, (m).sizes, (m).within_ss, (m).silhouette IS NULL AS no_silhouette
FROM (SELECT kmeans_fit(ARRAY[1.0, 2.0]::float8[], 1) AS m FROM generate_series(1, 10)) f;
-- rows without features are left out; a constant feature keeps scale 1 when standardized
SELECT (m).sizes, (m).scales
FROM (SELECT kmeans_fit(CASE WHEN i > 2 THEN ARRAY[i, 5]::float8[] END, 2, 0, true) AS m FROM generate_series(1, 10) i) f;
SELECT kmeans_fit(ARRAY[1.0, 2.0]::float8[], 2) FROM generate_series(1, 10);
-- features whose squared distances overflow or vanish, or too large to standardize
SELECT kmeans_fit(ARRAY[CASE WHEN i % 2 = 0 THEN 1e200 ELSE -1e200 END * i]::float8[], 3) FROM generate_series(1, 100) i;
SELECT kmeans_fit(ARRAY[v]::float8[], 3) FROM unnest(ARRAY[0, 1e-200, 2e-200]::float8[]) v;
SELECT kmeans_fit(ARRAY[v]::float8[], 3, 0, true) FROM unnest(ARRAY[0, 1e-20, 1]::float8[]) v;
SELECT kmeans_fit(ARRAY[v]::float8[], 2, 0, true) FROM unnest(ARRAY[1e300, -1e300, 1.5e300]::float8[]) v;
SELECT kmeans_fit(ARRAY[i, NULL]::float8[], 2) FROM generate_series(1, 10) i;
SELECT kmeans_fit(ARRAY[i, 'NaN']::float8[], 2) FROM generate_series(1, 10) i;
SELECT kmeans_fit(CASE WHEN i = 5 THEN ARRAY[i]::float8[] ELSE ARRAY[i, i]::float8[] END, 2) FROM generate_series(1, 10) i;
SELECT kmeans_fit(ARRAY[[i, i], [i, i]]::float8[], 2) FROM generate_series(1, 10) i;
SELECT kmeans_fit(ARRAY[]::float8[], 2) FROM generate_series(1, 10) i;
SELECT kmeans_fit(ARRAY[i]::float8[], 0) FROM generate_series(1, 10) i;
SELECT kmeans_fit(ARRAY[i]::float8[], CASE WHEN i < 5 THEN 2 ELSE 3 END) FROM generate_series(1, 10) i;
SELECT kmeans_fit(ARRAY[i]::float8[], 2, 0, false, 0) FROM generate_series(1, 10) i;
SELECT kmeans_fit(ARRAY[i]::float8[], NULL) FROM generate_series(1, 10) i;
SELECT kmeans_fit(NULL::float8[], 2) FROM generate_series(1, 10) i;
SELECT kmeans_nearest(m, ARRAY[1.0]::float8[]) FROM (SELECT kmeans_fit(features, 3) AS m FROM points) f;
SELECT kmeans_nearest(ROW(ARRAY[[0, 0], [10, 10]]::float8[], NULL, NULL, NULL, NULL, ARRAY[1, 1]::float8[], NULL)::kmeans_model,
					  ARRAY[6, 6]::float8[]) AS hand_made_model;
SELECT kmeans_nearest(ROW(ARRAY[[0, 0], [10, 10]]::float8[], NULL, NULL, NULL, NULL, ARRAY[0, 1]::float8[], NULL)::kmeans_model,
					  ARRAY[6, 6]::float8[]);
SELECT kmeans_nearest(ROW(ARRAY[['NaN'], [5]]::float8[], NULL, NULL, NULL, NULL, ARRAY[1]::float8[], NULL)::kmeans_model,
					  ARRAY[1]::float8[]);
SELECT kmeans_nearest(ROW(ARRAY[0, 10]::float8[], NULL, NULL, NULL, NULL, ARRAY[1, 1]::float8[], NULL)::kmeans_model,
					  ARRAY[6, 6]::float8[]);


-- An attachment's models: fit_customer_models() fits them through the
-- customers view, <a>_predictions shows them, and predictive and cluster
-- segments are rule segments over them.
SET segment.as_of = '2025-01-01 00:00+00';
-- the orders of the simulated customers: the first one age weeks before
-- as_of, the repeat purchases spread evenly up to recency weeks after it
CREATE TABLE model_orders AS
SELECT customer_id,
	   timestamptz '2025-01-01 00:00+00' - make_interval(secs => age * 7 * 86400)
	   + make_interval(secs => CASE WHEN frequency = 0 THEN 0 ELSE recency * k / frequency END * 7 * 86400) AS ordered_at,
	   round(coalesce(mean_value, 20)::numeric, 2) AS amount
FROM model_customers, generate_series(0, frequency::integer) k;
SELECT count(*) > 0 AS attached FROM attach('mshop', 'model_orders', 'customer_id', 'ordered_at', 'amount');
SELECT v FROM fit_customer_models('mshop', '7 days') v WHERE v LIKE '%predictions';
SELECT (bgnbd).converged, (bgnbd).customers, (gamma_gamma).converged AS spend_converged, model_unit,
	   high_value_threshold > 0 AS has_threshold, models_fitted_at = segment_as_of() AS fitted_at_as_of
FROM attachments WHERE attachment_name = 'mshop';
-- oracle: the same predictions from the raw orders through rfm_stats and
-- purchase_summary, with the stored models
WITH m AS (SELECT bgnbd, gamma_gamma FROM attachments WHERE attachment_name = 'mshop'),
	 raw AS (SELECT customer_id, purchase_summary(rfm_stats(ordered_at, amount), '2025-01-01 00:00+00', '7 days') AS s
			 FROM model_orders GROUP BY customer_id)
SELECT count(*) AS customers,
	   count(*) FILTER (WHERE abs(p.frequency - (r.s).frequency) > 1e-9 OR abs(p.recency - (r.s).recency) > 1e-9
						   OR abs(p.age - (r.s).age) > 1e-9) AS summary_differences,
	   count(*) FILTER (WHERE abs(p.frequency - c.frequency) > 1e-9 OR abs(p.recency - c.recency) > 1e-6
						   OR abs(p.age - c.age) > 1e-6) AS differences_from_simulation,
	   count(*) FILTER (WHERE abs(p.p_alive - bgnbd_p_alive(m.bgnbd, (r.s).frequency, (r.s).recency, (r.s).age)) > 1e-12)
		   AS p_alive_differences,
	   count(*) FILTER (WHERE abs(p.expected_purchases_90d
								  - bgnbd_expected_purchases(m.bgnbd, 90 / 7.0, (r.s).frequency, (r.s).recency, (r.s).age)) > 1e-9)
		   AS expected_differences,
	   count(*) FILTER (WHERE abs(p.lifetime_value
								  - customer_lifetime_value(m.bgnbd, m.gamma_gamma, (r.s).frequency, (r.s).recency,
															(r.s).age, (r.s).mean_value, 12, 0.01, 30 / 7.0)) > 1e-6)
		   AS value_differences
FROM mshop_predictions p JOIN raw r USING (customer_id) JOIN model_customers c USING (customer_id), m;
SELECT predicted_segment, count(*) > 0 AS has_customers FROM mshop_predictions GROUP BY 1 ORDER BY 1;
-- each segment is the documented rule: high value when lifetime value over
-- P(alive) reaches the threshold, active when P(alive) >= 0.5
SELECT count(*) AS segment_rule_differences
FROM mshop_predictions p, attachments a
WHERE a.attachment_name = 'mshop'
  AND p.predicted_segment IS DISTINCT FROM
	  CASE WHEN p.lifetime_value / p.p_alive >= a.high_value_threshold
		   THEN CASE WHEN p.p_alive >= 0.5 THEN 'High value, active' ELSE 'High value, likely to churn' END
		   ELSE CASE WHEN p.p_alive >= 0.5 THEN 'Active' ELSE 'Likely to churn' END END;
-- predictive segments: each rule segment holds exactly its customers of the view
SELECT count(*) AS views FROM define_predictive_segments('mshop');
SELECT count(*) AS membership_differences FROM (
	(SELECT customer_id, segment FROM mshop_segment_members WHERE kind = 'rule'
	 EXCEPT SELECT customer_id, predicted_segment FROM mshop_predictions)
	UNION ALL
	(SELECT customer_id, predicted_segment FROM mshop_predictions
	 EXCEPT SELECT customer_id, segment FROM mshop_segment_members WHERE kind = 'rule')) d;
-- cluster segments: one rule segment per cluster, each customer with orders in one
CREATE TEMP TABLE clustering AS
SELECT define_cluster_segments('mshop', 3, ARRAY['recency_days', 'order_count', 'total_amount']) AS m;
-- three clusters, of every customer with orders, each segment as large as its cluster
SELECT array_length((m).centroids, 1) AS k,
	   (SELECT sum(s) FROM unnest((m).sizes) s) = (SELECT count(*) FROM mshop_customers WHERE order_count > 0)
		   AS every_customer_with_orders
FROM clustering;
SELECT count(*) AS size_differences
FROM clustering, unnest((m).sizes) WITH ORDINALITY AS c(size, i)
	 LEFT JOIN (SELECT segment, count(*) AS members FROM mshop_segment_members WHERE segment LIKE 'Cluster%' GROUP BY 1) s
		 ON s.segment = 'Cluster ' || c.i
WHERE s.members IS DISTINCT FROM c.size;
SELECT count(*) AS cluster_differences
FROM mshop_customers c
	 LEFT JOIN mshop_segment_members s ON s.customer_id = c.customer_id AND s.segment LIKE 'Cluster%'
	 CROSS JOIN (SELECT kmeans FROM attachments WHERE attachment_name = 'mshop') a
WHERE s.segment IS DISTINCT FROM
	  'Cluster ' || kmeans_nearest(a.kmeans, ARRAY[c.recency_days, c.order_count, c.total_amount]::float8[]);
-- named again: the old names go
SELECT cardinality((define_cluster_segments('mshop', 2, ARRAY['order_count'], ARRAY['Few orders', 'Many orders'])).sizes)
	AS clusters;
SELECT rule_name FROM segment_rules WHERE attachment_name = 'mshop' ORDER BY 1;
-- names taken by the map, by a rule of the user's, or twice; bounds from 0
SELECT define_cluster_segments('mshop', 2, ARRAY['order_count'], ARRAY['Champions', 'Rest']);
SELECT define_segment_rule('mshop', 'Big spenders', 'total_amount > 500');
SELECT define_cluster_segments('mshop', 2, ARRAY['order_count'], ARRAY['Big spenders', 'Rest']);
SELECT define_cluster_segments('mshop', 2, ARRAY['order_count'], ARRAY['Same', 'Same']);
SELECT define_cluster_segments('mshop', 2, ARRAY['order_count'], ARRAY['Active', 'Rest']);
SELECT cardinality((define_cluster_segments('mshop', 2, ARRAY['order_count'], '[0:1]={Low,High}'::text[])).sizes)
	AS clusters;
SELECT rule_name, left(expression, 40) AS expression FROM segment_rules WHERE attachment_name = 'mshop' ORDER BY 1;
-- a refit rewrites the predictive segments with the new models
SELECT count(*) AS views FROM fit_customer_models('mshop', '1 day');
SELECT count(*) AS rules_with_the_new_unit FROM segment_rules
WHERE attachment_name = 'mshop' AND expression LIKE '%make_interval(secs => 86400.%';
-- the model segments go, the rest stays
SELECT count(*) AS views FROM drop_model_segments('mshop');
SELECT rule_name FROM segment_rules WHERE attachment_name = 'mshop' ORDER BY 1;
SELECT kmeans IS NULL AS no_clustering, bgnbd IS NOT NULL AS models_kept FROM attachments WHERE attachment_name = 'mshop';
-- bad calls
SELECT fit_customer_models('nowhere');
SELECT fit_customer_models('mshop', '0 days');
SELECT define_cluster_segments('mshop', 2, ARRAY['no_such_column']);
SELECT define_cluster_segments('mshop', 2, ARRAY['order_count'], ARRAY['Only one']);
SELECT define_cluster_segments('mshop', 2, '{}');
SELECT count(*) > 0 AS attached FROM attach('bare', 'model_orders', 'customer_id', 'ordered_at', 'amount');
SELECT define_predictive_segments('bare');
SELECT detach('bare');
-- another role may read the predictions it may read the orders of, not refit
CREATE ROLE segment_model_reader;
GRANT USAGE ON SCHEMA mo TO segment_model_reader;
GRANT SELECT ON model_orders, mshop_customers, mshop_predictions TO segment_model_reader;
SET ROLE segment_model_reader;
SELECT count(*) FROM mshop_predictions;
SELECT fit_customer_models('mshop');
RESET ROLE;
SELECT detach('mshop');
DROP TABLE model_orders, model_customers;
RESET segment.as_of;
DROP SCHEMA mo CASCADE;
DROP ROLE segment_model_reader;
