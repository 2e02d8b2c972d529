
-- predictions: an attachment's customers seen through the fitted models,
-- and segments made of them (predictive and cluster segments)

CREATE TYPE @extschema@.customer_prediction AS (
	frequency double precision,
	recency double precision,
	age double precision,
	p_alive double precision,
	expected_purchases_90d double precision,
	expected_spend double precision,
	lifetime_value double precision,
	predicted_segment text
);
COMMENT ON TYPE @extschema@.customer_prediction IS
	'what the BG/NBD and Gamma-Gamma models say of a customer: its summary in the models'' unit, P(alive), purchases expected in 90 days, expected spend per purchase, lifetime value over 12 months and the predictive segment';

-- The summary of purchase_summary(rfm_stats, ...) from the columns of a
-- customers view: frequency, orders after the first; recency and age in
-- units; mean value of all orders.
CREATE FUNCTION @extschema@.purchase_summary(order_count bigint, first_order_time timestamptz,
											 last_order_time timestamptz, average_order_value numeric,
											 as_of timestamptz, unit interval DEFAULT '1 day')
	RETURNS @extschema@.purchase_summary
	AS 'MODULE_PATHNAME', 'purchase_summary_of_columns' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.purchase_summary(bigint, timestamptz, timestamptz, numeric, timestamptz, interval) IS
	'purchase_summary() from the columns of an attachment''s customers view (order_count, first_order_time, last_order_time, average_order_value); NULL without orders';

-- What the models say of a customer of a customers view (src/customer_prediction.c).
CREATE FUNCTION @extschema@.predict_customer(bgnbd @extschema@.bgnbd_model,
											 gamma_gamma @extschema@.gamma_gamma_model,
											 high_value_threshold double precision, unit interval,
											 order_count bigint, first_order_time timestamptz,
											 last_order_time timestamptz, average_order_value numeric,
											 as_of timestamptz)
	RETURNS @extschema@.customer_prediction
	AS 'MODULE_PATHNAME', 'predict_customer' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.predict_customer(@extschema@.bgnbd_model, @extschema@.gamma_gamma_model,
												 double precision, interval, bigint, timestamptz, timestamptz,
												 numeric, timestamptz) IS
	'the models'' prediction for a customer given by the columns of a customers view (order count, first and last order time, average order value) at as_of: lifetime value over 12 months of 30 days discounted 1% a month; high value when lifetime value over P(alive) reaches the threshold, active when P(alive) >= 0.5; NULL without models or orders; spend and value NULL when refunds leave a repeat buyer''s mean at or below zero';

-- the prediction and the cluster of a customer of an attachment, for rules
CREATE FUNCTION @extschema@.predicted_segment(attachment_name text, order_count bigint,
											  first_order_time timestamptz, last_order_time timestamptz,
											  average_order_value numeric)
	RETURNS text
	LANGUAGE sql STABLE PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	SELECT (predict_customer(t.bgnbd, t.gamma_gamma, t.high_value_threshold, t.model_unit, order_count,
							 first_order_time, last_order_time, average_order_value, segment_as_of())).predicted_segment
	FROM attachments t WHERE t.attachment_name = predicted_segment.attachment_name
	$$;
COMMENT ON FUNCTION @extschema@.predicted_segment(text, bigint, timestamptz, timestamptz, numeric) IS
	'the predictive segment of a customer of the attachment (High value, active; High value, likely to churn; Active; Likely to churn) under its fitted models; NULL without models or orders';

CREATE FUNCTION @extschema@.customer_cluster(attachment_name text, features double precision[])
	RETURNS integer
	LANGUAGE sql STABLE PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	SELECT kmeans_nearest(t.kmeans, features) FROM attachments t
	WHERE t.attachment_name = customer_cluster.attachment_name AND array_position(features, NULL) IS NULL
	$$;
COMMENT ON FUNCTION @extschema@.customer_cluster(text, double precision[]) IS
	'the cluster (1 to k) of the attachment''s k-means clustering nearest to the features; NULL when a feature is NULL or there is no clustering';

