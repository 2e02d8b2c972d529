
-- attach: binding segment to the tables a CRM already has (sql/attach.sql,
-- src/segment_rule.c)
--
-- attach() records an attachment; rule segments are boolean expressions
-- over a customer's row; rebuild_attachment_views() brings the stored
-- state and tags in line with the map and the rules and has the views
-- built (sql/views.sql).  The functions run with search_path = pg_catalog,
-- segment_internal, @extschema@, pg_temp (segment_internal first: no one but
-- the extension creates objects there) and quote every name with
-- format('%I'); the only SQL they splice is a rule's expression, which
-- segment_rule_check() has proved to be one expression.

CREATE FUNCTION @extschema@.segment_as_of() RETURNS timestamptz
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.segment_as_of() IS
	'the time the views judge customers at: the setting segment.as_of if set, else now()';

CREATE TABLE @extschema@.attachments (
	attachment_name text PRIMARY KEY,
	orders_table regclass NOT NULL,
	customer_column name NOT NULL,
	order_time_column name NOT NULL,
	amount_column name NOT NULL,
	customers_table regclass,
	customer_key name,
	view_schema name NOT NULL,
	map_name text NOT NULL REFERENCES @extschema@.segment_maps (map_name) ON UPDATE CASCADE,
	bins integer NOT NULL DEFAULT 5,
	views text[] NOT NULL DEFAULT '{}',
	state_table regclass,
	thresholds @extschema@.rfm_thresholds,
	population_average_order_value numeric,
	thresholds_as_of timestamptz,
	tags_table regclass,
	cell_segments @extschema@.segment_set[],
	time_zone text NOT NULL DEFAULT 'UTC',
	orders_partitions regclass[],
	orders_types regtype[],
	lifecycle_limits double precision[],
	history_table regclass,
	history_since timestamptz,
	history_retention interval,
	history_snapshots timestamptz[],
	campaigns_table regclass,
	campaign_columns name[],
	attribution_window interval,
	bgnbd @extschema@.bgnbd_model,
	gamma_gamma @extschema@.gamma_gamma_model,
	model_unit interval,
	high_value_threshold double precision,
	models_fitted_at timestamptz,
	kmeans @extschema@.kmeans_model,
	cluster_features name[],
	cluster_segments text[],
	predictive_segments text[],
	customer_columns name[],
	minimum_group_size integer,
	pseudonym_secret_table regclass,
	state_shards_table regclass,
	shard_of text,
	CONSTRAINT attachment_name_is_plain CHECK (CASE WHEN shard_of IS NULL THEN attachment_name ~ '^[a-z][a-z0-9_]{0,29}$'
												   ELSE attachment_name ~ '^[a-z][a-z0-9_]{0,29}/[0-9]+$'
														AND pg_catalog.starts_with(attachment_name, shard_of || '/') END),
	CONSTRAINT bins_in_range CHECK (bins BETWEEN 1 AND 9),
	CONSTRAINT customers_with_key CHECK ((customers_table IS NULL) = (customer_key IS NULL)),
	CONSTRAINT customer_columns_with_table CHECK (customer_columns IS NULL OR customers_table IS NOT NULL),
	CONSTRAINT minimum_group_size_above_one CHECK (minimum_group_size >= 2),
	CONSTRAINT history_with_start CHECK ((history_table IS NULL) = (history_since IS NULL)),
	CONSTRAINT history_retention_positive CHECK (history_retention OPERATOR(pg_catalog.>) '0'::pg_catalog.interval),
	CONSTRAINT lifecycle_limits_valid CHECK (lifecycle_limits IS NULL OR (
		pg_catalog.array_ndims(lifecycle_limits) OPERATOR(pg_catalog.=) 1
		AND pg_catalog.array_lower(lifecycle_limits, 1) OPERATOR(pg_catalog.=) 1
		AND pg_catalog.cardinality(lifecycle_limits) OPERATOR(pg_catalog.=) 6
		AND lifecycle_limits[4] OPERATOR(pg_catalog.=) pg_catalog.trunc(lifecycle_limits[4])
		-- the checks of lifecycle_stage(), which returns NULL without as_of
		AND @extschema@.lifecycle_stage(NULL, NULL, lifecycle_limits[1], lifecycle_limits[2], lifecycle_limits[3],
										lifecycle_limits[4]::integer, lifecycle_limits[5], lifecycle_limits[6]) IS NULL))
);
SELECT pg_catalog.pg_extension_config_dump(c.oid::pg_catalog.regclass, '') FROM pg_catalog.pg_class c
WHERE c.relname OPERATOR(pg_catalog.=) 'attachments' AND c.relnamespace OPERATOR(pg_catalog.=)
	(SELECT e.extnamespace FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'segment');
