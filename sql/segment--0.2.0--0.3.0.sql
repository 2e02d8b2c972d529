-- segment 0.2.0 -> 0.3.0.  Every change to the install pieces in src/*.sql
-- since 0.2.0 appears here too; test/t/upgrade.sh compares the result with a
-- fresh install of 0.3.0.

\echo Use "ALTER EXTENSION segment UPDATE TO '0.3.0'" to load this file. \quit

-- the analysis time is read in C: the trigger reads it for every order, and
-- a SQL function with its own search_path is parsed at every call
-- (src/analysis_time.c)
CREATE OR REPLACE FUNCTION @extschema@.segment_as_of() RETURNS timestamptz
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE PARALLEL SAFE;

-- customer tags: maintained attachments store the segments of their
-- attribute rules per customer in <attachment>_tags, kept by a trigger on
-- the customers table, and their views read them (src/tags.sql,
-- src/tags_trigger.c, src/segment_rule.c, src/attach.sql, src/state.sql,
-- src/security.sql)
ALTER TABLE @extschema@.attachments ADD COLUMN tags_table regclass;
COMMENT ON COLUMN @extschema@.attachments.tags_table IS
	'the attribute-rule segments of every customer, kept current by a trigger on the customers table, which the views read; NULL if not stored';

CREATE FUNCTION @extschema@.segment_rule_is_attribute(expression text, customers regclass, customer_key name)
	RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT
	SET search_path = pg_catalog, @extschema@, pg_temp;
COMMENT ON FUNCTION @extschema@.segment_rule_is_attribute(text, regclass, name) IS
	'whether a rule is an attribute rule: boolean over the columns of the customers table alone (key named customer_id), without subqueries, aggregates or functions whose result may change';

CREATE FUNCTION @extschema@.segment_tags_trigger() RETURNS trigger
	AS 'MODULE_PATHNAME' LANGUAGE C
	SET search_path = pg_catalog, @extschema@, pg_temp;
COMMENT ON FUNCTION @extschema@.segment_tags_trigger() IS
	'keeps the tags table of a maintained attachment current as customers are inserted, updated, deleted and truncated';

-- Why the customers table of an attachment cannot have stored tags, in a
-- sentence; NULL if it can.
CREATE FUNCTION @extschema@.customer_tags_obstacle(attachment_name text) RETURNS text
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
	'why the customers table of an attachment cannot have stored tags (no primary key, not a table, no TRIGGER or UPDATE privilege); NULL if it can';

-- The attribute rules of an attachment with stored tags, by name; none
-- without.  Names longer than a segment_set label stay judged when read.
CREATE FUNCTION @extschema@.customer_tag_rules(attachment_name text)
	RETURNS TABLE (rule_name text, expression text)
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$ SELECT r.rule_name, r.expression
		  FROM attachments a JOIN segment_rules r ON r.attachment_name = a.attachment_name
		  WHERE a.attachment_name = customer_tag_rules.attachment_name AND a.tags_table IS NOT NULL
			AND octet_length(r.rule_name) <= 255
			AND segment_rule_is_attribute(r.expression, a.customers_table, a.customer_key)
		  ORDER BY r.rule_name COLLATE "C" $$;
COMMENT ON FUNCTION @extschema@.customer_tag_rules(text) IS
	'the rules of an attachment whose segments its tags table stores: its attribute rules, if it has stored tags';

-- Brings the tags of an attachment in line with its attribute rules: the
-- trigger on the customers table and the stored rows.  With
-- only_if_rules_changed, does nothing while the trigger already evaluates
-- the current rules.  Returns the number of rows written, or NULL if it
-- did nothing.
CREATE FUNCTION @extschema@.store_customer_tags(attachment_name text, only_if_rules_changed boolean) RETURNS bigint
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
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
	SELECT format('%I', n.nspname) INTO ext
	FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'segment';
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
						   'EXECUTE FUNCTION %s.segment_tags_trigger(%L, %L, %L, %L)',
						   trigger_name, a.customers_table, ext, a.attachment_name, a.tags_table, a.customer_key, store);
			EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %s FOR EACH STATEMENT '
						   'EXECUTE FUNCTION %s.segment_tags_trigger(%L, %L)',
						   trigger_name || '_truncate', a.customers_table, ext, a.attachment_name, a.tags_table);
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
COMMENT ON FUNCTION @extschema@.store_customer_tags(text, boolean) IS
	'makes the trigger on the customers table evaluate the attachment''s attribute rules and rewrites the tags that differ; returns the rows written';

CREATE FUNCTION @extschema@.refresh_customer_tags(attachment_name text) RETURNS bigint
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
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
		SELECT format('%I', n.nspname) INTO ext
		FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'segment';
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

	-- drop the previous views, dependents first
	FOR i IN REVERSE coalesce(array_upper(a.views, 1), 0) .. 1 LOOP
		EXECUTE format('DROP VIEW IF EXISTS %s', a.views[i]);
	END LOOP;

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
	FROM %s c LEFT JOIN stats s ON s.customer_id = c.%I%s',
			a.customer_key, customer_columns,
			CASE WHEN a.tags_table IS NULL THEN format('NULL::%s.segment_set', ext) ELSE 'g.segments' END,
			a.customers_table, a.customer_key,
			CASE WHEN a.tags_table IS NULL THEN ''
				 ELSE format(' LEFT JOIN %s g ON g.customer_id = c.%I', a.tags_table, a.customer_key) END);
		customer_columns := replace(customer_columns, ', c.', ', p.');
	ELSE
		population := format('SELECT s.customer_id, s.stats, s.stored_scores, s.stored_stage, s.stored_valid,
		   NULL::%s.segment_set AS stored_tags FROM stats s', ext);
	END IF;

	FOR seg IN
		SELECT r.rule_name, r.expression FROM segment_rules r
		WHERE r.attachment_name = a.attachment_name ORDER BY r.rule_name
	LOOP
		PERFORM segment_rule_check(seg.expression);
		-- CASE WHEN and WHERE take booleans only, so a number is an error
		rule_values := rule_values || format('%s(%L, (%s) IS TRUE)',
			CASE WHEN rule_values = '' THEN '' ELSE ', ' END, seg.rule_name, seg.expression);
		-- an attribute rule's segment is stored with the customer
		IF seg.rule_name = ANY (attribute_rules) THEN
			rule_array := rule_array || format(', CASE WHEN customer.stored_tags OPERATOR(%s.?) %L THEN %L END',
											   ext, seg.rule_name, seg.rule_name);
		ELSE
			rule_array := rule_array || format(', CASE WHEN (%s) THEN %L END', seg.expression, seg.rule_name);
		END IF;
	END LOOP;

	-- per-customer statistics: maintained by triggers with the scores and
	-- stage they give, stored while time alone leaves them unchanged and
	-- otherwise scored against the thresholds stored at the last refresh (no
	-- window over all customers, so reading one customer is an index
	-- lookup), or computed from the orders and scored against all customers
	-- at read time.  An order after the analysis time (only maintained
	-- statistics have them) counts as made at the analysis time.
	IF a.state_table IS NOT NULL THEN
		stats_source := format('SELECT s.customer_id, s.stats, s.scores AS stored_scores,
		   s.lifecycle_stage AS stored_stage, s.scored_at <= clock.as_of AND clock.as_of < s.valid_until AS stored_valid
	FROM %s s, clock', a.state_table);
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
			'SELECT o.%1$I AS customer_id, %2$s.rfm_stats(o.%3$I::timestamptz, o.%4$I::numeric) AS stats,
		   NULL::%2$s.rfm AS stored_scores, NULL::text AS stored_stage, false AS stored_valid
	FROM %5$s o, clock
	WHERE o.%3$I::timestamptz <= clock.as_of AND o.%1$I IS NOT NULL
	GROUP BY o.%1$I', a.customer_column, ext, a.order_time_column, a.amount_column, a.orders_table);
	END IF;

	view_name := format('%I.%I', a.view_schema, prefix || 'customers');
	EXECUTE format($view$
CREATE VIEW %1$s%2$s AS
WITH clock AS (
	SELECT %3$s.segment_as_of() AS as_of
), stats AS (
	%4$s
), population AS (
	%5$s
), judged AS (
	SELECT p.*, GREATEST(clock.as_of, %3$s.last_order_time(p.stats)) AS judged_at
	FROM population p, clock
), scored AS (
	SELECT p.*, %6$s
	FROM judged p%11$s
), described AS (
	SELECT p.customer_id%7$s,
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
		   %3$s.segment_assign(p.scores, %8$L) AS segment,
		   %3$s.segment_memberships(p.scores, %8$L) AS rfm_segments,
		   CASE WHEN p.stored_valid THEN p.stored_stage
				ELSE %3$s.lifecycle_stage(p.stats, p.judged_at) END AS lifecycle_stage,
		   p.stored_tags
	FROM scored p
)
SELECT customer.customer_id%9$s, customer.order_count, customer.total_amount, customer.average_order_value,
	   customer.population_average_order_value, customer.first_order_time, customer.last_order_time,
	   customer.recency_days, customer.recency_score, customer.frequency_score, customer.monetary_score,
	   customer.rfm_cell, customer.rfm, customer.segment,
	   array_to_string(coalesce(customer.rfm_segments, '{}') || array_remove(ARRAY[NULL::text%10$s], NULL), ', ') AS segments,
	   customer.lifecycle_stage
FROM described AS customer
$view$, view_name, options, ext, stats_source, population, scoring, customer_columns, a.map_name,
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

	view_name := format('%I.%I', a.view_schema, prefix || 'segment_summary');
	EXECUTE format($view$
CREATE VIEW %1$s%2$s AS
WITH customer AS MATERIALIZED (
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
WITH customer AS MATERIALIZED (
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
	WHERE s.valid_until <= %2$s.segment_as_of() OR s.scored_at > %2$s.segment_as_of())$candidates$,
					a.state_table, ext, segment_set(ARRAY[seg.segment])::text);
			END IF;
			EXECUTE format($view$
CREATE VIEW %1$s%2$s AS
SELECT customer.* FROM %3$I.%4$I AS customer
WHERE EXISTS (SELECT 1 FROM (SELECT customer.*) AS own%5$s WHERE m.segment = %6$L)%7$s
$view$, view_name, options, a.view_schema, prefix || 'customers',
				replace(members_lateral, 'customer.', 'own.'), seg.segment, candidates);
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

	UPDATE attachments t SET views = built WHERE t.attachment_name = a.attachment_name;
	RETURN QUERY SELECT unnest(built);
END
$function$;

CREATE OR REPLACE FUNCTION @extschema@.maintain_attachment(attachment_name text) RETURNS regclass
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	state text;
	cells text;
	ext text;
	key_type text;
	trigger_name text;
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
	state := format('%I.%I', a.view_schema, a.attachment_name || '_state');
	cells := format('%I.%I', a.view_schema, a.attachment_name || '_cells');
	key_type := format_type(column_type(a.orders_table, a.customer_column), NULL);
	trigger_name := 'segment_' || a.attachment_name || '_state';

	-- no order may change between filling the state and the trigger's start
	EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', a.orders_table);
	SELECT format('%I', n.nspname) INTO ext
	FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'segment';
	EXECUTE format('CREATE TABLE %s (scores %s.rfm PRIMARY KEY, segments %s.segment_set NOT NULL)',
				   cells, ext, ext);
	PERFORM comment_relation(cells,
		format('the RFM segments of every score cell of map %s (segment attachment %s)', a.map_name, a.attachment_name),
		'scores', 'a score cell',
		'segments', 'the segments of the map that contain the cell');
	EXECUTE format('CREATE TABLE %s (customer_id %s PRIMARY KEY, stats %s.rfm_stats NOT NULL, '
				   'scores %s.rfm, lifecycle_stage text, segments %s.segment_set NOT NULL DEFAULT ''{}'', '
				   'scored_at timestamptz, valid_until timestamptz)',
				   state, key_type, ext, ext, ext);
	EXECUTE format('CREATE INDEX ON %s USING gin (segments)', state);
	-- the rows whose stored values do not hold at an analysis time
	EXECUTE format('CREATE INDEX ON %s (valid_until)', state);
	EXECUTE format('CREATE INDEX ON %s (scored_at)', state);
	PERFORM comment_relation(state,
		format('per-customer statistics of %s and what they give, kept current by trigger %s (segment attachment %s)',
			   a.orders_table, trigger_name, a.attachment_name),
		'customer_id', 'the customer''s key',
		'stats', 'rfm_stats of all the customer''s orders',
		'scores', 'RFM scores against the attachment''s stored thresholds, at scored_at',
		'lifecycle_stage', 'lifecycle stage at scored_at',
		'segments', 'RFM segments of the map at scored_at (GIN indexed)',
		'scored_at', 'the analysis time (segment_as_of()) scores, stage and segments were computed at',
		'valid_until', 'until when time alone leaves scores, stage and segments as stored; refresh_due_segments() rewrites rows past it');
	EXECUTE format($fill$
		INSERT INTO %s (customer_id, stats)
		SELECT o.%I, rfm_stats(o.%I::timestamptz, o.%I::numeric) FROM %s o
		WHERE o.%I IS NOT NULL GROUP BY o.%I HAVING count(o.%I) > 0$fill$,
		state, a.customer_column, a.order_time_column, a.amount_column, a.orders_table,
		a.customer_column, a.customer_column, a.order_time_column);
	EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW '
				   'EXECUTE FUNCTION %s.segment_state_trigger(%L, %L, %L, %L, %L)',
				   trigger_name, a.orders_table, ext, state, a.customer_column, a.order_time_column,
				   a.amount_column, a.attachment_name);
	EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %s FOR EACH STATEMENT '
				   'EXECUTE FUNCTION %s.segment_state_trigger(%L, %L, %L, %L, %L)',
				   trigger_name || '_truncate', a.orders_table, ext, state, a.customer_column,
				   a.order_time_column, a.amount_column, a.attachment_name);
	IF NOT EXISTS (SELECT 1 FROM pg_index i
				   WHERE i.indrelid = a.orders_table
					 AND i.indkey[0] = (SELECT att.attnum FROM pg_attribute att
										WHERE att.attrelid = a.orders_table AND att.attname = a.customer_column)) THEN
		RAISE WARNING 'no index on %(%) leads with the customer column', a.orders_table, a.customer_column
			USING DETAIL = 'Updating or deleting an order reads all orders of its customer.',
				  HINT = format('CREATE INDEX ON %s (%I)', a.orders_table, a.customer_column);
	END IF;

	UPDATE attachments t SET state_table = state::regclass
	WHERE t.attachment_name = a.attachment_name;
	PERFORM fill_segment_cells(a.attachment_name);
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
	EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', 'segment_' || a.attachment_name || '_state', a.orders_table);
	EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', 'segment_' || a.attachment_name || '_state_truncate', a.orders_table);
	-- the tags' triggers exist while the attachment has attribute rules
	FOR trigger_name IN
		SELECT t.tgname FROM pg_trigger t
		WHERE a.tags_table IS NOT NULL AND t.tgrelid = a.customers_table
		  AND t.tgname IN ('segment_' || a.attachment_name || '_tags', 'segment_' || a.attachment_name || '_tags_truncate')
	LOOP
		EXECUTE format('DROP TRIGGER %I ON %s', trigger_name, a.customers_table);
	END LOOP;
	UPDATE attachments t
	SET state_table = NULL, thresholds = NULL, population_average_order_value = NULL, thresholds_as_of = NULL,
		tags_table = NULL
	WHERE t.attachment_name = a.attachment_name;
	IF rebuild_views THEN
		PERFORM rebuild_attachment_views(a.attachment_name);
	END IF;
	EXECUTE format('DROP TABLE %s', a.state_table);
	EXECUTE format('DROP TABLE %I.%I', a.view_schema, a.attachment_name || '_cells');
	IF a.tags_table IS NOT NULL THEN
		EXECUTE format('DROP TABLE %s', a.tags_table);
	END IF;
END
$function$;
COMMENT ON FUNCTION @extschema@.stop_maintaining(text, boolean) IS
	'drops the triggers, the state table and the customer tags of an attachment; its views read the orders again';

CREATE OR REPLACE FUNCTION @extschema@.attachments_check() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $function$
DECLARE
	view_oid oid;
BEGIN
	IF NOT coalesce(owns_relation(NEW.orders_table), false) THEN
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
			-- a name and nothing else: to_regclass rejects any other syntax
			view_oid := to_regclass(NEW.views[i]);
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
COMMENT ON FUNCTION @extschema@.attachments_check() IS
	'trigger of attachments: the writer owns the orders table, reads the customers table, and owns the views, state table and tags table the row names';

-- attachments maintained before 0.3.0 get their tags where the customers
-- table allows it; the tags tables and the views built again belong to the
-- attachment (the owner of its orders table), not to the extension
DO $tags$
DECLARE
	a record;
	ext text;
	obstacle text;
	built text;
BEGIN
	SELECT pg_catalog.format('%I', n.nspname) INTO ext
	FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace
	WHERE e.extname OPERATOR(pg_catalog.=) 'segment';
	FOR a IN EXECUTE pg_catalog.format('SELECT t.attachment_name, c.relowner::regrole::text AS owner FROM %s.attachments t '
									   'JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) t.orders_table '
									   'WHERE t.state_table IS NOT NULL AND t.customers_table IS NOT NULL ORDER BY 1', ext) LOOP
		EXECUTE pg_catalog.format('SELECT %s.customer_tags_obstacle($1)', ext) INTO obstacle USING a.attachment_name;
		IF obstacle IS NOT NULL THEN
			RAISE WARNING 'rule segments of attachment "%" are judged when read, not stored', a.attachment_name
				USING DETAIL = obstacle,
					  HINT = 'Give the customers table a primary key, then call refresh_customer_tags().';
			CONTINUE;
		END IF;
		EXECUTE pg_catalog.format('SELECT %s.refresh_customer_tags($1)', ext) USING a.attachment_name;
		EXECUTE pg_catalog.format('SELECT t.tags_table::text FROM %s.attachments t WHERE t.attachment_name OPERATOR(pg_catalog.=) $1', ext)
			INTO built USING a.attachment_name;
		EXECUTE pg_catalog.format('ALTER EXTENSION segment DROP TABLE %s', built);
		EXECUTE pg_catalog.format('ALTER TABLE %s OWNER TO %s', built, a.owner);
		EXECUTE pg_catalog.format('SELECT %s.rebuild_attachment_views($1)', ext) USING a.attachment_name;
		FOR built IN EXECUTE pg_catalog.format('SELECT pg_catalog.unnest(t.views) FROM %s.attachments t '
											   'WHERE t.attachment_name OPERATOR(pg_catalog.=) $1', ext)
			USING a.attachment_name LOOP
			EXECUTE pg_catalog.format('ALTER EXTENSION segment DROP VIEW %s', built);
			EXECUTE pg_catalog.format('ALTER VIEW %s OWNER TO %s', built, a.owner);
		END LOOP;
	END LOOP;
END
$tags$;