CREATE FUNCTION segment_internal.attachment_for_models(attachment_name text) RETURNS @extschema@.attachments
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = attachment_for_models.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'attachment "%" does not exist', attachment_for_models.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Create it with attach().';
	END IF;
	IF to_regclass(a.views[1]) IS NULL THEN
		RAISE EXCEPTION 'the customers view of attachment "%" is missing', a.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Build it again with rebuild_attachment_views().';
	END IF;
	RETURN a;
END
$function$;
COMMENT ON FUNCTION segment_internal.attachment_for_models(text) IS
	'the attachment whose customers a model is fitted to, with its customers view checked';

CREATE FUNCTION segment_internal.predictions_view_query(a @extschema@.attachments, customers_view regclass)
	RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $$ SELECT format($view$
SELECT p.customer_id, (p.prediction).*
FROM (SELECT c.customer_id,
			 %1$s.predict_customer(m.bgnbd, m.gamma_gamma, m.high_value_threshold, m.model_unit, c.order_count,
								   c.first_order_time, c.last_order_time, c.average_order_value,
								   %1$s.segment_as_of()) AS prediction
	  FROM %2$s c,
		   (SELECT t.bgnbd, t.gamma_gamma, t.high_value_threshold, t.model_unit FROM %1$s.attachments t
			WHERE t.attachment_name = %3$L AND t.bgnbd IS NOT NULL) m
	  WHERE c.order_count > 0
	  OFFSET 0) p
$view$, extension_schema(), customers_view, a.attachment_name) $$;
COMMENT ON FUNCTION segment_internal.predictions_view_query(@extschema@.attachments, regclass) IS
	'the query of an attachment''s predictions view';

CREATE FUNCTION @extschema@.fit_customer_models(attachment_name text, unit interval DEFAULT '1 day')
	RETURNS SETOF text
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments := attachment_for_models(fit_customer_models.attachment_name);
	as_of timestamptz := segment_as_of();
	fits record;
	threshold double precision;