-- the views of maintained attachments read their stored thresholds
GRANT SELECT ON @extschema@.attachments TO PUBLIC;
COMMENT ON TABLE @extschema@.attachments IS 'tables bound to segment with attach(), and the views built for each';
COMMENT ON COLUMN @extschema@.attachments.attachment_name IS 'name of the attachment, prefix of its views';
COMMENT ON COLUMN @extschema@.attachments.orders_table IS 'the orders table';
COMMENT ON COLUMN @extschema@.attachments.customer_column IS 'customer key column of the orders table';
COMMENT ON COLUMN @extschema@.attachments.order_time_column IS 'order time column of the orders table';
COMMENT ON COLUMN @extschema@.attachments.amount_column IS 'amount column of the orders table';
COMMENT ON COLUMN @extschema@.attachments.customers_table IS 'the customers table, if any: its columns are available to rules and its customers without orders are prospects';
COMMENT ON COLUMN @extschema@.attachments.customer_key IS 'key column of the customers table';
COMMENT ON COLUMN @extschema@.attachments.view_schema IS 'schema the views are created in';
COMMENT ON COLUMN @extschema@.attachments.map_name IS 'segment map that names the RFM segments';
COMMENT ON COLUMN @extschema@.attachments.bins IS 'score bins per dimension';
COMMENT ON COLUMN @extschema@.attachments.views IS 'the views built, in the order they were created';
COMMENT ON COLUMN @extschema@.attachments.thresholds IS
	'score thresholds of a maintained attachment, stored by refresh_attachment_thresholds()';
COMMENT ON COLUMN @extschema@.attachments.population_average_order_value IS
	'average order value of the customers the customers view of a maintained attachment lists, stored with the thresholds';
COMMENT ON COLUMN @extschema@.attachments.thresholds_as_of IS 'the analysis time the thresholds were computed at';
COMMENT ON COLUMN @extschema@.attachments.state_table IS
	'per-customer statistics kept current by triggers (maintain_attachment()), which the views read; NULL if not maintained';
COMMENT ON COLUMN @extschema@.attachments.cell_segments IS
	'the segments of every score cell of a maintained attachment''s map, in the order of the cells'' codes, which its state is written with';
COMMENT ON COLUMN @extschema@.attachments.time_zone IS
	'the time zone order times of type timestamp or date are read in, set by attach() from the TimeZone setting';
COMMENT ON COLUMN @extschema@.attachments.orders_partitions IS
	'the partitions of the orders table a maintained attachment has followed, for its event triggers';
COMMENT ON COLUMN @extschema@.attachments.orders_types IS
	'the types of the order time and amount columns a maintained attachment has followed, for its event triggers';
COMMENT ON COLUMN @extschema@.attachments.lifecycle_limits IS
	'the limits lifecycle stages are judged with, set by set_lifecycle_limits(): new_days, at_risk_multiple, lapsed_multiple, rhythm_min_orders, at_risk_days, lapsed_days; NULL for the defaults of lifecycle_stage()';
COMMENT ON COLUMN @extschema@.attachments.tags_table IS
	'the attribute-rule segments of every customer, kept current by a trigger on the customers table, which the views read; NULL if not stored';

COMMENT ON COLUMN @extschema@.attachments.history_table IS
	'the intervals over which each customer belonged to each segment (keep_segment_history(), snapshot_segments()); NULL if no history is kept';
