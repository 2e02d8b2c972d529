-- segment 0.8.0 -> 0.9.0.  Every change to the install pieces in sql/*.sql
-- since 0.8.0 appears here too; test/t/upgrade.sh compares the result with a
-- fresh install of 0.9.0.
--
-- Customer models (sql/models.sql, sql/kmeans.sql): BG/NBD, Gamma-Gamma,
-- lifetime value and k-means; an attachment keeps its fitted models and
-- shows their predictions (sql/predictions.sql), with predictive and
-- cluster segments as rule segments.  forget_customers() erases customers
-- from the extension's copies (sql/erasure.sql).

\echo Use "ALTER EXTENSION segment UPDATE TO '0.9.0'" to load this file. \quit

-- models: customer models fitted by maximum likelihood, BG/NBD for purchases
-- and Gamma-Gamma for spend (src/bgnbd.c, src/gamma_gamma.c, src/minimize.c,
-- src/special_functions.c), and their inputs read from rfm_stats
-- (src/purchase_summary.c)

-- the state the fitting aggregates share: every row collected (src/point_set.c)
CREATE FUNCTION segment_internal.point_set_combinefn(internal, internal) RETURNS internal
	AS 'MODULE_PATHNAME', 'point_set_combinefn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION segment_internal.point_set_serializefn(internal) RETURNS bytea
	AS 'MODULE_PATHNAME', 'point_set_serializefn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION segment_internal.point_set_deserializefn(bytea, internal) RETURNS internal
	AS 'MODULE_PATHNAME', 'point_set_deserializefn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segment_internal.point_set_combinefn(internal, internal) IS
	'concatenates the rows collected by two partial states of a model fit';
COMMENT ON FUNCTION segment_internal.point_set_serializefn(internal) IS
	'serializes the rows collected by a model fit';
COMMENT ON FUNCTION segment_internal.point_set_deserializefn(bytea, internal) IS
	'reads serialized rows of a model fit, checking sizes and values';

CREATE TYPE @extschema@.purchase_summary AS (
	frequency double precision,
	recency double precision,
	age double precision,
	mean_value double precision
);
COMMENT ON TYPE @extschema@.purchase_summary IS
	'a customer as the BG/NBD and Gamma-Gamma models see it: repeat purchases, time from the first to the last purchase, time from the first purchase to the end of the observation, mean value per order';

CREATE FUNCTION @extschema@.purchase_summary(stats @extschema@.rfm_stats, as_of timestamptz,
											 unit interval DEFAULT '1 day')
	RETURNS @extschema@.purchase_summary
	AS 'MODULE_PATHNAME', 'purchase_summary' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.purchase_summary(@extschema@.rfm_stats, timestamptz, interval) IS
	'frequency (orders after the first), recency and age (in units, a month counted as 30 days) and mean value of all orders, read from rfm_stats at as_of';

-- BG/NBD
CREATE TYPE @extschema@.bgnbd_model AS (
	r double precision,
	alpha double precision,
	a double precision,
	b double precision,
	log_likelihood double precision,
	iterations integer,
	converged boolean,
	customers bigint
);
COMMENT ON TYPE @extschema@.bgnbd_model IS
	'a fitted BG/NBD model: purchase rates Gamma(r, alpha), dropout probabilities Beta(a, b), with the fit''s log-likelihood, iterations, convergence and number of customers';

CREATE FUNCTION segment_internal.bgnbd_fit_transfn(internal, double precision, double precision,
												   double precision) RETURNS internal
	AS 'MODULE_PATHNAME', 'bgnbd_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION segment_internal.bgnbd_fit_finalfn(internal) RETURNS @extschema@.bgnbd_model
	AS 'MODULE_PATHNAME', 'bgnbd_fit_finalfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION segment_internal.bgnbd_fit_transfn(internal, double precision, double precision,
													   double precision) IS
	'checks and collects a customer for bgnbd_fit';
COMMENT ON FUNCTION segment_internal.bgnbd_fit_finalfn(internal) IS
	'fits the BG/NBD model to the collected customers';

CREATE AGGREGATE @extschema@.bgnbd_fit(frequency double precision, recency double precision,
									   age double precision) (
	SFUNC = segment_internal.bgnbd_fit_transfn, STYPE = internal,
	FINALFUNC = segment_internal.bgnbd_fit_finalfn,
	COMBINEFUNC = segment_internal.point_set_combinefn,
	SERIALFUNC = segment_internal.point_set_serializefn,
	DESERIALFUNC = segment_internal.point_set_deserializefn,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.bgnbd_fit(double precision, double precision, double precision) IS
	'maximum-likelihood fit of the BG/NBD model (Fader, Hardie and Lee 2005) to customers'' repeat purchases, recency and age in one unit of time; rows with a NULL are left out';

CREATE FUNCTION @extschema@.bgnbd_p_alive(model @extschema@.bgnbd_model, frequency double precision,
										  recency double precision, age double precision)
	RETURNS double precision
	AS 'MODULE_PATHNAME', 'bgnbd_p_alive' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bgnbd_p_alive(@extschema@.bgnbd_model, double precision, double precision,
											  double precision) IS
	'probability that the customer is still active under the BG/NBD model (1 without repeat purchases)';

CREATE FUNCTION @extschema@.bgnbd_expected_purchases(model @extschema@.bgnbd_model, t double precision,
													 frequency double precision, recency double precision,
													 age double precision)
	RETURNS double precision
	AS 'MODULE_PATHNAME', 'bgnbd_expected_purchases' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bgnbd_expected_purchases(@extschema@.bgnbd_model, double precision,
														 double precision, double precision,
														 double precision) IS
	'purchases the customer is expected to make in the next t (same unit as recency and age) under the BG/NBD model';

-- Gamma-Gamma and lifetime value
CREATE TYPE @extschema@.gamma_gamma_model AS (
	p double precision,
	q double precision,
	v double precision,
	log_likelihood double precision,
	iterations integer,
	converged boolean,
	customers bigint
);
COMMENT ON TYPE @extschema@.gamma_gamma_model IS
	'a fitted Gamma-Gamma spend model: purchase values Gamma(p, nu), nu Gamma(q, v) across customers, with the fit''s log-likelihood, iterations, convergence and number of repeat buyers';

CREATE FUNCTION segment_internal.gamma_gamma_fit_transfn(internal, double precision, double precision)
	RETURNS internal
	AS 'MODULE_PATHNAME', 'gamma_gamma_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION segment_internal.gamma_gamma_fit_finalfn(internal) RETURNS @extschema@.gamma_gamma_model
	AS 'MODULE_PATHNAME', 'gamma_gamma_fit_finalfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION segment_internal.gamma_gamma_fit_transfn(internal, double precision, double precision) IS
	'checks and collects a repeat buyer for gamma_gamma_fit';
COMMENT ON FUNCTION segment_internal.gamma_gamma_fit_finalfn(internal) IS
	'fits the Gamma-Gamma model to the collected repeat buyers';

CREATE AGGREGATE @extschema@.gamma_gamma_fit(frequency double precision, mean_value double precision) (
	SFUNC = segment_internal.gamma_gamma_fit_transfn, STYPE = internal,
	FINALFUNC = segment_internal.gamma_gamma_fit_finalfn,
	COMBINEFUNC = segment_internal.point_set_combinefn,
	SERIALFUNC = segment_internal.point_set_serializefn,
	DESERIALFUNC = segment_internal.point_set_deserializefn,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.gamma_gamma_fit(double precision, double precision) IS
	'maximum-likelihood fit of the Gamma-Gamma spend model (Fader, Hardie and Lee 2005) over customers with repeat purchases; others and rows with a NULL are left out';

CREATE FUNCTION @extschema@.gamma_gamma_expected_spend(model @extschema@.gamma_gamma_model,
													   frequency double precision,
													   mean_value double precision)
	RETURNS double precision
	AS 'MODULE_PATHNAME', 'gamma_gamma_expected_spend' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.gamma_gamma_expected_spend(@extschema@.gamma_gamma_model, double precision,
														   double precision) IS
	'expected value of the customer''s next purchases under the Gamma-Gamma model; the population mean without repeat purchases; NULL where the model has no finite mean';

CREATE FUNCTION @extschema@.customer_lifetime_value(bgnbd @extschema@.bgnbd_model,
													gamma_gamma @extschema@.gamma_gamma_model,
													frequency double precision, recency double precision,
													age double precision, mean_value double precision,
													horizon integer, discount_rate double precision,
													period double precision DEFAULT 30)
	RETURNS double precision
	AS 'MODULE_PATHNAME', 'customer_lifetime_value' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.customer_lifetime_value(@extschema@.bgnbd_model, @extschema@.gamma_gamma_model,
														double precision, double precision, double precision,
														double precision, integer, double precision,
														double precision) IS
	'expected purchases in each of the next horizon periods (period long, in the unit of recency and age) times the expected spend, discounted by discount_rate per period, as the lifetimes library defines it';

-- kmeans: k-means clustering of customers' features (src/kmeans.c)

CREATE TYPE @extschema@.kmeans_model AS (
	centroids double precision[],
	sizes integer[],
	within_ss double precision,
	iterations integer,
	silhouette double precision,
	scales double precision[],
	restarts integer
);
COMMENT ON TYPE @extschema@.kmeans_model IS
	'a fitted k-means clustering: centroids (k x features, in the features'' units), rows per cluster, total within-cluster sum of squares and simplified silhouette (in the scaled units), Lloyd iterations of the best restart, the scales features are divided by (1 unless standardized), restarts';

CREATE FUNCTION segment_internal.kmeans_fit_transfn(internal, double precision[], integer)
	RETURNS internal
	AS 'MODULE_PATHNAME', 'kmeans_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION segment_internal.kmeans_fit_transfn(internal, double precision[], integer, bigint)
	RETURNS internal
	AS 'MODULE_PATHNAME', 'kmeans_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION segment_internal.kmeans_fit_transfn(internal, double precision[], integer, bigint, boolean)
	RETURNS internal
	AS 'MODULE_PATHNAME', 'kmeans_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION segment_internal.kmeans_fit_transfn(internal, double precision[], integer, bigint, boolean,
													integer)
	RETURNS internal
	AS 'MODULE_PATHNAME', 'kmeans_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION segment_internal.kmeans_fit_finalfn(internal) RETURNS @extschema@.kmeans_model
	AS 'MODULE_PATHNAME', 'kmeans_fit_finalfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION segment_internal.kmeans_fit_transfn(internal, double precision[], integer) IS
	'checks and collects a row of features for kmeans_fit';
COMMENT ON FUNCTION segment_internal.kmeans_fit_transfn(internal, double precision[], integer, bigint) IS
	'checks and collects a row of features for kmeans_fit';
COMMENT ON FUNCTION segment_internal.kmeans_fit_transfn(internal, double precision[], integer, bigint, boolean) IS
	'checks and collects a row of features for kmeans_fit';
COMMENT ON FUNCTION segment_internal.kmeans_fit_transfn(internal, double precision[], integer, bigint, boolean,
														integer) IS
	'checks and collects a row of features for kmeans_fit';
COMMENT ON FUNCTION segment_internal.kmeans_fit_finalfn(internal) IS
	'clusters the collected rows: k-means++ seeding and Lloyd iterations, the best of the restarts';

CREATE AGGREGATE @extschema@.kmeans_fit(features double precision[], k integer) (
	SFUNC = segment_internal.kmeans_fit_transfn, STYPE = internal,
	FINALFUNC = segment_internal.kmeans_fit_finalfn,
	COMBINEFUNC = segment_internal.point_set_combinefn,
	SERIALFUNC = segment_internal.point_set_serializefn,
	DESERIALFUNC = segment_internal.point_set_deserializefn,
	PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.kmeans_fit(features double precision[], k integer, seed bigint) (
	SFUNC = segment_internal.kmeans_fit_transfn, STYPE = internal,
	FINALFUNC = segment_internal.kmeans_fit_finalfn,
	COMBINEFUNC = segment_internal.point_set_combinefn,
	SERIALFUNC = segment_internal.point_set_serializefn,
	DESERIALFUNC = segment_internal.point_set_deserializefn,
	PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.kmeans_fit(features double precision[], k integer, seed bigint,
										standardize boolean) (
	SFUNC = segment_internal.kmeans_fit_transfn, STYPE = internal,
	FINALFUNC = segment_internal.kmeans_fit_finalfn,
	COMBINEFUNC = segment_internal.point_set_combinefn,
	SERIALFUNC = segment_internal.point_set_serializefn,
	DESERIALFUNC = segment_internal.point_set_deserializefn,
	PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.kmeans_fit(features double precision[], k integer, seed bigint,
										standardize boolean, restarts integer) (
	SFUNC = segment_internal.kmeans_fit_transfn, STYPE = internal,
	FINALFUNC = segment_internal.kmeans_fit_finalfn,
	COMBINEFUNC = segment_internal.point_set_combinefn,
	SERIALFUNC = segment_internal.point_set_serializefn,
	DESERIALFUNC = segment_internal.point_set_deserializefn,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.kmeans_fit(double precision[], integer) IS
	'k-means clustering of the rows'' features into k clusters, seed 0, unscaled, 10 restarts; rows with NULL features are left out';
COMMENT ON AGGREGATE @extschema@.kmeans_fit(double precision[], integer, bigint) IS
	'k-means clustering of the rows'' features into k clusters, deterministic for the seed, unscaled, 10 restarts';
COMMENT ON AGGREGATE @extschema@.kmeans_fit(double precision[], integer, bigint, boolean) IS
	'k-means clustering of the rows'' features into k clusters, deterministic for the seed, features standardized to mean 0 and standard deviation 1 when asked, 10 restarts';
COMMENT ON AGGREGATE @extschema@.kmeans_fit(double precision[], integer, bigint, boolean, integer) IS
	'k-means clustering of the rows'' features into k clusters, deterministic for the seed, features standardized when asked, keeping the best of restarts k-means++ seedings';

CREATE FUNCTION @extschema@.kmeans_nearest(model @extschema@.kmeans_model, features double precision[])
	RETURNS integer
	AS 'MODULE_PATHNAME', 'kmeans_nearest' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_nearest(@extschema@.kmeans_model, double precision[]) IS
	'the cluster (1 to k) whose centroid is nearest to the features, distances divided by the model''s scales; NULL when a feature is NULL';

-- the models an attachment keeps
ALTER TABLE @extschema@.attachments
	ADD COLUMN bgnbd @extschema@.bgnbd_model,
	ADD COLUMN gamma_gamma @extschema@.gamma_gamma_model,
	ADD COLUMN model_unit interval,
	ADD COLUMN high_value_threshold double precision,
	ADD COLUMN models_fitted_at timestamptz,
	ADD COLUMN kmeans @extschema@.kmeans_model,
	ADD COLUMN cluster_features name[],
	ADD COLUMN cluster_segments text[],
	ADD COLUMN predictive_segments text[];
COMMENT ON COLUMN @extschema@.attachments.bgnbd IS 'BG/NBD model fitted by fit_customer_models()';
COMMENT ON COLUMN @extschema@.attachments.gamma_gamma IS 'Gamma-Gamma spend model fitted by fit_customer_models()';
COMMENT ON COLUMN @extschema@.attachments.model_unit IS 'the unit of time the models were fitted in';
COMMENT ON COLUMN @extschema@.attachments.high_value_threshold IS
	'the lifetime value if still active above which a customer is of high value (the 80th percentile at the fit)';
COMMENT ON COLUMN @extschema@.attachments.models_fitted_at IS 'the analysis time the models were fitted at';
COMMENT ON COLUMN @extschema@.attachments.kmeans IS 'k-means clustering fitted by define_cluster_segments()';
COMMENT ON COLUMN @extschema@.attachments.cluster_features IS 'the customers view columns the clustering reads, in order';
COMMENT ON COLUMN @extschema@.attachments.cluster_segments IS 'the names of the cluster segments, cluster 1 first';
COMMENT ON COLUMN @extschema@.attachments.predictive_segments IS 'the names of the predictive segments, if defined';

-- the views of an attachment now include its predictions
CREATE OR REPLACE FUNCTION segment_internal.put_attachment_views(a @extschema@.attachments, in_place boolean) RETURNS text[]
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	prefix text := a.attachment_name || '_';
	customers regclass;
	view_name text;
	built text[] := '{}';
	col record;
	seg record;
BEGIN
	view_name := put_attachment_view(a, prefix || 'customers', customers_view_query(a),
		format('one row per customer of %s with RFM scores, segments and lifecycle stage (segment attachment %s)',
			   a.orders_table, a.attachment_name), in_place);
	customers := view_name::regclass;
	built := built || view_name;
	EXECUTE format('COMMENT ON COLUMN %s.customer_id IS %L', view_name, 'the customer''s key');
	FOR col IN SELECT * FROM customer_view_columns() LOOP
		EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', view_name, col.column_name, col.description);
	END LOOP;
	FOR col IN
		SELECT att.attname FROM pg_attribute att
		WHERE att.attrelid = a.customers_table AND att.attnum > 0 AND NOT att.attisdropped
		  AND att.attname <> a.customer_key
	LOOP
		EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', view_name, col.attname, format('from %s', a.customers_table));
	END LOOP;

	view_name := put_attachment_view(a, prefix || 'segment_members', segment_members_view_query(a, customers),
		format('one row per segment membership of a customer (segment attachment %s)', a.attachment_name), in_place);
	built := built || view_name;
	PERFORM comment_relation(view_name, NULL,
		'customer_id', 'the customer''s key',
		'segment', 'a segment the customer belongs to',
		'kind', 'rfm for a segment of the map, rule for a rule segment',
		'order_count', 'the customer''s number of orders',
		'total_amount', 'the customer''s total amount');

	view_name := put_attachment_view(a, prefix || 'segment_summary', segment_summary_view_query(a, customers),
		format('customers, orders and revenue of every segment: primary_* count each customer once, in its primary segment; member_* every customer a segment holds (segment attachment %s)',
			   a.attachment_name), in_place);
	built := built || view_name;
	PERFORM comment_relation(view_name, NULL,
		'segment', 'segment name; NULL for the customers without a primary segment',
		'kind', 'rfm for a segment of the map, rule for a rule segment, unsegmented for the customers without a primary segment',
		'primary_customers', 'customers whose primary segment this is (the first of the map that holds them); each customer counts in one row; NULL for a rule segment',
		'primary_share', 'primary_customers over all customers, 0 to 1; adds up to 1 over the rows that have it',
		'primary_orders', 'orders of the customers whose primary segment this is',
		'primary_revenue', 'total amount of the customers whose primary segment this is',
		'member_customers', 'customers the segment holds; a customer in several segments counts in each (they overlap); NULL for the unsegmented row',
		'member_share', 'member_customers over all customers, 0 to 1; overlapping, so these add up to more than 1',
		'member_orders', 'orders of the customers the segment holds',
		'member_revenue', 'total amount of the customers the segment holds',
		'average_order_value', 'revenue over orders of the customers the segment holds (of the unsegmented row: of its customers)');

	view_name := put_attachment_view(a, prefix || 'lifecycle_summary', lifecycle_summary_view_query(customers),
		format('customers, orders and revenue of every lifecycle stage (segment attachment %s)', a.attachment_name),
		in_place);
	built := built || view_name;
	PERFORM comment_relation(view_name, NULL,
		'lifecycle_stage', 'lifecycle stage',
		'customers', 'customers in the stage',
		'share_of_customers', 'customers in the stage over all customers, 0 to 1',
		'orders', 'orders of the customers in the stage',
		'revenue', 'total amount of the customers in the stage',
		'average_order_value', 'revenue over orders');

	view_name := put_attachment_view(a, prefix || 'rf_grid', rf_grid_view_query(a, customers),
		format('customers and mean monetary value per recency and frequency score, for a heatmap (segment attachment %s)',
			   a.attachment_name), in_place);
	built := built || view_name;
	PERFORM comment_relation(view_name, NULL,
		'recency_score', 'R score',
		'frequency_score', 'F score',
		'customers', 'customers in the cell',
		'average_total_amount', 'mean total amount of the customers in the cell');

	IF a.bgnbd IS NOT NULL THEN
		view_name := put_attachment_view(a, prefix || 'predictions', predictions_view_query(a, customers),
			format('what the BG/NBD and Gamma-Gamma models fitted by fit_customer_models() say of each customer with orders (segment attachment %s)',
				   a.attachment_name), in_place);
		built := built || view_name;
		PERFORM comment_relation(view_name, NULL,
			'customer_id', 'the customer''s key',
			'frequency', 'repeat purchases: orders after the first',
			'recency', format('time from the first to the last order, in units of %s', a.model_unit),
			'age', format('time from the first order to the analysis time, in units of %s', a.model_unit),
			'p_alive', 'probability that the customer is still active',
			'expected_purchases_90d', 'purchases expected in the next 90 days',
			'expected_spend', 'expected value of a purchase',
			'lifetime_value', 'expected spend over the next 12 months of 30 days, discounted 1% a month',
			'predicted_segment', 'High value, active; High value, likely to churn; Active; or Likely to churn');
	END IF;

	IF a.history_table IS NOT NULL AND relation_exists(a.history_table) THEN
		view_name := put_attachment_view(a, prefix || 'segment_sizes', segment_sizes_view_query(a),
			format('members at the end of each day, entered and left, of every segment, from the history (segment attachment %s)',
				   a.attachment_name), in_place);
		built := built || view_name;
		PERFORM comment_relation(view_name, NULL,
			'segment', 'segment name (a lifecycle stage''s name for kind lifecycle)',
			'kind', 'rfm for a segment of the map, lifecycle for a lifecycle stage, rule for a rule segment',
			'day', format('the day, in time zone %s', a.time_zone),
			'members', 'customers in the segment at the end of the day',
			'entered', 'customers who entered the segment that day',
			'left', 'customers who left the segment that day');
	END IF;

	IF a.campaigns_table IS NOT NULL AND EXISTS (SELECT 1 FROM unnest(a.campaign_columns) c
												 WHERE c IS NOT NULL AND column_type(a.campaigns_table, c) IS NULL) THEN
		RAISE WARNING 'view %campaign_performance of attachment "%" is not built', prefix, a.attachment_name
			USING DETAIL = format('A column it reads is gone from %s.', a.campaigns_table),
				  HINT = 'Call attach_campaigns() again with the columns as they are now.';
	ELSIF a.campaigns_table IS NOT NULL AND relation_exists(a.campaigns_table)
	   AND a.history_table IS NOT NULL AND relation_exists(a.history_table) THEN
		view_name := put_attachment_view(a, prefix || 'campaign_performance', campaign_performance_view_query(a),
			format('per campaign and segment its recipients were in when it was sent: recipients, opens, clicks, conversions within %s and revenue (segment attachment %s)',
				   a.attribution_window, a.attachment_name), in_place);
		built := built || view_name;
		PERFORM comment_relation(view_name, NULL,
			'campaign', 'the campaign',
			'segment', 'a segment the recipients were in when the campaign was sent to them; NULL for the recipients in none then',
			'kind', 'rfm, lifecycle or rule',
			'recipients', 'customers the campaign was sent to (the first message to each counts)',
			'unique_opens', 'recipients who opened it',
			'open_rate', 'unique_opens over recipients',
			'unique_clicks', 'recipients who clicked in it',
			'click_rate', 'unique_clicks over recipients',
			'click_to_open_rate', 'unique_clicks over unique_opens',
			'conversions', format('recipients who converted within %s of the send (the events'' conversion time, or else an order)', a.attribution_window),
			'conversion_rate', 'conversions over recipients',
			'orders', format('orders of the recipients within %s of the send', a.attribution_window),
			'revenue', format('total amount of those orders'),
			'average_order_value', 'revenue over orders',
			'revenue_per_recipient', 'revenue over recipients');
	END IF;

	-- one view per segment, named after it
	FOR seg IN SELECT * FROM attachment_segments(a.attachment_name) LOOP
		IF segment_slug(seg.segment) = '' THEN
			RAISE EXCEPTION 'segment "%" has no letters or digits to name its view', seg.segment
				USING ERRCODE = 'invalid_name';
		END IF;
		view_name := format('%I.%I', a.view_schema, clip_name(prefix || 'segment_' || segment_slug(seg.segment)));
		IF view_name = ANY (built) THEN
			RAISE EXCEPTION 'two segments of attachment "%" would share the view %', a.attachment_name, view_name
				USING ERRCODE = 'duplicate_object', HINT = 'Rename one of the segments.';
		END IF;
		view_name := put_attachment_view(a, clip_name(prefix || 'segment_' || segment_slug(seg.segment)),
			segment_view_query(a, customers, seg.segment, seg.kind, seg.is_attribute, seg.names_segments),
			format('customers in the %s segment %s (segment attachment %s)', seg.kind, seg.segment, a.attachment_name),
			in_place);
		built := built || view_name;
		FOR col IN
			SELECT att.attname, d.description FROM pg_attribute att
			JOIN pg_description d ON d.objoid = att.attrelid AND d.objsubid = att.attnum
			WHERE att.attrelid = customers AND att.attname <> 'segments'
		LOOP
			EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', view_name, col.attname, col.description);
		END LOOP;
	END LOOP;
	RETURN built;
END
$function$;
COMMENT ON FUNCTION segment_internal.put_attachment_views(@extschema@.attachments, boolean) IS
	'creates every view of an attachment, or replaces in place those it built before, with their comments';

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

-- erasure: a customer erased from the orders (and customers) table is
-- erased from every copy the extension keeps of it, and the erasure is
-- recorded without recording whom

CREATE TABLE @extschema@.segment_erasures (
	-- no foreign key: the record outlives the attachment
	attachment_name text NOT NULL,
	erased_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	customers integer NOT NULL CONSTRAINT segment_erasures_customers_positive CHECK (customers OPERATOR(pg_catalog.>) 0)
);
SELECT pg_catalog.pg_extension_config_dump(c.oid::pg_catalog.regclass, '') FROM pg_catalog.pg_class c
WHERE c.relname OPERATOR(pg_catalog.=) 'segment_erasures' AND c.relnamespace OPERATOR(pg_catalog.=)
	(SELECT e.extnamespace FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'segment');
COMMENT ON TABLE @extschema@.segment_erasures IS
	'that customers were erased from an attachment''s copies (forget_customers()), when and how many; never whom';
COMMENT ON COLUMN @extschema@.segment_erasures.attachment_name IS 'the attachment';
COMMENT ON COLUMN @extschema@.segment_erasures.erased_at IS 'when (the erasing transaction''s start)';
COMMENT ON COLUMN @extschema@.segment_erasures.customers IS 'how many customers were erased';
ALTER TABLE @extschema@.segment_erasures ENABLE ROW LEVEL SECURITY;
CREATE POLICY segment_erasures_read ON @extschema@.segment_erasures FOR SELECT
	USING (EXISTS (SELECT 1 FROM @extschema@.attachments a
				   WHERE a.attachment_name OPERATOR(pg_catalog.=) segment_erasures.attachment_name));
CREATE POLICY segment_erasures_write ON @extschema@.segment_erasures FOR INSERT
	WITH CHECK (EXISTS (SELECT 1 FROM @extschema@.attachments a
						WHERE a.attachment_name OPERATOR(pg_catalog.=) segment_erasures.attachment_name
						  AND segment_internal.owns_relation(a.orders_table)));
COMMENT ON POLICY segment_erasures_read ON @extschema@.segment_erasures IS 'erasures are visible with their attachment';
COMMENT ON POLICY segment_erasures_write ON @extschema@.segment_erasures IS
	'a role records erasures only of attachments of orders tables it owns';
GRANT SELECT ON @extschema@.segment_erasures TO PUBLIC;

-- "x = ANY (keys)" with the key type's own equality (its default btree
-- operator, named by its schema: a citext key must compare as citext
-- whatever the search_path) under the orders column's collation.
CREATE FUNCTION segment_internal.key_match_sql(a @extschema@.attachments, column_sql text, keys_sql text)
	RETURNS text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	key_type regtype := column_type(a.orders_table, a.customer_column);
	equality text;
	collate_sql text;
BEGIN
	SELECT format('%I.%s', n.nspname, o.oprname) INTO equality
	FROM pg_opclass c
		 JOIN pg_amop m ON m.amopfamily = c.opcfamily AND m.amoplefttype = c.opcintype
						   AND m.amoprighttype = c.opcintype AND m.amopstrategy = 3
		 JOIN pg_operator o ON o.oid = m.amopopr JOIN pg_namespace n ON n.oid = o.oprnamespace
	WHERE c.opcmethod = (SELECT oid FROM pg_am WHERE amname = 'btree') AND c.opcdefault
	  AND c.opcintype = key_type;
	IF equality IS NULL THEN
		RAISE EXCEPTION 'the customer key type % has no default equality', key_type
			USING ERRCODE = 'undefined_function';
	END IF;
	SELECT format(' COLLATE %I.%I', n.nspname, c.collname) INTO collate_sql
	FROM pg_attribute att JOIN pg_collation c ON c.oid = att.attcollation
		 JOIN pg_namespace n ON n.oid = c.collnamespace
	WHERE att.attrelid = a.orders_table AND att.attname = a.customer_column;
	RETURN format('%s%s OPERATOR(%s) ANY (%s::%s[])', column_sql, coalesce(collate_sql, ''), equality, keys_sql, key_type);
END
$function$;
COMMENT ON FUNCTION segment_internal.key_match_sql(@extschema@.attachments, text, text) IS
	'the SQL of "column = ANY (keys)" with the customer key type''s own equality under the orders column''s collation';

-- The customers' copies go: their maintained state, stored tags and every
-- interval of their history (snapshots included).  Their orders and
-- customers rows must be gone, and that deletion committed, first: the
-- maintained state follows a deletion of orders at commit, and would
-- otherwise write the customer's history again after this.  Writers of the
-- orders, customers and state tables wait until the erasure commits, so
-- that what is checked is what is erased.
CREATE FUNCTION @extschema@.forget_customers(attachment_name text, customer_keys text[]) RETURNS integer
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	left_over bigint;
	erased text[] := '{}';
	removed text[];
	customers integer;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = forget_customers.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'attachment "%" does not exist', forget_customers.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Create it with attach().';
	END IF;
	IF NOT coalesce(owns_relation(a.orders_table), false) THEN
		RAISE EXCEPTION 'permission denied to erase customers of attachment "%"', a.attachment_name
			USING ERRCODE = 'insufficient_privilege', HINT = 'Only the owner of its orders table may.';
	END IF;
	IF customer_keys IS NULL OR array_position(customer_keys, NULL) IS NOT NULL THEN
		RAISE EXCEPTION 'customer keys must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF cardinality(customer_keys) = 0 THEN
		RETURN 0;
	END IF;
	-- in the order writers take them: the orders, the customers, the state
	EXECUTE format('LOCK TABLE %s IN SHARE MODE', a.orders_table);
	IF a.customers_table IS NOT NULL THEN
		EXECUTE format('LOCK TABLE %s IN SHARE MODE', a.customers_table);
	END IF;
	IF a.state_table IS NOT NULL THEN
		PERFORM lock_state_tables(a.attachment_name);
	END IF;

	EXECUTE format('SELECT count(*) FROM %s o WHERE %s', a.orders_table,
				   key_match_sql(a, format('o.%I', a.customer_column), '$1'))
		INTO left_over USING customer_keys;
	IF left_over > 0 THEN
		RAISE EXCEPTION 'the customers still have % orders in %', left_over, a.orders_table
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'Delete their orders (and customers rows) and commit, then forget them.';
	END IF;
	IF a.customers_table IS NOT NULL THEN
		EXECUTE format('SELECT count(*) FROM %s c WHERE %s', a.customers_table,
					   key_match_sql(a, format('c.%I', a.customer_key), '$1'))
			INTO left_over USING customer_keys;
		IF left_over > 0 THEN
			RAISE EXCEPTION 'the customers are still in %', a.customers_table
				USING ERRCODE = 'object_not_in_prerequisite_state',
					  HINT = 'Delete their rows and orders and commit, then forget them.';
		END IF;
	END IF;
	-- a state row without orders is a deletion not yet folded in
	IF a.state_table IS NOT NULL AND relation_exists(a.state_table) THEN
		EXECUTE format('SELECT count(*) FROM %s s WHERE %s', a.state_table, key_match_sql(a, 's.customer_id', '$1'))
			INTO left_over USING customer_keys;
		IF left_over > 0 THEN
			RAISE EXCEPTION 'the deletion of the customers'' orders is not committed yet'
				USING ERRCODE = 'object_not_in_prerequisite_state',
					  HINT = 'The maintained state follows it at commit: commit it, then forget them.';
		END IF;
	END IF;
	-- stored tags close their history intervals as they go; then the history
	IF a.tags_table IS NOT NULL AND relation_exists(a.tags_table) THEN
		EXECUTE format('WITH d AS (DELETE FROM %s g WHERE %s RETURNING g.customer_id::text) SELECT array_agg(d.customer_id) FROM d',
					   a.tags_table, key_match_sql(a, 'g.customer_id', '$1'))
			INTO removed USING customer_keys;
		erased := erased || coalesce(removed, '{}');
	END IF;
	IF a.history_table IS NOT NULL AND relation_exists(a.history_table) THEN
		EXECUTE format('WITH d AS (DELETE FROM %s h WHERE %s RETURNING h.customer_id::text) SELECT array_agg(d.customer_id) FROM d',
					   a.history_table, key_match_sql(a, 'h.customer_id', '$1'))
			INTO removed USING customer_keys;
		erased := erased || coalesce(removed, '{}');
	END IF;
	-- the customers found and erased, as the key type tells them apart
	EXECUTE format('SELECT count(DISTINCT k) FROM unnest($1::%s[]) k WHERE %s', column_type(a.orders_table, a.customer_column),
				   key_match_sql(a, 'k', '$2'))
		INTO customers USING customer_keys, erased;
	IF customers > 0 THEN
		INSERT INTO segment_erasures (attachment_name, customers) VALUES (a.attachment_name, customers);
	END IF;
	RETURN customers;
END
$function$;
COMMENT ON FUNCTION @extschema@.forget_customers(text, text[]) IS
	'erases customers whose orders and customers rows are deleted and committed from every table the extension keeps for the attachment (state, tags, history with its snapshots), comparing keys as their type and the orders column''s collation do, and records that an erasure happened, not whom; returns how many of the keys were found';

CREATE FUNCTION @extschema@.forget_customer(attachment_name text, customer_key text) RETURNS integer
	LANGUAGE sql
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$ SELECT forget_customers(attachment_name, ARRAY[customer_key]) $$;
COMMENT ON FUNCTION @extschema@.forget_customer(text, text) IS
	'forget_customers() for one customer';