BEGIN
	IF unit IS NULL OR extract(epoch FROM unit) <= 0 THEN
		RAISE EXCEPTION 'the unit of time must be positive, not %', unit USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- the customers as the models see them, read through the customers view
	-- with the caller's rights
	EXECUTE format('SELECT %1$s.bgnbd_fit((p).frequency, (p).recency, (p).age) AS purchases,
						   %1$s.gamma_gamma_fit((p).frequency, (p).mean_value) FILTER (WHERE (p).mean_value > 0) AS spend
					FROM (SELECT %1$s.purchase_summary(c.order_count, c.first_order_time, c.last_order_time,
													   c.average_order_value, $1, $2) AS p
						  FROM %2$s c WHERE c.order_count > 0 OFFSET 0) q', extension_schema(), a.views[1])
		INTO fits USING as_of, unit;
	-- the 80th percentile of the value the customers would bring if active
	EXECUTE format('SELECT percentile_cont(0.8) WITHIN GROUP (ORDER BY (p).lifetime_value / (p).p_alive)
					FROM (SELECT %1$s.predict_customer($1, $2, NULL, $3, c.order_count, c.first_order_time,
													  c.last_order_time, c.average_order_value, $4) AS p
						  FROM %2$s c WHERE c.order_count > 0) q
					WHERE (p).p_alive > 0', extension_schema(), a.views[1])
		INTO threshold USING fits.purchases, fits.spend, unit, as_of;
	UPDATE attachments t SET bgnbd = fits.purchases, gamma_gamma = fits.spend, model_unit = unit,
		high_value_threshold = threshold, models_fitted_at = as_of
	WHERE t.attachment_name = a.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'permission denied to change attachment "%"', a.attachment_name
			USING ERRCODE = 'insufficient_privilege', HINT = 'Only the owner of its orders table may.';
	END IF;
	RETURN QUERY SELECT * FROM build_attachment_views(a.attachment_name);
END
$function$;
COMMENT ON FUNCTION @extschema@.fit_customer_models(text, interval) IS
	'fits the BG/NBD and Gamma-Gamma models to the attachment''s customers at the analysis time, in the unit of time given, and builds its predictions view; call again to refit';

CREATE FUNCTION @extschema@.define_predictive_segments(attachment_name text) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments := attachment_for_models(define_predictive_segments.attachment_name);
	segment text;
BEGIN
	IF a.bgnbd IS NULL THEN
		RAISE EXCEPTION 'attachment "%" has no fitted models', a.attachment_name
			USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Fit them with fit_customer_models().';
	END IF;
	FOREACH segment IN ARRAY ARRAY['High value, active', 'High value, likely to churn', 'Active', 'Likely to churn'] LOOP
		PERFORM define_segment_rule(a.attachment_name, segment,
			format('%s.predicted_segment(%L, order_count, first_order_time, last_order_time, average_order_value) = %L',
				   extension_schema(), a.attachment_name, segment),
			'predictive segment: see predict_customer()');
	END LOOP;
END
$function$;
COMMENT ON FUNCTION @extschema@.define_predictive_segments(text) IS
	'defines the four predictive segments of the attachment as rule segments over its fitted models: High value, active; High value, likely to churn; Active; Likely to churn';

CREATE FUNCTION @extschema@.define_cluster_segments(attachment_name text, k integer, features name[],
													names text[] DEFAULT NULL, seed bigint DEFAULT 0,
													standardize boolean DEFAULT true)
	RETURNS @extschema@.kmeans_model
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments := attachment_for_models(define_cluster_segments.attachment_name);
	feature_array text;
	model kmeans_model;
	old text;
BEGIN
	IF features IS NULL OR cardinality(features) = 0 OR array_position(features, NULL) IS NOT NULL THEN
		RAISE EXCEPTION 'features must name one or more columns of the customers view'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF names IS NOT NULL AND (cardinality(names) <> k OR array_position(names, NULL) IS NOT NULL) THEN
		RAISE EXCEPTION 'names must give k = % names, none NULL', k USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF EXISTS (SELECT 1 FROM unnest(features) f
			   WHERE column_type(a.views[1]::regclass, f) IS NULL) THEN
		RAISE EXCEPTION 'a feature is not a column of %', a.views[1]
			USING ERRCODE = 'undefined_column',
				  DETAIL = format('The features are %s.', features);
	END IF;
	feature_array := format('ARRAY[%s]::double precision[]',
							(SELECT string_agg(format('%I', f), ', ' ORDER BY n) FROM unnest(features) WITH ORDINALITY u(f, n)));
	-- the customers with orders and every feature
	EXECUTE format('SELECT (%s.kmeans_fit(%s, $1, $2, $3)).* FROM %s c
					WHERE c.order_count > 0 AND array_position(%2$s, NULL) IS NULL',
				   extension_schema(), feature_array, a.views[1])
		INTO model USING k, seed, standardize;
	IF model IS NULL THEN
		RAISE EXCEPTION 'attachment "%" has no customer with orders and every feature', a.attachment_name
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- the segments of an earlier clustering go; the new ones take their names
	FOREACH old IN ARRAY coalesce(a.cluster_segments, '{}') LOOP
		DELETE FROM segment_rules r WHERE r.attachment_name = a.attachment_name AND r.rule_name = old;
	END LOOP;
	UPDATE attachments t SET kmeans = model, cluster_features = features,
		cluster_segments = coalesce(names, ARRAY(SELECT 'Cluster ' || i FROM generate_series(1, k) i))
	WHERE t.attachment_name = a.attachment_name
	RETURNING * INTO a;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'permission denied to change attachment "%"', a.attachment_name
			USING ERRCODE = 'insufficient_privilege', HINT = 'Only the owner of its orders table may.';
	END IF;
	FOR i IN 1 .. k LOOP
		PERFORM define_segment_rule(a.attachment_name, a.cluster_segments[i],
			format('%s.customer_cluster(%L, %s) = %s', extension_schema(), a.attachment_name, feature_array, i),
			format('k-means cluster %s of %s over %s', i, k, array_to_string(features, ', ')));
	END LOOP;
	RETURN model;
END
$function$;
COMMENT ON FUNCTION @extschema@.define_cluster_segments(text, integer, name[], text[], bigint, boolean) IS
	'clusters the attachment''s customers with orders by k-means over the given columns of its customers view (standardized unless told not to) and defines one rule segment per cluster, named Cluster 1 to k or by names; call again to recluster or rename';
