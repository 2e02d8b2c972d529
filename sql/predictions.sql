
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

-- The attachment to fit models for, locked against another fit until
-- commit, with its owner's rights and its customers view checked.
CREATE FUNCTION segment_internal.attachment_for_models(attachment_name text) RETURNS @extschema@.attachments
	LANGUAGE plpgsql
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
	IF NOT coalesce(owns_relation(a.orders_table), false) THEN
		RAISE EXCEPTION 'permission denied to change attachment "%"', a.attachment_name
			USING ERRCODE = 'insufficient_privilege', HINT = 'Only the owner of its orders table may.';
	END IF;
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = attachment_for_models.attachment_name FOR UPDATE;
	IF to_regclass(a.views[1]) IS NULL THEN
		RAISE EXCEPTION 'the customers view of attachment "%" is missing', a.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Build it again with rebuild_attachment_views().';
	END IF;
	RETURN a;
END
$function$;
COMMENT ON FUNCTION segment_internal.attachment_for_models(text) IS
	'the attachment whose customers a model is fitted to, locked, its owner''s rights and its customers view checked';

-- Replaces the rule segments a model made (old_names) by new ones, in one
-- go: a name may not be taken by a segment of the map, a rule of the user's
-- or twice.  The caller builds the views once afterwards.
CREATE FUNCTION segment_internal.put_model_rules(a @extschema@.attachments, old_names text[], names text[],
												  expressions text[], descriptions text[])
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	taken text;
BEGIN
	SELECT n INTO taken FROM unnest(names) n GROUP BY n HAVING count(*) > 1 LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'segment name "%" is given twice', taken USING ERRCODE = 'duplicate_object';
	END IF;
	SELECT n INTO taken FROM unnest(names) n
	WHERE n IN (SELECT b.segment_name FROM segment_map_boxes b WHERE b.map_name = a.map_name)
	   OR (n IN (SELECT r.rule_name FROM segment_rules r WHERE r.attachment_name = a.attachment_name)
		   AND n <> ALL (coalesce(old_names, '{}')))
	LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'segment "%" already exists in attachment "%"', taken, a.attachment_name
			USING ERRCODE = 'duplicate_object', HINT = 'Drop it or choose other names.';
	END IF;
	DELETE FROM segment_rules r WHERE r.attachment_name = a.attachment_name AND r.rule_name = ANY (old_names);
	INSERT INTO segment_rules (attachment_name, rule_name, expression, description)
	SELECT a.attachment_name, n.name, n.expression, n.description
	FROM unnest(names, expressions, descriptions) n(name, expression, description);
END
$function$;
COMMENT ON FUNCTION segment_internal.put_model_rules(@extschema@.attachments, text[], text[], text[], text[]) IS
	'replaces the rule segments a model made by new ones, refusing names taken by the map, by other rules or twice';

-- A fitted model as an SQL expression that the planner folds into a
-- constant (ROW() of numbers and ARRAY[] literals: a quoted composite
-- would be parsed again for every row).  extra_float_digits = 3 gives
-- every digit.
CREATE FUNCTION segment_internal.model_constant_sql(model @extschema@.bgnbd_model) RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	SET extra_float_digits = 3
	AS $$ SELECT format('ROW(%s, %s, %s, %s, NULL, NULL, NULL, NULL)::%s.bgnbd_model',
						model.r, model.alpha, model.a, model.b, extension_schema()) $$;
CREATE FUNCTION segment_internal.model_constant_sql(model @extschema@.gamma_gamma_model) RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	SET extra_float_digits = 3
	AS $$ SELECT format('ROW(%s, %s, %s, NULL, NULL, NULL, NULL)::%s.gamma_gamma_model',
						model.p, model.q, model.v, extension_schema()) $$;
CREATE FUNCTION segment_internal.model_constant_sql(model @extschema@.kmeans_model) RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	SET extra_float_digits = 3
	AS $$ SELECT format('ROW(ARRAY%s, NULL, NULL, NULL, NULL, ARRAY%s, NULL)::%s.kmeans_model',
						translate(model.centroids::text, '{}', '[]'), translate(model.scales::text, '{}', '[]'),
						extension_schema()) $$;
