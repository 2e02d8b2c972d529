-- segment 0.1.0 -> 0.2.0.  Every change to the install pieces in src/*.sql
-- since 0.1.0 appears here too; test/t/upgrade.sh compares the result with a
-- fresh install of 0.2.0.

\echo Use "ALTER EXTENSION segment UPDATE TO '0.2.0'" to load this file. \quit

-- maintained state stores each customer's scores, lifecycle stage, RFM
-- segments (GIN indexed) and the time they stay valid; the views and the
-- segment views read them (src/state.sql, src/state_validity.c,
-- src/state_trigger.c, src/attach.sql)
DROP FUNCTION @extschema@.comment_view(text, text, text[]);

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

CREATE FUNCTION @extschema@.segments_valid_until(stats @extschema@.rfm_stats, as_of timestamptz,
												 thresholds @extschema@.rfm_thresholds)
	RETURNS timestamptz
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.segments_valid_until(@extschema@.rfm_stats, timestamptz, @extschema@.rfm_thresholds) IS
	'until when, without a new order, the customer keeps the rfm score (against these thresholds) and lifecycle stage it has at as_of; infinity if forever';

CREATE FUNCTION @extschema@.state_columns_sql(stats_sql text, attachment_name text, cells regclass) RETURNS text
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION @extschema@.state_columns_sql(text, text, regclass) IS
	'the SQL that computes the stored scores, stage, segments and validity of a state row from its statistics, shared by the trigger and the refresh functions';

CREATE FUNCTION @extschema@.fill_segment_cells(attachment_name text) RETURNS boolean
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	cells text;
	changed boolean;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = fill_segment_cells.attachment_name;
	IF NOT FOUND OR a.state_table IS NULL THEN
		RAISE EXCEPTION 'attachment "%" is not maintained', fill_segment_cells.attachment_name
			USING ERRCODE = 'undefined_object';
	END IF;
	cells := format('%I.%I', a.view_schema, a.attachment_name || '_cells');
	EXECUTE format($sql$
		WITH wanted AS (
			SELECT c.scores, segment_set(segment_memberships(c.scores, $1)) AS segments
			FROM (SELECT make_rfm(r, f, m) AS scores
				  FROM generate_series(1, $2) r, generate_series(1, $2) f, generate_series(1, $2) m) c
		)
		SELECT EXISTS (SELECT * FROM wanted EXCEPT SELECT * FROM %1$s)
			OR EXISTS (SELECT * FROM %1$s EXCEPT SELECT * FROM wanted)$sql$, cells)
		INTO changed USING a.map_name, a.bins;
	IF changed THEN
		EXECUTE format('DELETE FROM %s', cells);
		EXECUTE format($sql$
			INSERT INTO %s (scores, segments)
			SELECT c.scores, segment_set(segment_memberships(c.scores, $1))
			FROM (SELECT make_rfm(r, f, m) AS scores
				  FROM generate_series(1, $2) r, generate_series(1, $2) f, generate_series(1, $2) m) c$sql$, cells)
			USING a.map_name, a.bins;
	END IF;
	RETURN changed;
END
$function$;
COMMENT ON FUNCTION @extschema@.fill_segment_cells(text) IS
	'writes the RFM segments of every score cell of a maintained attachment''s map into its cells table; true if they changed';

CREATE FUNCTION @extschema@.rescore_state(attachment_name text, only_expired boolean) RETURNS bigint
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
	EXECUTE format('UPDATE %s s SET (scores, lifecycle_stage, segments, scored_at, valid_until) = ROW(%s)%s',
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

CREATE FUNCTION @extschema@.refresh_due_segments(attachment_name text) RETURNS bigint
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $function$
BEGIN
	RETURN rescore_state(refresh_due_segments.attachment_name, only_expired => true);
END
$function$;
COMMENT ON FUNCTION @extschema@.refresh_due_segments(text) IS
	'stores again the segments of the customers of a maintained attachment whom time alone has moved since they were stored (valid_until passed); returns how many';

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
	PERFORM rebuild_attachment_views(a.attachment_name);
	RETURN state::regclass;
END
$function$;
COMMENT ON FUNCTION @extschema@.maintain_attachment(text) IS
	'creates the per-customer state table of an attachment, fills it, keeps it current with triggers on the orders table, and makes the views read it';

CREATE OR REPLACE FUNCTION @extschema@.stop_maintaining(attachment_name text, rebuild_views boolean DEFAULT true) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = stop_maintaining.attachment_name;
	IF NOT FOUND OR a.state_table IS NULL THEN
		RAISE EXCEPTION 'attachment "%" is not maintained', stop_maintaining.attachment_name
			USING ERRCODE = 'undefined_object';
	END IF;
	EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', 'segment_' || a.attachment_name || '_state', a.orders_table);
	EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', 'segment_' || a.attachment_name || '_state_truncate', a.orders_table);
	UPDATE attachments t
	SET state_table = NULL, thresholds = NULL, population_average_order_value = NULL, thresholds_as_of = NULL
	WHERE t.attachment_name = a.attachment_name;
	IF rebuild_views THEN
		PERFORM rebuild_attachment_views(a.attachment_name);
	END IF;
	EXECUTE format('DROP TABLE %s', a.state_table);
	EXECUTE format('DROP TABLE %I.%I', a.view_schema, a.attachment_name || '_cells');
END
$function$;
COMMENT ON FUNCTION @extschema@.stop_maintaining(text, boolean) IS
	'drops the triggers and the state table of an attachment; its views read the orders again';

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
	EXECUTE format('SELECT rfm_thresholds(s.stats, $1, $2),
					   sum(total_amount(s.stats)) / sum(order_count(s.stats))
					FROM %s s', a.state_table)
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
	'computes the score thresholds of a maintained attachment from its state, at segment_as_of(), stores them and rescores every customer against them; writers of orders wait meanwhile';

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
			'SELECT c.%I AS customer_id%s, s.stats, s.stored_scores, s.stored_stage, s.stored_valid
	FROM %s c LEFT JOIN stats s ON s.customer_id = c.%I',
			a.customer_key, customer_columns, a.customers_table, a.customer_key);
		customer_columns := replace(customer_columns, ', c.', ', p.');
	ELSE
		population := 'SELECT s.customer_id, s.stats, s.stored_scores, s.stored_stage, s.stored_valid FROM stats s';
	END IF;

	FOR seg IN
		SELECT r.rule_name, r.expression FROM segment_rules r
		WHERE r.attachment_name = a.attachment_name ORDER BY r.rule_name
	LOOP
		PERFORM segment_rule_check(seg.expression);
		-- CASE WHEN and WHERE take booleans only, so a number is an error
		rule_values := rule_values || format('%s(%L, (%s) IS TRUE)',
			CASE WHEN rule_values = '' THEN '' ELSE ', ' END, seg.rule_name, seg.expression);
		rule_array := rule_array || format(', CASE WHEN (%s) THEN %L END', seg.expression, seg.rule_name);
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
				ELSE %3$s.lifecycle_stage(p.stats, p.judged_at) END AS lifecycle_stage
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
		-- with maintained state, an RFM segment's members are among the
		-- customers whose stored segments hold it (the GIN index) and those
		-- whose stored values do not hold at the analysis time (index ranges)
		candidates := '';
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


-- state tables made by 0.1.0 get the new columns, their cells table and
-- triggers that keep the new columns; their views are built again
DO $migrate$
DECLARE
	a record;
	ext text;
	state text;
	cells text;
	trigger_name text;
	built text;
BEGIN
	SELECT pg_catalog.format('%I', n.nspname) INTO ext
	FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace
	WHERE e.extname OPERATOR(pg_catalog.=) 'segment';
	FOR a IN EXECUTE pg_catalog.format('SELECT * FROM %s.attachments t WHERE t.state_table IS NOT NULL ORDER BY 1', ext) LOOP
		state := pg_catalog.format('%I.%I', a.view_schema, a.attachment_name OPERATOR(pg_catalog.||) '_state');
		cells := pg_catalog.format('%I.%I', a.view_schema, a.attachment_name OPERATOR(pg_catalog.||) '_cells');
		trigger_name := 'segment_' OPERATOR(pg_catalog.||) a.attachment_name OPERATOR(pg_catalog.||) '_state';
		EXECUTE pg_catalog.format('CREATE TABLE %s (scores %s.rfm PRIMARY KEY, segments %s.segment_set NOT NULL)',
								  cells, ext, ext);
		-- made by the update, but the attachment's like its state table
		EXECUTE pg_catalog.format('ALTER EXTENSION segment DROP TABLE %s', cells);
		EXECUTE pg_catalog.format('ALTER TABLE %s OWNER TO %s', cells,
								  (SELECT c.relowner::regrole::text FROM pg_catalog.pg_class c
								   WHERE c.oid OPERATOR(pg_catalog.=) a.state_table));
		EXECUTE pg_catalog.format('ALTER TABLE %s ADD COLUMN scores %s.rfm, ADD COLUMN lifecycle_stage text, '
								  'ADD COLUMN segments %s.segment_set NOT NULL DEFAULT ''{}'', '
								  'ADD COLUMN scored_at timestamptz, ADD COLUMN valid_until timestamptz',
								  state, ext, ext);
		EXECUTE pg_catalog.format('CREATE INDEX ON %s USING gin (segments)', state);
		EXECUTE pg_catalog.format('CREATE INDEX ON %s (valid_until)', state);
		EXECUTE pg_catalog.format('CREATE INDEX ON %s (scored_at)', state);
		EXECUTE pg_catalog.format('DROP TRIGGER %I ON %s', trigger_name, a.orders_table);
		EXECUTE pg_catalog.format('DROP TRIGGER %I ON %s', trigger_name OPERATOR(pg_catalog.||) '_truncate', a.orders_table);
		EXECUTE pg_catalog.format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW '
								  'EXECUTE FUNCTION %s.segment_state_trigger(%L, %L, %L, %L, %L)',
								  trigger_name, a.orders_table, ext, state, a.customer_column,
								  a.order_time_column, a.amount_column, a.attachment_name);
		EXECUTE pg_catalog.format('CREATE TRIGGER %I AFTER TRUNCATE ON %s FOR EACH STATEMENT '
								  'EXECUTE FUNCTION %s.segment_state_trigger(%L, %L, %L, %L, %L)',
								  trigger_name OPERATOR(pg_catalog.||) '_truncate', a.orders_table, ext,
								  state, a.customer_column, a.order_time_column, a.amount_column,
								  a.attachment_name);
		EXECUTE pg_catalog.format('SELECT %s.fill_segment_cells($1)', ext) USING a.attachment_name;
		EXECUTE pg_catalog.format('SELECT %s.rescore_state($1, false)', ext) USING a.attachment_name;
	END LOOP;
	FOR a IN EXECUTE pg_catalog.format('SELECT * FROM %s.attachments t ORDER BY 1', ext) LOOP
		EXECUTE pg_catalog.format('SELECT %s.rebuild_attachment_views($1)', ext) USING a.attachment_name;
	END LOOP;
	-- the views belong to their attachments, not to the extension
	FOR a IN EXECUTE pg_catalog.format('SELECT t.views, c.relowner::regrole::text AS owner FROM %s.attachments t '
									   'JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) t.orders_table', ext) LOOP
		FOREACH built IN ARRAY a.views LOOP
			EXECUTE pg_catalog.format('ALTER EXTENSION segment DROP VIEW %s', built);
			EXECUTE pg_catalog.format('ALTER VIEW %s OWNER TO %s', built, a.owner);
		END LOOP;
	END LOOP;
END
$migrate$;

-- security: a fixed search_path for every SQL function; row-level security and a check trigger on attachments and segment_rules (src/security.sql)
ALTER FUNCTION @extschema@.segment_as_of() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.segment_slug(text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.customer_view_columns() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.column_type(regclass, name) SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION @extschema@.owns_relation(relation regclass) RETURNS boolean
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT pg_catalog.pg_has_role(c.relowner, 'USAGE') FROM pg_catalog.pg_class c
		  WHERE c.oid OPERATOR(pg_catalog.=) relation $$;
COMMENT ON FUNCTION @extschema@.owns_relation(regclass) IS
	'whether the current role has the rights of the owner of the relation; NULL if there is no such relation';

-- Whether the current role may read what an attachment's views read.
CREATE FUNCTION @extschema@.reads_attachment(orders_table regclass, state_table regclass) RETURNS boolean
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$ SELECT coalesce(owns_relation(orders_table), false)
			  OR coalesce(pg_catalog.has_table_privilege(coalesce(state_table, orders_table), 'SELECT'), false) $$;
COMMENT ON FUNCTION @extschema@.reads_attachment(regclass, regclass) IS
	'whether the current role owns the orders table of an attachment or may read the table its views read';

CREATE FUNCTION @extschema@.attachments_check() RETURNS trigger
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
	'trigger of attachments: the writer owns the orders table, reads the customers table, and owns the views and state table the row names';
CREATE TRIGGER attachments_check BEFORE INSERT OR UPDATE ON @extschema@.attachments
	FOR EACH ROW EXECUTE FUNCTION @extschema@.attachments_check();
COMMENT ON TRIGGER attachments_check ON @extschema@.attachments IS
	'checks that a row names only objects its writer owns or may read';

ALTER TABLE @extschema@.attachments ENABLE ROW LEVEL SECURITY;
CREATE POLICY attachments_read ON @extschema@.attachments FOR SELECT
	USING (@extschema@.reads_attachment(orders_table, state_table));
CREATE POLICY attachments_insert ON @extschema@.attachments FOR INSERT
	WITH CHECK (@extschema@.owns_relation(orders_table));
CREATE POLICY attachments_update ON @extschema@.attachments FOR UPDATE
	USING (@extschema@.owns_relation(orders_table)) WITH CHECK (@extschema@.owns_relation(orders_table));
CREATE POLICY attachments_delete ON @extschema@.attachments FOR DELETE
	USING (@extschema@.owns_relation(orders_table));
COMMENT ON POLICY attachments_read ON @extschema@.attachments IS
	'an attachment is visible to the owner of its orders table and to roles that may read what its views read';
COMMENT ON POLICY attachments_insert ON @extschema@.attachments IS 'a role attaches only orders tables it owns';
COMMENT ON POLICY attachments_update ON @extschema@.attachments IS 'a role changes only attachments of orders tables it owns';
COMMENT ON POLICY attachments_delete ON @extschema@.attachments IS 'a role detaches only attachments of orders tables it owns';

ALTER TABLE @extschema@.segment_rules ENABLE ROW LEVEL SECURITY;
CREATE POLICY segment_rules_read ON @extschema@.segment_rules FOR SELECT
	USING (EXISTS (SELECT 1 FROM @extschema@.attachments a
				   WHERE a.attachment_name OPERATOR(pg_catalog.=) segment_rules.attachment_name));
CREATE POLICY segment_rules_write ON @extschema@.segment_rules FOR ALL
	USING (EXISTS (SELECT 1 FROM @extschema@.attachments a
				   WHERE a.attachment_name OPERATOR(pg_catalog.=) segment_rules.attachment_name
					 AND @extschema@.owns_relation(a.orders_table)))
	WITH CHECK (EXISTS (SELECT 1 FROM @extschema@.attachments a
						WHERE a.attachment_name OPERATOR(pg_catalog.=) segment_rules.attachment_name
						  AND @extschema@.owns_relation(a.orders_table)));
COMMENT ON POLICY segment_rules_read ON @extschema@.segment_rules IS
	'rules are visible with their attachment: the summary views read their names';
COMMENT ON POLICY segment_rules_write ON @extschema@.segment_rules IS
	'a role writes only rules of attachments of orders tables it owns';
-- the summary views list the rules with the rights of their reader
GRANT SELECT ON @extschema@.segment_rules TO PUBLIC;

-- lifecycle: orders all at one instant give no rhythm (src/lifecycle.c)
COMMENT ON FUNCTION @extschema@.lifecycle_stage(@extschema@.rfm_stats, timestamptz, double precision,
												double precision, double precision, integer,
												double precision, double precision) IS
	'prospect, new, active, at_risk, lapsed or reactivated at as_of, against the customer''s own rhythm (mean gap times a multiple) or fixed days below rhythm_min_orders orders or when all orders fell at one instant; NULL stats is a prospect';
