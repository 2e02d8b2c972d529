
-- attach: binding segment to the tables a CRM already has, and the views BI
-- tools read (src/attach.sql, src/segment_rule.c)
--
-- attach() records an attachment and builds its views; rule segments are
-- boolean expressions over a customer's row; every view is rebuilt from the
-- attachment, its map and its rules by rebuild_attachment_views().  The
-- functions run with search_path = pg_catalog, @extschema@, pg_temp and
-- quote every name with format('%I'); the only SQL they splice is a rule's
-- expression, which segment_rule_check() has proved to be one expression.

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
	CONSTRAINT attachment_name_is_plain CHECK (attachment_name ~ '^[a-z][a-z0-9_]{0,29}$'),
	CONSTRAINT bins_in_range CHECK (bins BETWEEN 1 AND 9),
	CONSTRAINT customers_with_key CHECK ((customers_table IS NULL) = (customer_key IS NULL))
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
COMMENT ON COLUMN @extschema@.attachments.tags_table IS
	'the attribute-rule segments of every customer, kept current by a trigger on the customers table, which the views read; NULL if not stored';

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
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.segment_rule_check(text) IS
	'raises an error unless the text is exactly one SQL expression';
CREATE FUNCTION @extschema@.segment_rules_check_trigger() RETURNS trigger
	AS 'MODULE_PATHNAME' LANGUAGE C;
COMMENT ON FUNCTION @extschema@.segment_rules_check_trigger() IS
	'checks the expression of every rule written to segment_rules';
CREATE TRIGGER check_expression BEFORE INSERT OR UPDATE ON @extschema@.segment_rules
	FOR EACH ROW EXECUTE FUNCTION @extschema@.segment_rules_check_trigger();