COMMENT ON COLUMN @extschema@.attachments.history_since IS
	'the instant since which the history is complete: when it began, or the last pruning''s horizon';
COMMENT ON COLUMN @extschema@.attachments.history_snapshots IS
	'the instants of the snapshots (snapshot_segments()) the history of an unmaintained attachment is made of, and of the end of its maintenance';
COMMENT ON COLUMN @extschema@.attachments.campaigns_table IS
	'the table of campaign events bound by attach_campaigns(); NULL if none';
COMMENT ON COLUMN @extschema@.attachments.campaign_columns IS
	'the columns of the campaign events: customer, campaign, sent, opened, clicked and converted times (NULL where absent)';
COMMENT ON COLUMN @extschema@.attachments.attribution_window IS
	'how long after a send a conversion or an order counts for the campaign';
COMMENT ON COLUMN @extschema@.attachments.state_shards_table IS
	'on Citus, the reference table through which every node keeps the state of its shards (sql/citus.sql)';
COMMENT ON COLUMN @extschema@.attachments.shard_of IS
	'on a Citus node, the distributed attachment whose state this row keeps on one pair of co-located shards, named <attachment>/<shard id>';
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
COMMENT ON COLUMN @extschema@.attachments.customer_columns IS
	'the columns of the customers table the views show besides the key (attach(), set_customer_columns()); NULL: all';
COMMENT ON COLUMN @extschema@.attachments.minimum_group_size IS
	'the fewest customers a number of the summary views may count (set_minimum_group_size()); NULL: no minimum';
COMMENT ON COLUMN @extschema@.attachments.pseudonym_secret_table IS
	'the table holding the key of the pseudonyms the published views show (publish_views()); NULL if not published';
COMMENT ON COLUMN @extschema@.attachments.history_retention IS
	'how long the history keeps an interval after it ended (prune_segment_history()); NULL: for ever';

CREATE TABLE @extschema@.segment_rules (
	attachment_name text NOT NULL REFERENCES @extschema@.attachments ON UPDATE CASCADE ON DELETE CASCADE,
	rule_name text NOT NULL,
	expression text NOT NULL,
	description text,
	PRIMARY KEY (attachment_name, rule_name),
	CONSTRAINT rule_name_not_blank CHECK (rule_name ~ '\S')
);
SELECT pg_catalog.pg_extension_config_dump(c.oid::pg_catalog.regclass, '') FROM pg_catalog.pg_class c
WHERE c.relname OPERATOR(pg_catalog.=) 'segment_rules' AND c.relnamespace OPERATOR(pg_catalog.=)
	(SELECT e.extnamespace FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'segment');
COMMENT ON TABLE @extschema@.segment_rules IS 'rule segments: a boolean SQL expression over a customer''s row and statistics';
COMMENT ON COLUMN @extschema@.segment_rules.attachment_name IS 'the attachment whose customers the rule judges';
COMMENT ON COLUMN @extschema@.segment_rules.rule_name IS 'name of the segment';
COMMENT ON COLUMN @extschema@.segment_rules.expression IS 'one boolean SQL expression over the columns of the attachment''s customers view';
COMMENT ON COLUMN @extschema@.segment_rules.description IS 'what the segment means, for people';

CREATE FUNCTION @extschema@.segment_rule_check(expression text) RETURNS void
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
	-- a rule's text is read the same way in every session
	SET standard_conforming_strings = on;
COMMENT ON FUNCTION @extschema@.segment_rule_check(text) IS
	'raises an error unless the text is exactly one SQL expression';
CREATE FUNCTION segment_internal.segment_rule_names_segments(expression text) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
	SET standard_conforming_strings = on;
COMMENT ON FUNCTION segment_internal.segment_rule_names_segments(text) IS
	'whether a rule refers to the customer''s segments, and so is judged after the rules that do not';
