-- segment 0.3.0 -> 0.4.0.  Every change to the install pieces in src/*.sql
-- since 0.3.0 appears here too; test/t/upgrade.sh compares the result with a
-- fresh install of 0.4.0.

\echo Use "ALTER EXTENSION segment UPDATE TO '0.4.0'" to load this file. \quit

-- state rows keep their span of validity while it stays true, with an
-- indexed start (valid_from) in place of the index on scored_at, so that most
-- writes of a row leave its indexed columns alone and are heap-only updates
-- (src/state.sql, src/state_validity.c, src/attach.sql)
CREATE FUNCTION @extschema@.segments_valid_from(stats @extschema@.rfm_stats, as_of timestamptz,
												thresholds @extschema@.rfm_thresholds)
	RETURNS timestamptz
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.segments_valid_from(@extschema@.rfm_stats, timestamptz, @extschema@.rfm_thresholds) IS
	'since when, up to as_of, the customer has had the rfm score (against these thresholds) and lifecycle stage it has at as_of; -infinity if always';

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
	-- a statement of its own, so the update's snapshot follows the lock
	EXECUTE format('LOCK TABLE %s IN ROW EXCLUSIVE MODE', a.state_table);
	EXECUTE format('UPDATE %s s SET (scores, lifecycle_stage, segments, scored_at, valid_until) = ROW(%s), '
				   'valid_from = segment_as_of()%s',
				   a.state_table,
				   state_columns_sql('s.stats', a.attachment_name,
									 format('%I.%I', a.view_schema, a.attachment_name || '_cells')::regclass),
				   CASE WHEN only_expired
						THEN ' WHERE s.valid_until IS NULL OR s.valid_until <= segment_as_of()' ELSE '' END);
	GET DIAGNOSTICS rewritten = ROW_COUNT;
	RETURN rewritten;
END
$function$;
COMMENT ON FUNCTION @extschema@.rescore_state(text, boolean) IS
	'stores again the scores, stage and segments of all customers of a maintained attachment, or of those whose stored values expired';


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
	-- room on every page, so that the update of a row whose indexed
	-- columns stay (segments and the bounds of validity, which the trigger
	-- keeps when it can) is a heap-only update, without index entries
	EXECUTE format('CREATE TABLE %s (customer_id %s PRIMARY KEY, stats %s.rfm_stats NOT NULL, '
				   'scores %s.rfm, lifecycle_stage text, segments %s.segment_set NOT NULL DEFAULT ''{}'', '
				   'scored_at timestamptz, valid_until timestamptz, valid_from timestamptz) '
				   'WITH (fillfactor = 80)',
				   state, key_type, ext, ext, ext);
	EXECUTE format('CREATE INDEX ON %s USING gin (segments)', state);
	-- the rows whose stored values do not hold at an analysis time
	EXECUTE format('CREATE INDEX ON %s (valid_until)', state);
	EXECUTE format('CREATE INDEX ON %s (valid_from)', state);
	PERFORM comment_relation(state,
		format('per-customer statistics of %s and what they give, kept current by trigger %s (segment attachment %s)',
			   a.orders_table, trigger_name, a.attachment_name),
		'customer_id', 'the customer''s key',
		'stats', 'rfm_stats of all the customer''s orders',
		'scores', 'RFM scores against the attachment''s stored thresholds, at scored_at',
		'lifecycle_stage', 'lifecycle stage at scored_at',
		'segments', 'RFM segments of the map at scored_at (GIN indexed)',
		'scored_at', 'the analysis time (segment_as_of()) scores, stage and segments were computed at',
		'valid_until', 'until when time alone leaves scores, stage and segments as stored; refresh_due_segments() rewrites rows past it',
		'valid_from', 'since when scores, stage and segments have been as stored (at or before scored_at)');
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
COMMENT ON FUNCTION @extschema@.maintain_attachment(text) IS
	'creates the per-customer state table of an attachment, fills it, keeps it current with triggers on the orders table, and makes the views read it';


-- rule expressions spliced as written; maintained thresholds from the customers the customers view lists
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

	-- per-customer statistics: maintained by triggers with the scores and
	-- stage they give, stored while time alone leaves them unchanged and
	-- otherwise scored against the thresholds stored at the last refresh (no
	-- window over all customers, so reading one customer is an index
	-- lookup), or computed from the orders and scored against all customers
	-- at read time.  An order after the analysis time (only maintained
	-- statistics have them) counts as made at the analysis time.
	IF a.state_table IS NOT NULL THEN
		stats_source := format('SELECT s.customer_id, s.stats, s.scores AS stored_scores,
		   s.lifecycle_stage AS stored_stage, s.valid_from <= clock.as_of AND clock.as_of < s.valid_until AS stored_valid
	FROM %s s, (SELECT %s.segment_as_of() AS as_of) clock', a.state_table, ext);
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
	FROM %5$s o
	WHERE o.%3$I::timestamptz <= (SELECT %2$s.segment_as_of()) AND o.%1$I IS NOT NULL
	GROUP BY o.%1$I', a.customer_column, ext, a.order_time_column, a.amount_column, a.orders_table);
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

	UPDATE attachments t SET views = built WHERE t.attachment_name = a.attachment_name;
	RETURN QUERY SELECT unnest(built);
END
$function$;
COMMENT ON FUNCTION @extschema@.rebuild_attachment_views(text) IS
	'drops and builds again the views of an attachment, after its map or rules changed';


CREATE OR REPLACE FUNCTION @extschema@.refresh_attachment_thresholds(attachment_name text) RETURNS @extschema@.rfm_thresholds
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	result rfm_thresholds;
	average numeric;
	as_of timestamptz := segment_as_of();
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = refresh_attachment_thresholds.attachment_name;
	IF NOT FOUND OR a.state_table IS NULL THEN
		RAISE EXCEPTION 'attachment "%" is not maintained', refresh_attachment_thresholds.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Thresholds are stored for maintained attachments: maintain_attachment().';
	END IF;
	-- writers wait until the customers are rescored against the new
	-- thresholds (the trigger takes its lock before its snapshot)
	EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', a.state_table);
	-- the population is the customers view's: with a customers table, its
	-- rows that have orders (as the views of an unmaintained attachment
	-- score), not the customers whose orders it lacks
	EXECUTE format('SELECT rfm_thresholds(s.stats, $1, $2),
					   sum(total_amount(s.stats)) / sum(order_count(s.stats))
					FROM %s s%s', a.state_table,
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


COMMENT ON COLUMN @extschema@.attachments.population_average_order_value IS
	'average order value of the customers the customers view of a maintained attachment lists, stored with the thresholds';

-- existing state tables: valid_from starts at scored_at, the span they were
-- stored with; the index on valid_from replaces the one on scored_at; room
-- on every page for heap-only updates; every stored column described (the
-- views, which read valid_from, are built again below)
DO $span$
DECLARE
	a record;
	ext text;
	scored_at_index text;
	described record;
BEGIN
	SELECT pg_catalog.format('%I', n.nspname) INTO ext
	FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace
	WHERE e.extname OPERATOR(pg_catalog.=) 'segment';
	FOR a IN EXECUTE pg_catalog.format('SELECT t.attachment_name, t.state_table '
									   'FROM %s.attachments t '
									   'WHERE t.state_table IS NOT NULL ORDER BY 1', ext) LOOP
		EXECUTE pg_catalog.format('ALTER TABLE %s ADD COLUMN valid_from timestamptz, SET (fillfactor = 80)',
								  a.state_table);
		EXECUTE pg_catalog.format('UPDATE %s SET valid_from = scored_at', a.state_table);
		EXECUTE pg_catalog.format('CREATE INDEX ON %s (valid_from)', a.state_table);
		-- all the stored columns, which state tables made by 0.1.0 lack comments on
		FOR described IN
			SELECT * FROM (VALUES
				('scores', 'RFM scores against the attachment''s stored thresholds, at scored_at'),
				('lifecycle_stage', 'lifecycle stage at scored_at'),
				('segments', 'RFM segments of the map at scored_at (GIN indexed)'),
				('scored_at', 'the analysis time (segment_as_of()) scores, stage and segments were computed at'),
				('valid_until', 'until when time alone leaves scores, stage and segments as stored; refresh_due_segments() rewrites rows past it'),
				('valid_from', 'since when scores, stage and segments have been as stored (at or before scored_at)')) v(name, text)
		LOOP
			EXECUTE pg_catalog.format('COMMENT ON COLUMN %s.%I IS %L', a.state_table, described.name, described.text);
		END LOOP;
		SELECT pg_catalog.format('%I.%I', n.nspname, i.relname) INTO scored_at_index
		FROM pg_catalog.pg_index x
			 JOIN pg_catalog.pg_class i ON i.oid OPERATOR(pg_catalog.=) x.indexrelid
			 JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) i.relnamespace
			 JOIN pg_catalog.pg_attribute att ON att.attrelid OPERATOR(pg_catalog.=) x.indrelid
											 AND att.attnum OPERATOR(pg_catalog.=) x.indkey[0]
		WHERE x.indrelid OPERATOR(pg_catalog.=) a.state_table AND x.indnatts OPERATOR(pg_catalog.=) 1
		  AND att.attname OPERATOR(pg_catalog.=) 'scored_at' AND x.indexprs IS NULL AND x.indpred IS NULL
		ORDER BY i.relname LIMIT 1;
		IF scored_at_index IS NOT NULL THEN
			EXECUTE pg_catalog.format('DROP INDEX %s', scored_at_index);
		END IF;
	END LOOP;
END
$span$;

-- Rules stored before 0.4.0 that are not one expression by their own tokens
-- are reported (their views stay as built until the rule is redefined);
-- views built before 0.4.0 read customer. in a rule's text as own., and
-- those of maintained attachments read scored_at where they now read
-- valid_from, so these attachments get their views again, owned by the
-- owner of the orders table as attach() made them; maintained attachments
-- whose state holds customers their customers table does not list once get
-- thresholds from the customers it lists
DO $rules$
DECLARE
	ext text;
	r record;
	a record;
	problem text;
	refused text[] := '{}';
	orphaned boolean;
	built text;
BEGIN
	SELECT pg_catalog.format('%I', n.nspname) INTO ext
	FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace
	WHERE e.extname OPERATOR(pg_catalog.=) 'segment';
	FOR r IN EXECUTE pg_catalog.format('SELECT r.attachment_name, r.rule_name, r.expression FROM %s.segment_rules r '
									   'ORDER BY 1, 2', ext) LOOP
		BEGIN
			EXECUTE pg_catalog.format('SELECT %s.segment_rule_check($1)', ext) USING r.expression;
		EXCEPTION WHEN syntax_error THEN
			GET STACKED DIAGNOSTICS problem = PG_EXCEPTION_DETAIL;
			RAISE WARNING 'rule segment "%" of attachment "%" is not a single SQL expression', r.rule_name, r.attachment_name
				USING DETAIL = problem,
					  HINT = 'Redefine it with define_segment_rule(); until then its views stay as they were built and cannot be rebuilt.';
			refused := refused OPERATOR(pg_catalog.||) r.attachment_name;
		END;
	END LOOP;
	FOR a IN EXECUTE pg_catalog.format(
		'SELECT t.attachment_name, c.relowner::pg_catalog.regrole::text AS owner FROM %s.attachments t '
		'JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) t.orders_table '
		'WHERE t.state_table IS NOT NULL '
		'OR EXISTS (SELECT 1 FROM %s.segment_rules r WHERE r.attachment_name OPERATOR(pg_catalog.=) t.attachment_name '
		'AND pg_catalog.strpos(r.expression, ''customer.'') OPERATOR(pg_catalog.>) 0) ORDER BY 1', ext, ext) LOOP
		CONTINUE WHEN a.attachment_name OPERATOR(pg_catalog.=) ANY (refused);
		EXECUTE pg_catalog.format('SELECT %s.rebuild_attachment_views($1)', ext) USING a.attachment_name;
		FOR built IN EXECUTE pg_catalog.format('SELECT pg_catalog.unnest(t.views) FROM %s.attachments t '
											   'WHERE t.attachment_name OPERATOR(pg_catalog.=) $1', ext)
			USING a.attachment_name LOOP
			EXECUTE pg_catalog.format('ALTER EXTENSION segment DROP VIEW %s', built);
			EXECUTE pg_catalog.format('ALTER VIEW %s OWNER TO %s', built, a.owner);
		END LOOP;
	END LOOP;
	FOR a IN EXECUTE pg_catalog.format(
		'SELECT t.attachment_name, t.state_table::text AS state_table, t.customers_table::text AS customers_table, '
		't.customer_key FROM %s.attachments t WHERE t.state_table IS NOT NULL AND t.customers_table IS NOT NULL '
		'AND t.thresholds IS NOT NULL ORDER BY 1', ext) LOOP
		EXECUTE pg_catalog.format(
			'SELECT EXISTS (SELECT 1 FROM %s s LEFT JOIN (SELECT c.%I AS customer_id, pg_catalog.count(*) AS listed '
			'FROM %s c GROUP BY 1) c ON c.customer_id OPERATOR(pg_catalog.=) s.customer_id '
			'WHERE c.listed IS DISTINCT FROM 1)', a.state_table, a.customer_key, a.customers_table)
			INTO orphaned;
		IF orphaned THEN
			EXECUTE pg_catalog.format('SELECT %s.refresh_attachment_thresholds($1)', ext) USING a.attachment_name;
		END IF;
	END LOOP;
END
$rules$;

-- a view name of any syntax is refused by the check of attachments itself,
-- as PostgreSQL 16 and later do not raise in to_regclass (src/security.sql)
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
COMMENT ON FUNCTION @extschema@.attachments_check() IS
	'trigger of attachments: the writer owns the orders table, reads the customers table, and owns the views, state table and tags table the row names';