COMMENT ON FUNCTION segment_internal.model_constant_sql(@extschema@.bgnbd_model) IS
	'a BG/NBD model as an expression the planner folds into a constant';
COMMENT ON FUNCTION segment_internal.model_constant_sql(@extschema@.gamma_gamma_model) IS
	'a Gamma-Gamma model as an expression the planner folds into a constant';
COMMENT ON FUNCTION segment_internal.model_constant_sql(@extschema@.kmeans_model) IS
	'a k-means model as an expression the planner folds into a constant';

-- The predictive segments' rules, with the fitted models as constants: a
-- rule judges a customer without reading the attachment again.
CREATE FUNCTION segment_internal.predictive_rules(a @extschema@.attachments)
	RETURNS TABLE (name text, expression text, description text)
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	SET extra_float_digits = 3
	AS $$
	SELECT s.name,
		   format('order_count > 0 AND (%1$s.predict_customer(%2$s, %3$s, %4$s::double precision, make_interval(secs => %5$s), order_count, first_order_time, last_order_time, average_order_value, %1$s.segment_as_of())).predicted_segment = %6$L',
				  extension_schema(), model_constant_sql(a.bgnbd), model_constant_sql(a.gamma_gamma),
				  coalesce(a.high_value_threshold::text, 'NULL'), extract(epoch FROM a.model_unit), s.name),
		   format('predictive segment, models fitted at %s', a.models_fitted_at)
	FROM unnest(ARRAY['High value, active', 'High value, likely to churn', 'Active', 'Likely to churn'])
		 WITH ORDINALITY s(name, n)
	ORDER BY s.n
	$$;
COMMENT ON FUNCTION segment_internal.predictive_rules(@extschema@.attachments) IS
	'the rules of the four predictive segments of an attachment, its fitted models spliced in';

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
	WHERE t.attachment_name = a.attachment_name
	RETURNING * INTO a;
	-- the predictive segments follow the new models
	IF a.predictive_segments IS NOT NULL THEN
		PERFORM put_model_rules(a, a.predictive_segments, array_agg(r.name), array_agg(r.expression),
								array_agg(r.description))
		FROM predictive_rules(a) r;
	END IF;
	RETURN QUERY SELECT * FROM rebuild_attachment_views(a.attachment_name);
END
$function$;
COMMENT ON FUNCTION @extschema@.fit_customer_models(text, interval) IS
	'fits the BG/NBD and Gamma-Gamma models to the attachment''s customers at the analysis time, in the unit of time given, and builds its predictions view; call again to refit (the predictive segments follow)';

CREATE FUNCTION @extschema@.define_predictive_segments(attachment_name text) RETURNS SETOF text
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments := attachment_for_models(define_predictive_segments.attachment_name);
	names text[];
BEGIN
	IF a.bgnbd IS NULL THEN
		RAISE EXCEPTION 'attachment "%" has no fitted models', a.attachment_name
			USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Fit them with fit_customer_models().';
	END IF;
	SELECT array_agg(r.name) INTO names FROM predictive_rules(a) r;
	PERFORM put_model_rules(a, a.predictive_segments, array_agg(r.name), array_agg(r.expression),
							array_agg(r.description))
	FROM predictive_rules(a) r;
	UPDATE attachments t SET predictive_segments = names WHERE t.attachment_name = a.attachment_name;
	RETURN QUERY SELECT * FROM rebuild_attachment_views(a.attachment_name);
END
$function$;
COMMENT ON FUNCTION @extschema@.define_predictive_segments(text) IS
	'defines the four predictive segments of the attachment as rule segments over its fitted models (High value, active; High value, likely to churn; Active; Likely to churn); a refit rewrites them; returns the views built';

CREATE FUNCTION @extschema@.drop_model_segments(attachment_name text) RETURNS SETOF text
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments := attachment_for_models(drop_model_segments.attachment_name);
BEGIN
	DELETE FROM segment_rules r WHERE r.attachment_name = a.attachment_name
		AND r.rule_name = ANY (coalesce(a.predictive_segments, '{}') || coalesce(a.cluster_segments, '{}'));
	UPDATE attachments t SET predictive_segments = NULL, cluster_segments = NULL, cluster_features = NULL,
		kmeans = NULL
	WHERE t.attachment_name = a.attachment_name;
	RETURN QUERY SELECT * FROM rebuild_attachment_views(a.attachment_name);