CREATE FUNCTION segment_internal.segment_rules_check_trigger() RETURNS trigger
	AS 'MODULE_PATHNAME' LANGUAGE C
	SET standard_conforming_strings = on;
COMMENT ON FUNCTION segment_internal.segment_rules_check_trigger() IS
	'checks the expression of every rule written to segment_rules';
CREATE TRIGGER check_expression BEFORE INSERT OR UPDATE ON @extschema@.segment_rules
	FOR EACH ROW EXECUTE FUNCTION segment_internal.segment_rules_check_trigger();

-- Brings the stored state and tags of an attachment in line with its map
-- and rules, then builds its views.
CREATE FUNCTION @extschema@.rebuild_attachment_views(attachment_name text) RETURNS SETOF text
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = rebuild_attachment_views.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'attachment "%" does not exist', rebuild_attachment_views.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Create it with attach().';
	END IF;
	-- the map may have changed: the stored segments follow it
	IF a.state_table IS NOT NULL AND fill_segment_cells(a.attachment_name) THEN
		PERFORM rescore_state(a.attachment_name, only_expired => false);
	END IF;
	-- and the stored tags follow the rules
	IF a.tags_table IS NOT NULL THEN
		PERFORM store_customer_tags(a.attachment_name, only_if_rules_changed => true);
	END IF;
	RETURN QUERY SELECT * FROM build_attachment_views(a.attachment_name);
END
$function$;
COMMENT ON FUNCTION @extschema@.rebuild_attachment_views(text) IS
	'brings the stored segments and tags of an attachment in line with its map and rules, and builds its views again';

-- The type of a column, or NULL when the relation has no such column.
CREATE FUNCTION segment_internal.column_type(relation regclass, column_name name) RETURNS regtype
	LANGUAGE sql STABLE STRICT PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT a.atttypid::pg_catalog.regtype FROM pg_catalog.pg_attribute a
		  WHERE a.attrelid = relation AND a.attname = column_name AND a.attnum > 0 AND NOT a.attisdropped $$;
COMMENT ON FUNCTION segment_internal.column_type(regclass, name) IS
	'type of a column of a table or view; NULL if there is no such column';

CREATE FUNCTION @extschema@.attach(
	attachment_name text,
	orders regclass,
	customer_column name,
	order_time_column name,
	amount_column name,
	customers regclass DEFAULT NULL,
	customer_key name DEFAULT NULL,
	view_schema name DEFAULT NULL,
	map_name text DEFAULT 'default',
	bins integer DEFAULT 5,
	customer_columns name[] DEFAULT NULL)
	RETURNS SETOF text
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	key_type regtype;
	time_type regtype;
	amount_type regtype;
	target name := attach.view_schema;