-- A view-name fragment of a segment name: lower case, words joined by _.
CREATE FUNCTION @extschema@.segment_slug(segment_name text) RETURNS text
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT pg_catalog.btrim(pg_catalog.regexp_replace(pg_catalog.regexp_replace(
			pg_catalog.lower(segment_name), '''', '', 'g'), '[^a-z0-9]+', '_', 'g'), '_') $$;
COMMENT ON FUNCTION @extschema@.segment_slug(text) IS
	'the name of a segment as it appears in view names: Can''t Lose Them gives cant_lose_them';

-- The columns the customers view adds to the customers table's own.
CREATE FUNCTION @extschema@.customer_view_columns()
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
		('segments', 'every segment the customer belongs to, RFM and rule segments, comma separated'),
		('lifecycle_stage', 'prospect, new, active, at_risk, lapsed or reactivated')
	$$;
COMMENT ON FUNCTION @extschema@.customer_view_columns() IS
	'the columns segment adds to a customer in the views of an attachment';

-- Comments a view or table and its columns: pairs of column name and comment.
CREATE FUNCTION @extschema@.comment_relation(relation_name text, relation_comment text, VARIADIC columns text[])
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $function$
BEGIN
	EXECUTE format('COMMENT ON %s %s IS %L',
				   CASE (SELECT c.relkind FROM pg_class c WHERE c.oid = relation_name::regclass)
						WHEN 'v' THEN 'VIEW' ELSE 'TABLE' END,
				   relation_name, relation_comment);
	FOR i IN 1 .. coalesce(array_upper(columns, 1), 0) BY 2 LOOP
		EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', relation_name, columns[i], columns[i + 1]);
	END LOOP;
END
$function$;
COMMENT ON FUNCTION @extschema@.comment_relation(text, text, text[]) IS
	'comments a view or table of an attachment and its columns, given as pairs of name and comment';

CREATE FUNCTION @extschema@.rebuild_attachment_views(attachment_name text) RETURNS SETOF text
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
COMMENT ON FUNCTION @extschema@.rebuild_attachment_views(text) IS
	'drops and builds again the views of an attachment, after its map or rules changed';

-- The type of a column, or NULL when the relation has no such column.
CREATE FUNCTION @extschema@.column_type(relation regclass, column_name name) RETURNS regtype
	LANGUAGE sql STABLE STRICT PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT a.atttypid::pg_catalog.regtype FROM pg_catalog.pg_attribute a
		  WHERE a.attrelid = relation AND a.attname = column_name AND a.attnum > 0 AND NOT a.attisdropped $$;
COMMENT ON FUNCTION @extschema@.column_type(regclass, name) IS
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
COMMENT ON FUNCTION @extschema@.attach(text, regclass, name, name, name, regclass, name, name, text, integer) IS
	'binds segment to an orders table (and optionally a customers table) and builds the views BI tools read';

CREATE FUNCTION @extschema@.detach(attachment_name text) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $function$
DECLARE
	built text[];
BEGIN
	SELECT t.views INTO built FROM attachments t WHERE t.attachment_name = detach.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'attachment "%" does not exist', detach.attachment_name USING ERRCODE = 'undefined_object';
	END IF;
	FOR i IN REVERSE coalesce(array_upper(built, 1), 0) .. 1 LOOP
		EXECUTE format('DROP VIEW IF EXISTS %s', built[i]);
	END LOOP;
	IF (SELECT t.state_table FROM attachments t WHERE t.attachment_name = detach.attachment_name) IS NOT NULL THEN
		PERFORM stop_maintaining(detach.attachment_name, rebuild_views => false);
	END IF;
	DELETE FROM attachments t WHERE t.attachment_name = detach.attachment_name;
END
$function$;
COMMENT ON FUNCTION @extschema@.detach(text) IS 'drops the views of an attachment, its rules and the attachment';

CREATE FUNCTION @extschema@.define_segment_rule(attachment_name text, rule_name text, expression text,
												description text DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $function$
DECLARE
	problem text;
	problem_state text;
	problem_detail text;
	problem_hint text;
BEGIN
	IF EXISTS (SELECT 1 FROM attachments t JOIN segment_map_boxes b USING (map_name)
			   WHERE t.attachment_name = define_segment_rule.attachment_name
				 AND b.segment_name = define_segment_rule.rule_name) THEN
		RAISE EXCEPTION 'segment "%" is already a segment of the map of attachment "%"',
			define_segment_rule.rule_name, define_segment_rule.attachment_name
			USING ERRCODE = 'duplicate_object';
	END IF;
	BEGIN
		INSERT INTO segment_rules AS r (attachment_name, rule_name, expression, description)
		VALUES (define_segment_rule.attachment_name, define_segment_rule.rule_name,
				define_segment_rule.expression, define_segment_rule.description)
		ON CONFLICT ON CONSTRAINT segment_rules_pkey
		DO UPDATE SET expression = excluded.expression, description = excluded.description;
		-- building the views with the expression in them finds unknown
		-- columns and type errors now, not when a BI tool reads
		PERFORM rebuild_attachment_views(define_segment_rule.attachment_name);
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS problem = MESSAGE_TEXT, problem_state = RETURNED_SQLSTATE,
								problem_detail = PG_EXCEPTION_DETAIL, problem_hint = PG_EXCEPTION_HINT;
		RAISE EXCEPTION 'rule segment "%" of attachment "%" is not valid: %',
			define_segment_rule.rule_name, define_segment_rule.attachment_name, problem
			USING ERRCODE = problem_state,
				  DETAIL = concat_ws(' ', nullif(problem_detail, ''),
									 format('The expression is: %s', define_segment_rule.expression)),
				  HINT = coalesce(nullif(problem_hint, ''),
								  'A rule is one boolean expression over the columns of the attachment''s customers view.');
	END;
END
$function$;
COMMENT ON FUNCTION @extschema@.define_segment_rule(text, text, text, text) IS
	'defines or replaces a rule segment and rebuilds the views; a bad expression is reported here';

CREATE FUNCTION @extschema@.drop_segment_rule(attachment_name text, rule_name text) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
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
