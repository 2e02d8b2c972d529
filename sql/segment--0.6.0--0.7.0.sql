-- segment 0.6.0 -> 0.7.0.  Every change to the install pieces in sql/*.sql
-- since 0.6.0 appears here too; test/t/upgrade.sh compares the result with a
-- fresh install of 0.7.0.

\echo Use "ALTER EXTENSION segment UPDATE TO '0.7.0'" to load this file. \quit

-- The functions only the extension calls move to a schema of its own,
-- segment_internal (sql/header.sql): the schema the extension was created
-- in keeps the functions users call, the types and the tables.  Every
-- function that calls them finds them through its search_path.
CREATE SCHEMA segment_internal;
COMMENT ON SCHEMA segment_internal IS 'functions of the segment extension that only the extension calls';
GRANT USAGE ON SCHEMA segment_internal TO PUBLIC;

-- An attachment may judge lifecycle stages with limits of its own
-- (set_lifecycle_limits()); the state's statements pass them to
-- state_values().
ALTER TABLE @extschema@.attachments ADD COLUMN lifecycle_limits double precision[],
	ADD CONSTRAINT lifecycle_limits_valid CHECK (lifecycle_limits IS NULL OR (
		pg_catalog.array_ndims(lifecycle_limits) OPERATOR(pg_catalog.=) 1
		AND pg_catalog.array_lower(lifecycle_limits, 1) OPERATOR(pg_catalog.=) 1
		AND pg_catalog.cardinality(lifecycle_limits) OPERATOR(pg_catalog.=) 6
		AND lifecycle_limits[4] OPERATOR(pg_catalog.=) pg_catalog.trunc(lifecycle_limits[4])
		-- the checks of lifecycle_stage(), which returns NULL without as_of
		AND @extschema@.lifecycle_stage(NULL, NULL, lifecycle_limits[1], lifecycle_limits[2], lifecycle_limits[3],
										lifecycle_limits[4]::integer, lifecycle_limits[5], lifecycle_limits[6]) IS NULL));
COMMENT ON COLUMN @extschema@.attachments.lifecycle_limits IS
	'the limits lifecycle stages are judged with, set by set_lifecycle_limits(): new_days, at_risk_multiple, lapsed_multiple, rhythm_min_orders, at_risk_days, lapsed_days; NULL for the defaults of lifecycle_stage()';

-- The views are built by one builder per kind of view (sql/views.sql): a
-- segment view judges its own rule only, the summary counts primary
-- segments, segments is a text[], and views built before are replaced in
-- place while their columns stay.  rebuild_attachment_views() brings the
-- stored state and tags in line and calls build_attachment_views(); the
-- state code calls the builder, never the other way round.
--
-- The views of existing attachments keep working as 0.6.0 built them until
-- they are built again:
--   SELECT rebuild_attachment_views(attachment_name) FROM attachments;
-- (a view of a user on them must be dropped first: their columns change).

ALTER FUNCTION @extschema@.rfm_stats_in(cstring) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.rfm_stats_out(@extschema@.rfm_stats) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.rfm_stats_recv(internal) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.rfm_stats_send(@extschema@.rfm_stats) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.rfm_stats_transfn(internal,timestamp with time zone,numeric) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.rfm_stats_merge_transfn(internal,@extschema@.rfm_stats) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.rfm_stats_combinefn(internal,internal) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.rfm_stats_serializefn(internal) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.rfm_stats_deserializefn(bytea,internal) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.rfm_stats_finalfn(internal) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.rfm_in(cstring) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.rfm_out(@extschema@.rfm) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.rfm_recv(internal) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.rfm_send(@extschema@.rfm) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.rfm_eq(@extschema@.rfm,@extschema@.rfm) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.rfm_ne(@extschema@.rfm,@extschema@.rfm) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.rfm_lt(@extschema@.rfm,@extschema@.rfm) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.rfm_le(@extschema@.rfm,@extschema@.rfm) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.rfm_gt(@extschema@.rfm,@extschema@.rfm) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.rfm_ge(@extschema@.rfm,@extschema@.rfm) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.rfm_cmp(@extschema@.rfm,@extschema@.rfm) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.rfm_hash(@extschema@.rfm) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.rfm_hash_extended(@extschema@.rfm,bigint) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.rfm_smaller(@extschema@.rfm,@extschema@.rfm) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.rfm_larger(@extschema@.rfm,@extschema@.rfm) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.rfm_thresholds_in(cstring) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.rfm_thresholds_out(@extschema@.rfm_thresholds) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.rfm_thresholds_recv(internal) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.rfm_thresholds_send(@extschema@.rfm_thresholds) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.rfm_thresholds_transfn(internal,@extschema@.rfm_stats,timestamp with time zone) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.rfm_thresholds_transfn(internal,@extschema@.rfm_stats,timestamp with time zone,integer) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.rfm_thresholds_transfn(internal,@extschema@.rfm_stats,timestamp with time zone,integer,integer,integer) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.rfm_thresholds_combinefn(internal,internal) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.rfm_thresholds_serializefn(internal) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.rfm_thresholds_deserializefn(bytea,internal) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.rfm_thresholds_finalfn(internal) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.segment_maps_check() SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.segment_map_boxes_check() SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.segment_set_in(cstring) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.segment_set_out(@extschema@.segment_set) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.segment_set_recv(internal) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.segment_set_send(@extschema@.segment_set) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.segment_set_contains(@extschema@.segment_set,@extschema@.segment_set) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.segment_set_contained(@extschema@.segment_set,@extschema@.segment_set) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.segment_set_overlaps(@extschema@.segment_set,@extschema@.segment_set) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.segment_set_eq(@extschema@.segment_set,@extschema@.segment_set) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.segment_set_ne(@extschema@.segment_set,@extschema@.segment_set) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.segment_set_lt(@extschema@.segment_set,@extschema@.segment_set) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.segment_set_le(@extschema@.segment_set,@extschema@.segment_set) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.segment_set_gt(@extschema@.segment_set,@extschema@.segment_set) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.segment_set_ge(@extschema@.segment_set,@extschema@.segment_set) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.segment_set_cmp(@extschema@.segment_set,@extschema@.segment_set) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.segment_set_hash(@extschema@.segment_set) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.segment_set_hash_extended(@extschema@.segment_set,bigint) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.segment_set_gin_extract_value(@extschema@.segment_set,internal) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.segment_set_gin_extract_query(@extschema@.segment_set,internal,smallint,internal,internal,internal,internal) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.segment_set_gin_consistent(internal,smallint,@extschema@.segment_set,integer,internal,internal,internal,internal) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.segment_set_gin_triconsistent(internal,smallint,@extschema@.segment_set,integer,internal,internal,internal) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.segment_set_agg_transfn(internal,text) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.segment_set_agg_combinefn(internal,internal) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.segment_set_agg_serializefn(internal) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.segment_set_agg_deserializefn(bytea,internal) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.segment_set_agg_finalfn(internal) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.segment_rules_check_trigger() SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.column_type(regclass,name) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.segment_slug(text) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.customer_view_columns() SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.comment_relation(text,text,text[]) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.segment_state_trigger() SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.segment_state_commit() SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.state_derive_again(text,regclass) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.run_state_statement(text,text) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.attachments_changed() SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.order_time_sql(text,regtype,text) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.attachment_value_sql(text,name) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.state_statements(text,regtype,regtype,regtype) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.lock_state_tables(text) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.fill_segment_cells(text) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.rescore_state(text,boolean) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.relation_exists(regclass) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.orders_partitions(regclass) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.state_obstacle(text) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.install_state_triggers(text) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.drop_state_triggers(text) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.state_stats_at(text,anyelement,timestamp with time zone) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.state_stats_at_sql(text,text) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.readable_attachments() SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.follow_orders_ddl_changes() SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.follow_orders_ddl() SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.follow_orders_drop_changes() SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.follow_orders_drop() SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.segment_tags_trigger() SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.customer_tag_rules(text) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.store_customer_tags(text,boolean) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.owns_relation(regclass) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.reads_attachment(regclass,regclass) SET SCHEMA segment_internal;
ALTER FUNCTION @extschema@.attachments_check() SET SCHEMA segment_internal;

DROP FUNCTION @extschema@.state_values(@extschema@.rfm_stats,timestamp with time zone,@extschema@.rfm_thresholds,@extschema@.segment_set[],timestamp with time zone,timestamp with time zone);
DROP FUNCTION @extschema@.state_row_sql(text,text,text,text,text);

CREATE OR REPLACE FUNCTION @extschema@.segment_rule_check(expression text) RETURNS void
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

CREATE OR REPLACE FUNCTION segment_internal.segment_rules_check_trigger() RETURNS trigger
	AS 'MODULE_PATHNAME' LANGUAGE C
	SET standard_conforming_strings = on;
COMMENT ON FUNCTION segment_internal.segment_rules_check_trigger() IS
	'checks the expression of every rule written to segment_rules';

-- Brings the stored state and tags of an attachment in line with its map
-- and rules, then builds its views.
CREATE OR REPLACE FUNCTION @extschema@.rebuild_attachment_views(attachment_name text) RETURNS SETOF text
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

CREATE OR REPLACE FUNCTION @extschema@.attach(
	attachment_name text,
	orders regclass,
	customer_column name,
	order_time_column name,
	amount_column name,
	customers regclass DEFAULT NULL,
	customer_key name DEFAULT NULL,
	view_schema name DEFAULT NULL,
	map_name text DEFAULT 'default',
	bins integer DEFAULT 5)
	RETURNS SETOF text
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	key_type regtype;
	time_type regtype;
	amount_type regtype;
	target name := attach.view_schema;
	clash name;
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
		clash := customers_column_clash(customers, customer_key);
		IF clash IS NOT NULL THEN
			RAISE EXCEPTION '% has a column "%", which the customers view computes', customers, clash
				USING ERRCODE = 'duplicate_column',
					  HINT = 'Attach a view of the customers table that renames or leaves out that column.';
		END IF;
	END IF;

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
										 time_zone)
	VALUES (attach.attachment_name, orders, customer_column, order_time_column, amount_column,
			customers, customer_key, target, attach.map_name, attach.bins, current_setting('TimeZone'));
	RETURN QUERY SELECT * FROM rebuild_attachment_views(attach.attachment_name);
END
$function$;
COMMENT ON FUNCTION @extschema@.attach(text, regclass, name, name, name, regclass, name, name, text, integer) IS
	'binds segment to an orders table (and optionally a customers table) and builds the views BI tools read';

CREATE OR REPLACE FUNCTION @extschema@.detach(attachment_name text) RETURNS void
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
END
$function$;
COMMENT ON FUNCTION @extschema@.detach(text) IS 'drops the views of an attachment, its rules and the attachment';

CREATE OR REPLACE FUNCTION @extschema@.define_segment_rule(attachment_name text, rule_name text, expression text,
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
		IF to_regclass(a.views[1]) IS NOT NULL THEN
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
								  'A rule is one boolean expression over the columns of the attachment''s customers view.');
	END;
	-- what fails from here is not the rule's doing, and says so itself
	PERFORM rebuild_attachment_views(define_segment_rule.attachment_name);
	-- a subquery without an index reads its table for every customer; the
	-- advice is not worth failing the rule for
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

CREATE OR REPLACE FUNCTION @extschema@.drop_segment_rule(attachment_name text, rule_name text) RETURNS void
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
	-- writers wait until the stored stages follow, as for new thresholds
	IF a.state_table IS NOT NULL THEN
		PERFORM lock_state_tables(a.attachment_name);
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

-- A view-name fragment of a segment name: lower case, words joined by _,
-- letters with accents as the letters they carry (Öğrenci gives ogrenci)
-- when the database is UTF-8; letters of other alphabets stay, lower case
-- where the database's locale knows them.  Latin letters give the same in
-- any locale: accents go before lower(), and the classes are spelled out.
CREATE OR REPLACE FUNCTION segment_internal.segment_slug(segment_name text) RETURNS text
	LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	AS $function$
DECLARE
	slug text := segment_name;
BEGIN
	IF getdatabaseencoding() <> 'UTF8' THEN
		RETURN btrim(regexp_replace(replace(lower(slug), '''', ''), '[^a-z0-9]+', '_', 'g'), '_');
	END IF;
	-- decomposed, a letter's accents are combining marks of their own
	slug := regexp_replace(normalize(slug, NFKD), '[\u0300-\u036f]', '', 'g');
	slug := translate(slug, 'ıłđøħŧŁĐØĦŦ', 'ildohtLDOHT');
	slug := replace(replace(replace(replace(slug, 'ß', 'ss'), 'æ', 'ae'), 'Æ', 'AE'), 'œ', 'oe');
	slug := replace(replace(replace(replace(slug, 'Œ', 'OE'), 'þ', 'th'), 'Þ', 'TH'), 'ð', 'd');
	slug := lower(regexp_replace(replace(slug, 'Ð', 'D'), '[''\u2019]', '', 'g'));
	-- runs of anything but letters and digits: ASCII punctuation, Latin-1
	-- signs, general and CJK punctuation
	RETURN btrim(regexp_replace(slug, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\xbf\xd7\xf7\u2000-\u206f\u3000-\u303f]+',
								'_', 'g'), '_');
END
$function$;
COMMENT ON FUNCTION segment_internal.segment_slug(text) IS
	'the name of a segment as it appears in view names: Can''t Lose Them gives cant_lose_them, Öğrenci gives ogrenci';

-- The columns the customers view adds to the customers table's own.
CREATE OR REPLACE FUNCTION segment_internal.customer_view_columns()
	RETURNS TABLE (column_name name, description text)
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	AS $$ VALUES
		('order_count'::name, 'number of orders; 0 for a prospect'),
		('total_amount', 'exact total of the order amounts; 0 for a prospect'),
		('average_order_value', 'total amount over orders; NULL for a prospect'),
		('population_average_order_value', 'average order value of all customers with orders'),
		('first_order_time', 'time of the first order'),
		('last_order_time', 'time of the last order'),
		('recency_days', 'days from the last order to the analysis time (segment_as_of())'),
		('recency_score', 'R: 1 (longest ago) to bins (most recent)'),
		('frequency_score', 'F: 1 (fewest orders) to bins (most)'),
		('monetary_score', 'M: 1 (smallest total) to bins (largest)'),
		('rfm_cell', 'three-digit cell code, such as 543'),
		('rfm', 'scores as R-F-M, such as 5-4-3'),
		('segment', 'primary named RFM segment'),
		('segments', 'every segment the customer belongs to: the RFM segments in the map''s order, then the rule segments by name, those that name segments last'),
		('lifecycle_stage', 'prospect, new, active, at_risk, lapsed or reactivated')
	$$;
COMMENT ON FUNCTION segment_internal.customer_view_columns() IS
	'the columns segment adds to a customer in the views of an attachment';

-- The schema the extension was created in, quoted: the SQL the views and
-- the state's statements are built of names its types and functions by it.
CREATE FUNCTION segment_internal.extension_schema() RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT pg_catalog.quote_ident(n.nspname)
		  FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace
		  WHERE e.extname OPERATOR(pg_catalog.=) 'segment' $$;
COMMENT ON FUNCTION segment_internal.extension_schema() IS
	'the schema the extension was created in, quoted as an identifier';

-- Comments a view or table (unless relation_comment is NULL) and its
-- columns: pairs of column name and comment.
CREATE OR REPLACE FUNCTION segment_internal.comment_relation(relation_name text, relation_comment text, VARIADIC columns text[])
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $function$
BEGIN
	IF relation_comment IS NOT NULL THEN
		EXECUTE format('COMMENT ON %s %s IS %L',
				   CASE (SELECT c.relkind FROM pg_class c WHERE c.oid = relation_name::regclass)
						WHEN 'v' THEN 'VIEW' ELSE 'TABLE' END,
				   relation_name, relation_comment);
	END IF;
	FOR i IN 1 .. coalesce(array_upper(columns, 1), 0) BY 2 LOOP
		EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', relation_name, columns[i], columns[i + 1]);
	END LOOP;
END
$function$;
COMMENT ON FUNCTION segment_internal.comment_relation(text, text, text[]) IS
	'comments a view or table of an attachment and its columns, given as pairs of name and comment';

-- The segments of an attachment in display order: the map's by priority,
-- then the rules by name; kind is rfm or rule.  A rule that names the
-- customer's segments is judged after the others, over their result.
CREATE FUNCTION segment_internal.attachment_segments(attachment_name text)
	RETURNS TABLE (segment text, kind text, is_attribute boolean, names_segments boolean)
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $$
	SELECT s.segment, s.kind, s.is_attribute, s.names_segments FROM (
		SELECT b.segment_name AS segment, 'rfm'::text AS kind, false AS is_attribute, false AS names_segments,
			   b.priority AS position, NULL::text AS rule_order
		FROM attachments a JOIN segment_map_boxes b ON b.map_name = a.map_name
		WHERE a.attachment_name = attachment_segments.attachment_name
		UNION ALL
		SELECT r.rule_name, 'rule', r.rule_name IN (SELECT t.rule_name FROM customer_tag_rules(r.attachment_name) t),
			   segment_rule_names_segments(r.expression), NULL, r.rule_name
		FROM segment_rules r WHERE r.attachment_name = attachment_segments.attachment_name) s
	ORDER BY s.position NULLS LAST, s.rule_order $$;
COMMENT ON FUNCTION segment_internal.attachment_segments(text) IS
	'the segments of an attachment in display order (the map''s by priority, then the rules by name), with their kind, whether stored tags hold them and whether they name the customer''s segments';

-- The query of the customers view: one row per customer (those of the
-- customers table, prospects included, or those found in the orders),
-- its statistics, scores, segments and lifecycle stage.  The columns it
-- carries between its levels are named _segment_*, so that no column of
-- the customers table can be mistaken for one.
CREATE FUNCTION segment_internal.customers_view_query(a @extschema@.attachments) RETURNS text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	-- the lifecycle limits are spliced as text: every digit of them
	SET extra_float_digits = 3
	AS $function$
DECLARE
	ext text := extension_schema();
	own name[] := '{}';
	clash name;
	stats_source text;
	scoring text;
	reference text := '';
	population text;
	rule_array text := '';
	later_rule_array text := '';
	-- the attachment's lifecycle limits, as constants: set_lifecycle_limits()
	-- builds the views again
	lifecycle_arguments text := CASE WHEN a.lifecycle_limits IS NULL THEN '' ELSE
		format(', %L::double precision, %L::double precision, %L::double precision, %L::integer, '
			   '%L::double precision, %L::double precision', a.lifecycle_limits[1], a.lifecycle_limits[2],
			   a.lifecycle_limits[3], a.lifecycle_limits[4]::integer, a.lifecycle_limits[5], a.lifecycle_limits[6]) END;
	seg record;
BEGIN
	IF a.customers_table IS NOT NULL THEN
		clash := customers_column_clash(a.customers_table, a.customer_key);
		IF clash IS NOT NULL THEN
			RAISE EXCEPTION '% has a column "%", which the customers view computes', a.customers_table, clash
				USING ERRCODE = 'duplicate_column',
					  HINT = 'Attach a view of the customers table that renames or leaves out that column.';
		END IF;
		own := ARRAY(SELECT att.attname FROM pg_attribute att
					 WHERE att.attrelid = a.customers_table AND att.attnum > 0 AND NOT att.attisdropped
					   AND att.attname <> a.customer_key ORDER BY att.attnum);
	END IF;
	-- per-customer statistics: maintained by triggers with the scores and
	-- stage they give, stored while time alone leaves them unchanged and
	-- otherwise scored against the thresholds stored at the last refresh (no
	-- window over all customers, so reading one customer is an index
	-- lookup), or computed from the orders and scored against all customers
	-- at read time.
	IF a.state_table IS NOT NULL THEN
		-- a customer whose last order is after the analysis time counts
		-- with the orders at or before it, as an unmaintained attachment
		-- counts it (state_stats_at_sql())
		stats_source := format('SELECT s.customer_id, s.stats, s.stored_scores, s.stored_stage, s.stored_valid
	FROM (SELECT s.customer_id,
				 CASE WHEN %2$s.last_order_time(s.stats) <= clock.as_of THEN s.stats
					  ELSE segment_internal.state_stats_at(%3$L, s.customer_id, clock.as_of) END AS stats,
				 s.scores AS stored_scores, s.lifecycle_stage AS stored_stage,
				 s.valid_from <= clock.as_of AND clock.as_of < s.valid_until AS stored_valid
		  FROM %1$s s, (SELECT %2$s.segment_as_of() AS as_of) clock) s
	WHERE s.stats IS NOT NULL', a.state_table, ext, a.attachment_name);
		scoring := format('CASE WHEN p._segment_stored_valid THEN p._segment_stored_scores
				ELSE %1$s.rfm_score(p._segment_stats, p._segment_judged_at, r.thresholds) END AS _segment_scores,
		   r.population_average_order_value AS _segment_population_average', ext);
		reference := format(', (SELECT t.thresholds, t.population_average_order_value FROM %s.attachments t
		   WHERE t.attachment_name = %L) r', ext, a.attachment_name);
	ELSE
		scoring := format('%1$s.rfm_score(p._segment_stats, p._segment_judged_at, %2$s) OVER () AS _segment_scores,
		   sum(%1$s.total_amount(p._segment_stats)) OVER () / sum(%1$s.order_count(p._segment_stats)) OVER ()
			   AS _segment_population_average', ext, a.bins);
		stats_source := format(
			'SELECT o.%1$I AS customer_id, %2$s.rfm_stats(%6$s, o.%4$I::numeric) AS stats,
		   NULL::%2$s.rfm AS stored_scores, NULL::text AS stored_stage, false AS stored_valid
	FROM %5$s o
	WHERE %6$s <= (SELECT %2$s.segment_as_of()) AND o.%1$I IS NOT NULL
	GROUP BY o.%1$I', a.customer_column, ext, a.order_time_column, a.amount_column, a.orders_table,
			order_time_sql(format('o.%I', a.order_time_column), column_type(a.orders_table, a.order_time_column), a.time_zone));
	END IF;

	IF a.customers_table IS NOT NULL THEN
		population := format(
			'SELECT c.%I AS customer_id%s, s.stats AS _segment_stats, s.stored_scores AS _segment_stored_scores,
		   s.stored_stage AS _segment_stored_stage, s.stored_valid AS _segment_stored_valid, %s AS _segment_stored_tags
	FROM %s c LEFT JOIN (%s) s ON s.customer_id = c.%I%s',
			a.customer_key, column_list('c', own),
			CASE WHEN a.tags_table IS NULL THEN format('NULL::%s.segment_set', ext) ELSE 'g.segments' END,
			a.customers_table, stats_source, a.customer_key,
			CASE WHEN a.tags_table IS NULL THEN ''
				 ELSE format(' LEFT JOIN %s g ON g.customer_id = c.%I', a.tags_table, a.customer_key) END);
	ELSE
		population := format('SELECT s.customer_id, s.stats AS _segment_stats, s.stored_scores AS _segment_stored_scores,
		   s.stored_stage AS _segment_stored_stage, s.stored_valid AS _segment_stored_valid,
		   NULL::%s.segment_set AS _segment_stored_tags FROM (%s) s', ext, stats_source);
	END IF;

	-- each rule once per customer; an attribute rule's segment is stored
	-- with the customer when the attachment has tags; a rule that names the
	-- customer's segments is judged over those of the map and of the other
	-- rules
	FOR seg IN SELECT s.segment, s.is_attribute, s.names_segments, r.expression
			   FROM attachment_segments(a.attachment_name) s
					JOIN segment_rules r ON r.attachment_name = a.attachment_name AND r.rule_name = s.segment
	LOOP
		PERFORM segment_rule_check(seg.expression);
		IF seg.is_attribute THEN
			rule_array := rule_array || format(', CASE WHEN customer._segment_stored_tags OPERATOR(%s.?) %L THEN %L END',
											   ext, seg.segment, seg.segment);
		ELSIF seg.names_segments THEN
			later_rule_array := later_rule_array || format(', CASE WHEN (%s
) THEN %L END', seg.expression, seg.segment);
		ELSE
			-- CASE WHEN takes booleans only, so a number is an error; the
			-- newline after an expression ends its trailing -- comment
			rule_array := rule_array || format(', CASE WHEN (%s
) THEN %L END', seg.expression, seg.segment);
		END IF;
	END LOOP;

	RETURN format($view$
SELECT customer.customer_id%7$s, customer.order_count, customer.total_amount, customer.average_order_value,
	   customer.population_average_order_value, customer.first_order_time, customer.last_order_time,
	   customer.recency_days, customer.recency_score, customer.frequency_score, customer.monetary_score,
	   customer.rfm_cell, customer.rfm, customer.segment,
	   customer.segments || array_remove(ARRAY[NULL::text%9$s], NULL) AS segments,
	   customer.lifecycle_stage
FROM (
	SELECT customer.*,
		   coalesce(customer._segment_rfm_segments, '{}') || array_remove(ARRAY[NULL::text%8$s], NULL) AS segments
	FROM (
	SELECT p.customer_id%5$s,
		   coalesce(%1$s.order_count(p._segment_stats), 0) AS order_count,
		   coalesce(%1$s.total_amount(p._segment_stats), 0) AS total_amount,
		   %1$s.total_amount(p._segment_stats) / %1$s.order_count(p._segment_stats) AS average_order_value,
		   p._segment_population_average AS population_average_order_value,
		   %1$s.first_order_time(p._segment_stats) AS first_order_time,
		   %1$s.last_order_time(p._segment_stats) AS last_order_time,
		   round(%1$s.recency_days(p._segment_stats, p._segment_judged_at)::numeric, 6) AS recency_days,
		   %1$s.recency_score(p._segment_scores) AS recency_score,
		   %1$s.frequency_score(p._segment_scores) AS frequency_score,
		   %1$s.monetary_score(p._segment_scores) AS monetary_score,
		   %1$s.rfm_cell(p._segment_scores) AS rfm_cell,
		   p._segment_scores::text AS rfm,
		   %1$s.segment_assign(p._segment_scores, %6$L) AS segment,
		   %1$s.segment_memberships(p._segment_scores, %6$L) AS _segment_rfm_segments,
		   CASE WHEN p._segment_stored_valid THEN p._segment_stored_stage
				ELSE %1$s.lifecycle_stage(p._segment_stats, p._segment_judged_at%10$s) END AS lifecycle_stage,
		   p._segment_stored_tags
	FROM (
		SELECT p.*, %3$s
		FROM (
			SELECT p.*, GREATEST(clock.as_of, %1$s.last_order_time(p._segment_stats)) AS _segment_judged_at
			FROM (%2$s) p, (SELECT %1$s.segment_as_of() AS as_of) clock
		) p%4$s
	) p
	) AS customer
) AS customer
$view$, ext, population, scoring, reference, column_list('p', own), a.map_name, column_list('customer', own), rule_array,
		later_rule_array, lifecycle_arguments);
END
$function$;
COMMENT ON FUNCTION segment_internal.customers_view_query(@extschema@.attachments) IS
	'the query of an attachment''s customers view';

-- ", alias.column" for each column, quoted.
CREATE FUNCTION segment_internal.column_list(alias text, columns name[]) RETURNS text
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT coalesce(pg_catalog.string_agg(pg_catalog.format(', %s.%I', alias, c), '' ORDER BY n), '')
		  FROM pg_catalog.unnest(columns) WITH ORDINALITY AS u(c, n) $$;
COMMENT ON FUNCTION segment_internal.column_list(text, name[]) IS
	'a list ", alias.column" of the columns, quoted, in their order';

-- The first column of a customers table that the customers view computes
-- itself (or customer_id, when the key has another name); NULL if none.
CREATE FUNCTION segment_internal.customers_column_clash(customers regclass, customer_key name) RETURNS name
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $$ SELECT att.attname FROM pg_attribute att
		  WHERE att.attrelid = customers AND att.attnum > 0 AND NOT att.attisdropped
			AND (att.attname IN (SELECT c.column_name FROM customer_view_columns() c)
				 OR (att.attname = 'customer_id' AND customer_key <> 'customer_id')
				 OR att.attname LIKE '\_segment\_%')
		  ORDER BY att.attnum LIMIT 1 $$;
COMMENT ON FUNCTION segment_internal.customers_column_clash(regclass, name) IS
	'the first column of a customers table whose name the customers view uses for a column of its own; NULL if none';

-- The columns of the customers view but segments, as customer.<column>:
-- what a segment view shows of its members.  A rule is judged over these
-- columns in a segment view, so a segment view evaluates no other rule.
CREATE FUNCTION segment_internal.member_columns(customers_view regclass) RETURNS text
	LANGUAGE sql STABLE STRICT
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT string_agg(pg_catalog.format('customer.%I', att.attname), ', ' ORDER BY att.attnum)
		  FROM pg_catalog.pg_attribute att
		  WHERE att.attrelid = customers_view AND att.attnum > 0 AND NOT att.attisdropped
			AND att.attname OPERATOR(pg_catalog.<>) 'segments' $$;
COMMENT ON FUNCTION segment_internal.member_columns(regclass) IS
	'the columns of a customers view a segment view shows, qualified by customer: all but segments';

-- The tables a rule reads in full to judge one customer: a sequential
-- scan in one of its subqueries filtered on the customer, for want of an
-- index to look the customer up; with the column compared, if it shows.
-- Judged on a plan for one customer, where no hash table pays, and with
-- sequential scans disabled, so that one stays only where no index serves.
CREATE FUNCTION segment_internal.rule_full_scans(customers_view regclass, expression text)
	RETURNS TABLE (relation text, column_name text)
	LANGUAGE plpgsql STRICT
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	SET standard_conforming_strings = on
	SET enable_seqscan = off
	AS $function$
DECLARE
	plan json;
BEGIN
	PERFORM segment_rule_check(expression);
	EXECUTE format('EXPLAIN (VERBOSE, FORMAT JSON) SELECT (%s
) FROM (SELECT %s, customer.segments FROM %s AS customer LIMIT 1) AS customer',
				   expression, member_columns(customers_view), customers_view) INTO plan;
	RETURN QUERY
	SELECT DISTINCT format('%I.%I', n ->> 'Schema', n ->> 'Relation Name'),
		   coalesce(substring(n ->> 'Filter' FROM '\m\w+\.(\w+) = customer\.'),
					substring(n ->> 'Filter' FROM 'customer\.\w+ = \w+\.(\w+)\M'))
	FROM jsonb_path_query(plan::jsonb,
						  'strict $.**? (@."Parent Relationship" == "SubPlan").**? (@."Node Type" == "Seq Scan")') n
	WHERE n ->> 'Filter' ~ '\mcustomer\.'
	ORDER BY 1, 2;
END
$function$;
COMMENT ON FUNCTION segment_internal.rule_full_scans(regclass, text) IS
	'the tables a rule''s subqueries read in full to judge one customer, for want of an index, with the column they compare with the customer';

-- The query of the view of one segment's members.
CREATE FUNCTION segment_internal.segment_view_query(a @extschema@.attachments, customers_view regclass,
													segment text, kind text, is_attribute boolean,
													names_segments boolean)
	RETURNS text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	ext text := extension_schema();
	columns text := member_columns(customers_view);
	segment_literal text;
BEGIN
	IF is_attribute OR (kind = 'rfm' AND a.state_table IS NOT NULL) THEN
		-- only stored segments are sets; a rule's name may be too long for one
		segment_literal := format('%L::%s.segment_set', segment_set(ARRAY[segment])::text, ext);
	END IF;
	IF kind = 'rule' AND is_attribute THEN
		-- an attribute rule's members are exactly the customers tagged with
		-- it, each looked up in the customers view: OFFSET 0 keeps the
		-- lookup per member, where a join would derive every customer
		-- first; customer_id is the tags', so that a filter on it is a
		-- lookup in the tags too
		RETURN format($view$
SELECT g.customer_id, %1$s
FROM %2$s g
	 CROSS JOIN LATERAL (SELECT * FROM %3$s AS own WHERE own.customer_id = g.customer_id OFFSET 0) AS customer
WHERE g.segments OPERATOR(%4$s.@>) %5$s
$view$, regexp_replace(columns, '^customer\.customer_id, ', ''), a.tags_table, customers_view, ext, segment_literal);
	ELSIF kind = 'rule' AND names_segments THEN
		-- judged over the segments of the other rules: its members are those
		-- the customers view finds
		RETURN format($view$
SELECT %1$s FROM %2$s AS customer
WHERE %3$L = ANY (customer.segments)
$view$, columns, customers_view, segment);
	ELSIF kind = 'rule' THEN
		-- the row is named customer, as the rules know it: a rule's text is
		-- spliced as it is, never rewritten
		RETURN format($view$
SELECT %1$s FROM %2$s AS customer
WHERE (%3$s
) IS TRUE
$view$, columns, customers_view,
			(SELECT r.expression FROM segment_rules r
			 WHERE r.attachment_name = a.attachment_name AND r.rule_name = segment));
	END IF;
	-- with maintained state, an RFM segment's members are among the
	-- customers whose stored segments hold it (the GIN index) and those
	-- whose stored values do not hold at the analysis time (index ranges)
	RETURN format($view$
SELECT %1$s FROM %2$s AS customer
WHERE %3$L = ANY (%4$s.segment_memberships(customer.rfm::%4$s.rfm, %5$L))%6$s
$view$, columns, customers_view, segment, ext, a.map_name,
		CASE WHEN a.state_table IS NULL THEN '' ELSE format($candidates$
  AND customer.customer_id IN (
	SELECT s.customer_id FROM %1$s s
	WHERE s.segments OPERATOR(%2$s.@>) %3$s
	UNION ALL
	SELECT s.customer_id FROM %1$s s
	WHERE s.valid_until <= %2$s.segment_as_of() OR s.valid_from > %2$s.segment_as_of())$candidates$,
			a.state_table, ext, segment_literal) END);
END
$function$;
COMMENT ON FUNCTION segment_internal.segment_view_query(@extschema@.attachments, regclass, text, text, boolean, boolean) IS
	'the query of the view of one segment''s members; it judges that segment alone';

-- The query of the segment_members view: one row per membership.
CREATE FUNCTION segment_internal.segment_members_view_query(a @extschema@.attachments, customers_view regclass)
	RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $$ SELECT format($view$
SELECT customer.customer_id, m.segment,
	   CASE WHEN m.segment = ANY (%2$L::text[]) THEN 'rfm' ELSE 'rule' END AS kind,
	   customer.order_count, customer.total_amount
FROM %1$s AS customer CROSS JOIN LATERAL unnest(customer.segments) AS m(segment)
$view$, customers_view,
		(SELECT coalesce(array_agg(s.segment), '{}') FROM attachment_segments(a.attachment_name) s WHERE s.kind = 'rfm')) $$;
COMMENT ON FUNCTION segment_internal.segment_members_view_query(@extschema@.attachments, regclass) IS
	'the query of an attachment''s segment_members view';

-- The query of the segment_summary view, one row per segment and one for
-- the customers without a primary segment: primary_* count each customer
-- once, in its primary segment (their shares add up to 1 over the map's
-- segments and that row); member_* count every customer a segment holds
-- (they overlap: a customer in several segments counts in each).
CREATE FUNCTION segment_internal.segment_summary_view_query(a @extschema@.attachments, customers_view regclass)
	RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $$ SELECT format($view$
WITH customer AS NOT MATERIALIZED (
	SELECT customer.customer_id, customer.segment, customer.segments, customer.order_count, customer.total_amount
	FROM %1$s AS customer
), membership AS (
	SELECT m.segment, count(*) AS customers, sum(customer.order_count) AS orders, sum(customer.total_amount) AS revenue
	FROM customer CROSS JOIN LATERAL unnest(customer.segments) AS m(segment)
	GROUP BY m.segment
), primary_segment AS (
	SELECT customer.segment, count(*) AS customers, sum(customer.order_count) AS orders,
		   sum(customer.total_amount) AS revenue
	FROM customer GROUP BY customer.segment
), segment_list AS (
	SELECT s.segment, s.kind, s.position
	FROM unnest(%2$L::text[], %3$L::text[]) WITH ORDINALITY AS s(segment, kind, position)
	UNION ALL
	SELECT NULL, 'unsegmented', 2147483647
), everyone AS (
	SELECT count(*) AS customers FROM customer
)
SELECT l.segment, l.kind,
	   CASE WHEN l.kind <> 'rule' THEN coalesce(p.customers, 0)::integer END AS primary_customers,
	   CASE WHEN l.kind <> 'rule' THEN coalesce(p.customers, 0)::numeric / nullif(e.customers, 0) END AS primary_share,
	   CASE WHEN l.kind <> 'rule' THEN coalesce(p.orders, 0)::numeric END AS primary_orders,
	   CASE WHEN l.kind <> 'rule' THEN coalesce(p.revenue, 0) END AS primary_revenue,
	   CASE WHEN l.kind <> 'unsegmented' THEN coalesce(m.customers, 0)::integer END AS member_customers,
	   CASE WHEN l.kind <> 'unsegmented' THEN coalesce(m.customers, 0)::numeric / nullif(e.customers, 0) END AS member_share,
	   CASE WHEN l.kind <> 'unsegmented' THEN coalesce(m.orders, 0)::numeric END AS member_orders,
	   CASE WHEN l.kind <> 'unsegmented' THEN coalesce(m.revenue, 0) END AS member_revenue,
	   round(CASE WHEN l.kind <> 'unsegmented' THEN m.revenue ELSE p.revenue END
			 / nullif(CASE WHEN l.kind <> 'unsegmented' THEN m.orders ELSE p.orders END, 0), 2) AS average_order_value
FROM segment_list l CROSS JOIN everyone e
	 LEFT JOIN membership m ON m.segment = l.segment
	 LEFT JOIN primary_segment p ON p.segment IS NOT DISTINCT FROM l.segment AND l.kind <> 'rule'
ORDER BY l.position
$view$, customers_view, l.segments, l.kinds)
		  FROM (SELECT coalesce(array_agg(s.segment), '{}') AS segments, coalesce(array_agg(s.kind), '{}') AS kinds
				FROM attachment_segments(a.attachment_name) s) l $$;
COMMENT ON FUNCTION segment_internal.segment_summary_view_query(@extschema@.attachments, regclass) IS
	'the query of an attachment''s segment_summary view';

CREATE FUNCTION segment_internal.lifecycle_summary_view_query(customers_view regclass) RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $$ SELECT format($view$
WITH customer AS NOT MATERIALIZED (
	SELECT customer.lifecycle_stage, customer.order_count, customer.total_amount FROM %1$s AS customer
)
SELECT s.stage AS lifecycle_stage, count(c.lifecycle_stage)::integer AS customers,
	   round(count(c.lifecycle_stage)::numeric / nullif((SELECT count(*) FROM customer), 0), 4) AS share_of_customers,
	   coalesce(sum(c.order_count), 0)::numeric AS orders,
	   coalesce(sum(c.total_amount), 0) AS revenue,
	   round(sum(c.total_amount) / nullif(sum(c.order_count), 0), 2) AS average_order_value
FROM %2$s.lifecycle_stages() s LEFT JOIN customer c ON c.lifecycle_stage = s.stage
GROUP BY s.stage, s.position
ORDER BY s.position
$view$, customers_view, extension_schema()) $$;
COMMENT ON FUNCTION segment_internal.lifecycle_summary_view_query(regclass) IS
	'the query of an attachment''s lifecycle_summary view';

CREATE FUNCTION segment_internal.rf_grid_view_query(a @extschema@.attachments, customers_view regclass) RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $$ SELECT format($view$
SELECT r.score AS recency_score, f.score AS frequency_score,
	   count(c.rfm_cell)::integer AS customers,
	   round(avg(c.total_amount), 2) AS average_total_amount
FROM generate_series(1, %2$s) r(score)
	 CROSS JOIN generate_series(1, %2$s) f(score)
	 LEFT JOIN %1$s c ON c.recency_score = r.score AND c.frequency_score = f.score
GROUP BY r.score, f.score
ORDER BY r.score, f.score
$view$, customers_view, a.bins) $$;
COMMENT ON FUNCTION segment_internal.rf_grid_view_query(@extschema@.attachments, regclass) IS
	'the query of an attachment''s rf_grid view';

-- A name cut to the 63 bytes PostgreSQL keeps of a name, on a character
-- boundary, so that the name compared is the name created.
CREATE FUNCTION segment_internal.clip_name(name text) RETURNS text
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT pg_catalog.left(name, pg_catalog.max(n)) FROM pg_catalog.generate_series(0, 63) n
		  WHERE pg_catalog.octet_length(pg_catalog.left(name, n)) OPERATOR(pg_catalog.<=) 63 $$;
COMMENT ON FUNCTION segment_internal.clip_name(text) IS
	'a name cut to at most 63 bytes, as PostgreSQL keeps it, without splitting a character';

-- Whether a view named in attachments.views is the attachment's own: a
-- view owned by a role with the rights of the orders table's owner, who
-- alone may change the attachment (any listed view once the orders table is
-- gone).  A view of the same name that another role created meanwhile is
-- neither replaced nor dropped.
CREATE FUNCTION segment_internal.is_attachment_view(a @extschema@.attachments, qualified text) RETURNS boolean
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $$ SELECT coalesce((SELECT v.relkind = 'v' AND qualified = ANY (a.views)
								  AND pg_has_role(v.relowner, coalesce(o.relowner, v.relowner), 'USAGE')
						   FROM pg_class v LEFT JOIN pg_class o ON o.oid = a.orders_table
						   WHERE v.oid = to_regclass(qualified)), false) $$;
COMMENT ON FUNCTION segment_internal.is_attachment_view(@extschema@.attachments, text) IS
	'whether a view is one the attachment built: listed in its views and owned by a role with the rights of the orders table''s owner';

-- Creates one view of an attachment, or replaces in place the one of the
-- same name it built before (in_place), so that views of users built on it
-- and its grants stay.  Returns the view's qualified name.
CREATE FUNCTION segment_internal.put_attachment_view(a @extschema@.attachments, view_name text, query text,
												view_comment text, in_place boolean)
	RETURNS text
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	qualified text := format('%I.%I', a.view_schema, view_name);
BEGIN
	EXECUTE format('CREATE %sVIEW %s%s AS %s',
				   CASE WHEN in_place AND is_attachment_view(a, qualified) THEN 'OR REPLACE ' ELSE '' END, qualified,
				   CASE WHEN current_setting('server_version_num')::int >= 150000
						THEN ' WITH (security_invoker = true)' ELSE '' END, query);
	EXECUTE format('COMMENT ON VIEW %s IS %L', qualified, view_comment);
	RETURN qualified;
END
$function$;
COMMENT ON FUNCTION segment_internal.put_attachment_view(@extschema@.attachments, text, text, text, boolean) IS
	'creates a view of an attachment, or replaces in place the one of the same name it built before';

-- Drops views an attachment built, dependents first; a view of a user on
-- one of them stops it with a hint.  A view of the same name that is not
-- the attachment's own is left alone.
CREATE FUNCTION segment_internal.drop_attachment_views(a @extschema@.attachments, views text[]) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	problem text;
	problem_detail text;
BEGIN
	FOR i IN REVERSE coalesce(array_upper(views, 1), 0) .. 1 LOOP
		CONTINUE WHEN NOT is_attachment_view(a, views[i]);
		BEGIN
			EXECUTE format('DROP VIEW %s', views[i]);
		EXCEPTION WHEN dependent_objects_still_exist THEN
			GET STACKED DIAGNOSTICS problem = MESSAGE_TEXT, problem_detail = PG_EXCEPTION_DETAIL;
			RAISE EXCEPTION 'a view of attachment "%" must be dropped: %', a.attachment_name, problem
				USING ERRCODE = 'dependent_objects_still_exist', DETAIL = problem_detail,
					  HINT = 'A view whose columns change, or whose segment is gone, is dropped (and built again); drop the views that use it first, and create them again after.';
		END;
	END LOOP;
END
$function$;
COMMENT ON FUNCTION segment_internal.drop_attachment_views(@extschema@.attachments, text[]) IS
	'drops views an attachment built, dependents first; views of users on them stop it';

-- Builds the views of an attachment: the customers view and the views
-- over it.  Views it built before are replaced in place while their
-- columns stay (so views of users on them stay); otherwise all are dropped
-- and created again, with their owners and the grants others had on them
-- and their columns.  Returns the views' names.
CREATE FUNCTION segment_internal.build_attachment_views(attachment_name text) RETURNS SETOF text
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	-- the rules' text is read as segment_rule_check() read it
	SET standard_conforming_strings = on
	AS $function$
DECLARE
	a attachments;
	built text[];
	granted record;
	grants_kept text[] := '{}';
	grant_views text[] := '{}';
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = build_attachment_views.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'attachment "%" does not exist', build_attachment_views.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Create it with attach().';
	END IF;
	IF current_setting('server_version_num')::int < 150000 THEN
		RAISE WARNING 'views of attachment "%" run with the rights of their owner', a.attachment_name
			USING DETAIL = 'security_invoker views need PostgreSQL 15.';
	END IF;
	BEGIN
		built := put_attachment_views(a, in_place => true);
	EXCEPTION WHEN invalid_table_definition THEN
		-- a view's columns changed (those of the customers table did, say):
		-- drop them all and build them anew, keeping their owners (where the
		-- caller may give a view to them) and what others were granted on
		-- them and on their columns
		FOR granted IN
			SELECT v.name, format('ALTER VIEW %s OWNER TO %I', v.name, pg_get_userbyid(c.relowner)) AS statement,
				   0 AS step
			FROM unnest(a.views) v(name) JOIN pg_class c ON c.oid = to_regclass(v.name)
			WHERE c.relowner <> (SELECT r.oid FROM pg_roles r WHERE r.rolname = current_user)
			  AND pg_has_role(c.relowner, 'MEMBER')
			UNION ALL
			-- on the view and on each of its columns
			SELECT v.name, format('GRANT %s%s ON %s TO %s%s', g.privilege_type,
								  CASE WHEN acl.column_name IS NULL THEN '' ELSE format(' (%I)', acl.column_name) END, v.name,
								  CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(g.grantee)) END,
								  CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END), 1
			FROM unnest(a.views) v(name)
				 JOIN pg_class c ON c.oid = to_regclass(v.name)
				 CROSS JOIN LATERAL (SELECT NULL::name, c.relacl
									 UNION ALL
									 SELECT att.attname, att.attacl FROM pg_attribute att
									 WHERE att.attrelid = c.oid AND att.attnum > 0 AND att.attacl IS NOT NULL)
					 AS acl(column_name, acl)
				 CROSS JOIN LATERAL aclexplode(acl.acl) g
			WHERE g.grantee <> c.relowner
			ORDER BY 3, 1, 2
		LOOP
			grant_views := grant_views || granted.name;
			grants_kept := grants_kept || granted.statement;
		END LOOP;
		PERFORM drop_attachment_views(a, a.views);
		built := put_attachment_views(a, in_place => false);
		FOR i IN 1 .. coalesce(array_upper(grants_kept, 1), 0) LOOP
			-- a column the view no longer has keeps no grant
			IF grant_views[i] = ANY (built) THEN
				BEGIN
					EXECUTE grants_kept[i];
				EXCEPTION WHEN undefined_column THEN
					NULL;
				END;
			END IF;
		END LOOP;
	END;
	-- the views of segments that are gone
	PERFORM drop_attachment_views(a, ARRAY(SELECT v FROM unnest(a.views) v WHERE v <> ALL (built)));
	UPDATE attachments t SET views = built WHERE t.attachment_name = a.attachment_name;
	RETURN QUERY SELECT unnest(built);
END
$function$;
COMMENT ON FUNCTION segment_internal.build_attachment_views(text) IS
	'creates the views of an attachment from its configuration, or replaces those it built before';

-- Creates every view of an attachment (or replaces those it built before,
-- in_place) and comments them and their columns.  Returns their names, in
-- the order created.
CREATE FUNCTION segment_internal.put_attachment_views(a @extschema@.attachments, in_place boolean) RETURNS text[]
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

CREATE FUNCTION segment_internal.state_values(stats @extschema@.rfm_stats, as_of timestamptz,
										 thresholds @extschema@.rfm_thresholds,
										 cell_segments @extschema@.segment_set[],
										 previous_from timestamptz, previous_until timestamptz,
										 lifecycle_limits double precision[],
										 OUT scores @extschema@.rfm, OUT lifecycle_stage text,
										 OUT segments @extschema@.segment_set, OUT scored_at timestamptz,
										 OUT valid_until timestamptz, OUT valid_from timestamptz)
	RETURNS record
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION segment_internal.state_values(@extschema@.rfm_stats, timestamptz, @extschema@.rfm_thresholds, @extschema@.segment_set[], timestamptz, timestamptz, double precision[]) IS
	'what a state row stores beside its statistics at analysis time as_of: scores against the thresholds, lifecycle stage (with the attachment''s limits, NULL for the defaults), the segments of the score''s cell (cell_segments: those of every cell, in the order of their codes), and the span time alone leaves them true (keeping the previous bounds where they still hold); NULL for NULL stats';

-- The SQL of a state row's values after customer_id, from the SQL of its
-- statistics, of the thresholds it is scored against, of the segments of
-- every score cell, of its previous span and of the lifecycle limits: one
-- row of a SELECT.
CREATE FUNCTION segment_internal.state_row_sql(stats_sql text, thresholds_sql text, cell_segments_sql text,
										  previous_from_sql text, previous_until_sql text,
										  lifecycle_limits_sql text) RETURNS text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	ext text;
BEGIN
	ext := extension_schema();
	RETURN format($row$SELECT m.stats, v.scores, v.lifecycle_stage, v.segments, v.scored_at, v.valid_until, v.valid_from
FROM (SELECT %2$s AS stats) m,
	 segment_internal.state_values(m.stats, (SELECT %1$s.segment_as_of()), %3$s, %4$s, %5$s, %6$s, %7$s) v$row$,
		ext, stats_sql, thresholds_sql, cell_segments_sql, previous_from_sql, previous_until_sql, lifecycle_limits_sql);
END
$function$;
COMMENT ON FUNCTION segment_internal.state_row_sql(text, text, text, text, text, text) IS
	'the SQL of the values of a state row after customer_id, given the SQL of its statistics, of the thresholds, of the segments of every score cell, of its previous span and of the lifecycle limits; every statement that writes state rows uses it';

-- The SQL of a column of an attachment's row, read when a statement runs.
CREATE OR REPLACE FUNCTION segment_internal.attachment_value_sql(attachment_name text, column_name name) RETURNS text
	LANGUAGE sql STABLE STRICT
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT format('(SELECT t.%I FROM %s.attachments t WHERE t.attachment_name OPERATOR(pg_catalog.=) %L)',
						column_name, segment_internal.extension_schema(), attachment_name) $$;
COMMENT ON FUNCTION segment_internal.attachment_value_sql(text, name) IS
	'the SQL of a column of an attachment''s row (its thresholds, the segments of its cells), read when a statement runs';

-- The statements that write the state of a maintained attachment, for
-- keys, times and amounts of these types (NULL: the orders columns' own):
-- see src/state_fold.c.  The merge takes the stored thresholds, the
-- segments of the score cells and the lifecycle limits as $5 to $7, the
-- one-order merge as $4 to $6, the derive as $2 to $4 (the fold reads them
-- from the attachment once it holds the state table's lock).  No row if
-- the attachment is not maintained.
CREATE OR REPLACE FUNCTION segment_internal.state_statements(attachment_name text, key_type regtype, time_type regtype,
											 amount_type regtype)
	RETURNS TABLE (merge text, merge_one text, derive text, clear text, refill text, rescore text,
				   rescore_expired text, owner oid, problem text, relations oid[])
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	ext text;
	state text;
	orders text;
	columns text := 'stats, scores, lifecycle_stage, segments, scored_at, valid_until, valid_from';
	stats_of_orders text;
	key_collation text := '';
BEGIN
	SELECT * INTO a FROM attachments t
	WHERE t.attachment_name = state_statements.attachment_name AND t.state_table IS NOT NULL;
	IF NOT FOUND OR NOT relation_exists(a.state_table) THEN
		RETURN;
	END IF;
	ext := extension_schema();
	SELECT format('%I.%I', n.nspname, c.relname), c.relowner INTO state, owner
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = a.state_table;
	SELECT format('%I.%I', n.nspname, c.relname),
		   CASE WHEN c.relrowsecurity THEN format('Table %s has row-level security enabled: the state would hold the orders its policies hide.', c.relname) END
	INTO orders, problem
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = a.orders_table;
	key_type := coalesce(key_type, column_type(a.orders_table, a.customer_column));
	-- the merge sorts the keys as the state's key column sorts them, as a
	-- refresh locks its rows
	SELECT format(' COLLATE %I.%I', n.nspname, c.collname) INTO key_collation
	FROM pg_attribute att JOIN pg_collation c ON c.oid = att.attcollation JOIN pg_namespace n ON n.oid = c.collnamespace
	WHERE att.attrelid = a.state_table AND att.attname = 'customer_id';
	key_collation := coalesce(key_collation, '');
	-- the keys recorded go into the state's key column as they are, and
	-- every column must be of the type the statements write
	IF key_type IS DISTINCT FROM column_type(a.state_table, 'customer_id') THEN
		problem := format('Its keys are of type %s, its state''s of type %s.',
						  key_type, column_type(a.state_table, 'customer_id'));
	END IF;
	SELECT coalesce(problem, format('Column %I of %s is of type %s, not %s.', c.name, a.state_table,
									coalesce(column_type(a.state_table, c.name)::text, 'missing'), c.type))
	INTO problem
	FROM (VALUES ('stats'::name, 'rfm_stats'::regtype), ('scores', 'rfm'), ('lifecycle_stage', 'text'),
				 ('segments', 'segment_set'), ('scored_at', 'timestamptz'), ('valid_until', 'timestamptz'),
				 ('valid_from', 'timestamptz')) c(name, type)
	WHERE column_type(a.state_table, c.name) IS DISTINCT FROM c.type
	LIMIT 1;
	relations := ARRAY[a.orders_table, a.state_table,
					   (SELECT c.oid FROM pg_class c WHERE c.relname = 'attachments'
						AND c.relnamespace = (SELECT e.extnamespace FROM pg_extension e WHERE e.extname = 'segment'))];
	time_type := coalesce(time_type, column_type(a.orders_table, a.order_time_column));
	amount_type := coalesce(amount_type, column_type(a.orders_table, a.amount_column));
	stats_of_orders := format('%s.rfm_stats(%s, (o.%I)::pg_catalog.numeric) FILTER (WHERE o.%I IS NOT NULL)',
							  ext, order_time_sql(format('o.%I', a.order_time_column),
												  column_type(a.orders_table, a.order_time_column), a.time_zone),
							  a.amount_column, a.order_time_column);

	-- the arrays unnested in the select list, in step, and not in FROM,
	-- where each would be kept in a tuplestore first
	merge := format($sql$WITH event AS (
	SELECT e.customer_id, e.changed, %1$s AS order_time, (e.amount)::pg_catalog.numeric AS amount
	FROM (SELECT pg_catalog.unnest($1::%2$s[])%10$s AS customer_id, pg_catalog.unnest($2::%3$s[]) AS order_time,
				 pg_catalog.unnest($3::%4$s[]) AS amount, pg_catalog.unnest($4::pg_catalog.bool[]) AS changed) e
), change AS (
	SELECT e.customer_id, pg_catalog.bool_or(e.changed) AS changed,
		   %5$s.rfm_stats(e.order_time, e.amount) FILTER (WHERE NOT e.changed) AS added
	FROM event e GROUP BY e.customer_id
)
INSERT INTO %6$s AS s (customer_id, %7$s)
SELECT c.customer_id, r.* FROM change c,
	LATERAL (%8$s
			 WHERE NOT c.changed
			 UNION ALL
			 SELECT %5$s.rfm_stats_of_order('epoch', 0), NULL, NULL, '{}', NULL, NULL, NULL
			 WHERE c.changed) r
ORDER BY c.customer_id
ON CONFLICT (customer_id) DO UPDATE SET (%7$s) = (%9$s)
WHERE excluded.scored_at IS NOT NULL$sql$,
		order_time_sql('e.order_time', time_type, a.time_zone),
		format_type(key_type, NULL), format_type(time_type, NULL), format_type(amount_type, NULL),
		ext, state, columns,
		state_row_sql('c.added', '$5', '$6', 'NULL', 'NULL', '$7'),
		state_row_sql(format('%s.rfm_stats_combine(s.stats, excluded.stats)', ext), '$5', '$6',
					  's.valid_from', 's.valid_until', '$7'),
		key_collation);

	-- the same for one order, the most common transaction, in a statement
	-- with less to start: $1 key, $2 time, $3 amount, $4 thresholds, $5 cells
	merge_one := format($sql$INSERT INTO %1$s AS s (customer_id, %2$s)
SELECT $1::%3$s, r.* FROM (%4$s) r
ON CONFLICT (customer_id) DO UPDATE SET (%2$s) = (%5$s)$sql$,
		state, columns, format_type(key_type, NULL),
		state_row_sql(format('%s.rfm_stats_of_order(%s, ($3::%s)::pg_catalog.numeric)', ext,
							 order_time_sql(format('$2::%s', format_type(time_type, NULL)), time_type, a.time_zone),
							 format_type(amount_type, NULL)),
					  '$4', '$5', 'NULL', 'NULL', '$6'),
		state_row_sql(format('%s.rfm_stats_combine(s.stats, excluded.stats)', ext), '$4', '$5',
					  's.valid_from', 's.valid_until', '$6'));

	derive := format($sql$WITH fresh AS (
	SELECT k.customer_id,
		   (SELECT %1$s FROM %2$s o WHERE o.%3$I OPERATOR(pg_catalog.=) k.customer_id) AS stats
	FROM (SELECT DISTINCT u.customer_id FROM pg_catalog.unnest($1::%4$s[]) AS u(customer_id)) k
), gone AS (
	DELETE FROM %5$s s USING fresh f
	WHERE s.customer_id OPERATOR(pg_catalog.=) f.customer_id AND f.stats IS NULL
)
UPDATE %5$s s SET (%6$s) = (%7$s)
FROM fresh f WHERE s.customer_id OPERATOR(pg_catalog.=) f.customer_id AND f.stats IS NOT NULL$sql$,
		stats_of_orders, orders, a.customer_column, format_type(key_type, NULL), state, columns,
		state_row_sql('f.stats', '$2', '$3', 's.valid_from', 's.valid_until', '$4'));

	clear := format('DELETE FROM %s', state);

	refill := format($sql$WITH fresh AS MATERIALIZED (
	SELECT o.%1$I AS customer_id, %2$s AS stats
	FROM %3$s o WHERE o.%1$I IS NOT NULL GROUP BY o.%1$I
), gone AS (
	DELETE FROM %4$s s
	WHERE NOT EXISTS (SELECT FROM fresh f WHERE f.customer_id OPERATOR(pg_catalog.=) s.customer_id AND f.stats IS NOT NULL)
)
INSERT INTO %4$s AS s (customer_id, %5$s)
SELECT f.customer_id, r.* FROM fresh f, LATERAL (%6$s) r WHERE f.stats IS NOT NULL
ON CONFLICT (customer_id) DO UPDATE SET (%5$s) =
	(excluded.stats, excluded.scores, excluded.lifecycle_stage, excluded.segments, excluded.scored_at,
	 excluded.valid_until, excluded.valid_from)$sql$,
		a.customer_column, stats_of_orders, orders, state, columns,
		state_row_sql('f.stats', attachment_value_sql(a.attachment_name, 'thresholds'),
					  attachment_value_sql(a.attachment_name, 'cell_segments'), 'NULL', 'NULL',
					  attachment_value_sql(a.attachment_name, 'lifecycle_limits')));
	-- every row scored again, or those whose stored values expired, locked
	-- in key order as the fold of orders locks them, so that the two never
	-- deadlock
	rescore := format($sql$UPDATE %1$s s SET (%2$s) = (%3$s)
FROM (SELECT k.customer_id FROM %1$s k%4$s ORDER BY k.customer_id FOR UPDATE) k
WHERE s.customer_id OPERATOR(pg_catalog.=) k.customer_id$sql$,
		state, columns,
		state_row_sql('s.stats', attachment_value_sql(a.attachment_name, 'thresholds'),
					  attachment_value_sql(a.attachment_name, 'cell_segments'), 's.valid_from', 's.valid_until',
					  attachment_value_sql(a.attachment_name, 'lifecycle_limits')),
		'');
	rescore_expired := format($sql$UPDATE %1$s s SET (%2$s) = (%3$s)
FROM (SELECT k.customer_id FROM %1$s k%4$s ORDER BY k.customer_id FOR UPDATE) k
WHERE s.customer_id OPERATOR(pg_catalog.=) k.customer_id$sql$,
		state, columns,
		state_row_sql('s.stats', attachment_value_sql(a.attachment_name, 'thresholds'),
					  attachment_value_sql(a.attachment_name, 'cell_segments'), 's.valid_from', 's.valid_until',
					  attachment_value_sql(a.attachment_name, 'lifecycle_limits')),
		format(' WHERE k.valid_until IS NULL OR k.valid_until OPERATOR(pg_catalog.<=) %1$s.segment_as_of() '
			   'OR k.valid_from OPERATOR(pg_catalog.>) %1$s.segment_as_of()', ext));
	RETURN NEXT;
END
$function$;
COMMENT ON FUNCTION segment_internal.state_statements(text, regtype, regtype, regtype) IS
	'the statements that write the state of a maintained attachment: merge recorded orders, derive changed customers again, clear, refill from all orders, score every customer or the expired ones again';

-- Locks the state table of a maintained attachment against writers, with
-- those of the other maintained attachments of its orders table, in the
-- order of their names: the order in which a transaction that writes the
-- orders writes their states at commit, so that the two never deadlock.
CREATE OR REPLACE FUNCTION segment_internal.lock_state_tables(attachment_name text) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	state regclass;
BEGIN
	FOR state IN
		SELECT t.state_table FROM attachments t
		WHERE t.state_table IS NOT NULL
		  AND t.orders_table = (SELECT o.orders_table FROM attachments o
								WHERE o.attachment_name = lock_state_tables.attachment_name)
		  AND (t.attachment_name = lock_state_tables.attachment_name OR owns_relation(t.state_table))
		ORDER BY t.attachment_name COLLATE "C"
	LOOP
		EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', state);
	END LOOP;
END
$function$;
COMMENT ON FUNCTION segment_internal.lock_state_tables(text) IS
	'locks the state tables of the maintained attachments of an attachment''s orders table against writers, in the order writers take them';

-- The RFM segments of every score cell of an attachment's map, in the order
-- of the cells' codes, stored in the attachment for the state to be written
-- with.  True if they changed.
CREATE OR REPLACE FUNCTION segment_internal.fill_segment_cells(attachment_name text) RETURNS boolean
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	wanted segment_set[];
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = fill_segment_cells.attachment_name;
	IF NOT FOUND OR a.state_table IS NULL THEN
		RAISE EXCEPTION 'attachment "%" is not maintained', fill_segment_cells.attachment_name
			USING ERRCODE = 'undefined_object';
	END IF;
	SELECT array_agg(segment_set(segment_memberships(make_rfm(r, f, m), a.map_name)) ORDER BY r, f, m) INTO wanted
	FROM generate_series(1, a.bins) r, generate_series(1, a.bins) f, generate_series(1, a.bins) m;
	IF wanted IS NOT DISTINCT FROM a.cell_segments THEN
		RETURN false;
	END IF;
	-- writers wait until the customers are rescored against the new cells
	PERFORM lock_state_tables(a.attachment_name);
	UPDATE attachments t SET cell_segments = wanted WHERE t.attachment_name = a.attachment_name;
	RETURN true;
END
$function$;
COMMENT ON FUNCTION segment_internal.fill_segment_cells(text) IS
	'stores the RFM segments of every score cell of a maintained attachment''s map in attachments.cell_segments; true if they changed';

-- Stores again the scores, stage, segments and validity of the customers
-- of a maintained attachment: all of them, or those whose stored values
-- have expired by segment_as_of().  Returns the number of rows rewritten.
CREATE OR REPLACE FUNCTION segment_internal.rescore_state(attachment_name text, only_expired boolean) RETURNS bigint
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	rewritten bigint;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = rescore_state.attachment_name;
	IF NOT FOUND OR a.state_table IS NULL THEN
		RAISE EXCEPTION 'attachment "%" is not maintained', rescore_state.attachment_name
			USING ERRCODE = 'undefined_object';
	END IF;
	rewritten := run_state_statement(a.attachment_name,
									 CASE WHEN only_expired THEN 'rescore_expired' ELSE 'rescore' END);
	RETURN rewritten;
END
$function$;
COMMENT ON FUNCTION segment_internal.rescore_state(text, boolean) IS
	'stores again the scores, stage and segments of all customers of a maintained attachment, or of those whose stored values expired';

CREATE OR REPLACE FUNCTION @extschema@.refresh_due_segments(attachment_name text) RETURNS bigint
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
BEGIN
	RETURN rescore_state(refresh_due_segments.attachment_name, only_expired => true);
END
$function$;
COMMENT ON FUNCTION @extschema@.refresh_due_segments(text) IS
	'stores again the segments of the customers of a maintained attachment whom time alone has moved since they were stored (valid_until passed); returns how many';

-- Why the orders table of an attachment cannot have maintained state, in a
-- sentence; NULL if it can.
CREATE OR REPLACE FUNCTION segment_internal.state_obstacle(attachment_name text) RETURNS text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	orders pg_class;
	key_collation oid;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = state_obstacle.attachment_name;
	SELECT * INTO orders FROM pg_class c WHERE c.oid = a.orders_table;
	IF orders.relkind NOT IN ('r', 'p') THEN
		RETURN format('%s is not a table: only tables have triggers that record their orders.', a.orders_table);
	END IF;
	IF orders.relrowsecurity THEN
		RETURN format('%s has row-level security enabled: the state would hold the orders its policies hide from readers.',
					  a.orders_table);
	END IF;
	IF column_type(a.orders_table, a.order_time_column) NOT IN
	   ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype) THEN
		RETURN format('Column %I of %s is of type %s, not timestamp with time zone, timestamp or date.',
					  a.order_time_column, a.orders_table, column_type(a.orders_table, a.order_time_column));
	END IF;
	-- the state compares keys with pg_catalog's equality, which must be the
	-- type's own (not, say, citext's through a cast to text)
	IF (SELECT t.typnamespace FROM pg_type t
		WHERE t.oid = coalesce(nullif((SELECT b.typbasetype FROM pg_type b
									   WHERE b.oid = column_type(a.orders_table, a.customer_column)), 0),
							   column_type(a.orders_table, a.customer_column))) <> 'pg_catalog'::regnamespace THEN
		RETURN format('Column %I of %s is of type %s: a customer key of a type of PostgreSQL''s own, such as bigint, text or uuid, can be maintained.',
					  a.customer_column, a.orders_table, column_type(a.orders_table, a.customer_column));
	END IF;
	SELECT att.attcollation INTO key_collation FROM pg_attribute att
	WHERE att.attrelid = a.orders_table AND att.attname = a.customer_column;
	IF EXISTS (SELECT 1 FROM pg_collation c WHERE c.oid = key_collation AND NOT c.collisdeterministic) THEN
		RETURN format('Column %I of %s has a nondeterministic collation: keys it calls equal would be one customer to the orders and two to the state.',
					  a.customer_column, a.orders_table);
	END IF;
	RETURN NULL;
END
$function$;
COMMENT ON FUNCTION segment_internal.state_obstacle(text) IS
	'why the orders table of an attachment cannot have maintained state (not a table, row-level security, a nondeterministic collation of the key); NULL if it can';

-- The triggers that record the writes of orders: a row trigger on the
-- orders table, which PostgreSQL clones to every partition, present and
-- future; TRUNCATE triggers on the table and on each partition, which are
-- not cloned.
CREATE OR REPLACE FUNCTION segment_internal.install_state_triggers(attachment_name text) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	trigger_name text;
	partition regclass;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = install_state_triggers.attachment_name;
	trigger_name := 'segment_' || a.attachment_name || '_state';
	IF NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = a.orders_table AND t.tgname = trigger_name) THEN
		EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW '
					   'EXECUTE FUNCTION segment_internal.segment_state_trigger(%L)',
					   trigger_name, a.orders_table, a.attachment_name);
		EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %s FOR EACH STATEMENT '
					   'EXECUTE FUNCTION segment_internal.segment_state_trigger(%L)',
					   trigger_name || '_truncate', a.orders_table, a.attachment_name);
	END IF;
	FOREACH partition IN ARRAY orders_partitions(a.orders_table) LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = partition AND t.tgname = trigger_name || '_truncate')
		   AND (SELECT c.relkind FROM pg_class c WHERE c.oid = partition) = 'r' THEN
			EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %s FOR EACH STATEMENT '
						   'EXECUTE FUNCTION segment_internal.segment_state_trigger(%L)',
						   trigger_name || '_truncate', partition, a.attachment_name);
		END IF;
	END LOOP;
END
$function$;
COMMENT ON FUNCTION segment_internal.install_state_triggers(text) IS
	'creates the triggers that record the writes of the orders of a maintained attachment, on the table and each partition';

-- Derives the state of every customer again from all the orders, now.
CREATE OR REPLACE FUNCTION @extschema@.rebuild_state(attachment_name text) RETURNS bigint
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = rebuild_state.attachment_name;
	IF NOT FOUND OR a.state_table IS NULL THEN
		RAISE EXCEPTION 'attachment "%" is not maintained', rebuild_state.attachment_name
			USING ERRCODE = 'undefined_object';
	END IF;
	-- no order may change meanwhile: writers wait, and so does this for them;
	-- nor may a refresh rewrite state rows in another order
	EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', a.orders_table);
	PERFORM lock_state_tables(a.attachment_name);
	RETURN run_state_statement(a.attachment_name, 'refill');
END
$function$;
COMMENT ON FUNCTION @extschema@.rebuild_state(text) IS
	'derives the state of every customer of a maintained attachment again from all its orders; returns the rows written';

CREATE OR REPLACE FUNCTION @extschema@.maintain_attachment(attachment_name text) RETURNS regclass
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	state text;
	ext text;
	key_type text;
	key_collation text;
	obstacle text;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = maintain_attachment.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'attachment "%" does not exist', maintain_attachment.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Create it with attach().';
	END IF;
	IF a.state_table IS NOT NULL THEN
		RAISE EXCEPTION 'attachment "%" is already maintained in %', a.attachment_name, a.state_table
			USING ERRCODE = 'duplicate_object';
	END IF;
	obstacle := state_obstacle(a.attachment_name);
	IF obstacle IS NOT NULL THEN
		RAISE EXCEPTION 'cannot maintain the state of attachment "%"', a.attachment_name
			USING ERRCODE = 'feature_not_supported', DETAIL = obstacle,
				  HINT = 'Its views compute every customer from the orders when read.';
	END IF;
	state := format('%I.%I', a.view_schema, a.attachment_name || '_state');
	key_type := format_type(column_type(a.orders_table, a.customer_column), NULL);
	SELECT CASE WHEN att.attcollation <> 0 THEN format(' COLLATE %I.%I', n.nspname, c.collname) ELSE '' END
	INTO key_collation
	FROM pg_attribute att LEFT JOIN pg_collation c ON c.oid = att.attcollation
		 LEFT JOIN pg_namespace n ON n.oid = c.collnamespace
	WHERE att.attrelid = a.orders_table AND att.attname = a.customer_column;

	-- no order may change between filling the state and the triggers' start
	EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', a.orders_table);
	ext := extension_schema();
	-- room on every page, so that the update of a row whose indexed
	-- columns stay (segments and the bounds of validity, which the fold
	-- keeps when it can) is a heap-only update, without index entries
	EXECUTE format('CREATE TABLE %s (customer_id %s%s PRIMARY KEY, stats %s.rfm_stats NOT NULL, '
				   'scores %s.rfm, lifecycle_stage text, segments %s.segment_set NOT NULL DEFAULT ''{}'', '
				   'scored_at timestamptz, valid_until timestamptz, valid_from timestamptz) '
				   'WITH (fillfactor = 80)',
				   state, key_type, key_collation, ext, ext, ext);
	EXECUTE format('CREATE INDEX ON %s USING gin (segments)', state);
	-- the rows whose stored values do not hold at an analysis time
	EXECUTE format('CREATE INDEX ON %s (valid_until)', state);
	EXECUTE format('CREATE INDEX ON %s (valid_from)', state);
	PERFORM comment_relation(state,
		format('per-customer statistics of %s and what they give, written when each transaction that writes orders commits (segment attachment %s)',
			   a.orders_table, a.attachment_name),
		'customer_id', 'the customer''s key',
		'stats', 'rfm_stats of all the customer''s orders',
		'scores', 'RFM scores against the attachment''s stored thresholds, at scored_at',
		'lifecycle_stage', 'lifecycle stage at scored_at',
		'segments', 'RFM segments of the map at scored_at (GIN indexed)',
		'scored_at', 'the analysis time (segment_as_of()) scores, stage and segments were computed at',
		'valid_until', 'until when time alone leaves scores, stage and segments as stored; refresh_due_segments() rewrites rows past it',
		'valid_from', 'since when scores, stage and segments have been as stored (at or before scored_at)');

	UPDATE attachments t
	SET state_table = state::regclass,
		orders_partitions = orders_partitions(a.orders_table),
		orders_types = ARRAY[column_type(a.orders_table, a.order_time_column),
							 column_type(a.orders_table, a.amount_column)]
	WHERE t.attachment_name = a.attachment_name;
	PERFORM install_state_triggers(a.attachment_name);
	PERFORM fill_segment_cells(a.attachment_name);
	PERFORM rebuild_state(a.attachment_name);
	IF NOT EXISTS (SELECT 1 FROM pg_index i
				   WHERE i.indrelid = a.orders_table
					 AND i.indkey[0] = (SELECT att.attnum FROM pg_attribute att
										WHERE att.attrelid = a.orders_table AND att.attname = a.customer_column)) THEN
		RAISE WARNING 'no index on %(%) leads with the customer column', a.orders_table, a.customer_column
			USING DETAIL = 'Updating or deleting an order reads all orders of its customer.',
				  HINT = format('CREATE INDEX ON %s (%I)', a.orders_table, a.customer_column);
	END IF;
	PERFORM refresh_attachment_thresholds(a.attachment_name);
	-- the attribute-rule segments of the customers, stored when the
	-- customers table allows it
	IF a.customers_table IS NOT NULL THEN
		obstacle := customer_tags_obstacle(a.attachment_name);
		IF obstacle IS NULL THEN
			PERFORM refresh_customer_tags(a.attachment_name);
		ELSE
			RAISE WARNING 'rule segments of attachment "%" are judged when read, not stored', a.attachment_name
				USING DETAIL = obstacle,
					  HINT = CASE WHEN (SELECT c.relkind FROM pg_class c WHERE c.oid = a.customers_table) IN ('r', 'p')
								  THEN 'Give the customers table a primary key, then call refresh_customer_tags().'
								  ELSE 'Attach the customers table itself, not a view of it, to have the attribute rules stored.' END;
		END IF;
	END IF;
	PERFORM build_attachment_views(a.attachment_name);
	RETURN state::regclass;
END
$function$;
COMMENT ON FUNCTION @extschema@.maintain_attachment(text) IS
	'creates the per-customer state table of an attachment, fills it, has every transaction that writes orders keep it current as it commits, and makes the views read it';

-- Drops the triggers of the state of an attachment, wherever they are.
CREATE OR REPLACE FUNCTION segment_internal.drop_state_triggers(attachment_name text) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	found record;
BEGIN
	-- the row trigger's clones go with it, the truncate triggers one by one
	FOR found IN
		SELECT t.tgname, t.tgrelid::regclass AS relation FROM pg_trigger t
		WHERE t.tgname IN ('segment_' || attachment_name || '_state', 'segment_' || attachment_name || '_state_truncate')
		  AND t.tgparentid = 0
		ORDER BY t.tgname
	LOOP
		EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', found.tgname, found.relation);
	END LOOP;
END
$function$;
COMMENT ON FUNCTION segment_internal.drop_state_triggers(text) IS
	'drops the triggers that record the writes of the orders of an attachment, on the table and its partitions';

CREATE OR REPLACE FUNCTION @extschema@.stop_maintaining(attachment_name text, rebuild_views boolean DEFAULT true) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	trigger_name name;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = stop_maintaining.attachment_name;
	IF NOT FOUND OR a.state_table IS NULL THEN
		RAISE EXCEPTION 'attachment "%" is not maintained', stop_maintaining.attachment_name
			USING ERRCODE = 'undefined_object';
	END IF;
	PERFORM drop_state_triggers(a.attachment_name);
	-- the tags' triggers exist while the attachment has attribute rules
	FOR trigger_name IN
		SELECT t.tgname FROM pg_trigger t
		WHERE a.tags_table IS NOT NULL AND t.tgrelid = a.customers_table
		  AND t.tgname IN ('segment_' || a.attachment_name || '_tags', 'segment_' || a.attachment_name || '_tags_truncate')
	LOOP
		EXECUTE format('DROP TRIGGER %I ON %s', trigger_name, a.customers_table);
	END LOOP;
	UPDATE attachments t
	SET state_table = NULL, cell_segments = NULL, thresholds = NULL, population_average_order_value = NULL,
		thresholds_as_of = NULL, tags_table = NULL, orders_partitions = NULL, orders_types = NULL
	WHERE t.attachment_name = a.attachment_name;
	IF rebuild_views THEN
		PERFORM build_attachment_views(a.attachment_name);
	END IF;
	-- by OID: the tables may have moved to another schema
	IF relation_exists(a.state_table) THEN
		EXECUTE format('DROP TABLE %s', a.state_table);
	END IF;
	IF relation_exists(a.tags_table) THEN
		EXECUTE format('DROP TABLE %s', a.tags_table);
	END IF;
END
$function$;
COMMENT ON FUNCTION @extschema@.stop_maintaining(text, boolean) IS
	'drops the triggers, the state table and the customer tags of an attachment; its views read the orders again';

CREATE OR REPLACE FUNCTION @extschema@.refresh_attachment_thresholds(attachment_name text) RETURNS @extschema@.rfm_thresholds
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	result rfm_thresholds;
	average numeric;
	as_of timestamptz;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = refresh_attachment_thresholds.attachment_name;
	IF NOT FOUND OR a.state_table IS NULL THEN
		RAISE EXCEPTION 'attachment "%" is not maintained', refresh_attachment_thresholds.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Thresholds are stored for maintained attachments: maintain_attachment().';
	END IF;
	-- writers wait until the customers are rescored against the new
	-- thresholds; the analysis time is read once the lock is granted
	PERFORM lock_state_tables(a.attachment_name);
	as_of := segment_as_of();
	-- the population is the customers view's: with a customers table, its
	-- rows that have orders (as the views of an unmaintained attachment
	-- score), not the customers whose orders it lacks.  A customer with
	-- orders after the analysis time counts with those at or before it,
	-- as the views count it.
	EXECUTE format('SELECT rfm_thresholds(s.stats, $1, $2),
					   sum(total_amount(s.stats)) / sum(order_count(s.stats))
					FROM (%s) s%s', state_stats_at_sql(a.attachment_name, '$1'),
				   CASE WHEN a.customers_table IS NULL THEN ''
						ELSE format(' JOIN %s c ON c.%I = s.customer_id', a.customers_table, a.customer_key) END)
		INTO result, average USING as_of, a.bins;
	UPDATE attachments t
	SET thresholds = result, population_average_order_value = average, thresholds_as_of = as_of
	WHERE t.attachment_name = a.attachment_name;
	IF NOT FOUND THEN
		-- row-level security hides other roles' attachments from updates
		RAISE EXCEPTION 'permission denied to refresh attachment "%"', a.attachment_name
			USING ERRCODE = 'insufficient_privilege', HINT = 'Its owner refreshes it.';
	END IF;
	PERFORM rescore_state(a.attachment_name, only_expired => false);
	RETURN result;
END
$function$;
COMMENT ON FUNCTION @extschema@.refresh_attachment_thresholds(text) IS
	'computes the score thresholds of a maintained attachment from the state of the customers its customers view lists, at segment_as_of(), stores them and rescores every customer against them; writers of orders wait meanwhile';

-- The statistics of a customer of a maintained attachment as of an
-- analysis time before the customer's last order: those of the orders at
-- or before it, NULL if none.  Read through the orders table, which the
-- views of a maintained attachment otherwise do not read (so that they do
-- not hold its columns against ALTER TABLE).
CREATE OR REPLACE FUNCTION segment_internal.state_stats_at(attachment_name text, customer anyelement, as_of timestamptz)
	RETURNS @extschema@.rfm_stats
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	order_time text;
	result rfm_stats;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = state_stats_at.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'attachment "%" does not exist', state_stats_at.attachment_name
			USING ERRCODE = 'undefined_object';
	END IF;
	order_time := order_time_sql(format('o.%I', a.order_time_column),
								 column_type(a.orders_table, a.order_time_column), a.time_zone);
	EXECUTE format('SELECT rfm_stats(%1$s, o.%2$I::numeric) FILTER (WHERE o.%3$I IS NOT NULL) FROM %4$s o '
				   'WHERE o.%5$I = $1 AND %1$s <= $2',
				   order_time, a.amount_column, a.order_time_column, a.orders_table, a.customer_column)
		INTO result USING customer, as_of;
	RETURN result;
END
$function$;
COMMENT ON FUNCTION segment_internal.state_stats_at(text, anyelement, timestamptz) IS
	'the statistics of a customer of a maintained attachment from the orders at or before as_of; for customers whose last order is later';

-- The SQL of (customer_id, stats) of a maintained attachment's customers as
-- of an analysis time (the SQL of a timestamptz): the stored statistics, or
-- for a customer whose last order is later, those of the orders at or
-- before it.  A customer without orders by then has no row.
CREATE OR REPLACE FUNCTION segment_internal.state_stats_at_sql(attachment_name text, as_of_sql text) RETURNS text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	ext text;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = state_stats_at_sql.attachment_name;
	ext := extension_schema();
	RETURN format($sql$SELECT k.customer_id, k.stats FROM (
	SELECT s.customer_id,
		   CASE WHEN %1$s.last_order_time(s.stats) OPERATOR(pg_catalog.<=) %2$s THEN s.stats
				ELSE segment_internal.state_stats_at(%3$L, s.customer_id, %2$s) END AS stats
	FROM %4$s s) k WHERE k.stats IS NOT NULL$sql$,
		ext, as_of_sql, a.attachment_name, a.state_table);
END
$function$;
COMMENT ON FUNCTION segment_internal.state_stats_at_sql(text, text) IS
	'the SQL of the statistics of a maintained attachment''s customers at an analysis time: stored, or from the orders for customers with later orders';

-- Follows what ALTER TABLE and CREATE TABLE do to the orders tables of
-- maintained attachments: a partition attached, created or detached has
-- its customers derived again and gets a TRUNCATE trigger; a changed type
-- of the order time or amount derives every customer again; the customer
-- column's type may not change.
CREATE OR REPLACE FUNCTION segment_internal.follow_orders_ddl_changes() RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	now_partitions regclass[];
	now_types regtype[];
	partition regclass;
	obstacle text;
BEGIN
	-- a role that cannot read the attachments has none
	IF NOT readable_attachments() THEN
		RETURN;
	END IF;
	-- stored tags would list customers the policies of the customers table hide
	FOR a IN
		SELECT t.* FROM attachments t JOIN pg_class c ON c.oid = t.customers_table
		WHERE t.tags_table IS NOT NULL AND c.relrowsecurity
		  AND EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands() d
					  WHERE d.classid = 'pg_class'::regclass AND d.objid = t.customers_table)
	LOOP
		RAISE EXCEPTION 'attachment "%" stores the rule segments of the customers of %', a.attachment_name, a.customers_table
			USING ERRCODE = 'object_in_use',
				  DETAIL = 'Its tags table would list customers the row-level security of the table hides.',
				  HINT = format('Call stop_maintaining(%L) first; maintain_attachment(%L) then judges rules when read.',
								a.attachment_name, a.attachment_name);
	END LOOP;
	FOR a IN
		SELECT t.* FROM attachments t
		WHERE t.state_table IS NOT NULL
		  AND EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands() c
					  WHERE c.classid = 'pg_class'::regclass
						AND (c.objid = t.orders_table
							 OR EXISTS (SELECT 1 FROM pg_partition_ancestors(c.objid::regclass) p
										WHERE p.relid = t.orders_table)))
		ORDER BY t.attachment_name
	LOOP
		IF column_type(a.orders_table, a.customer_column) IS DISTINCT FROM column_type(a.state_table, 'customer_id') THEN
			RAISE EXCEPTION 'column "%" of % is the customer key of maintained attachment "%"',
				a.customer_column, a.orders_table, a.attachment_name
				USING ERRCODE = 'object_in_use',
					  DETAIL = 'Its state table holds keys of the type it had.',
					  HINT = format('Call stop_maintaining(%L) first, and maintain_attachment(%L) after.',
									a.attachment_name, a.attachment_name);
		END IF;
		obstacle := state_obstacle(a.attachment_name);
		IF obstacle IS NOT NULL AND column_type(a.orders_table, a.order_time_column) IS NOT NULL THEN
			RAISE EXCEPTION 'cannot maintain the state of attachment "%"', a.attachment_name
				USING ERRCODE = 'object_in_use', DETAIL = obstacle,
					  HINT = format('Call stop_maintaining(%L) first.', a.attachment_name);
		END IF;
		now_partitions := orders_partitions(a.orders_table);
		now_types := ARRAY[column_type(a.orders_table, a.order_time_column),
						   column_type(a.orders_table, a.amount_column)];
		IF now_partitions IS NOT DISTINCT FROM a.orders_partitions AND now_types IS NOT DISTINCT FROM a.orders_types THEN
			CONTINUE;
		END IF;
		UPDATE attachments t SET orders_partitions = now_partitions, orders_types = now_types
		WHERE t.attachment_name = a.attachment_name;
		-- a column renamed away: writes fail until it is back
		CONTINUE WHEN now_types[1] IS NULL OR now_types[2] IS NULL;
		PERFORM install_state_triggers(a.attachment_name);
		IF now_types IS DISTINCT FROM a.orders_types
		   OR EXISTS (SELECT 1 FROM unnest(a.orders_partitions) p WHERE NOT relation_exists(p)) THEN
			PERFORM rebuild_state(a.attachment_name);
			CONTINUE;
		END IF;
		-- attached or created, and detached: their customers; a detached
		-- table keeps no trigger of the attachment
		FOR partition IN
			SELECT p FROM unnest(now_partitions) p WHERE p <> ALL (coalesce(a.orders_partitions, '{}'))
			UNION ALL
			SELECT p FROM unnest(a.orders_partitions) p WHERE p <> ALL (now_partitions)
		LOOP
			IF (SELECT c.relkind FROM pg_class c WHERE c.oid = partition) = 'r' THEN
				PERFORM state_derive_again(a.attachment_name, partition);
			END IF;
			IF partition <> ALL (now_partitions) THEN
				EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', 'segment_' || a.attachment_name || '_state_truncate',
							   partition);
			END IF;
		END LOOP;
	END LOOP;
END
$function$;
COMMENT ON FUNCTION segment_internal.follow_orders_ddl_changes() IS
	'what follow_orders_ddl() does, for a role that may use the extension''s schema';

-- The event triggers fire for every role's DDL; a role that may not use
-- the extension's schema has no attachment, and must not meet its types.
CREATE OR REPLACE FUNCTION segment_internal.follow_orders_ddl() RETURNS event_trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
BEGIN
	IF coalesce((SELECT pg_catalog.has_schema_privilege(e.extnamespace, 'USAGE')
				 FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'segment'), false) THEN
		PERFORM follow_orders_ddl_changes();
	END IF;
END
$function$;
COMMENT ON FUNCTION segment_internal.follow_orders_ddl() IS
	'event trigger: keeps the maintained state of attachments right after ALTER TABLE or CREATE TABLE changes their orders tables';

-- Follows DROP: an attachment whose orders table is dropped is detached; a
-- dropped partition of an orders table has every customer derived again.
CREATE OR REPLACE FUNCTION segment_internal.follow_orders_drop_changes() RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
BEGIN
	IF NOT readable_attachments() THEN
		RETURN;
	END IF;
	FOR a IN
		SELECT t.* FROM attachments t
		WHERE EXISTS (SELECT 1 FROM pg_event_trigger_dropped_objects() d
					  WHERE d.classid = 'pg_class'::regclass AND d.objsubid = 0
						AND (d.objid = t.orders_table OR d.objid = ANY (t.orders_partitions)))
		ORDER BY t.attachment_name
	LOOP
		IF NOT relation_exists(a.orders_table) THEN
			PERFORM detach(a.attachment_name);
		ELSE
			PERFORM rebuild_state(a.attachment_name);
			UPDATE attachments t SET orders_partitions = orders_partitions(a.orders_table)
			WHERE t.attachment_name = a.attachment_name;
		END IF;
	END LOOP;
END
$function$;
COMMENT ON FUNCTION segment_internal.follow_orders_drop_changes() IS
	'what follow_orders_drop() does, for a role that may use the extension''s schema';

CREATE OR REPLACE FUNCTION segment_internal.follow_orders_drop() RETURNS event_trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
BEGIN
	IF coalesce((SELECT pg_catalog.has_schema_privilege(e.extnamespace, 'USAGE')
				 FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'segment'), false) THEN
		PERFORM follow_orders_drop_changes();
	END IF;
END
$function$;
COMMENT ON FUNCTION segment_internal.follow_orders_drop() IS
	'event trigger: detaches attachments whose orders table is dropped and derives the state again when a partition is';

CREATE OR REPLACE FUNCTION @extschema@.segment_rule_is_attribute(expression text, customers regclass, customer_key name)
	RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	SET standard_conforming_strings = on;
COMMENT ON FUNCTION @extschema@.segment_rule_is_attribute(text, regclass, name) IS
	'whether a rule is an attribute rule: boolean over the columns of the customers table alone (key named customer_id), without subqueries, aggregates or functions whose result may change';

CREATE OR REPLACE FUNCTION segment_internal.segment_tags_trigger() RETURNS trigger
	AS 'MODULE_PATHNAME' LANGUAGE C
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	SET standard_conforming_strings = on;
COMMENT ON FUNCTION segment_internal.segment_tags_trigger() IS
	'keeps the tags table of a maintained attachment current as customers are inserted, updated, deleted and truncated';

-- Why the customers table of an attachment cannot have stored tags, in a
-- sentence; NULL if it can.
CREATE OR REPLACE FUNCTION @extschema@.customer_tags_obstacle(attachment_name text) RETURNS text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	key_number smallint;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = customer_tags_obstacle.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'attachment "%" does not exist', customer_tags_obstacle.attachment_name
			USING ERRCODE = 'undefined_object';
	END IF;
	IF a.customers_table IS NULL THEN
		RETURN format('Attachment "%s" has no customers table.', a.attachment_name);
	END IF;
	IF (SELECT c.relkind FROM pg_class c WHERE c.oid = a.customers_table) NOT IN ('r', 'p') THEN
		RETURN format('%s is not a table: only a table can have the trigger that tags customers.', a.customers_table);
	END IF;
	-- the tags would list customers the table's policies hide from readers
	IF (SELECT c.relrowsecurity FROM pg_class c WHERE c.oid = a.customers_table) THEN
		RETURN format('%s has row-level security enabled.', a.customers_table);
	END IF;
	SELECT att.attnum INTO key_number FROM pg_attribute att
	WHERE att.attrelid = a.customers_table AND att.attname = a.customer_key AND NOT att.attisdropped;
	-- one row per key at every moment, so that a key's tags are its row's
	IF NOT EXISTS (SELECT 1 FROM pg_index i
				   WHERE i.indrelid = a.customers_table AND i.indisunique AND i.indimmediate
					 AND i.indnkeyatts = 1 AND i.indkey[0] = key_number AND i.indpred IS NULL) THEN
		RETURN format('%s has no primary key or unique constraint on %I alone, not deferrable.',
					  a.customers_table, a.customer_key);
	END IF;
	IF NOT (SELECT att.attnotnull FROM pg_attribute att
			WHERE att.attrelid = a.customers_table AND att.attnum = key_number) THEN
		RETURN format('Column %I of %s may be NULL.', a.customer_key, a.customers_table);
	END IF;
	-- the trigger is created, and the table locked while the tags are refilled
	IF NOT (has_table_privilege(a.customers_table, 'TRIGGER') AND has_table_privilege(a.customers_table, 'UPDATE')) THEN
		RETURN format('You lack the TRIGGER or UPDATE privilege on %s.', a.customers_table);
	END IF;
	RETURN NULL;
END
$function$;
COMMENT ON FUNCTION @extschema@.customer_tags_obstacle(text) IS
	'why the customers table of an attachment cannot have stored tags (no primary key, not a table, row-level security, no TRIGGER or UPDATE privilege); NULL if it can';

-- The attribute rules of an attachment with stored tags, by name; none
-- without.  Names longer than a segment_set label stay judged when read.
CREATE OR REPLACE FUNCTION segment_internal.customer_tag_rules(attachment_name text)
	RETURNS TABLE (rule_name text, expression text)
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $$ SELECT r.rule_name, r.expression
		  FROM attachments a JOIN segment_rules r ON r.attachment_name = a.attachment_name
		  WHERE a.attachment_name = customer_tag_rules.attachment_name AND a.tags_table IS NOT NULL
			AND octet_length(r.rule_name) <= 255
			AND segment_rule_is_attribute(r.expression, a.customers_table, a.customer_key)
		  ORDER BY r.rule_name COLLATE "C" $$;
COMMENT ON FUNCTION segment_internal.customer_tag_rules(text) IS
	'the rules of an attachment whose segments its tags table stores: its attribute rules, if it has stored tags';

-- Brings the tags of an attachment in line with its attribute rules: the
-- trigger on the customers table and the stored rows.  With
-- only_if_rules_changed, does nothing while the trigger already evaluates
-- the current rules.  Returns the number of rows written, or NULL if it
-- did nothing.
CREATE OR REPLACE FUNCTION segment_internal.store_customer_tags(attachment_name text, only_if_rules_changed boolean) RETURNS bigint
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	SET standard_conforming_strings = on
	AS $function$
DECLARE
	a attachments;
	ext text;
	obstacle text;
	customer_columns text;
	labels text := '';
	segments text;
	store text;
	trigger_name text;
	wanted bytea;
	present bytea;
	written bigint;
	r record;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = store_customer_tags.attachment_name;
	IF NOT FOUND OR a.tags_table IS NULL THEN
		RAISE EXCEPTION 'attachment "%" has no stored customer tags', store_customer_tags.attachment_name
			USING ERRCODE = 'undefined_object';
	END IF;
	obstacle := customer_tags_obstacle(a.attachment_name);
	IF obstacle IS NOT NULL THEN
		RAISE EXCEPTION 'cannot store the customer tags of attachment "%"', a.attachment_name
			USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = obstacle,
				  HINT = 'Fix that, or call stop_maintaining() and maintain_attachment() to judge rules when read.';
	END IF;
	ext := extension_schema();
	trigger_name := 'segment_' || a.attachment_name || '_tags';

	-- a customer's row as the customers view names its columns
	SELECT coalesce(string_agg(format(', c.%I', att.attname), '' ORDER BY att.attnum), '') INTO customer_columns
	FROM pg_attribute att
	WHERE att.attrelid = a.customers_table AND att.attnum > 0 AND NOT att.attisdropped
	  AND att.attname <> a.customer_key;
	FOR r IN SELECT * FROM customer_tag_rules(a.attachment_name) LOOP
		-- the newline ends a trailing -- comment of the expression
		labels := labels || format(', CASE WHEN (%s
) THEN %L::pg_catalog.text END', r.expression, r.rule_name);
	END LOOP;
	IF labels <> '' THEN
		segments := format('%s.segment_set(pg_catalog.array_remove(ARRAY[NULL::pg_catalog.text%s], NULL::pg_catalog.text))',
						   ext, labels);
		-- $1 is the customer's row
		store := format($store$WITH judged AS (
	SELECT customer.customer_id, %1$s AS segments
	FROM (SELECT c.%2$I AS customer_id%3$s FROM (SELECT ($1).*) c) AS customer
), untagged AS (
	DELETE FROM %4$s t USING judged j
	WHERE t.customer_id OPERATOR(pg_catalog.=) j.customer_id AND j.segments OPERATOR(%5$s.=) '{}'::%5$s.segment_set
)
INSERT INTO %4$s AS t (customer_id, segments)
SELECT j.customer_id, j.segments FROM judged j WHERE j.segments OPERATOR(%5$s.<>) '{}'::%5$s.segment_set
ON CONFLICT (customer_id) DO UPDATE SET segments = excluded.segments
WHERE t.segments OPERATOR(%5$s.<>) excluded.segments$store$,
			segments, a.customer_key, customer_columns, a.tags_table, ext);
		wanted := convert_to(a.attachment_name, getdatabaseencoding()) || '\x00'::bytea
				  || convert_to(a.tags_table::text, getdatabaseencoding()) || '\x00'::bytea
				  || convert_to(a.customer_key, getdatabaseencoding()) || '\x00'::bytea
				  || convert_to(store, getdatabaseencoding()) || '\x00'::bytea;
	END IF;
	SELECT t.tgargs INTO present FROM pg_trigger t
	WHERE t.tgrelid = a.customers_table AND t.tgname = trigger_name;
	IF only_if_rules_changed AND present IS NOT DISTINCT FROM wanted THEN
		RETURN NULL;
	END IF;

	-- no customer may change between the triggers' start and the refill
	EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', a.customers_table);
	IF present IS DISTINCT FROM wanted THEN
		FOR r IN SELECT t.tgname FROM pg_trigger t
				 WHERE t.tgrelid = a.customers_table AND t.tgname IN (trigger_name, trigger_name || '_truncate') LOOP
			EXECUTE format('DROP TRIGGER %I ON %s', r.tgname, a.customers_table);
		END LOOP;
		IF store IS NOT NULL THEN
			EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW '
						   'EXECUTE FUNCTION segment_internal.segment_tags_trigger(%L, %L, %L, %L)',
						   trigger_name, a.customers_table, a.attachment_name, a.tags_table, a.customer_key, store);
			EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %s FOR EACH STATEMENT '
						   'EXECUTE FUNCTION segment_internal.segment_tags_trigger(%L, %L)',
						   trigger_name || '_truncate', a.customers_table, a.attachment_name, a.tags_table);
		END IF;
	END IF;
	IF store IS NULL THEN
		EXECUTE format('DELETE FROM %s', a.tags_table);
		GET DIAGNOSTICS written = ROW_COUNT;
		RETURN written;
	END IF;
	-- rewrite only the rows whose tags differ
	EXECUTE format($refill$
		WITH judged AS MATERIALIZED (
			SELECT customer.customer_id, %1$s AS segments
			FROM (SELECT c.%2$I AS customer_id%3$s FROM %6$s c) AS customer
		), removed AS (
			DELETE FROM %4$s t
			WHERE NOT EXISTS (SELECT 1 FROM judged j WHERE j.customer_id = t.customer_id
														AND j.segments <> '{}'::%5$s.segment_set)
			RETURNING 1
		), stored AS (
			INSERT INTO %4$s AS t (customer_id, segments)
			SELECT j.customer_id, j.segments FROM judged j WHERE j.segments <> '{}'::%5$s.segment_set
			ON CONFLICT (customer_id) DO UPDATE SET segments = excluded.segments
			WHERE t.segments <> excluded.segments
			RETURNING 1
		)
		SELECT (SELECT count(*) FROM removed) + (SELECT count(*) FROM stored)$refill$,
		segments, a.customer_key, customer_columns, a.tags_table, ext, a.customers_table)
		INTO written;
	RETURN written;
END
$function$;
COMMENT ON FUNCTION segment_internal.store_customer_tags(text, boolean) IS
	'makes the trigger on the customers table evaluate the attachment''s attribute rules and rewrites the tags that differ; returns the rows written';

CREATE OR REPLACE FUNCTION @extschema@.refresh_customer_tags(attachment_name text) RETURNS bigint
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	tags text;
	obstacle text;
	ext text;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = refresh_customer_tags.attachment_name;
	IF NOT FOUND OR a.state_table IS NULL THEN
		RAISE EXCEPTION 'attachment "%" is not maintained', refresh_customer_tags.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Customer tags are stored for maintained attachments: maintain_attachment().';
	END IF;
	IF a.tags_table IS NULL THEN
		obstacle := customer_tags_obstacle(a.attachment_name);
		IF obstacle IS NOT NULL THEN
			RAISE EXCEPTION 'cannot store the customer tags of attachment "%"', a.attachment_name
				USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = obstacle,
					  HINT = 'Its rule segments are judged when read.';
		END IF;
		ext := extension_schema();
		tags := format('%I.%I', a.view_schema, a.attachment_name || '_tags');
		EXECUTE format('CREATE TABLE %s (customer_id %s PRIMARY KEY, segments %s.segment_set NOT NULL)',
					   tags, format_type(column_type(a.customers_table, a.customer_key), NULL), ext);
		EXECUTE format('CREATE INDEX ON %s USING gin (segments)', tags);
		PERFORM comment_relation(tags,
			format('the attribute-rule segments of the customers of %s, kept current by trigger %s (segment attachment %s)',
				   a.customers_table, 'segment_' || a.attachment_name || '_tags', a.attachment_name),
			'customer_id', 'the customer''s key',
			'segments', 'the attribute rules the customer''s row meets (GIN indexed); customers in none have no row');
		UPDATE attachments t SET tags_table = tags::regclass WHERE t.attachment_name = a.attachment_name;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'permission denied to change attachment "%"', a.attachment_name
				USING ERRCODE = 'insufficient_privilege', HINT = 'Its owner refreshes it.';
		END IF;
	END IF;
	RETURN store_customer_tags(a.attachment_name, only_if_rules_changed => false);
END
$function$;
COMMENT ON FUNCTION @extschema@.refresh_customer_tags(text) IS
	'stores the attribute-rule segments of every customer of a maintained attachment in its tags table (made if missing) and has a trigger keep them current; returns the rows written';

-- Whether the current role may read what an attachment's views read.
CREATE OR REPLACE FUNCTION segment_internal.reads_attachment(orders_table regclass, state_table regclass) RETURNS boolean
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $$ SELECT coalesce(owns_relation(orders_table), false)
			  OR coalesce(pg_catalog.has_table_privilege(coalesce(state_table, orders_table), 'SELECT'), false) $$;
COMMENT ON FUNCTION segment_internal.reads_attachment(regclass, regclass) IS
	'whether the current role owns the orders table of an attachment or may read the table its views read';

CREATE OR REPLACE FUNCTION segment_internal.attachments_check() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	view_oid oid;
BEGIN
	-- an attachment whose orders table was dropped may still be cleaned up
	IF NOT coalesce(owns_relation(NEW.orders_table), TG_OP = 'UPDATE') THEN
		RAISE EXCEPTION 'must be owner of table % to attach it', NEW.orders_table
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF NEW.customers_table IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.customers_table IS DISTINCT FROM OLD.customers_table)
	   AND NOT has_table_privilege(NEW.customers_table, 'SELECT') THEN
		RAISE EXCEPTION 'permission denied for table %', NEW.customers_table
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF (TG_OP = 'INSERT' OR NEW.view_schema IS DISTINCT FROM OLD.view_schema)
	   AND NOT coalesce(has_schema_privilege(NEW.view_schema, 'CREATE'), false) THEN
		RAISE EXCEPTION 'permission denied to create views in schema %', NEW.view_schema
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	-- views and the state table get dropped by whoever detaches: they must
	-- be the writer's own, in the attachment's schema
	IF NEW.state_table IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.state_table IS DISTINCT FROM OLD.state_table)
	   AND NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
					   WHERE c.oid = NEW.state_table AND c.relkind = 'r' AND n.nspname = NEW.view_schema
						 AND pg_has_role(c.relowner, 'USAGE')) THEN
		RAISE EXCEPTION 'state table % of attachment "%" must be a table of yours in schema %',
			NEW.state_table, NEW.attachment_name, NEW.view_schema
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	-- the event triggers act on what the row lists as partitions
	IF (TG_OP = 'INSERT' OR NEW.orders_partitions IS DISTINCT FROM OLD.orders_partitions)
	   AND EXISTS (SELECT 1 FROM unnest(NEW.orders_partitions) p
				   WHERE p NOT IN (SELECT t.relid FROM pg_partition_tree(NEW.orders_table) t)) THEN
		RAISE EXCEPTION 'the partitions of attachment "%" must be partitions of %', NEW.attachment_name, NEW.orders_table
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF NEW.tags_table IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.tags_table IS DISTINCT FROM OLD.tags_table)
	   AND NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
					   WHERE c.oid = NEW.tags_table AND c.relkind = 'r' AND n.nspname = NEW.view_schema
						 AND pg_has_role(c.relowner, 'USAGE')) THEN
		RAISE EXCEPTION 'tags table % of attachment "%" must be a table of yours in schema %',
			NEW.tags_table, NEW.attachment_name, NEW.view_schema
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF TG_OP = 'INSERT' OR NEW.views IS DISTINCT FROM OLD.views THEN
		FOR i IN 1 .. coalesce(array_upper(NEW.views, 1), 0) LOOP
			-- a name and nothing else: any other syntax names no view
			-- (to_regclass raises on it before PostgreSQL 16)
			BEGIN
				view_oid := to_regclass(NEW.views[i]);
			EXCEPTION WHEN invalid_name THEN
				view_oid := NULL;
			END;
			IF NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
						   WHERE c.oid = view_oid AND c.relkind = 'v' AND n.nspname = NEW.view_schema
							 AND pg_has_role(c.relowner, 'USAGE')) THEN
				RAISE EXCEPTION 'view % of attachment "%" must be a view of yours in schema %',
					NEW.views[i], NEW.attachment_name, NEW.view_schema
					USING ERRCODE = 'insufficient_privilege';
			END IF;
		END LOOP;
	END IF;
	RETURN NEW;
END
$function$;
COMMENT ON FUNCTION segment_internal.attachments_check() IS
	'trigger of attachments: the writer owns the orders table, reads the customers table, and owns the views, state table and tags table the row names';