BEGIN
	IF attach.attachment_name IS NULL OR attach.attachment_name !~ '^[a-z][a-z0-9_]{0,29}$' THEN
		RAISE EXCEPTION 'invalid attachment name "%"', attach.attachment_name
			USING ERRCODE = 'invalid_name',
				  HINT = 'Use up to 30 lower-case letters, digits and underscores, starting with a letter: it prefixes the view names.';
	END IF;
	IF EXISTS (SELECT 1 FROM attachments t WHERE t.attachment_name = attach.attachment_name) THEN
		RAISE EXCEPTION 'attachment "%" already exists', attach.attachment_name
			USING ERRCODE = 'duplicate_object', HINT = 'Detach it first with detach(), or pick another name.';
	END IF;
	IF orders IS NULL OR customer_column IS NULL OR order_time_column IS NULL OR amount_column IS NULL
	   OR attach.map_name IS NULL OR attach.bins IS NULL THEN
		RAISE EXCEPTION 'orders, its three columns, map_name and bins must not be NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;

	key_type := column_type(orders, customer_column);
	time_type := column_type(orders, order_time_column);
	amount_type := column_type(orders, amount_column);
	IF key_type IS NULL OR time_type IS NULL OR amount_type IS NULL THEN
		RAISE EXCEPTION 'column "%" does not exist in %',
			CASE WHEN key_type IS NULL THEN customer_column
				 WHEN time_type IS NULL THEN order_time_column ELSE amount_column END, orders
			USING ERRCODE = 'undefined_column';
	END IF;
	IF time_type NOT IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype) THEN
		RAISE EXCEPTION 'order time column "%" of % has type %', order_time_column, orders, time_type
			USING ERRCODE = 'datatype_mismatch', HINT = 'It must be timestamp with time zone, timestamp or date.';
	END IF;
	IF amount_type NOT IN ('numeric'::regtype, 'smallint'::regtype, 'integer'::regtype, 'bigint'::regtype,
						   'real'::regtype, 'double precision'::regtype, 'money'::regtype) THEN
		RAISE EXCEPTION 'amount column "%" of % has type %', amount_column, orders, amount_type
			USING ERRCODE = 'datatype_mismatch', HINT = 'It must be a number: numeric, an integer, real, double precision or money.';
	END IF;

	IF (customers IS NULL) <> (customer_key IS NULL) THEN
		RAISE EXCEPTION 'customers and customer_key go together'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF customers IS NOT NULL THEN
		IF column_type(customers, customer_key) IS NULL THEN
			RAISE EXCEPTION 'column "%" does not exist in %', customer_key, customers
				USING ERRCODE = 'undefined_column';
		END IF;
		IF column_type(customers, customer_key) <> key_type THEN
			RAISE EXCEPTION 'customer keys differ in type: %.% is %, %.% is %',
				orders, customer_column, key_type, customers, customer_key,
				column_type(customers, customer_key)
				USING ERRCODE = 'datatype_mismatch';
		END IF;
		IF (SELECT att.attcollation FROM pg_attribute att WHERE att.attrelid = customers AND att.attname = customer_key)
		   IS DISTINCT FROM
		   (SELECT att.attcollation FROM pg_attribute att WHERE att.attrelid = orders AND att.attname = customer_column) THEN
			RAISE EXCEPTION 'customer keys differ in collation: %.% and %.%', orders, customer_column, customers, customer_key
				USING ERRCODE = 'collation_mismatch',
					  HINT = 'Attach a view of the customers table that gives its key the collation of the orders'' key.';
		END IF;
	END IF;
	PERFORM check_customer_columns(customers, customer_key, attach.customer_columns);

	IF target IS NULL THEN
		SELECT n.nspname INTO target FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.oid = orders;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspname = target) THEN
		RAISE EXCEPTION 'schema "%" does not exist', target USING ERRCODE = 'invalid_schema_name';
	END IF;
	IF NOT has_schema_privilege(target, 'CREATE') THEN
		RAISE EXCEPTION 'permission denied to create views in schema %', target
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM segment_maps m WHERE m.map_name = attach.map_name) THEN
		RAISE EXCEPTION 'segment map "%" does not exist', attach.map_name
			USING ERRCODE = 'undefined_object', HINT = 'The maps are listed in segment_maps.';
	END IF;
	IF attach.bins NOT BETWEEN 1 AND 9 THEN
		RAISE EXCEPTION 'number of bins must be between 1 and 9, not %', attach.bins
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF attach.bins <> (SELECT m.bins FROM segment_maps m WHERE m.map_name = attach.map_name) THEN
		RAISE EXCEPTION 'segment map "%" is for % bins, not %', attach.map_name,
			(SELECT m.bins FROM segment_maps m WHERE m.map_name = attach.map_name), attach.bins
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Score with as many bins as the map has, or pick a map made for your number of bins.';
	END IF;

	-- a timestamp or date order time is read in the session's time zone
	-- now, and in that one whoever reads or writes later
	INSERT INTO attachments (attachment_name, orders_table, customer_column, order_time_column,
										 amount_column, customers_table, customer_key, view_schema, map_name, bins,
										 time_zone, customer_columns)
	VALUES (attach.attachment_name, orders, customer_column, order_time_column, amount_column,
			customers, customer_key, target, attach.map_name, attach.bins, current_setting('TimeZone'),
			attach.customer_columns);
	RETURN QUERY SELECT * FROM rebuild_attachment_views(attach.attachment_name);