END
$function$;
COMMENT ON FUNCTION @extschema@.drop_model_segments(text) IS
	'drops the predictive and cluster segments of the attachment and its clustering; the fitted models and predictions stay; returns the views built';

CREATE FUNCTION @extschema@.define_cluster_segments(attachment_name text, k integer, features name[],
													names text[] DEFAULT NULL, seed bigint DEFAULT 0,
													standardize boolean DEFAULT true)
	RETURNS @extschema@.kmeans_model
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	-- the model spliced as text: every digit of it
	SET extra_float_digits = 3
	AS $function$
DECLARE
	a attachments := attachment_for_models(define_cluster_segments.attachment_name);
	feature_array text;
	model kmeans_model;
	segment_names text[];
BEGIN
	IF features IS NULL OR cardinality(features) = 0 OR array_position(features, NULL) IS NOT NULL THEN
		RAISE EXCEPTION 'features must name one or more columns of the customers view'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- names numbered from 1, whatever the array's bounds
	segment_names := CASE WHEN names IS NULL THEN ARRAY(SELECT 'Cluster ' || i FROM generate_series(1, k) i)
						  ELSE ARRAY(SELECT n FROM unnest(names) n) END;
	IF cardinality(segment_names) IS DISTINCT FROM k OR array_position(segment_names, NULL) IS NOT NULL THEN
		RAISE EXCEPTION 'names must give k = % names, none NULL', k USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- an earlier clustering's segments go first: its columns may be gone
	IF a.cluster_segments IS NOT NULL THEN
		DELETE FROM segment_rules r WHERE r.attachment_name = a.attachment_name AND r.rule_name = ANY (a.cluster_segments);
		UPDATE attachments t SET cluster_segments = NULL, cluster_features = NULL, kmeans = NULL
		WHERE t.attachment_name = a.attachment_name;
		PERFORM rebuild_attachment_views(a.attachment_name);
	END IF;
	IF EXISTS (SELECT 1 FROM unnest(features) f WHERE column_type(a.views[1]::regclass, f) IS NULL) THEN
		RAISE EXCEPTION 'a feature is not a column of %', a.views[1]
			USING ERRCODE = 'undefined_column', DETAIL = format('The features are %s.', features);
	END IF;
	feature_array := format('ARRAY[%s]::double precision[]',
							(SELECT string_agg(format('%I', f), ', ' ORDER BY n) FROM unnest(features) WITH ORDINALITY u(f, n)));
	-- the customers with orders and every feature
	EXECUTE format('SELECT (%s.kmeans_fit(%s, $1, $2, $3)).* FROM %s c
					WHERE c.order_count > 0 AND array_position(%2$s, NULL) IS NULL',
				   extension_schema(), feature_array, a.views[1])
		INTO model USING k, seed, standardize;
	PERFORM put_model_rules(a, NULL, segment_names,
		ARRAY(SELECT format('order_count > 0 AND %1$s.kmeans_nearest(%3$s, %2$s) = %4$s',
							extension_schema(), feature_array, model_constant_sql(model), i)
			  FROM generate_series(1, k) i ORDER BY i),
		ARRAY(SELECT format('k-means cluster %s of %s over %s', i, k, array_to_string(features, ', '))
			  FROM generate_series(1, k) i ORDER BY i));
	UPDATE attachments t SET kmeans = model, cluster_features = features, cluster_segments = segment_names
	WHERE t.attachment_name = a.attachment_name;
	PERFORM rebuild_attachment_views(a.attachment_name);
	RETURN model;
END
$function$;
COMMENT ON FUNCTION @extschema@.define_cluster_segments(text, integer, name[], text[], bigint, boolean) IS
	'clusters the attachment''s customers with orders by k-means over the given columns of its customers view (standardized unless told not to) and defines one rule segment per cluster, named Cluster 1 to k or by names; call again to recluster or rename';
