-- segment 0.5.0 -> 0.6.0.  Every change to the install pieces in src/*.sql
-- since 0.5.0 appears here too; test/t/upgrade.sh compares the result with a
-- fresh install of 0.6.0.

\echo Use "ALTER EXTENSION segment UPDATE TO '0.6.0'" to load this file. \quit

-- The attachment keeps the segments of every score cell of its map (in
-- place of its cells table, dropped below), the time zone its timestamp and
-- date order times are read in, and what its event triggers have followed
-- of the orders table (src/attach.sql).
ALTER TABLE @extschema@.attachments
	ADD COLUMN cell_segments @extschema@.segment_set[],
	ADD COLUMN time_zone text NOT NULL DEFAULT 'UTC',
	ADD COLUMN orders_partitions regclass[],
	ADD COLUMN orders_types regtype[];
-- attachments made before read such times in the session's time zone
UPDATE @extschema@.attachments SET time_zone = pg_catalog.current_setting('TimeZone');

-- The state is written at commit from the changes each row trigger
-- records (src/state.sql, src/state_trigger.c, src/state_fold.c); the SQL
-- the 0.5.0 trigger shared with the refresh functions is gone.
DROP FUNCTION @extschema@.state_columns_sql(text, text, regclass);

COMMENT ON COLUMN @extschema@.attachments.cell_segments IS
	'the segments of every score cell of a maintained attachment''s map, in the order of the cells'' codes, which its state is written with';

COMMENT ON COLUMN @extschema@.attachments.time_zone IS
	'the time zone order times of type timestamp or date are read in, set by attach() from the TimeZone setting';

COMMENT ON COLUMN @extschema@.attachments.orders_partitions IS
	'the partitions of the orders table a maintained attachment has followed, for its event triggers';

COMMENT ON COLUMN @extschema@.attachments.orders_types IS
	'the types of the order time and amount columns a maintained attachment has followed, for its event triggers';

CREATE OR REPLACE FUNCTION @extschema@.rebuild_attachment_views(attachment_name text) RETURNS SETOF text
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	ext text;
	options text := '';
	prefix text;
	customer_columns text := '';
	own_columns name[] := '{}';
	population text;
	rule_values text := '';
	rule_array text := '';
	members_lateral text;
	segment_list text;
	view_name text;
	built text[] := '{}';
	stats_source text;
	scoring text;
	reference text;
	candidates text;
	attribute_rules text[] := '{}';
	segment_columns text;
	seg record;
	col record;
	granted record;
	grants_kept text[] := '{}';
	grant_views text[] := '{}';
BEGIN
	SELECT * INTO a FROM attachments t
	WHERE t.attachment_name = rebuild_attachment_views.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'attachment "%" does not exist', rebuild_attachment_views.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Create it with attach().';
	END IF;
	SELECT format('%I', n.nspname) INTO ext
	FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'segment';
	IF current_setting('server_version_num')::int >= 150000 THEN
		options := ' WITH (security_invoker = true)';
	ELSE
		RAISE WARNING 'views of attachment "%" run with the rights of their owner', a.attachment_name
			USING DETAIL = 'security_invoker views need PostgreSQL 15.';
	END IF;
	prefix := a.attachment_name || '_';
	-- the map may have changed: the stored segments follow it
	IF a.state_table IS NOT NULL AND fill_segment_cells(a.attachment_name) THEN
		PERFORM rescore_state(a.attachment_name, only_expired => false);
	END IF;
	-- and the stored tags follow the rules
	IF a.tags_table IS NOT NULL THEN
		PERFORM store_customer_tags(a.attachment_name, only_if_rules_changed => true);
		attribute_rules := ARRAY(SELECT r.rule_name FROM customer_tag_rules(a.attachment_name) r);
	END IF;

	-- what others were granted on the previous views goes to the new views
	-- of the same names
	FOR granted IN
		SELECT v.name, format('GRANT %s ON %s TO %s%s', g.privilege_type, v.name,
							  CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(g.grantee)) END,
							  CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END) AS statement
		FROM unnest(a.views) v(name)
			 JOIN pg_class c ON c.oid = to_regclass(v.name)
			 CROSS JOIN LATERAL aclexplode(c.relacl) g
		WHERE g.grantee <> c.relowner
		ORDER BY 1, 2
	LOOP
		grant_views := grant_views || granted.name;
		grants_kept := grants_kept || granted.statement;
	END LOOP;

	-- drop the previous views, dependents first
	FOR i IN REVERSE coalesce(array_upper(a.views, 1), 0) .. 1 LOOP
		EXECUTE format('DROP VIEW IF EXISTS %s', a.views[i]);
	END LOOP;

	-- per-customer statistics: maintained by triggers with the scores and
	-- stage they give, stored while time alone leaves them unchanged and
	-- otherwise scored against the thresholds stored at the last refresh (no
	-- window over all customers, so reading one customer is an index
	-- lookup), or computed from the orders and scored against all customers
	-- at read time.  An order after the analysis time (only maintained
	-- statistics have them) counts as made at the analysis time.
	IF a.state_table IS NOT NULL THEN
		-- a customer whose last order is after the analysis time counts
		-- with the orders at or before it, as an unmaintained attachment
		-- counts it (state_stats_at_sql())
		stats_source := format('SELECT s.customer_id, s.stats, s.stored_scores, s.stored_stage, s.stored_valid
	FROM (SELECT s.customer_id,
				 CASE WHEN %2$s.last_order_time(s.stats) <= clock.as_of THEN s.stats
					  ELSE %2$s.state_stats_at(%3$L, s.customer_id, clock.as_of) END AS stats,
				 s.scores AS stored_scores, s.lifecycle_stage AS stored_stage,
				 s.valid_from <= clock.as_of AND clock.as_of < s.valid_until AS stored_valid
		  FROM %1$s s, (SELECT %2$s.segment_as_of() AS as_of) clock) s
	WHERE s.stats IS NOT NULL', a.state_table, ext, a.attachment_name);
		scoring := format('CASE WHEN p.stored_valid THEN p.stored_scores
				ELSE %1$s.rfm_score(p.stats, p.judged_at, r.thresholds) END AS scores,
		   r.population_average_order_value', ext);
		reference := format(', (SELECT t.thresholds, t.population_average_order_value FROM %s.attachments t
		   WHERE t.attachment_name = %L) r', ext, a.attachment_name);
	ELSE
		scoring := format('%1$s.rfm_score(p.stats, p.judged_at, %2$s) OVER () AS scores,
		   sum(%1$s.total_amount(p.stats)) OVER () / sum(%1$s.order_count(p.stats)) OVER () AS population_average_order_value',
		   ext, a.bins);
		reference := '';
		stats_source := format(
			'SELECT o.%1$I AS customer_id, %2$s.rfm_stats(%6$s, o.%4$I::numeric) AS stats,
		   NULL::%2$s.rfm AS stored_scores, NULL::text AS stored_stage, false AS stored_valid
	FROM %5$s o
	WHERE %6$s <= (SELECT %2$s.segment_as_of()) AND o.%1$I IS NOT NULL
	GROUP BY o.%1$I', a.customer_column, ext, a.order_time_column, a.amount_column, a.orders_table,
			order_time_sql(format('o.%I', a.order_time_column), column_type(a.orders_table, a.order_time_column), a.time_zone));
	END IF;

	-- one row per customer: the customers table (prospects included) or
	-- the customers found in the orders
	IF a.customers_table IS NOT NULL THEN
		SELECT coalesce(array_agg(att.attname ORDER BY att.attnum), '{}') INTO own_columns
		FROM pg_attribute att
		WHERE att.attrelid = a.customers_table AND att.attnum > 0 AND NOT att.attisdropped
		  AND att.attname <> a.customer_key;
		SELECT coalesce(string_agg(format(', c.%I', c), ''), '') INTO customer_columns
		FROM unnest(own_columns) c;
		population := format(
			'SELECT c.%I AS customer_id%s, s.stats, s.stored_scores, s.stored_stage, s.stored_valid, %s AS stored_tags
	FROM %s c LEFT JOIN (%s) s ON s.customer_id = c.%I%s',
			a.customer_key, customer_columns,
			CASE WHEN a.tags_table IS NULL THEN format('NULL::%s.segment_set', ext) ELSE 'g.segments' END,
			a.customers_table, stats_source, a.customer_key,
			CASE WHEN a.tags_table IS NULL THEN ''
				 ELSE format(' LEFT JOIN %s g ON g.customer_id = c.%I', a.tags_table, a.customer_key) END);
		customer_columns := replace(customer_columns, ', c.', ', p.');
	ELSE
		population := format('SELECT s.customer_id, s.stats, s.stored_scores, s.stored_stage, s.stored_valid,
		   NULL::%s.segment_set AS stored_tags FROM (%s) s', ext, stats_source);
	END IF;

	FOR seg IN
		SELECT r.rule_name, r.expression FROM segment_rules r
		WHERE r.attachment_name = a.attachment_name ORDER BY r.rule_name
	LOOP
		PERFORM segment_rule_check(seg.expression);
		-- CASE WHEN and WHERE take booleans only, so a number is an error;
		-- the newline after an expression ends its trailing -- comment
		rule_values := rule_values || format('%s(%L, (%s
) IS TRUE)',
			CASE WHEN rule_values = '' THEN '' ELSE ', ' END, seg.rule_name, seg.expression);
		-- an attribute rule's segment is stored with the customer
		IF seg.rule_name = ANY (attribute_rules) THEN
			rule_array := rule_array || format(', CASE WHEN customer.stored_tags OPERATOR(%s.?) %L THEN %L END',
											   ext, seg.rule_name, seg.rule_name);
		ELSE
			rule_array := rule_array || format(', CASE WHEN (%s
) THEN %L END', seg.expression, seg.rule_name);
		END IF;
	END LOOP;

	view_name := format('%I.%I', a.view_schema, prefix || 'customers');
	EXECUTE format($view$
CREATE VIEW %1$s%2$s AS
SELECT customer.customer_id%8$s, customer.order_count, customer.total_amount, customer.average_order_value,
	   customer.population_average_order_value, customer.first_order_time, customer.last_order_time,
	   customer.recency_days, customer.recency_score, customer.frequency_score, customer.monetary_score,
	   customer.rfm_cell, customer.rfm, customer.segment,
	   array_to_string(coalesce(customer.rfm_segments, '{}') || array_remove(ARRAY[NULL::text%9$s], NULL), ', ') AS segments,
	   customer.lifecycle_stage
FROM (
	SELECT p.customer_id%6$s,
		   coalesce(%3$s.order_count(p.stats), 0) AS order_count,
		   coalesce(%3$s.total_amount(p.stats), 0) AS total_amount,
		   %3$s.total_amount(p.stats) / %3$s.order_count(p.stats) AS average_order_value,
		   p.population_average_order_value,
		   %3$s.first_order_time(p.stats) AS first_order_time,
		   %3$s.last_order_time(p.stats) AS last_order_time,
		   round(%3$s.recency_days(p.stats, p.judged_at)::numeric, 6) AS recency_days,
		   %3$s.recency_score(p.scores) AS recency_score,
		   %3$s.frequency_score(p.scores) AS frequency_score,
		   %3$s.monetary_score(p.scores) AS monetary_score,
		   %3$s.rfm_cell(p.scores) AS rfm_cell,
		   p.scores::text AS rfm,
		   %3$s.segment_assign(p.scores, %7$L) AS segment,
		   %3$s.segment_memberships(p.scores, %7$L) AS rfm_segments,
		   CASE WHEN p.stored_valid THEN p.stored_stage
				ELSE %3$s.lifecycle_stage(p.stats, p.judged_at) END AS lifecycle_stage,
		   p.stored_tags
	FROM (
		SELECT p.*, %5$s
		FROM (
			SELECT p.*, GREATEST(clock.as_of, %3$s.last_order_time(p.stats)) AS judged_at
			FROM (%4$s) p, (SELECT %3$s.segment_as_of() AS as_of) clock
		) p%10$s
	) p
) AS customer
$view$, view_name, options, ext, population, scoring, customer_columns, a.map_name,
		replace(customer_columns, ', p.', ', customer.'), rule_array, reference);
	built := built || view_name;
	EXECUTE format('COMMENT ON VIEW %s IS %L', view_name,
		format('one row per customer of %s with RFM scores, segments and lifecycle stage (segment attachment %s)',
			   a.orders_table, a.attachment_name));
	EXECUTE format('COMMENT ON COLUMN %s.customer_id IS %L', view_name, 'the customer''s key');
	FOR col IN SELECT * FROM customer_view_columns() LOOP
		EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', view_name, col.column_name, col.description);
	END LOOP;
	FOR i IN 1 .. coalesce(array_upper(own_columns, 1), 0) LOOP
		EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', view_name, own_columns[i],
					   format('from %s', a.customers_table));
	END LOOP;

	-- every membership of a customer, one row each
	members_lateral := format($lateral$
	CROSS JOIN LATERAL (
		SELECT s.segment, 'rfm'::text FROM unnest(%1$s.segment_memberships(customer.rfm::%1$s.rfm, %2$L)) AS s(segment)
		UNION ALL
		SELECT v.segment, 'rule'::text FROM (VALUES %3$s) AS v(segment, member) WHERE v.member
	) AS m(segment, kind)$lateral$, ext, a.map_name,
		CASE WHEN rule_values = '' THEN '(NULL::text, false)' ELSE rule_values END);

	view_name := format('%I.%I', a.view_schema, prefix || 'segment_members');
	EXECUTE format($view$
CREATE VIEW %1$s%2$s AS
SELECT customer.customer_id, m.segment, m.kind, customer.order_count, customer.total_amount
FROM %3$I.%4$I AS customer%5$s
$view$, view_name, options, a.view_schema, prefix || 'customers', members_lateral);
	built := built || view_name;
	PERFORM comment_relation(view_name,
		format('one row per segment membership of a customer (segment attachment %s)', a.attachment_name),
		'customer_id', 'the customer''s key',
		'segment', 'a segment the customer belongs to',
		'kind', 'rfm for a segment of the map, rule for a rule segment',
		'order_count', 'the customer''s number of orders',
		'total_amount', 'the customer''s total amount');

	-- the segments in display order: the map's, then the rules
	segment_list := format($list$
	SELECT b.segment_name AS segment, 'rfm'::text AS kind, b.priority AS position
	FROM %1$s.segment_map_boxes b WHERE b.map_name = %2$L
	UNION ALL
	SELECT r.rule_name, 'rule', 1000000 + row_number() OVER (ORDER BY r.rule_name)
	FROM %1$s.segment_rules r WHERE r.attachment_name = %3$L$list$, ext, a.map_name, a.attachment_name);

	-- the summaries read the customers view twice, inlined: each use then
	-- computes only the columns it needs (counting customers reads no
	-- statistics), which costs less than computing every column once
	view_name := format('%I.%I', a.view_schema, prefix || 'segment_summary');
	EXECUTE format($view$
CREATE VIEW %1$s%2$s AS
WITH customer AS NOT MATERIALIZED (
	SELECT * FROM %3$I.%4$I
), membership AS (
	SELECT customer.customer_id, m.segment, customer.order_count, customer.total_amount
	FROM customer%5$s
), segment_list AS (%6$s
)
SELECT l.segment, l.kind, count(m.customer_id)::integer AS customers,
	   round(count(m.customer_id)::numeric / nullif((SELECT count(*) FROM customer), 0), 4) AS share_of_customers,
	   coalesce(sum(m.order_count), 0)::numeric AS orders,
	   coalesce(sum(m.total_amount), 0) AS revenue,
	   round(sum(m.total_amount) / nullif(sum(m.order_count), 0), 2) AS average_order_value
FROM segment_list l LEFT JOIN membership m ON m.segment = l.segment
GROUP BY l.segment, l.kind, l.position
ORDER BY l.position
$view$, view_name, options, a.view_schema, prefix || 'customers', members_lateral, segment_list);
	built := built || view_name;
	PERFORM comment_relation(view_name,
		format('customers, orders and revenue of every segment (segment attachment %s)', a.attachment_name),
		'segment', 'segment name',
		'kind', 'rfm for a segment of the map, rule for a rule segment',
		'customers', 'customers in the segment',
		'share_of_customers', 'customers in the segment over all customers, 0 to 1',
		'orders', 'orders of the customers in the segment',
		'revenue', 'total amount of the customers in the segment',
		'average_order_value', 'revenue over orders');

	view_name := format('%I.%I', a.view_schema, prefix || 'lifecycle_summary');
	EXECUTE format($view$
CREATE VIEW %1$s%2$s AS
WITH customer AS NOT MATERIALIZED (
	SELECT lifecycle_stage, order_count, total_amount FROM %3$I.%4$I
)
SELECT s.stage AS lifecycle_stage, count(c.lifecycle_stage)::integer AS customers,
	   round(count(c.lifecycle_stage)::numeric / nullif((SELECT count(*) FROM customer), 0), 4) AS share_of_customers,
	   coalesce(sum(c.order_count), 0)::numeric AS orders,
	   coalesce(sum(c.total_amount), 0) AS revenue,
	   round(sum(c.total_amount) / nullif(sum(c.order_count), 0), 2) AS average_order_value
FROM %5$s.lifecycle_stages() s LEFT JOIN customer c ON c.lifecycle_stage = s.stage
GROUP BY s.stage, s.position
ORDER BY s.position
$view$, view_name, options, a.view_schema, prefix || 'customers', ext);
	built := built || view_name;
	PERFORM comment_relation(view_name,
		format('customers, orders and revenue of every lifecycle stage (segment attachment %s)', a.attachment_name),
		'lifecycle_stage', 'lifecycle stage',
		'customers', 'customers in the stage',
		'share_of_customers', 'customers in the stage over all customers, 0 to 1',
		'orders', 'orders of the customers in the stage',
		'revenue', 'total amount of the customers in the stage',
		'average_order_value', 'revenue over orders');

	view_name := format('%I.%I', a.view_schema, prefix || 'rf_grid');
	EXECUTE format($view$
CREATE VIEW %1$s%2$s AS
SELECT r.score AS recency_score, f.score AS frequency_score,
	   count(c.rfm_cell)::integer AS customers,
	   round(avg(c.total_amount), 2) AS average_total_amount
FROM generate_series(1, %5$s) r(score)
	 CROSS JOIN generate_series(1, %5$s) f(score)
	 LEFT JOIN %3$I.%4$I c ON c.recency_score = r.score AND c.frequency_score = f.score
GROUP BY r.score, f.score
ORDER BY r.score, f.score
$view$, view_name, options, a.view_schema, prefix || 'customers', a.bins);
	built := built || view_name;
	PERFORM comment_relation(view_name,
		format('customers and mean monetary value per recency and frequency score, for a heatmap (segment attachment %s)',
			   a.attachment_name),
		'recency_score', 'R score',
		'frequency_score', 'F score',
		'customers', 'customers in the cell',
		'average_total_amount', 'mean total amount of the customers in the cell');

	-- one view per segment, named after it
	FOR seg IN EXECUTE format('SELECT segment, kind FROM (%s) l ORDER BY position', segment_list) LOOP
		IF segment_slug(seg.segment) = '' THEN
			RAISE EXCEPTION 'segment "%" has no letters or digits to name its view', seg.segment
				USING ERRCODE = 'invalid_name';
		END IF;
		view_name := format('%I.%I', a.view_schema,
							left(prefix || 'segment_' || segment_slug(seg.segment), 63));
		IF view_name = ANY (built) THEN
			RAISE EXCEPTION 'two segments of attachment "%" would share the view %', a.attachment_name, view_name
				USING ERRCODE = 'duplicate_object', HINT = 'Rename one of the segments.';
		END IF;
		candidates := '';
		IF seg.kind = 'rule' AND seg.segment = ANY (attribute_rules) THEN
			-- an attribute rule's members are exactly the customers tagged
			-- with it, each looked up in the customers view: OFFSET 0 keeps
			-- the lookup per member, where a join would derive every customer
			-- first; customer_id is the tags', so that a filter on it is a
			-- lookup in the tags too
			SELECT string_agg(format('customer.%I', att.attname), ', ' ORDER BY att.attnum) INTO segment_columns
			FROM pg_attribute att
			WHERE att.attrelid = format('%I.%I', a.view_schema, prefix || 'customers')::regclass
			  AND att.attnum > 1 AND NOT att.attisdropped;
			EXECUTE format($view$
CREATE VIEW %1$s%2$s AS
SELECT g.customer_id, %8$s
FROM %5$s g
	 CROSS JOIN LATERAL (SELECT * FROM %3$I.%4$I AS own WHERE own.customer_id = g.customer_id OFFSET 0) AS customer
WHERE g.segments OPERATOR(%6$s.@>) %7$L::%6$s.segment_set
$view$, view_name, options, a.view_schema, prefix || 'customers', a.tags_table, ext,
				segment_set(ARRAY[seg.segment])::text, segment_columns);
		ELSE
			-- with maintained state, an RFM segment's members are among the
			-- customers whose stored segments hold it (the GIN index) and those
			-- whose stored values do not hold at the analysis time (index ranges)
			IF a.state_table IS NOT NULL AND seg.kind = 'rfm' THEN
				candidates := format($candidates$
  AND customer.customer_id IN (
	SELECT s.customer_id FROM %1$s s
	WHERE s.segments OPERATOR(%2$s.@>) %3$L::%2$s.segment_set
	UNION ALL
	SELECT s.customer_id FROM %1$s s
	WHERE s.valid_until <= %2$s.segment_as_of() OR s.valid_from > %2$s.segment_as_of())$candidates$,
					a.state_table, ext, segment_set(ARRAY[seg.segment])::text);
			END IF;
			-- the row inside is named customer too, as the rules know it: a
			-- rule's text is spliced as it is, never rewritten
			EXECUTE format($view$
CREATE VIEW %1$s%2$s AS
SELECT customer.* FROM %3$I.%4$I AS customer
WHERE EXISTS (SELECT 1 FROM (SELECT customer.*) AS customer%5$s WHERE m.segment = %6$L)%7$s
$view$, view_name, options, a.view_schema, prefix || 'customers',
				members_lateral, seg.segment, candidates);
		END IF;
		built := built || view_name;
		EXECUTE format('COMMENT ON VIEW %s IS %L', view_name,
			format('customers in the %s segment %s (segment attachment %s)', seg.kind, seg.segment, a.attachment_name));
		FOR col IN
			SELECT att.attname, d.description FROM pg_attribute att
			JOIN pg_description d ON d.objoid = att.attrelid AND d.objsubid = att.attnum
			WHERE att.attrelid = format('%I.%I', a.view_schema, prefix || 'customers')::regclass
		LOOP
			EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', view_name, col.attname, col.description);
		END LOOP;
	END LOOP;

	FOR i IN 1 .. coalesce(array_upper(grants_kept, 1), 0) LOOP
		IF grant_views[i] = ANY (built) THEN
			EXECUTE grants_kept[i];
		END IF;
	END LOOP;

	UPDATE attachments t SET views = built WHERE t.attachment_name = a.attachment_name;
	RETURN QUERY SELECT unnest(built);
END
$function$;

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
	SET search_path = pg_catalog, @extschema@, pg_temp
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
		SELECT c.column_name INTO clash
		FROM customer_view_columns() c
		WHERE column_type(customers, c.column_name) IS NOT NULL
		   OR (c.column_name = 'customer_id' AND customer_key <> 'customer_id'
			   AND column_type(customers, 'customer_id') IS NOT NULL)
		LIMIT 1;
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

CREATE UNLOGGED TABLE @extschema@.state_commits ();

COMMENT ON TABLE @extschema@.state_commits IS
	'one row per transaction that wrote orders of a maintained attachment, while it runs; its deferred trigger writes the state at commit';

COMMENT ON FUNCTION @extschema@.segment_state_trigger() IS
	'records the orders written to the orders table of a maintained attachment (its argument), for the state written at commit';

CREATE FUNCTION @extschema@.segment_state_commit() RETURNS trigger
	AS 'MODULE_PATHNAME' LANGUAGE C;

COMMENT ON FUNCTION @extschema@.segment_state_commit() IS
	'writes the orders recorded in the transaction into the state tables of their attachments, each customer once, in key order';

CREATE CONSTRAINT TRIGGER state_commit AFTER INSERT ON @extschema@.state_commits
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION @extschema@.segment_state_commit();

COMMENT ON TRIGGER state_commit ON @extschema@.state_commits IS
	'writes the maintained state of a transaction when it commits';

ALTER TABLE @extschema@.state_commits ENABLE ALWAYS TRIGGER state_commit;

CREATE FUNCTION @extschema@.state_derive_again(attachment_name text, source regclass)
	RETURNS void AS 'MODULE_PATHNAME' LANGUAGE C;

COMMENT ON FUNCTION @extschema@.state_derive_again(text, regclass) IS
	'has the commit derive again from the orders the customers found in table source (a partition attached or detached)';

CREATE FUNCTION @extschema@.run_state_statement(attachment_name text, statement text)
	RETURNS bigint AS 'MODULE_PATHNAME' LANGUAGE C STRICT;

COMMENT ON FUNCTION @extschema@.run_state_statement(text, text) IS
	'runs one statement of state_statements() (refill, rescore or rescore_expired) on a maintained attachment, as the owner of its state table, restricted; for that owner';

CREATE FUNCTION @extschema@.attachments_changed() RETURNS trigger
	AS 'MODULE_PATHNAME' LANGUAGE C;

COMMENT ON FUNCTION @extschema@.attachments_changed() IS
	'has every session prepare the statements that write the maintained state again';

CREATE TRIGGER attachments_changed AFTER INSERT OR UPDATE OR DELETE ON @extschema@.attachments
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.attachments_changed();

COMMENT ON TRIGGER attachments_changed ON @extschema@.attachments IS
	'has every session prepare the statements that write the maintained state again';

CREATE FUNCTION @extschema@.state_values(stats @extschema@.rfm_stats, as_of timestamptz,
										 thresholds @extschema@.rfm_thresholds,
										 cell_segments @extschema@.segment_set[],
										 previous_from timestamptz, previous_until timestamptz,
										 OUT scores @extschema@.rfm, OUT lifecycle_stage text,
										 OUT segments @extschema@.segment_set, OUT scored_at timestamptz,
										 OUT valid_until timestamptz, OUT valid_from timestamptz)
	RETURNS record
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.state_values(@extschema@.rfm_stats, timestamptz, @extschema@.rfm_thresholds, @extschema@.segment_set[], timestamptz, timestamptz) IS
	'what a state row stores beside its statistics at analysis time as_of: scores against the thresholds, lifecycle stage, the segments of the score''s cell (cell_segments: those of every cell, in the order of their codes), and the span time alone leaves them true (keeping the previous bounds where they still hold); NULL for NULL stats';

CREATE FUNCTION @extschema@.order_time_sql(expression text, time_type regtype, time_zone text) RETURNS text
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT CASE time_type
			WHEN 'timestamp with time zone'::regtype THEN expression
			WHEN 'timestamp without time zone'::regtype
				THEN format('pg_catalog.timezone(%L::pg_catalog.text, %s)', time_zone, expression)
			WHEN 'date'::regtype
				THEN format('pg_catalog.timezone(%L::pg_catalog.text, (%s)::pg_catalog.timestamp)', time_zone, expression)
		  END $$;

COMMENT ON FUNCTION @extschema@.order_time_sql(text, regtype, text) IS
	'the SQL that reads an order time of this type as a timestamptz: timestamp and date in the attachment''s time zone';

CREATE FUNCTION @extschema@.state_row_sql(stats_sql text, thresholds_sql text, cell_segments_sql text,
										  previous_from_sql text, previous_until_sql text) RETURNS text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $function$
DECLARE
	ext text;
BEGIN
	SELECT format('%I', n.nspname) INTO ext
	FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'segment';
	RETURN format($row$SELECT m.stats, v.scores, v.lifecycle_stage, v.segments, v.scored_at, v.valid_until, v.valid_from
FROM (SELECT %2$s AS stats) m,
	 %1$s.state_values(m.stats, (SELECT %1$s.segment_as_of()), %3$s, %4$s, %5$s, %6$s) v$row$,
		ext, stats_sql, thresholds_sql, cell_segments_sql, previous_from_sql, previous_until_sql);
END
$function$;

COMMENT ON FUNCTION @extschema@.state_row_sql(text, text, text, text, text) IS
	'the SQL of the values of a state row after customer_id, given the SQL of its statistics, of the thresholds, of the segments of every score cell and of its previous span; every statement that writes state rows uses it';

CREATE FUNCTION @extschema@.attachment_value_sql(attachment_name text, column_name name) RETURNS text
	LANGUAGE sql STABLE STRICT
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT format('(SELECT t.%I FROM %I.attachments t WHERE t.attachment_name OPERATOR(pg_catalog.=) %L)',
						column_name, n.nspname, attachment_name)
		  FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace
		  WHERE e.extname OPERATOR(pg_catalog.=) 'segment' $$;

COMMENT ON FUNCTION @extschema@.attachment_value_sql(text, name) IS
	'the SQL of a column of an attachment''s row (its thresholds, the segments of its cells), read when a statement runs';

CREATE FUNCTION @extschema@.state_statements(attachment_name text, key_type regtype, time_type regtype,
											 amount_type regtype)
	RETURNS TABLE (merge text, merge_one text, derive text, clear text, refill text, rescore text,
				   rescore_expired text, owner oid, problem text, relations oid[])
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, @extschema@, pg_temp
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
	SELECT format('%I', n.nspname) INTO ext
	FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'segment';
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
		state_row_sql('c.added', '$5', '$6', 'NULL', 'NULL'),
		state_row_sql(format('%s.rfm_stats_combine(s.stats, excluded.stats)', ext), '$5', '$6',
					  's.valid_from', 's.valid_until'),
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
					  '$4', '$5', 'NULL', 'NULL'),
		state_row_sql(format('%s.rfm_stats_combine(s.stats, excluded.stats)', ext), '$4', '$5',
					  's.valid_from', 's.valid_until'));

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
		state_row_sql('f.stats', '$2', '$3', 's.valid_from', 's.valid_until'));

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
					  attachment_value_sql(a.attachment_name, 'cell_segments'), 'NULL', 'NULL'));
	-- every row scored again, or those whose stored values expired, locked
	-- in key order as the fold of orders locks them, so that the two never
	-- deadlock
	rescore := format($sql$UPDATE %1$s s SET (%2$s) = (%3$s)
FROM (SELECT k.customer_id FROM %1$s k%4$s ORDER BY k.customer_id FOR UPDATE) k
WHERE s.customer_id OPERATOR(pg_catalog.=) k.customer_id$sql$,
		state, columns,
		state_row_sql('s.stats', attachment_value_sql(a.attachment_name, 'thresholds'),
					  attachment_value_sql(a.attachment_name, 'cell_segments'), 's.valid_from', 's.valid_until'),
		'');
	rescore_expired := format($sql$UPDATE %1$s s SET (%2$s) = (%3$s)
FROM (SELECT k.customer_id FROM %1$s k%4$s ORDER BY k.customer_id FOR UPDATE) k
WHERE s.customer_id OPERATOR(pg_catalog.=) k.customer_id$sql$,
		state, columns,
		state_row_sql('s.stats', attachment_value_sql(a.attachment_name, 'thresholds'),
					  attachment_value_sql(a.attachment_name, 'cell_segments'), 's.valid_from', 's.valid_until'),
		format(' WHERE k.valid_until IS NULL OR k.valid_until OPERATOR(pg_catalog.<=) %1$s.segment_as_of() '
			   'OR k.valid_from OPERATOR(pg_catalog.>) %1$s.segment_as_of()', ext));
	RETURN NEXT;
END
$function$;

COMMENT ON FUNCTION @extschema@.state_statements(text, regtype, regtype, regtype) IS
	'the statements that write the state of a maintained attachment: merge recorded orders, derive changed customers again, clear, refill from all orders, score every customer or the expired ones again';

CREATE FUNCTION @extschema@.lock_state_tables(attachment_name text) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
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

COMMENT ON FUNCTION @extschema@.lock_state_tables(text) IS
	'locks the state tables of the maintained attachments of an attachment''s orders table against writers, in the order writers take them';

CREATE OR REPLACE FUNCTION @extschema@.fill_segment_cells(attachment_name text) RETURNS boolean
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
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

COMMENT ON FUNCTION @extschema@.fill_segment_cells(text) IS
	'stores the RFM segments of every score cell of a maintained attachment''s map in attachments.cell_segments; true if they changed';

CREATE OR REPLACE FUNCTION @extschema@.rescore_state(attachment_name text, only_expired boolean) RETURNS bigint
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
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

CREATE FUNCTION @extschema@.relation_exists(relation regclass) RETURNS boolean
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) relation) $$;

COMMENT ON FUNCTION @extschema@.relation_exists(regclass) IS
	'whether the relation still exists; false for NULL';

CREATE FUNCTION @extschema@.orders_partitions(orders regclass) RETURNS regclass[]
	LANGUAGE sql STABLE STRICT
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT coalesce(array_agg(t.relid ORDER BY t.relid::oid), '{}')
		  FROM pg_catalog.pg_partition_tree(orders) t WHERE t.relid OPERATOR(pg_catalog.<>) orders $$;

COMMENT ON FUNCTION @extschema@.orders_partitions(regclass) IS
	'the partitions of an orders table at every level, none for a plain table';

CREATE FUNCTION @extschema@.state_obstacle(attachment_name text) RETURNS text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, @extschema@, pg_temp
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

COMMENT ON FUNCTION @extschema@.state_obstacle(text) IS
	'why the orders table of an attachment cannot have maintained state (not a table, row-level security, a nondeterministic collation of the key); NULL if it can';

CREATE FUNCTION @extschema@.install_state_triggers(attachment_name text) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	ext text;
	trigger_name text;
	partition regclass;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = install_state_triggers.attachment_name;
	SELECT format('%I', n.nspname) INTO ext
	FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'segment';
	trigger_name := 'segment_' || a.attachment_name || '_state';
	IF NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = a.orders_table AND t.tgname = trigger_name) THEN
		EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW '
					   'EXECUTE FUNCTION %s.segment_state_trigger(%L)',
					   trigger_name, a.orders_table, ext, a.attachment_name);
		EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %s FOR EACH STATEMENT '
					   'EXECUTE FUNCTION %s.segment_state_trigger(%L)',
					   trigger_name || '_truncate', a.orders_table, ext, a.attachment_name);
	END IF;
	FOREACH partition IN ARRAY orders_partitions(a.orders_table) LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = partition AND t.tgname = trigger_name || '_truncate')
		   AND (SELECT c.relkind FROM pg_class c WHERE c.oid = partition) = 'r' THEN
			EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %s FOR EACH STATEMENT '
						   'EXECUTE FUNCTION %s.segment_state_trigger(%L)',
						   trigger_name || '_truncate', partition, ext, a.attachment_name);
		END IF;
	END LOOP;
END
$function$;

COMMENT ON FUNCTION @extschema@.install_state_triggers(text) IS
	'creates the triggers that record the writes of the orders of a maintained attachment, on the table and each partition';

CREATE FUNCTION @extschema@.rebuild_state(attachment_name text) RETURNS bigint
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
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
	SET search_path = pg_catalog, @extschema@, pg_temp
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
	SELECT format('%I', n.nspname) INTO ext
	FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'segment';
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
					  HINT = 'Give the customers table a primary key, then call refresh_customer_tags().';
		END IF;
	END IF;
	PERFORM rebuild_attachment_views(a.attachment_name);
	RETURN state::regclass;
END
$function$;

COMMENT ON FUNCTION @extschema@.maintain_attachment(text) IS
	'creates the per-customer state table of an attachment, fills it, has every transaction that writes orders keep it current as it commits, and makes the views read it';

CREATE FUNCTION @extschema@.drop_state_triggers(attachment_name text) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
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

COMMENT ON FUNCTION @extschema@.drop_state_triggers(text) IS
	'drops the triggers that record the writes of the orders of an attachment, on the table and its partitions';

CREATE OR REPLACE FUNCTION @extschema@.stop_maintaining(attachment_name text, rebuild_views boolean DEFAULT true) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
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
		PERFORM rebuild_attachment_views(a.attachment_name);
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

CREATE OR REPLACE FUNCTION @extschema@.refresh_attachment_thresholds(attachment_name text) RETURNS @extschema@.rfm_thresholds
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
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

CREATE FUNCTION @extschema@.state_stats_at(attachment_name text, customer anyelement, as_of timestamptz)
	RETURNS @extschema@.rfm_stats
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, @extschema@, pg_temp
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

COMMENT ON FUNCTION @extschema@.state_stats_at(text, anyelement, timestamptz) IS
	'the statistics of a customer of a maintained attachment from the orders at or before as_of; for customers whose last order is later';

CREATE FUNCTION @extschema@.state_stats_at_sql(attachment_name text, as_of_sql text) RETURNS text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	ext text;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = state_stats_at_sql.attachment_name;
	SELECT format('%I', n.nspname) INTO ext
	FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'segment';
	RETURN format($sql$SELECT k.customer_id, k.stats FROM (
	SELECT s.customer_id,
		   CASE WHEN %1$s.last_order_time(s.stats) OPERATOR(pg_catalog.<=) %2$s THEN s.stats
				ELSE %1$s.state_stats_at(%3$L, s.customer_id, %2$s) END AS stats
	FROM %4$s s) k WHERE k.stats IS NOT NULL$sql$,
		ext, as_of_sql, a.attachment_name, a.state_table);
END
$function$;

COMMENT ON FUNCTION @extschema@.state_stats_at_sql(text, text) IS
	'the SQL of the statistics of a maintained attachment''s customers at an analysis time: stored, or from the orders for customers with later orders';

CREATE FUNCTION @extschema@.readable_attachments() RETURNS boolean
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT pg_catalog.has_schema_privilege(e.extnamespace, 'USAGE')
			  AND pg_catalog.has_table_privilege(c.oid, 'SELECT')
		  FROM pg_catalog.pg_extension e
			   JOIN pg_catalog.pg_class c ON c.relnamespace OPERATOR(pg_catalog.=) e.extnamespace
										 AND c.relname OPERATOR(pg_catalog.=) 'attachments'
		  WHERE e.extname OPERATOR(pg_catalog.=) 'segment' $$;

COMMENT ON FUNCTION @extschema@.readable_attachments() IS
	'whether the current role may read the attachments table, which the event triggers read';

CREATE FUNCTION @extschema@.follow_orders_ddl_changes() RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
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

COMMENT ON FUNCTION @extschema@.follow_orders_ddl_changes() IS
	'what follow_orders_ddl() does, for a role that may use the extension''s schema';

CREATE FUNCTION @extschema@.follow_orders_ddl() RETURNS event_trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $function$
BEGIN
	IF coalesce((SELECT pg_catalog.has_schema_privilege(e.extnamespace, 'USAGE')
				 FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'segment'), false) THEN
		PERFORM follow_orders_ddl_changes();
	END IF;
END
$function$;

COMMENT ON FUNCTION @extschema@.follow_orders_ddl() IS
	'event trigger: keeps the maintained state of attachments right after ALTER TABLE or CREATE TABLE changes their orders tables';

CREATE EVENT TRIGGER segment_follow_orders_ddl ON ddl_command_end
	WHEN TAG IN ('ALTER TABLE', 'CREATE TABLE')
	EXECUTE FUNCTION @extschema@.follow_orders_ddl();

COMMENT ON EVENT TRIGGER segment_follow_orders_ddl IS
	'keeps the maintained state of attachments right after ALTER TABLE or CREATE TABLE changes their orders tables';

CREATE FUNCTION @extschema@.follow_orders_drop_changes() RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
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

COMMENT ON FUNCTION @extschema@.follow_orders_drop_changes() IS
	'what follow_orders_drop() does, for a role that may use the extension''s schema';

CREATE FUNCTION @extschema@.follow_orders_drop() RETURNS event_trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $function$
BEGIN
	IF coalesce((SELECT pg_catalog.has_schema_privilege(e.extnamespace, 'USAGE')
				 FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'segment'), false) THEN
		PERFORM follow_orders_drop_changes();
	END IF;
END
$function$;

COMMENT ON FUNCTION @extschema@.follow_orders_drop() IS
	'event trigger: detaches attachments whose orders table is dropped and derives the state again when a partition is';

CREATE EVENT TRIGGER segment_follow_orders_drop ON sql_drop
	WHEN TAG IN ('DROP TABLE', 'DROP SCHEMA', 'DROP OWNED')
	EXECUTE FUNCTION @extschema@.follow_orders_drop();

COMMENT ON EVENT TRIGGER segment_follow_orders_drop IS
	'detaches attachments whose orders table is dropped and derives the state again when a partition is';

CREATE OR REPLACE FUNCTION @extschema@.customer_tags_obstacle(attachment_name text) RETURNS text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, @extschema@, pg_temp
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

CREATE OR REPLACE FUNCTION @extschema@.attachments_check() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
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

ALTER POLICY attachments_update ON @extschema@.attachments
	USING (coalesce(@extschema@.owns_relation(orders_table), @extschema@.owns_relation(state_table), true))
	WITH CHECK (coalesce(@extschema@.owns_relation(orders_table), @extschema@.owns_relation(state_table), true));

ALTER POLICY attachments_delete ON @extschema@.attachments
	USING (coalesce(@extschema@.owns_relation(orders_table), @extschema@.owns_relation(state_table), true));

COMMENT ON POLICY attachments_update ON @extschema@.attachments IS 'a role changes only attachments of orders tables it owns, or of dropped ones';

COMMENT ON POLICY attachments_delete ON @extschema@.attachments IS 'a role detaches only attachments of orders tables it owns, or of dropped ones';

-- maintained attachments: the triggers that record changes for the commit,
-- the partitions and types followed, and every state row derived again
-- (with the time zone above).  Views built before the update still count
-- an order dated after the analysis time as made then, until they are
-- built again: SELECT rebuild_attachment_views(attachment_name) FROM attachments;
UPDATE @extschema@.attachments
SET orders_partitions = @extschema@.orders_partitions(orders_table),
	orders_types = ARRAY[@extschema@.column_type(orders_table, order_time_column),
						 @extschema@.column_type(orders_table, amount_column)]
WHERE state_table IS NOT NULL;
-- the segments of every score cell, from the map (not from the cells
-- table, which its owner could have made anything)
UPDATE @extschema@.attachments t
SET cell_segments = (SELECT pg_catalog.array_agg(@extschema@.segment_set(@extschema@.segment_memberships(
										@extschema@.make_rfm(r, f, m), t.map_name)) ORDER BY r, f, m)
					 FROM pg_catalog.generate_series(1, t.bins) r, pg_catalog.generate_series(1, t.bins) f,
						  pg_catalog.generate_series(1, t.bins) m)
WHERE t.state_table IS NOT NULL;
SELECT @extschema@.drop_state_triggers(attachment_name), @extschema@.install_state_triggers(attachment_name),
	   @extschema@.rebuild_state(attachment_name)
FROM @extschema@.attachments WHERE state_table IS NOT NULL ORDER BY attachment_name;
-- the cells tables of 0.2.0 to 0.5.0 are no longer read: dropped by a
-- function that lives for this update only
CREATE FUNCTION @extschema@.drop_cells_tables_of_0_5() RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $function$
DECLARE
	cells regclass;
BEGIN
	FOR cells IN
		SELECT to_regclass(format('%I.%I', t.view_schema, t.attachment_name || '_cells'))
		FROM attachments t WHERE t.state_table IS NOT NULL ORDER BY t.attachment_name
	LOOP
		IF cells IS NOT NULL THEN
			EXECUTE format('DROP TABLE %s', cells);
		END IF;
	END LOOP;
END
$function$;
SELECT @extschema@.drop_cells_tables_of_0_5();
DROP FUNCTION @extschema@.drop_cells_tables_of_0_5();