END
$function$;
COMMENT ON FUNCTION @extschema@.attach(text, regclass, name, name, name, regclass, name, name, text, integer, name[]) IS
	'binds segment to an orders table (and optionally a customers table, of which the views show the columns chosen, or all) and builds the views BI tools read';

CREATE FUNCTION @extschema@.detach(attachment_name text) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = detach.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'attachment "%" does not exist', detach.attachment_name USING ERRCODE = 'undefined_object';
	END IF;
	PERFORM drop_attachment_views(a, a.views);
	IF a.state_table IS NOT NULL THEN
		PERFORM stop_maintaining(a.attachment_name, rebuild_views => false);
	END IF;
	DELETE FROM attachments t WHERE t.attachment_name = a.attachment_name;
	IF relation_exists(a.history_table) THEN
		EXECUTE format('DROP TABLE %s', a.history_table);
	END IF;
	IF relation_exists(a.pseudonym_secret_table) THEN
		EXECUTE format('DROP TABLE %s', a.pseudonym_secret_table);
	END IF;
END
$function$;
COMMENT ON FUNCTION @extschema@.detach(text) IS 'drops the views of an attachment, its rules, its state, history and pseudonym key, and the attachment';

CREATE FUNCTION @extschema@.define_segment_rule(attachment_name text, rule_name text, expression text,
												description text DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	SET standard_conforming_strings = on
	AS $function$
DECLARE
	a attachments;
	problem text;
	problem_state text;
	problem_detail text;
	problem_hint text;
	stored_as_tag boolean;
	scan record;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = define_segment_rule.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'attachment "%" does not exist', define_segment_rule.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Create it with attach().';
	END IF;
	IF EXISTS (SELECT 1 FROM segment_map_boxes b
			   WHERE b.map_name = a.map_name AND b.segment_name = define_segment_rule.rule_name) THEN
		RAISE EXCEPTION 'segment "%" is already a segment of the map of attachment "%"',
			define_segment_rule.rule_name, define_segment_rule.attachment_name
			USING ERRCODE = 'duplicate_object';
	END IF;
	-- the expression, judged over the columns a segment view judges it
	-- over, finds unknown columns and type errors now, not when a BI tool
	-- reads; storing an attribute rule's tags finds errors it raises on
	-- the customers there are
	BEGIN
		PERFORM segment_rule_check(define_segment_rule.expression);
		-- an attribute rule of an attachment with stored tags is judged on
		-- the customers table's row, every column of it, as tags are stored;
		-- the views read its verdict only
		stored_as_tag := a.tags_table IS NOT NULL AND octet_length(define_segment_rule.rule_name) <= 255
						 AND segment_rule_is_attribute(define_segment_rule.expression, a.customers_table, a.customer_key);
		IF to_regclass(a.views[1]) IS NOT NULL AND NOT stored_as_tag THEN
			EXECUTE format('SELECT FROM (SELECT %s, customer.segments FROM %s AS customer) AS customer WHERE (%s
) IS TRUE LIMIT 0', member_columns(a.views[1]::regclass), a.views[1], define_segment_rule.expression);
		END IF;
		INSERT INTO segment_rules AS r (attachment_name, rule_name, expression, description)
		VALUES (define_segment_rule.attachment_name, define_segment_rule.rule_name,
				define_segment_rule.expression, define_segment_rule.description)
		ON CONFLICT ON CONSTRAINT segment_rules_pkey
		DO UPDATE SET expression = excluded.expression, description = excluded.description;
		-- an attribute rule is judged now for every customer of the table
		IF a.tags_table IS NOT NULL THEN
			PERFORM store_customer_tags(a.attachment_name, only_if_rules_changed => true);
		END IF;
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS problem = MESSAGE_TEXT, problem_state = RETURNED_SQLSTATE,
								problem_detail = PG_EXCEPTION_DETAIL, problem_hint = PG_EXCEPTION_HINT;
		-- a missing privilege is reported as what it is
		IF problem_state = '42501' THEN
			RAISE EXCEPTION '%', problem
				USING ERRCODE = problem_state,
					  HINT = format('Rule segment "%s" reads what you may not read, and so would its views.',
									define_segment_rule.rule_name);
		END IF;
		RAISE EXCEPTION 'rule segment "%" of attachment "%" is not valid: %',
			define_segment_rule.rule_name, define_segment_rule.attachment_name, problem
			USING ERRCODE = problem_state,
				  DETAIL = concat_ws(' ', nullif(problem_detail, ''),
									 format('The expression is: %s', define_segment_rule.expression)),
				  HINT = coalesce(nullif(problem_hint, ''),
								  CASE WHEN problem_state = '42703' AND a.customer_columns IS NOT NULL THEN
									  'The views show only the customer columns chosen for the attachment; a rule over the customers table''s other columns needs its stored tags (maintain_attachment()).' END,
								  'A rule is one boolean expression over the columns of the attachment''s customers view.');
	END;
	-- what fails from here is not the rule's doing, and says so itself
	PERFORM rebuild_attachment_views(define_segment_rule.attachment_name);
	-- a subquery without an index reads its table for every customer; the
	-- advice is not worth failing the rule for
	IF stored_as_tag THEN
		RETURN;
	END IF;
	BEGIN
		FOR scan IN SELECT * FROM rule_full_scans(to_regclass(format('%I.%I', a.view_schema, a.attachment_name || '_customers')),
												  define_segment_rule.expression) LOOP
			RAISE WARNING 'rule segment "%" reads all of % for every customer it judges',
				define_segment_rule.rule_name, scan.relation
				USING DETAIL = 'No index lets its subquery look the customer up.',
					  HINT = CASE WHEN scan.column_name IS NULL
								  THEN 'Index the column its subquery compares with the customer.'
								  ELSE format('CREATE INDEX ON %s (%I);', scan.relation, scan.column_name) END;
		END LOOP;
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS problem = MESSAGE_TEXT;
		RAISE WARNING 'could not tell whether rule segment "%" reads whole tables: %', define_segment_rule.rule_name, problem;
	END;
END
$function$;
COMMENT ON FUNCTION @extschema@.define_segment_rule(text, text, text, text) IS
	'defines or replaces a rule segment and rebuilds the views; a bad expression is reported here';

CREATE FUNCTION @extschema@.drop_segment_rule(attachment_name text, rule_name text) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
BEGIN
	DELETE FROM segment_rules r
	WHERE r.attachment_name = drop_segment_rule.attachment_name AND r.rule_name = drop_segment_rule.rule_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'rule segment "%" of attachment "%" does not exist',
			drop_segment_rule.rule_name, drop_segment_rule.attachment_name USING ERRCODE = 'undefined_object';
	END IF;
	PERFORM rebuild_attachment_views(drop_segment_rule.attachment_name);
END
$function$;
COMMENT ON FUNCTION @extschema@.drop_segment_rule(text, text) IS 'drops a rule segment and rebuilds the views';

-- Names the RFM segments of an attachment with another map of as many
-- bins; the stored segments and the views follow.
CREATE FUNCTION @extschema@.set_segment_map(attachment_name text, map_name text) RETURNS SETOF text
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	map_bins integer;
	clash text;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = set_segment_map.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'attachment "%" does not exist', set_segment_map.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Create it with attach().';
	END IF;
	IF set_segment_map.map_name IS NULL THEN
		RAISE EXCEPTION 'map_name must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT m.bins INTO map_bins FROM segment_maps m WHERE m.map_name = set_segment_map.map_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'segment map "%" does not exist', set_segment_map.map_name
			USING ERRCODE = 'undefined_object',
				  HINT = 'The maps are listed in segment_maps; copy_segment_map() makes one to edit.';
	END IF;
	IF map_bins <> a.bins THEN
		RAISE EXCEPTION 'segment map "%" is for % bins; attachment "%" scores with %',
			set_segment_map.map_name, map_bins, a.attachment_name, a.bins
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pick a map made for as many bins, or detach and attach again with the bins of the map.';
	END IF;
	SELECT r.rule_name INTO clash FROM segment_rules r JOIN segment_map_boxes b ON b.segment_name = r.rule_name
	WHERE r.attachment_name = a.attachment_name AND b.map_name = set_segment_map.map_name
	ORDER BY 1 LIMIT 1;
	IF clash IS NOT NULL THEN
		RAISE EXCEPTION 'segment map "%" has a segment "%", which is a rule segment of attachment "%"',
			set_segment_map.map_name, clash, a.attachment_name
			USING ERRCODE = 'duplicate_object', HINT = 'Rename the rule segment or the segment of the map.';
	END IF;
	UPDATE attachments t SET map_name = set_segment_map.map_name WHERE t.attachment_name = a.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'permission denied to change attachment "%"', a.attachment_name
			USING ERRCODE = 'insufficient_privilege', HINT = 'Only the owner of its orders table may.';
	END IF;
	RETURN QUERY SELECT * FROM rebuild_attachment_views(a.attachment_name);
END
$function$;
COMMENT ON FUNCTION @extschema@.set_segment_map(text, text) IS
	'names the RFM segments of an attachment with another map of as many bins; the stored segments and the views follow';

-- Sets the limits an attachment judges lifecycle stages with (those of
-- lifecycle_stage(); left out, its defaults); the stored stages and the
-- views follow.
CREATE FUNCTION @extschema@.set_lifecycle_limits(attachment_name text,
												 new_days double precision DEFAULT 30,
												 at_risk_multiple double precision DEFAULT 2,
												 lapsed_multiple double precision DEFAULT 4,
												 rhythm_min_orders integer DEFAULT 3,
												 at_risk_days double precision DEFAULT 90,
												 lapsed_days double precision DEFAULT 180)
	RETURNS SETOF text
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	limits double precision[];
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = set_lifecycle_limits.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'attachment "%" does not exist', set_lifecycle_limits.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Create it with attach().';
	END IF;
	-- checked as lifecycle_stage() checks them
	PERFORM lifecycle_stage(NULL, NULL, set_lifecycle_limits.new_days, set_lifecycle_limits.at_risk_multiple,
							set_lifecycle_limits.lapsed_multiple, set_lifecycle_limits.rhythm_min_orders,
							set_lifecycle_limits.at_risk_days, set_lifecycle_limits.lapsed_days);
	limits := ARRAY[set_lifecycle_limits.new_days, set_lifecycle_limits.at_risk_multiple,
					set_lifecycle_limits.lapsed_multiple, set_lifecycle_limits.rhythm_min_orders,
					set_lifecycle_limits.at_risk_days, set_lifecycle_limits.lapsed_days];
	IF limits = ARRAY[30, 2, 4, 3, 90, 180]::double precision[] THEN
		limits := NULL;
	END IF;
	-- writers wait until the stored stages follow, as for new thresholds;
	-- expired values are brought up to now with the old limits first
	IF a.state_table IS NOT NULL THEN
		PERFORM lock_state_tables(a.attachment_name);
		PERFORM rescore_state(a.attachment_name, only_expired => true);
	END IF;
	UPDATE attachments t SET lifecycle_limits = limits WHERE t.attachment_name = a.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'permission denied to change attachment "%"', a.attachment_name
			USING ERRCODE = 'insufficient_privilege', HINT = 'Only the owner of its orders table may.';
	END IF;
	IF a.state_table IS NOT NULL THEN
		PERFORM rescore_state(a.attachment_name, only_expired => false);
	END IF;
	RETURN QUERY SELECT * FROM build_attachment_views(a.attachment_name);
END
$function$;
COMMENT ON FUNCTION @extschema@.set_lifecycle_limits(text, double precision, double precision, double precision,
													 integer, double precision, double precision) IS
	'sets the limits an attachment judges lifecycle stages with (those of lifecycle_stage(), its defaults if left out); the stored stages and the views follow';
