-- segment 0.9.0 -> 0.10.0.  Every change to the install pieces in sql/*.sql
-- since 0.9.0 appears here too; test/t/upgrade.sh compares the result with a
-- fresh install of 0.10.0.
--
-- Privacy (sql/privacy.sql): the views show the customer columns chosen,
-- the reports hide numbers of fewer customers than a minimum, and
-- published views show a pseudonym for the key to roles that may not read
-- the tables.  The attachments of 0.9.0 show all columns, hide nothing and
-- publish nothing until told; their views stay as they were until rebuilt.

\echo Use "ALTER EXTENSION segment UPDATE TO '0.10.0'" to load this file. \quit

ALTER TABLE @extschema@.attachments
	ADD COLUMN customer_columns name[],
	ADD COLUMN minimum_group_size integer,
	ADD COLUMN pseudonym_secret_table regclass,
	ADD CONSTRAINT customer_columns_with_table CHECK (customer_columns IS NULL OR customers_table IS NOT NULL),
	ADD CONSTRAINT minimum_group_size_above_one CHECK (minimum_group_size >= 2);
COMMENT ON COLUMN @extschema@.attachments.customer_columns IS
	'the columns of the customers table the views show besides the key (attach(), set_customer_columns()); NULL: all';
COMMENT ON COLUMN @extschema@.attachments.minimum_group_size IS
	'the fewest customers a number of the summary views may count (set_minimum_group_size()); NULL: no minimum';
COMMENT ON COLUMN @extschema@.attachments.pseudonym_secret_table IS
	'the table holding the key of the pseudonyms the published views show (publish_views()); NULL if not published';

-- functions whose arguments changed
DROP FUNCTION @extschema@.attach(text, regclass, name, name, name, regclass, name, name, text, integer);
DROP FUNCTION segment_internal.customers_view_query(@extschema@.attachments);
DROP FUNCTION segment_internal.segment_sizes_view_query(@extschema@.attachments);
DROP FUNCTION segment_internal.lifecycle_summary_view_query(regclass);
DROP FUNCTION segment_internal.put_attachment_view(@extschema@.attachments, text, text, text, boolean);

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
	IF relation_exists(a.history_table) THEN
		EXECUTE format('DROP TABLE %s', a.history_table);
	END IF;
	IF relation_exists(a.pseudonym_secret_table) THEN
		EXECUTE format('DROP TABLE %s', a.pseudonym_secret_table);
	END IF;
END
$function$;
COMMENT ON FUNCTION @extschema@.detach(text) IS 'drops the views of an attachment, its rules, its state, history and pseudonym key, and the attachment';

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

CREATE FUNCTION segment_internal.exposed_customer_columns(a @extschema@.attachments) RETURNS name[]
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	gone name;
BEGIN
	IF a.customers_table IS NULL THEN
		RETURN '{}';
	END IF;
	SELECT c INTO gone FROM unnest(a.customer_columns) c WHERE column_type(a.customers_table, c) IS NULL LIMIT 1;
	IF gone IS NOT NULL THEN
		RAISE EXCEPTION 'column "%" of attachment "%" is gone from %', gone, a.attachment_name, a.customers_table
			USING ERRCODE = 'undefined_column',
				  HINT = 'Choose the columns the views show again with set_customer_columns().';
	END IF;
	RETURN ARRAY(SELECT att.attname FROM pg_attribute att
				 WHERE att.attrelid = a.customers_table AND att.attnum > 0 AND NOT att.attisdropped
				   AND att.attname <> a.customer_key
				   AND (a.customer_columns IS NULL OR att.attname = ANY (a.customer_columns))
				 ORDER BY att.attnum);
END
$function$;
COMMENT ON FUNCTION segment_internal.exposed_customer_columns(@extschema@.attachments) IS
	'the columns of an attachment''s customers table its views show, in the table''s order: those chosen, or all but the key';

CREATE FUNCTION segment_internal.analysis_time_sql(published boolean) RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $$ SELECT CASE WHEN NOT published THEN format('%s.segment_as_of()', extension_schema())
					  WHEN nullif(current_setting('segment.as_of', true), '') IS NULL THEN 'pg_catalog.now()'
					  ELSE format('%L::pg_catalog.timestamptz', segment_as_of()) END $$;
COMMENT ON FUNCTION segment_internal.analysis_time_sql(boolean) IS
	'the analysis time as a view computes it: segment_as_of(), or for a published view the one of its build (now() if segment.as_of was not set)';

CREATE FUNCTION segment_internal.customers_view_query(a @extschema@.attachments, published boolean DEFAULT false)
	RETURNS text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	-- the lifecycle limits are spliced as text: every digit of them
	SET extra_float_digits = 3
	AS $function$
DECLARE
	ext text := extension_schema();
	clock text := analysis_time_sql(published);
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
		-- every column, shown or not: rules name them all
		clash := customers_column_clash(a.customers_table, a.customer_key);
		IF clash IS NOT NULL THEN
			RAISE EXCEPTION '% has a column "%", which the customers view computes', a.customers_table, clash
				USING ERRCODE = 'duplicate_column',
					  HINT = 'Attach a view of the customers table that renames or leaves out that column.';
		END IF;
		own := exposed_customer_columns(a);
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
		  FROM %1$s s, (SELECT %4$s AS as_of) clock) s
	WHERE s.stats IS NOT NULL', a.state_table, ext, a.attachment_name, clock);
		scoring := format('CASE WHEN p._segment_stored_valid THEN p._segment_stored_scores
				ELSE %1$s.rfm_score(p._segment_stats, p._segment_judged_at, r.thresholds) END AS _segment_scores,
		   r.population_average_order_value AS _segment_population_average', ext);
		-- a published view runs as its owner, but the policy of attachments
		-- would judge its reader: it gets the stored values as constants,
		-- and is built again when they change
		reference := CASE WHEN published
			THEN format(', (SELECT %L::%s.rfm_thresholds AS thresholds, %L::numeric AS population_average_order_value) r',
						a.thresholds, ext, a.population_average_order_value)
			ELSE format(', (SELECT t.thresholds, t.population_average_order_value FROM %s.attachments t
		   WHERE t.attachment_name = %L) r', ext, a.attachment_name) END;
	ELSE
		scoring := format('%1$s.rfm_score(p._segment_stats, p._segment_judged_at, %2$s) OVER () AS _segment_scores,
		   sum(%1$s.total_amount(p._segment_stats)) OVER () / sum(%1$s.order_count(p._segment_stats)) OVER ()
			   AS _segment_population_average', ext, a.bins);
		stats_source := format(
			'SELECT o.%1$I AS customer_id, %2$s.rfm_stats(%6$s, o.%4$I::numeric) AS stats,
		   NULL::%2$s.rfm AS stored_scores, NULL::text AS stored_stage, false AS stored_valid
	FROM %5$s o
	WHERE %6$s <= (SELECT %7$s) AND o.%1$I IS NOT NULL
	GROUP BY o.%1$I', a.customer_column, ext, a.order_time_column, a.amount_column, a.orders_table,
			order_time_sql(format('o.%I', a.order_time_column), column_type(a.orders_table, a.order_time_column), a.time_zone),
			clock);
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
			FROM (%2$s) p, (SELECT %11$s AS as_of) clock
		) p%4$s
	) p
	) AS customer
) AS customer
$view$, ext, population, scoring, reference, column_list('p', own), a.map_name, column_list('customer', own), rule_array,
		later_rule_array, lifecycle_arguments, clock);
END
$function$;
COMMENT ON FUNCTION segment_internal.customers_view_query(@extschema@.attachments, boolean) IS
	'the query of an attachment''s customers view, or of the one its published customers view is made of';

CREATE FUNCTION segment_internal.published_customers_view_query(a @extschema@.attachments) RETURNS text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	pgcrypto text := pgcrypto_schema();
BEGIN
	IF pgcrypto IS NULL THEN
		RAISE EXCEPTION 'the published views of attachment "%" need the extension pgcrypto', a.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'CREATE EXTENSION pgcrypto;';
	END IF;
	RETURN format($view$
SELECT pg_catalog.encode(%1$s.hmac(pg_catalog.convert_to(customer.customer_id::text, 'UTF8'), (SELECT s.secret FROM %2$s s),
								  'sha256'::text), 'hex')
		   AS customer_pseudonym%3$s%4$s
FROM (%5$s) AS customer
$view$, pgcrypto, a.pseudonym_secret_table, column_list('customer', exposed_customer_columns(a)),
		column_list('customer', ARRAY(SELECT c.column_name FROM customer_view_columns() c)),
		customers_view_query(a, published => true));
END
$function$;
COMMENT ON FUNCTION segment_internal.published_customers_view_query(@extschema@.attachments) IS
	'the query of an attachment''s published customers view: the customers view with a pseudonym for the key';

CREATE OR REPLACE FUNCTION segment_internal.segment_summary_view_query(a @extschema@.attachments, customers_view regclass)
	RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $$ SELECT format($view$
WITH customer AS NOT MATERIALIZED (
	SELECT customer.segment, customer.segments, customer.order_count, customer.total_amount
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
), cell AS (
	SELECT l.segment, l.kind, l.position, e.customers AS everyone,
		   coalesce(p.customers, 0) AS primary_customers, p.orders AS primary_orders, p.revenue AS primary_revenue,
		   coalesce(m.customers, 0) AS member_customers, m.orders AS member_orders, m.revenue AS member_revenue,
		   -- the rows that are not rules partition the customers
		   row_number() OVER (PARTITION BY l.kind = 'rule' ORDER BY l.position) AS partition_position
	FROM segment_list l CROSS JOIN everyone e
		 LEFT JOIN membership m ON m.segment = l.segment
		 LEFT JOIN primary_segment p ON p.segment IS NOT DISTINCT FROM l.segment AND l.kind <> 'rule'
), judged AS (
	SELECT c.*,
		   c.kind = 'rule' OR h.hidden[c.partition_position] AS primary_hidden,
		   -- a segment's members less its primary customers are a group too
		   c.kind = 'unsegmented' OR segment_internal.shown_count(c.member_customers, %4$s) IS NULL
		   OR (c.kind = 'rfm' AND (h.hidden[c.partition_position]
								   OR segment_internal.shown_count(c.member_customers - c.primary_customers, %4$s) IS NULL))
			   AS member_hidden
	FROM cell c,
		 (SELECT segment_internal.hidden_groups(array_agg(c.primary_customers ORDER BY c.position), %4$s) AS hidden
		  FROM cell c WHERE c.kind <> 'rule') h
)
SELECT j.segment, j.kind,
	   CASE WHEN NOT j.primary_hidden THEN j.primary_customers::integer END AS primary_customers,
	   CASE WHEN NOT j.primary_hidden THEN j.primary_customers::numeric / nullif(j.everyone, 0) END AS primary_share,
	   CASE WHEN NOT j.primary_hidden THEN coalesce(j.primary_orders, 0)::numeric END AS primary_orders,
	   CASE WHEN NOT j.primary_hidden THEN coalesce(j.primary_revenue, 0) END AS primary_revenue,
	   CASE WHEN NOT j.member_hidden THEN j.member_customers::integer END AS member_customers,
	   CASE WHEN NOT j.member_hidden THEN j.member_customers::numeric / nullif(j.everyone, 0) END AS member_share,
	   CASE WHEN NOT j.member_hidden THEN coalesce(j.member_orders, 0)::numeric END AS member_orders,
	   CASE WHEN NOT j.member_hidden THEN coalesce(j.member_revenue, 0) END AS member_revenue,
	   round(CASE WHEN j.kind <> 'unsegmented' AND NOT j.member_hidden THEN j.member_revenue / nullif(j.member_orders, 0)
				  WHEN j.kind = 'unsegmented' AND NOT j.primary_hidden THEN j.primary_revenue / nullif(j.primary_orders, 0) END,
			 2) AS average_order_value
FROM judged j
ORDER BY j.position
$view$, customers_view, l.segments, l.kinds, coalesce(a.minimum_group_size::text, 'NULL::integer'))
		  FROM (SELECT coalesce(array_agg(s.segment), '{}') AS segments, coalesce(array_agg(s.kind), '{}') AS kinds
				FROM attachment_segments(a.attachment_name) s) l $$;
COMMENT ON FUNCTION segment_internal.segment_summary_view_query(@extschema@.attachments, regclass) IS
	'the query of an attachment''s segment_summary view';

CREATE FUNCTION segment_internal.lifecycle_summary_view_query(a @extschema@.attachments, customers_view regclass)
	RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $$ SELECT format($view$
WITH customer AS NOT MATERIALIZED (
	SELECT customer.lifecycle_stage, customer.order_count, customer.total_amount FROM %1$s AS customer
), stage AS (
	SELECT s.stage, s.position, count(c.lifecycle_stage) AS customers, sum(c.order_count) AS orders,
		   sum(c.total_amount) AS revenue
	FROM %2$s.lifecycle_stages() s LEFT JOIN customer c ON c.lifecycle_stage = s.stage
	GROUP BY s.stage, s.position
), judged AS (
	-- the stages partition the customers
	SELECT st.*, h.hidden[row_number() OVER (ORDER BY st.position)] AS hidden
	FROM stage st,
		 (SELECT segment_internal.hidden_groups(array_agg(st.customers ORDER BY st.position), %3$s) AS hidden
		  FROM stage st) h
)
SELECT j.stage AS lifecycle_stage,
	   CASE WHEN NOT j.hidden THEN j.customers::integer END AS customers,
	   CASE WHEN NOT j.hidden THEN round(j.customers::numeric / nullif((SELECT count(*) FROM customer), 0), 4) END
		   AS share_of_customers,
	   CASE WHEN NOT j.hidden THEN coalesce(j.orders, 0)::numeric END AS orders,
	   CASE WHEN NOT j.hidden THEN coalesce(j.revenue, 0) END AS revenue,
	   CASE WHEN NOT j.hidden THEN round(j.revenue / nullif(j.orders, 0), 2) END AS average_order_value
FROM judged j
ORDER BY j.position
$view$, customers_view, extension_schema(), coalesce(a.minimum_group_size::text, 'NULL::integer')) $$;
COMMENT ON FUNCTION segment_internal.lifecycle_summary_view_query(@extschema@.attachments, regclass) IS
	'the query of an attachment''s lifecycle_summary view';

CREATE OR REPLACE FUNCTION segment_internal.rf_grid_view_query(a @extschema@.attachments, customers_view regclass) RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $$ SELECT format($view$
WITH cell AS (
	SELECT r.score AS recency_score, f.score AS frequency_score,
		   count(c.rfm_cell) AS customers, avg(c.total_amount) AS average_total_amount
	FROM generate_series(1, %2$s) r(score)
		 CROSS JOIN generate_series(1, %2$s) f(score)
		 LEFT JOIN %1$s c ON c.recency_score = r.score AND c.frequency_score = f.score
	GROUP BY r.score, f.score
), judged AS (
	-- the cells partition the customers with orders
	SELECT c.*, h.hidden[row_number() OVER (ORDER BY c.recency_score, c.frequency_score)] AS hidden
	FROM cell c,
		 (SELECT segment_internal.hidden_groups(array_agg(c.customers ORDER BY c.recency_score, c.frequency_score), %3$s)
				 AS hidden
		  FROM cell c) h
)
SELECT j.recency_score, j.frequency_score,
	   CASE WHEN NOT j.hidden THEN j.customers::integer END AS customers,
	   CASE WHEN NOT j.hidden THEN round(j.average_total_amount, 2) END AS average_total_amount
FROM judged j
ORDER BY j.recency_score, j.frequency_score
$view$, customers_view, a.bins, coalesce(a.minimum_group_size::text, 'NULL::integer')) $$;
COMMENT ON FUNCTION segment_internal.rf_grid_view_query(@extschema@.attachments, regclass) IS
	'the query of an attachment''s rf_grid view';

CREATE FUNCTION segment_internal.segment_sizes_view_query(a @extschema@.attachments, published boolean DEFAULT false)
	RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $$ SELECT format($view$
WITH attachment AS (
	SELECT (%6$s AT TIME ZONE %2$L)::date AS first_day,
		   (%7$s AT TIME ZONE %2$L)::date AS last_day
), moves AS (
	SELECT h.kind, h.segment, (h.entered_at AT TIME ZONE %2$L)::date AS day, 1 AS entered, 0 AS departed
	FROM %1$s h
	UNION ALL
	SELECT h.kind, h.segment, (h.left_at AT TIME ZONE %2$L)::date, 0, 1
	FROM %1$s h WHERE h.left_at IS NOT NULL
), daily AS (
	SELECT m.kind, m.segment, m.day, sum(m.entered)::bigint AS entered, sum(m.departed)::bigint AS departed
	FROM moves m GROUP BY m.kind, m.segment, m.day
), before AS (
	-- the members when the history's first day begins
	SELECT d.kind, d.segment, sum(d.entered - d.departed)::bigint AS members
	FROM daily d, attachment t WHERE d.day < t.first_day GROUP BY d.kind, d.segment
), grid AS (
	SELECT s.kind, s.segment, d.day::date AS day
	FROM (SELECT DISTINCT d.kind, d.segment FROM daily d) s,
		 attachment t, generate_series(t.first_day, greatest(t.first_day, t.last_day), '1 day') d(day)
), sizes AS (
	SELECT g.segment, g.kind, g.day,
		   coalesce(b.members, 0) + (sum(coalesce(d.entered, 0) - coalesce(d.departed, 0))
			   OVER (PARTITION BY g.kind, g.segment ORDER BY g.day))::bigint AS members,
		   coalesce(d.entered, 0) AS entered, coalesce(d.departed, 0) AS departed
	FROM grid g LEFT JOIN daily d ON d.kind = g.kind AND d.segment = g.segment AND d.day = g.day
		 LEFT JOIN before b ON b.kind = g.kind AND b.segment = g.segment
)
SELECT s.segment, s.kind, s.day, segment_internal.shown_count(s.members, %5$s) AS members,
	   segment_internal.shown_count(s.entered, %5$s) AS entered,
	   segment_internal.shown_count(s.departed, %5$s) AS "left"
FROM sizes s
$view$, a.history_table, a.time_zone, segment_internal.extension_schema(), a.attachment_name,
		coalesce(a.minimum_group_size::text, 'NULL::integer'),
		-- a published view is built again when the history's start moves
		CASE WHEN published THEN format('%L::pg_catalog.timestamptz', a.history_since)
			 ELSE format('(SELECT t.history_since FROM %s.attachments t WHERE t.attachment_name = %L)',
						 segment_internal.extension_schema(), a.attachment_name) END,
		segment_internal.analysis_time_sql(published)) $$;
COMMENT ON FUNCTION segment_internal.segment_sizes_view_query(@extschema@.attachments, boolean) IS
	'the query of the segment_sizes view of an attachment with history: members at the end of each day, entered and left, per segment';

CREATE OR REPLACE FUNCTION segment_internal.campaign_performance_view_query(a @extschema@.attachments) RETURNS text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	c name[] := a.campaign_columns;
	time_of text[];
	conversions text;
BEGIN
	-- the event times as instants, NULL where the data has none
	SELECT array_agg(CASE WHEN x.name IS NULL THEN 'NULL::pg_catalog.timestamptz'
						  ELSE order_time_sql(format('e.%I', x.name), column_type(a.campaigns_table, x.name), a.time_zone) END
					 ORDER BY x.n)
	INTO time_of
	FROM unnest(c[3:6]) WITH ORDINALITY x(name, n);
	conversions := CASE WHEN c[6] IS NULL THEN 'r.orders > 0'
						ELSE 'r.converted_at >= r.sent_at AND r.converted_at < r.window_end' END;
	RETURN format($view$
WITH recipients AS (
	SELECT e.%1$I AS customer_id, e.%2$I AS campaign, min(%3$s) AS sent_at, min(%4$s) AS opened_at,
		   min(%5$s) AS clicked_at, min(%6$s) AS converted_at
	FROM %7$s e
	WHERE e.%1$I IS NOT NULL AND e.%2$I IS NOT NULL AND %3$s IS NOT NULL
	GROUP BY 1, 2
), windows AS (
	-- the window's end in the attachment's time zone, whoever reads
	SELECT r.*, pg_catalog.timezone(%15$L, pg_catalog.timezone(%15$L, r.sent_at) + %12$L::interval) AS window_end
	FROM recipients r
), responses AS (
	SELECT r.*, o.orders, o.revenue
	FROM windows r,
		 LATERAL (SELECT count(*) AS orders, coalesce(sum((o.%10$I)::numeric), 0) AS revenue
				  FROM %8$s o
				  WHERE o.%9$I = r.customer_id AND %11$s >= r.sent_at AND %11$s < r.window_end) o
), judged AS (
	SELECT r.*, h.kind, h.segment, %13$s AS converted
	FROM responses r
		 LEFT JOIN %14$s h ON h.customer_id = r.customer_id AND h.entered_at <= r.sent_at
							  AND (h.left_at IS NULL OR h.left_at > r.sent_at)
), counted AS (
	SELECT j.campaign, j.kind, j.segment, count(*) AS recipients,
		   count(*) FILTER (WHERE j.opened_at IS NOT NULL) AS opens,
		   count(*) FILTER (WHERE j.clicked_at IS NOT NULL) AS clicks,
		   count(*) FILTER (WHERE j.converted) AS conversions,
		   count(*) FILTER (WHERE j.orders > 0) AS buyers, sum(j.orders) AS orders, sum(j.revenue) AS revenue
	FROM judged j
	GROUP BY j.campaign, j.kind, j.segment
), shown AS (
	-- a row of too few recipients shows nothing; each count of the others
	-- only if it counts none or enough of them, the amounts only if enough
	-- of them ordered
	SELECT c.campaign, c.kind, c.segment, r.recipients,
		   CASE WHEN r.recipients IS NOT NULL THEN segment_internal.shown_count(c.opens, %16$s) END AS opens,
		   CASE WHEN r.recipients IS NOT NULL THEN segment_internal.shown_count(c.clicks, %16$s) END AS clicks,
		   CASE WHEN r.recipients IS NOT NULL THEN segment_internal.shown_count(c.conversions, %16$s) END AS conversions,
		   r.recipients IS NOT NULL AND segment_internal.shown_count(c.buyers, %16$s) IS NOT NULL AS amounts_shown,
		   c.orders, c.revenue
	FROM counted c CROSS JOIN LATERAL (SELECT segment_internal.shown_count(c.recipients, %16$s) AS recipients) r
)
SELECT (c.campaign)::text AS campaign, c.segment, c.kind, c.recipients,
	   c.opens AS unique_opens, c.opens::numeric / c.recipients AS open_rate,
	   c.clicks AS unique_clicks, c.clicks::numeric / c.recipients AS click_rate,
	   c.clicks::numeric / nullif(c.opens, 0) AS click_to_open_rate,
	   c.conversions, c.conversions::numeric / c.recipients AS conversion_rate,
	   CASE WHEN c.amounts_shown THEN c.orders END AS orders, CASE WHEN c.amounts_shown THEN c.revenue END AS revenue,
	   CASE WHEN c.amounts_shown THEN c.revenue / nullif(c.orders, 0) END AS average_order_value,
	   CASE WHEN c.amounts_shown THEN c.revenue / c.recipients END AS revenue_per_recipient
FROM shown c
$view$, c[1], c[2], time_of[1], time_of[2], time_of[3], time_of[4], a.campaigns_table,
		a.orders_table, a.customer_column, a.amount_column,
		order_time_sql(format('o.%I', a.order_time_column), column_type(a.orders_table, a.order_time_column), a.time_zone),
		a.attribution_window, conversions, a.history_table, a.time_zone,
		coalesce(a.minimum_group_size::text, 'NULL::integer'));
END
$function$;
COMMENT ON FUNCTION segment_internal.campaign_performance_view_query(@extschema@.attachments) IS
	'the query of the campaign_performance view of an attachment with campaigns: recipients, opens, clicks, conversions and revenue per campaign and the segments its recipients were in when it was sent';

CREATE FUNCTION segment_internal.put_attachment_view(a @extschema@.attachments, view_name text, query text,
												view_comment text, in_place boolean, published boolean DEFAULT false)
	RETURNS text
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	qualified text := format('%I.%I', a.view_schema, view_name);
	problem text;
BEGIN
	BEGIN
		EXECUTE format('CREATE %sVIEW %s%s AS %s',
					   CASE WHEN in_place AND is_attachment_view(a, qualified) THEN 'OR REPLACE ' ELSE '' END, qualified,
					   CASE WHEN published THEN ' WITH (security_barrier = true)'
							WHEN current_setting('server_version_num')::int >= 150000
							THEN ' WITH (security_invoker = true)' ELSE '' END, query);
	EXCEPTION WHEN undefined_column THEN
		-- a rule over a column the views do not show, once judged where the
		-- tags were stored
		IF a.customer_columns IS NULL THEN
			RAISE;
		END IF;
		GET STACKED DIAGNOSTICS problem = MESSAGE_TEXT;
		RAISE EXCEPTION 'view % of attachment "%" cannot be built: %', qualified, a.attachment_name, problem
			USING ERRCODE = 'undefined_column',
				  HINT = 'The views show only the customer columns chosen; a rule over another column needs stored tags. Drop the rule, or choose the column with set_customer_columns().';
	END;
	EXECUTE format('COMMENT ON VIEW %s IS %L', qualified, view_comment);
	RETURN qualified;
END
$function$;
COMMENT ON FUNCTION segment_internal.put_attachment_view(@extschema@.attachments, text, text, text, boolean, boolean) IS
	'creates a view of an attachment, or replaces in place the one of the same name it built before; a published one runs with its owner''s rights';

CREATE FUNCTION segment_internal.put_attachment_reports(a @extschema@.attachments, customers regclass, infix text,
														in_place boolean, published boolean)
	RETURNS text[]
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	prefix text := a.attachment_name || '_';
	-- said in each view's comment
	hiding text := CASE WHEN a.minimum_group_size IS NOT NULL
						THEN format('; a number of fewer than %s customers is NULL', a.minimum_group_size) ELSE '' END;
	view_name text;
	built text[] := '{}';
BEGIN
	view_name := put_attachment_view(a, prefix || infix || 'segment_summary', segment_summary_view_query(a, customers),
		format('customers, orders and revenue of every segment: primary_* count each customer once, in its primary segment; member_* every customer a segment holds (segment attachment %s)%s',
			   a.attachment_name, hiding), in_place, published);
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

	view_name := put_attachment_view(a, prefix || infix || 'lifecycle_summary', lifecycle_summary_view_query(a, customers),
		format('customers, orders and revenue of every lifecycle stage (segment attachment %s)%s', a.attachment_name, hiding),
		in_place, published);
	built := built || view_name;
	PERFORM comment_relation(view_name, NULL,
		'lifecycle_stage', 'lifecycle stage',
		'customers', 'customers in the stage',
		'share_of_customers', 'customers in the stage over all customers, 0 to 1',
		'orders', 'orders of the customers in the stage',
		'revenue', 'total amount of the customers in the stage',
		'average_order_value', 'revenue over orders');

	view_name := put_attachment_view(a, prefix || infix || 'rf_grid', rf_grid_view_query(a, customers),
		format('customers and mean monetary value per recency and frequency score, for a heatmap (segment attachment %s)%s',
			   a.attachment_name, hiding), in_place, published);
	built := built || view_name;
	PERFORM comment_relation(view_name, NULL,
		'recency_score', 'R score',
		'frequency_score', 'F score',
		'customers', 'customers in the cell',
		'average_total_amount', 'mean total amount of the customers in the cell');

	IF a.history_table IS NOT NULL AND relation_exists(a.history_table) THEN
		view_name := put_attachment_view(a, prefix || infix || 'segment_sizes', segment_sizes_view_query(a, published),
			format('members at the end of each day, entered and left, of every segment, from the history (segment attachment %s)%s',
				   a.attachment_name, hiding), in_place, published);
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
		IF NOT published THEN
			RAISE WARNING 'view %campaign_performance of attachment "%" is not built', prefix, a.attachment_name
				USING DETAIL = format('A column it reads is gone from %s.', a.campaigns_table),
					  HINT = 'Call attach_campaigns() again with the columns as they are now.';
		END IF;
	ELSIF a.campaigns_table IS NOT NULL AND relation_exists(a.campaigns_table)
	   AND a.history_table IS NOT NULL AND relation_exists(a.history_table) THEN
		view_name := put_attachment_view(a, prefix || infix || 'campaign_performance', campaign_performance_view_query(a),
			format('per campaign and segment its recipients were in when it was sent: recipients, opens, clicks, conversions within %s and revenue (segment attachment %s)%s',
				   a.attribution_window, a.attachment_name, hiding), in_place, published);
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

	RETURN built;
END
$function$;
COMMENT ON FUNCTION segment_internal.put_attachment_reports(@extschema@.attachments, regclass, text, boolean, boolean) IS
	'creates the summary, heatmap, segment sizes and campaign performance views of an attachment over a customers view, or replaces those it built before';

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
	FOR col IN SELECT c AS attname FROM unnest(exposed_customer_columns(a)) c LOOP
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

	built := built || put_attachment_reports(a, customers, '', in_place, published => false);

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

	-- the views a role may be granted that may not read the tables
	IF a.pseudonym_secret_table IS NOT NULL THEN
		IF pseudonym_secret_obstacle(a) IS NOT NULL THEN
			RAISE EXCEPTION 'cannot build the published views of attachment "%"', a.attachment_name
				USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = pseudonym_secret_obstacle(a),
					  HINT = 'publish_views(attachment_name, false) withdraws them.';
		END IF;
		view_name := put_attachment_view(a, prefix || 'published_customers', published_customers_view_query(a),
			format('one row per customer of %s as %s shows it, with a pseudonym for the key; runs with its owner''s rights (segment attachment %s)',
				   a.orders_table, customers, a.attachment_name), in_place, published => true);
		built := built || view_name;
		EXECUTE format('COMMENT ON COLUMN %s.customer_pseudonym IS %L', view_name,
					   'HMAC-SHA-256 of the customer''s key under the attachment''s secret, in hex: pseudonymous, not anonymous');
		FOR col IN
			SELECT att.attname, d.description FROM pg_attribute att
			JOIN pg_description d ON d.objoid = att.attrelid AND d.objsubid = att.attnum
			WHERE att.attrelid = customers AND att.attname <> 'customer_id'
		LOOP
			EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', view_name, col.attname, col.description);
		END LOOP;
		built := built || put_attachment_reports(a, view_name::regclass, 'published_', in_place, published => true);
	END IF;
	RETURN built;
END
$function$;
COMMENT ON FUNCTION segment_internal.put_attachment_views(@extschema@.attachments, boolean) IS
	'creates every view of an attachment, or replaces in place those it built before, with their comments';

CREATE OR REPLACE FUNCTION segment_internal.attachments_check() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	view_oid oid;
	kept record;
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
	IF NEW.campaigns_table IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.campaigns_table IS DISTINCT FROM OLD.campaigns_table)
	   AND NOT has_table_privilege(NEW.campaigns_table, 'SELECT') THEN
		RAISE EXCEPTION 'permission denied for table %', NEW.campaigns_table
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF (TG_OP = 'INSERT' OR NEW.view_schema IS DISTINCT FROM OLD.view_schema)
	   AND NOT coalesce(has_schema_privilege(NEW.view_schema, 'CREATE'), false) THEN
		RAISE EXCEPTION 'permission denied to create views in schema %', NEW.view_schema
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	-- the tables an attachment keeps get dropped by whoever detaches: they
	-- must be the writer's own, in the attachment's schema (views below)
	FOR kept IN SELECT * FROM (VALUES ('state', NEW.state_table, OLD.state_table),
									  ('history', NEW.history_table, OLD.history_table),
									  ('tags', NEW.tags_table, OLD.tags_table),
									  ('pseudonym secret', NEW.pseudonym_secret_table, OLD.pseudonym_secret_table))
						  AS k(kind, new_table, old_table)
	LOOP
		IF kept.new_table IS NOT NULL AND (TG_OP = 'INSERT' OR kept.new_table IS DISTINCT FROM kept.old_table)
		   AND NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
						   WHERE c.oid = kept.new_table AND c.relkind = 'r' AND n.nspname = NEW.view_schema
							 AND pg_has_role(c.relowner, 'USAGE')) THEN
			RAISE EXCEPTION '% table % of attachment "%" must be a table of yours in schema %',
				kept.kind, kept.new_table, NEW.attachment_name, NEW.view_schema
				USING ERRCODE = 'insufficient_privilege';
		END IF;
	END LOOP;
	-- the event triggers act on what the row lists as partitions
	IF (TG_OP = 'INSERT' OR NEW.orders_partitions IS DISTINCT FROM OLD.orders_partitions)
	   AND EXISTS (SELECT 1 FROM unnest(NEW.orders_partitions) p
				   WHERE p NOT IN (SELECT t.relid FROM pg_partition_tree(NEW.orders_table) t)) THEN
		RAISE EXCEPTION 'the partitions of attachment "%" must be partitions of %', NEW.attachment_name, NEW.orders_table
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
	'trigger of attachments: the writer owns the orders table, reads the customers and campaign events tables, and owns the views, state, tags, history and pseudonym secret tables the row names';

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
	PERFORM rescore_state(a.attachment_name, only_expired => true);
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
	-- published views hold the thresholds as constants
	IF a.pseudonym_secret_table IS NOT NULL THEN
		PERFORM build_attachment_views(a.attachment_name);
	END IF;
	RETURN result;
END
$function$;
COMMENT ON FUNCTION @extschema@.refresh_attachment_thresholds(text) IS
	'computes the score thresholds of a maintained attachment from the state of the customers its customers view lists, at segment_as_of(), stores them and rescores every customer against them; writers of orders wait meanwhile';

CREATE OR REPLACE FUNCTION @extschema@.prune_segment_history(attachment_name text) RETURNS bigint
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	horizon timestamptz;
	pruned bigint;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = prune_segment_history.attachment_name;
	IF NOT FOUND OR a.history_table IS NULL THEN
		RAISE EXCEPTION 'attachment "%" keeps no segment history', prune_segment_history.attachment_name
			USING ERRCODE = 'undefined_object';
	END IF;
	IF a.history_retention IS NULL THEN
		RETURN 0;
	END IF;
	horizon := segment_as_of() - a.history_retention;
	IF horizon <= a.history_since THEN
		RETURN 0;
	END IF;
	EXECUTE format('DELETE FROM %s h WHERE h.left_at <= $1', a.history_table) USING horizon;
	GET DIAGNOSTICS pruned = ROW_COUNT;
	UPDATE attachments t
	SET history_since = horizon, history_snapshots = ARRAY(SELECT s FROM unnest(t.history_snapshots) s WHERE s >= horizon)
	WHERE t.attachment_name = a.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'permission denied to change attachment "%"', a.attachment_name
			USING ERRCODE = 'insufficient_privilege', HINT = 'Only the owner of its orders table may.';
	END IF;
	-- published views hold the history's start as a constant
	IF a.pseudonym_secret_table IS NOT NULL THEN
		PERFORM build_attachment_views(a.attachment_name);
	END IF;
	RETURN pruned;
END
$function$;
COMMENT ON FUNCTION @extschema@.prune_segment_history(text) IS
	'deletes the intervals of an attachment''s history that ended longer ago than its retention; the history then covers the instants since that horizon; returns how many';

CREATE FUNCTION segment_internal.is_distributed_table(relation regclass) RETURNS boolean
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $function$
DECLARE
	found boolean := false;
BEGIN
	IF to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
		EXECUTE 'SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid OPERATOR(pg_catalog.=) $1 '
				'AND NOT (p.partmethod OPERATOR(pg_catalog.=) ''n'' AND p.repmodel OPERATOR(pg_catalog.=) ''s''))'
			INTO found USING relation;
	END IF;
	RETURN found;
END
$function$;
COMMENT ON FUNCTION segment_internal.is_distributed_table(regclass) IS
	'whether Citus keeps a table''s rows on other nodes (a distributed or reference table); false without Citus';

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
	-- the triggers would fire on the workers' shards, whose nodes know no
	-- attachment (and Citus refuses them without citus.enable_unsafe_triggers)
	IF is_distributed_table(a.orders_table) THEN
		RETURN format('%s is a distributed table of Citus: the state is kept by triggers at commit, which would run on the shards, on workers that do not know the attachment.',
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


-- privacy: what the views of an attachment show of a customer.  The views
-- read only the customers columns chosen (customer_columns); the reports
-- hide numbers of fewer customers than the attachment's minimum group
-- size; published views, which run with their owner's rights, show a
-- pseudonym (a keyed hash) in place of the key to roles that may not read
-- the tables (sql/views.sql builds them all).

-- A count as a report shows it: NULL when it counts some customers but
-- fewer than the minimum (none: shown).
CREATE FUNCTION segment_internal.shown_count(customers bigint, minimum integer) RETURNS bigint
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT CASE WHEN customers OPERATOR(pg_catalog.>) 0 AND customers OPERATOR(pg_catalog.<) minimum
					  THEN NULL ELSE customers END $$;
COMMENT ON FUNCTION segment_internal.shown_count(bigint, integer) IS
	'a count as a report shows it: NULL when it counts some customers but fewer than the minimum';

-- Which groups of a partition of the customers a report hides, given the
-- customers of each: those of fewer than the minimum (but not none), and,
-- when these add up to fewer than the minimum, the smallest group of the
-- others too, so that no hidden number follows from the total less the
-- shown ones for fewer than the minimum customers.
CREATE FUNCTION segment_internal.hidden_groups(customers bigint[], minimum integer) RETURNS boolean[]
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	SET search_path = pg_catalog, segment_internal, pg_temp
	AS $$
	WITH cell AS (
		SELECT coalesce(u.c, 0) AS c, u.n, shown_count(coalesce(u.c, 0), minimum) IS NULL AS small
		FROM pg_catalog.unnest(customers) WITH ORDINALITY AS u(c, n)
	), spare AS (
		SELECT cell.n FROM cell
		WHERE NOT cell.small AND cell.c OPERATOR(pg_catalog.>) 0
		  AND (SELECT pg_catalog.sum(s.c) FROM cell s WHERE s.small) OPERATOR(pg_catalog.<) minimum
		ORDER BY cell.c, cell.n LIMIT 1
	)
	SELECT coalesce(pg_catalog.array_agg(cell.small OR cell.n IN (SELECT spare.n FROM spare) ORDER BY cell.n), '{}')
	FROM cell $$;
COMMENT ON FUNCTION segment_internal.hidden_groups(bigint[], integer) IS
	'which groups of a partition of the customers a report hides: those of fewer than the minimum, and the smallest other one while the hidden add up to fewer';

-- Checks the customers columns an attachment's views are to show (all
-- when NULL).
CREATE FUNCTION segment_internal.check_customer_columns(customers regclass, customer_key name, columns name[])
	RETURNS void
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	missing name;
	clash name;
BEGIN
	IF columns IS NOT NULL AND customers IS NULL THEN
		RAISE EXCEPTION 'customer_columns need a customers table' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF array_position(columns, NULL) IS NOT NULL OR cardinality(columns) <> (SELECT count(DISTINCT c) FROM unnest(columns) c) THEN
		RAISE EXCEPTION 'customer_columns must name each column once, without NULLs' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT c INTO missing FROM unnest(columns) c WHERE column_type(customers, c) IS NULL LIMIT 1;
	IF missing IS NOT NULL THEN
		RAISE EXCEPTION 'column "%" does not exist in %', missing, customers USING ERRCODE = 'undefined_column';
	END IF;
	-- every column, shown or not: rules name them all
	clash := customers_column_clash(customers, customer_key);
	IF clash IS NOT NULL THEN
		RAISE EXCEPTION '% has a column "%", which the customers view computes', customers, clash
			USING ERRCODE = 'duplicate_column',
				  HINT = 'Attach a view of the customers table that renames or leaves out that column.';
	END IF;
END
$function$;
COMMENT ON FUNCTION segment_internal.check_customer_columns(regclass, name, name[]) IS
	'raises an error unless the views can show the columns (all when NULL) of a customers table';

CREATE FUNCTION @extschema@.set_customer_columns(attachment_name text, customer_columns name[]) RETURNS SETOF text
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = set_customer_columns.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'attachment "%" does not exist', set_customer_columns.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Create it with attach().';
	END IF;
	PERFORM check_customer_columns(a.customers_table, a.customer_key, set_customer_columns.customer_columns);
	UPDATE attachments t SET customer_columns = set_customer_columns.customer_columns
	WHERE t.attachment_name = a.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'permission denied to change attachment "%"', a.attachment_name
			USING ERRCODE = 'insufficient_privilege', HINT = 'Only the owner of its orders table may.';
	END IF;
	RETURN QUERY SELECT * FROM rebuild_attachment_views(a.attachment_name);
END
$function$;
COMMENT ON FUNCTION @extschema@.set_customer_columns(text, name[]) IS
	'chooses the columns of the customers table the views of an attachment show besides the key (NULL: all) and rebuilds them';

CREATE FUNCTION @extschema@.set_minimum_group_size(attachment_name text, minimum_group_size integer DEFAULT 5)
	RETURNS SETOF text
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = set_minimum_group_size.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'attachment "%" does not exist', set_minimum_group_size.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Create it with attach().';
	END IF;
	IF set_minimum_group_size.minimum_group_size IS NULL AND a.pseudonym_secret_table IS NOT NULL THEN
		RAISE EXCEPTION 'the views of attachment "%" are published', a.attachment_name
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = 'Published reports keep a minimum group size.',
				  HINT = 'Withdraw them first: publish_views(attachment_name, false).';
	END IF;
	IF set_minimum_group_size.minimum_group_size < 2 THEN
		RAISE EXCEPTION 'minimum group size must be at least 2, not %', set_minimum_group_size.minimum_group_size
			USING ERRCODE = 'invalid_parameter_value', HINT = 'NULL turns the minimum off.';
	END IF;
	UPDATE attachments t SET minimum_group_size = set_minimum_group_size.minimum_group_size
	WHERE t.attachment_name = a.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'permission denied to change attachment "%"', a.attachment_name
			USING ERRCODE = 'insufficient_privilege', HINT = 'Only the owner of its orders table may.';
	END IF;
	RETURN QUERY SELECT * FROM build_attachment_views(a.attachment_name);
END
$function$;
COMMENT ON FUNCTION @extschema@.set_minimum_group_size(text, integer) IS
	'sets the fewest customers a number of the summary views of an attachment may count (NULL: no minimum) and rebuilds them';

-- The schema of pgcrypto, quoted; NULL if it is not installed.
CREATE FUNCTION segment_internal.pgcrypto_schema() RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT pg_catalog.quote_ident(n.nspname)
		  FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace
		  WHERE e.extname OPERATOR(pg_catalog.=) 'pgcrypto' $$;
COMMENT ON FUNCTION segment_internal.pgcrypto_schema() IS 'the schema of the extension pgcrypto, quoted; NULL if it is not installed';

-- Why the published views of an attachment cannot be built, in a sentence;
-- NULL if they can: the secret must exist and be its owner's alone, for
-- whoever reads it can tell every customer's pseudonym.
CREATE FUNCTION segment_internal.pseudonym_secret_obstacle(a @extschema@.attachments) RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $$ SELECT CASE
		WHEN NOT relation_exists(a.pseudonym_secret_table)
			THEN 'Its pseudonym secret table is gone; publish_views() makes a new secret, and new pseudonyms.'
		WHEN EXISTS (SELECT 1 FROM pg_class c, aclexplode(c.relacl) g
					 WHERE c.oid = a.pseudonym_secret_table AND g.grantee <> c.relowner)
			THEN format('%s is granted to roles other than its owner; revoke that, for whoever reads it can tell every customer''s pseudonym.',
						a.pseudonym_secret_table)
		END $$;
COMMENT ON FUNCTION segment_internal.pseudonym_secret_obstacle(@extschema@.attachments) IS
	'why the published views of an attachment cannot be built (its secret gone, or granted to others); NULL if they can';

-- Publishes the views of an attachment for roles that may not read its
-- tables: <a>_published_customers and the published reports, which run
-- with their owner's rights.  The secret of the pseudonyms is made once,
-- in a table of the owner's that no one else is granted, and kept while
-- published, so that a customer's pseudonym stays the same.
CREATE FUNCTION @extschema@.publish_views(attachment_name text, published boolean DEFAULT true) RETURNS SETOF text
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	secret text;
	grantee oid;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = publish_views.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'attachment "%" does not exist', publish_views.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Create it with attach().';
	END IF;
	IF NOT coalesce(owns_relation(a.orders_table), false) THEN
		RAISE EXCEPTION 'permission denied to publish the views of attachment "%"', a.attachment_name
			USING ERRCODE = 'insufficient_privilege', HINT = 'Only the owner of its orders table may.';
	END IF;
	IF published IS NULL THEN
		RAISE EXCEPTION 'published must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	-- two calls for one attachment wait for each other: one secret
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = a.attachment_name FOR UPDATE;
	IF NOT published THEN
		IF a.pseudonym_secret_table IS NULL THEN
			RETURN QUERY SELECT unnest(a.views);
			RETURN;
		END IF;
		UPDATE attachments t SET pseudonym_secret_table = NULL WHERE t.attachment_name = a.attachment_name;
		RETURN QUERY SELECT * FROM build_attachment_views(a.attachment_name);
		IF relation_exists(a.pseudonym_secret_table) THEN
			EXECUTE format('DROP TABLE %s', a.pseudonym_secret_table);
		END IF;
		RETURN;
	END IF;
	IF a.minimum_group_size IS NULL THEN
		RAISE EXCEPTION 'attachment "%" has no minimum group size', a.attachment_name
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = 'The published reports are for roles that may not see customers one by one.',
				  HINT = 'Set one first: set_minimum_group_size(attachment_name).';
	END IF;
	IF a.customers_table IS NOT NULL AND a.customer_columns IS NULL THEN
		RAISE EXCEPTION 'attachment "%" shows every column of %', a.attachment_name, a.customers_table
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = 'The published customers view shows the columns the attachment shows.',
				  HINT = 'Choose them first: set_customer_columns(attachment_name, columns).';
	END IF;
	IF pgcrypto_schema() IS NULL THEN
		RAISE EXCEPTION 'the published views of attachment "%" need the extension pgcrypto', a.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'CREATE EXTENSION pgcrypto;';
	END IF;
	IF a.pseudonym_secret_table IS NULL OR NOT relation_exists(a.pseudonym_secret_table) THEN
		secret := format('%I.%I', a.view_schema, a.attachment_name || '_pseudonym_secret');
		EXECUTE format('CREATE TABLE %s (secret bytea NOT NULL, one boolean PRIMARY KEY DEFAULT true CHECK (one))', secret);
		-- the schema's default privileges may have granted it to others
		FOR grantee IN SELECT DISTINCT g.grantee FROM pg_class c, aclexplode(c.relacl) g
					   WHERE c.oid = secret::regclass AND g.grantee <> c.relowner LOOP
			EXECUTE format('REVOKE ALL ON %s FROM %s', secret,
						   CASE WHEN grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(grantee)) END);
		END LOOP;
		EXECUTE format('INSERT INTO %s (secret) VALUES (%s.gen_random_bytes(32))', secret, pgcrypto_schema());
		PERFORM comment_relation(secret,
			format('the secret key of the pseudonyms of the published views of segment attachment %s: whoever reads it can tell every customer''s pseudonym', a.attachment_name),
			'secret', '32 random bytes, the HMAC key',
			'one', 'true: the table holds one row');
		UPDATE attachments t SET pseudonym_secret_table = secret::regclass WHERE t.attachment_name = a.attachment_name;
	END IF;
	RETURN QUERY SELECT * FROM build_attachment_views(a.attachment_name);
END
$function$;
COMMENT ON FUNCTION @extschema@.publish_views(text, boolean) IS
	'publishes (or with false withdraws) the views of an attachment for roles that may not read its tables: pseudonymous customers and the reports, with the owner''s rights';

-- The keys whose pseudonym is the one given: a customer of the orders or,
-- with a customers table, of that table.  Only a role that may read the
-- secret (its owner) may.
CREATE FUNCTION @extschema@.customer_for_pseudonym(attachment_name text, pseudonym text) RETURNS text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	key text;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = customer_for_pseudonym.attachment_name;
	IF NOT FOUND OR a.pseudonym_secret_table IS NULL THEN
		RAISE EXCEPTION 'attachment "%" has no published views', customer_for_pseudonym.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'publish_views() makes them.';
	END IF;
	EXECUTE format($find$
		WITH secret AS (SELECT s.secret FROM %1$s s)
		SELECT k.key FROM (SELECT o.%3$I::text AS key FROM %2$s o%4$s) k, secret
		WHERE pg_catalog.encode(%5$s.hmac(pg_catalog.convert_to(k.key, 'UTF8'), secret.secret, 'sha256'::text), 'hex') = $1
		LIMIT 1$find$,
		a.pseudonym_secret_table, a.orders_table, a.customer_column,
		CASE WHEN a.customers_table IS NULL THEN ''
			 ELSE format(' UNION SELECT c.%I::text FROM %s c', a.customer_key, a.customers_table) END,
		pgcrypto_schema())
		INTO key USING lower(customer_for_pseudonym.pseudonym);
	RETURN key;
END
$function$;
COMMENT ON FUNCTION @extschema@.customer_for_pseudonym(text, text) IS
	'the key of the customer an attachment''s published views show under a pseudonym; NULL if none; only for roles that may read the secret';
