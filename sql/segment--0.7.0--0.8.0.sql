-- segment 0.7.0 -> 0.8.0.  Every change to the install pieces in sql/*.sql
-- since 0.7.0 appears here too; test/t/upgrade.sh compares the result with a
-- fresh install of 0.8.0.

\echo Use "ALTER EXTENSION segment UPDATE TO '0.8.0'" to load this file. \quit

-- Segment history (sql/history.sql, src/history.c): an attachment may keep
-- the intervals over which its customers belonged to each segment.  The
-- attachments of 0.7.0 keep none until keep_segment_history() (maintained)
-- or snapshot_segments() (unmaintained) starts it.  Campaign events
-- (sql/campaigns.sql) are measured per segment against that history, and
-- alerts (sql/alerts.sql) watch its sizes.
ALTER TABLE @extschema@.attachments
	ADD COLUMN history_table regclass,
	ADD COLUMN history_since timestamptz,
	ADD COLUMN history_retention interval,
	ADD COLUMN history_snapshots timestamptz[],
	ADD COLUMN campaigns_table regclass,
	ADD COLUMN campaign_columns name[],
	ADD COLUMN attribution_window interval,
	ADD CONSTRAINT history_with_start CHECK ((history_table IS NULL) = (history_since IS NULL)),
	ADD CONSTRAINT history_retention_positive CHECK (history_retention OPERATOR(pg_catalog.>) '0'::pg_catalog.interval);
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

COMMENT ON COLUMN @extschema@.attachments.history_retention IS
	'how long the history keeps an interval after it ended (prune_segment_history()); NULL: for ever';

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
END
$function$;

COMMENT ON FUNCTION @extschema@.detach(text) IS 'drops the views of an attachment, its rules, its state and history, and the attachment';

CREATE OR REPLACE FUNCTION @extschema@.set_lifecycle_limits(attachment_name text,
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

CREATE FUNCTION segment_internal.segment_sizes_view_query(a @extschema@.attachments) RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $$ SELECT format($view$
WITH attachment AS (
	SELECT (t.history_since AT TIME ZONE %2$L)::date AS first_day,
		   (%3$s.segment_as_of() AT TIME ZONE %2$L)::date AS last_day
	FROM %3$s.attachments t WHERE t.attachment_name = %4$L
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
)
SELECT g.segment, g.kind, g.day,
	   coalesce(b.members, 0) + (sum(coalesce(d.entered, 0) - coalesce(d.departed, 0))
		   OVER (PARTITION BY g.kind, g.segment ORDER BY g.day))::bigint AS members,
	   coalesce(d.entered, 0) AS entered, coalesce(d.departed, 0) AS "left"
FROM grid g LEFT JOIN daily d ON d.kind = g.kind AND d.segment = g.segment AND d.day = g.day
	 LEFT JOIN before b ON b.kind = g.kind AND b.segment = g.segment
$view$, a.history_table, a.time_zone, segment_internal.extension_schema(), a.attachment_name) $$;

COMMENT ON FUNCTION segment_internal.segment_sizes_view_query(@extschema@.attachments) IS
	'the query of the segment_sizes view of an attachment with history: members at the end of each day, entered and left, per segment';

CREATE FUNCTION segment_internal.campaign_performance_view_query(a @extschema@.attachments) RETURNS text
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
)
SELECT (j.campaign)::text AS campaign, j.segment, j.kind, count(*) AS recipients,
	   count(*) FILTER (WHERE j.opened_at IS NOT NULL) AS unique_opens,
	   count(*) FILTER (WHERE j.opened_at IS NOT NULL)::numeric / count(*) AS open_rate,
	   count(*) FILTER (WHERE j.clicked_at IS NOT NULL) AS unique_clicks,
	   count(*) FILTER (WHERE j.clicked_at IS NOT NULL)::numeric / count(*) AS click_rate,
	   count(*) FILTER (WHERE j.clicked_at IS NOT NULL)::numeric
		   / nullif(count(*) FILTER (WHERE j.opened_at IS NOT NULL), 0) AS click_to_open_rate,
	   count(*) FILTER (WHERE j.converted) AS conversions,
	   count(*) FILTER (WHERE j.converted)::numeric / count(*) AS conversion_rate,
	   sum(j.orders) AS orders, sum(j.revenue) AS revenue,
	   sum(j.revenue) / nullif(sum(j.orders), 0) AS average_order_value,
	   sum(j.revenue) / count(*) AS revenue_per_recipient
FROM judged j
GROUP BY j.campaign, j.kind, j.segment
$view$, c[1], c[2], time_of[1], time_of[2], time_of[3], time_of[4], a.campaigns_table,
		a.orders_table, a.customer_column, a.amount_column,
		order_time_sql(format('o.%I', a.order_time_column), column_type(a.orders_table, a.order_time_column), a.time_zone),
		a.attribution_window, conversions, a.history_table, a.time_zone);
END
$function$;

COMMENT ON FUNCTION segment_internal.campaign_performance_view_query(@extschema@.attachments) IS
	'the query of the campaign_performance view of an attachment with campaigns: recipients, opens, clicks, conversions and revenue per campaign and the segments its recipients were in when it was sent';

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
	-- writers wait until the customers are rescored against the new cells;
	-- those whose values expired are brought up to now with the old ones,
	-- which the history judges them with until then
	PERFORM lock_state_tables(a.attachment_name);
	PERFORM rescore_state(a.attachment_name, only_expired => true);
	UPDATE attachments t SET cell_segments = wanted WHERE t.attachment_name = a.attachment_name;
	RETURN true;
END
$function$;

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
	PERFORM start_history(a.attachment_name, NULL);
	PERFORM build_attachment_views(a.attachment_name);
	RETURN state::regclass;
END
$function$;

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
	-- the history, exact until now, goes on from snapshots
	IF a.history_table IS NOT NULL AND relation_exists(a.state_table) THEN
		PERFORM rescore_state(a.attachment_name, only_expired => true);
		PERFORM drop_history_triggers(a.attachment_name);
		UPDATE attachments t SET history_snapshots = ARRAY[segment_as_of()] WHERE t.attachment_name = a.attachment_name;
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
	RETURN result;
END
$function$;

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
		-- the tags written from now on enter the history
		PERFORM install_history_triggers(a.attachment_name);
	END IF;
	RETURN store_customer_tags(a.attachment_name, only_if_rules_changed => false);
END
$function$;

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
	IF NEW.history_table IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.history_table IS DISTINCT FROM OLD.history_table)
	   AND NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
					   WHERE c.oid = NEW.history_table AND c.relkind = 'r' AND n.nspname = NEW.view_schema
						 AND pg_has_role(c.relowner, 'USAGE')) THEN
		RAISE EXCEPTION 'history table % of attachment "%" must be a table of yours in schema %',
			NEW.history_table, NEW.attachment_name, NEW.view_schema
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
	'trigger of attachments: the writer owns the orders table, reads the customers and campaign events tables, and owns the views, state, tags and history tables the row names';

CREATE FUNCTION segment_internal.segment_history_row() RETURNS trigger
	AS 'MODULE_PATHNAME' LANGUAGE C;

COMMENT ON FUNCTION segment_internal.segment_history_row() IS
	'row trigger of the state and tags tables of an attachment with history: works out the intervals a written row closes and opens';

CREATE FUNCTION segment_internal.segment_history_flush() RETURNS trigger
	AS 'MODULE_PATHNAME' LANGUAGE C;

COMMENT ON FUNCTION segment_internal.segment_history_flush() IS
	'statement trigger of the state and tags tables of an attachment with history: writes the intervals its rows closed and opened';

CREATE FUNCTION segment_internal.history_statements(attachment_name text, key_type regtype)
	RETURNS TABLE (write text, history regclass, state regclass, tags regclass)
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	keys text;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = history_statements.attachment_name;
	IF NOT FOUND OR a.history_table IS NULL OR NOT relation_exists(a.history_table) THEN
		RETURN;
	END IF;
	keys := format('pg_catalog.unnest($1::%s[])', format_type(key_type, NULL));
	IF key_type IS DISTINCT FROM column_type(a.history_table, 'customer_id') THEN
		keys := format('(%s)::%s', keys, format_type(column_type(a.history_table, 'customer_id'), NULL));
	END IF;
	write := format($sql$WITH c AS MATERIALIZED (
	SELECT %2$s AS customer_id, pg_catalog.unnest($2::pg_catalog.text[]) AS kind,
		   pg_catalog.unnest($3::pg_catalog.text[]) AS segment,
		   pg_catalog.unnest($4::pg_catalog.timestamptz[]) AS entered_at,
		   pg_catalog.unnest($5::pg_catalog.timestamptz[]) AS left_at
), d AS MATERIALIZED (
	SELECT c.customer_id, c.kind, c.segment, c.entered_at IS NULL AS closing,
		   GREATEST(c.entered_at, l.latest) AS entered_at,
		   CASE WHEN c.left_at IS NOT NULL THEN GREATEST(c.left_at, l.latest) END AS left_at
	FROM c, LATERAL (SELECT pg_catalog.max(GREATEST(h.entered_at, h.left_at)) AS latest FROM %1$s h
					 WHERE h.customer_id OPERATOR(pg_catalog.=) c.customer_id AND h.kind OPERATOR(pg_catalog.=) c.kind) l
), empty AS (
	DELETE FROM %1$s h USING d
	WHERE d.closing AND h.customer_id OPERATOR(pg_catalog.=) d.customer_id AND h.kind OPERATOR(pg_catalog.=) d.kind
	  AND h.segment OPERATOR(pg_catalog.=) d.segment AND h.left_at IS NULL AND h.entered_at OPERATOR(pg_catalog.>=) d.left_at
	RETURNING 1
), closed AS (
	UPDATE %1$s h SET left_at = d.left_at FROM d
	WHERE d.closing AND h.customer_id OPERATOR(pg_catalog.=) d.customer_id AND h.kind OPERATOR(pg_catalog.=) d.kind
	  AND h.segment OPERATOR(pg_catalog.=) d.segment AND h.left_at IS NULL AND h.entered_at OPERATOR(pg_catalog.<) d.left_at
	RETURNING 1
)
INSERT INTO %1$s (customer_id, kind, segment, entered_at, left_at)
SELECT d.customer_id, d.kind, d.segment, d.entered_at, d.left_at FROM d
WHERE NOT d.closing AND (d.left_at IS NULL OR d.left_at OPERATOR(pg_catalog.>) d.entered_at)
  AND (SELECT pg_catalog.count(*) FROM empty) OPERATOR(pg_catalog.+) (SELECT pg_catalog.count(*) FROM closed)
	  OPERATOR(pg_catalog.>=) 0
ON CONFLICT (customer_id, kind, segment) WHERE left_at IS NULL DO NOTHING$sql$,
		a.history_table, keys);
	history := a.history_table;
	state := a.state_table;
	tags := a.tags_table;
	RETURN NEXT;
END
$function$;

COMMENT ON FUNCTION segment_internal.history_statements(text, regtype) IS
	'the statement that ends and starts intervals of an attachment''s history, for keys of a type, never before the latest instant of a customer''s history; and the tables whose triggers may write it';

CREATE FUNCTION segment_internal.history_truncated() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	kinds text[];
	at timestamptz := segment_as_of();
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = TG_ARGV[0];
	IF NOT FOUND OR a.history_table IS NULL THEN
		RETURN NULL;
	END IF;
	IF NOT isfinite(at) THEN
		RAISE EXCEPTION 'the analysis time must be a finite time to write the segment history'
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Set segment.as_of to a finite time, or reset it.';
	END IF;
	kinds := CASE TG_RELID WHEN a.state_table THEN ARRAY['rfm', 'lifecycle'] WHEN a.tags_table THEN ARRAY['rule'] END;
	IF kinds IS NULL THEN
		RAISE EXCEPTION 'table % does not write the segment history of attachment "%"', TG_RELID::regclass, a.attachment_name
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	EXECUTE format('DELETE FROM %s h WHERE h.left_at IS NULL AND h.kind = ANY ($1) AND h.entered_at >= $2', a.history_table)
		USING kinds, at;
	EXECUTE format('UPDATE %s h SET left_at = $2 WHERE h.left_at IS NULL AND h.kind = ANY ($1)', a.history_table)
		USING kinds, at;
	RETURN NULL;
END
$function$;

COMMENT ON FUNCTION segment_internal.history_truncated() IS
	'TRUNCATE trigger of the state and tags tables of an attachment with history: the memberships they held end at the analysis time';

CREATE FUNCTION segment_internal.install_history_triggers(attachment_name text) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	ext text := extension_schema();
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = install_history_triggers.attachment_name;
	PERFORM drop_history_triggers(a.attachment_name);
	IF a.history_table IS NULL OR a.state_table IS NULL THEN
		RETURN;
	END IF;
	EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %s FOR EACH ROW WHEN (NEW.scored_at IS NOT NULL) '
				   'EXECUTE FUNCTION segment_internal.segment_history_row(%L, %L)',
				   'segment_' || a.attachment_name || '_history_in', a.state_table, a.attachment_name, 'state');
	EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %s FOR EACH ROW WHEN ('
				   'OLD.scored_at IS NULL OR NEW.scored_at IS NULL OR OLD.valid_until OPERATOR(pg_catalog.<=) NEW.scored_at '
				   'OR OLD.lifecycle_stage IS DISTINCT FROM NEW.lifecycle_stage '
				   'OR OLD.segments OPERATOR(%s.<>) NEW.segments) '
				   'EXECUTE FUNCTION segment_internal.segment_history_row(%L, %L)',
				   'segment_' || a.attachment_name || '_history_up', a.state_table, ext, a.attachment_name, 'state');
	EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %s FOR EACH ROW WHEN (OLD.scored_at IS NOT NULL) '
				   'EXECUTE FUNCTION segment_internal.segment_history_row(%L, %L)',
				   'segment_' || a.attachment_name || '_history_out', a.state_table, a.attachment_name, 'state');
	EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %s FOR EACH STATEMENT '
				   'EXECUTE FUNCTION segment_internal.segment_history_flush(%L)',
				   'segment_' || a.attachment_name || '_history', a.state_table, a.attachment_name);
	EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %s FOR EACH STATEMENT '
				   'EXECUTE FUNCTION segment_internal.history_truncated(%L)',
				   'segment_' || a.attachment_name || '_history_truncate', a.state_table, a.attachment_name);
	IF a.tags_table IS NOT NULL AND relation_exists(a.tags_table) THEN
		EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR DELETE ON %s FOR EACH ROW '
					   'EXECUTE FUNCTION segment_internal.segment_history_row(%L, %L)',
					   'segment_' || a.attachment_name || '_history_row', a.tags_table, a.attachment_name, 'tags');
		EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %s FOR EACH ROW '
					   'WHEN (OLD.segments OPERATOR(%s.<>) NEW.segments) '
					   'EXECUTE FUNCTION segment_internal.segment_history_row(%L, %L)',
					   'segment_' || a.attachment_name || '_history_up', a.tags_table, ext, a.attachment_name, 'tags');
		EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %s FOR EACH STATEMENT '
					   'EXECUTE FUNCTION segment_internal.segment_history_flush(%L)',
					   'segment_' || a.attachment_name || '_history', a.tags_table, a.attachment_name);
		EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %s FOR EACH STATEMENT '
					   'EXECUTE FUNCTION segment_internal.history_truncated(%L)',
					   'segment_' || a.attachment_name || '_history_truncate', a.tags_table, a.attachment_name);
	END IF;
END
$function$;

COMMENT ON FUNCTION segment_internal.install_history_triggers(text) IS
	'creates (again) the triggers that write the history of a maintained attachment on its state and tags tables';

CREATE FUNCTION segment_internal.drop_history_triggers(attachment_name text) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	r record;
BEGIN
	FOR r IN
		SELECT t.tgname, t.tgrelid::regclass AS relation FROM pg_trigger t JOIN attachments a
			ON t.tgrelid IN (a.state_table, a.tags_table)
		WHERE a.attachment_name = drop_history_triggers.attachment_name
		  AND t.tgname LIKE 'segment\_' || a.attachment_name || '\_history%'
	LOOP
		EXECUTE format('DROP TRIGGER %I ON %s', r.tgname, r.relation);
	END LOOP;
END
$function$;

COMMENT ON FUNCTION segment_internal.drop_history_triggers(text) IS
	'drops the triggers that write the history of an attachment';

CREATE FUNCTION segment_internal.history_attachment(attachment_name text, at timestamptz)
	RETURNS @extschema@.attachments
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = history_attachment.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'attachment "%" does not exist', history_attachment.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Create it with attach().';
	END IF;
	IF a.history_table IS NULL OR NOT relation_exists(a.history_table) THEN
		RAISE EXCEPTION 'attachment "%" keeps no segment history', a.attachment_name
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = CASE WHEN a.state_table IS NULL THEN 'Take snapshots with snapshot_segments().'
							  ELSE 'Start it with keep_segment_history().' END;
	END IF;
	IF at IS NULL THEN
		RAISE EXCEPTION 'the instant must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF NOT isfinite(at) OR at < a.history_since THEN
		RAISE EXCEPTION 'the segment history of attachment "%" covers % on, not %', a.attachment_name,
			a.history_since, at
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'It began then, or intervals that ended before then were pruned.';
	END IF;
	RETURN a;
END
$function$;

COMMENT ON FUNCTION segment_internal.history_attachment(text, timestamptz) IS
	'the attachment whose segment history is read at an instant; raises unless its history covers the instant';

CREATE FUNCTION segment_internal.memberships_at_sql(a @extschema@.attachments, kinds text[], at_sql text,
													segment_sql text) RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $$ SELECT CASE WHEN a.state_table IS NULL THEN format($sql$
		SELECT h.customer_id, h.kind, h.segment FROM %1$s h
		WHERE h.entered_at <= %3$s AND (h.left_at IS NULL OR h.left_at > %3$s)
		  AND (%4$s IS NULL OR h.segment = %4$s) AND h.kind = ANY (%2$L::text[])$sql$,
		a.history_table, coalesce(kinds, ARRAY['rfm', 'lifecycle', 'rule']), at_sql, segment_sql)
	ELSE format($sql$
		WITH expired AS MATERIALIZED (
			SELECT s.customer_id, s.stats FROM %1$s s
			WHERE s.valid_until <= %8$s AND s.scored_at < %8$s
		)
		SELECT h.customer_id, h.kind, h.segment FROM %2$s h
		WHERE h.entered_at <= %8$s AND (h.left_at IS NULL OR h.left_at > %8$s)
		  AND (%9$s IS NULL OR h.segment = %9$s) AND h.kind = ANY (%3$L::text[])
		  AND NOT (h.left_at IS NULL AND h.kind <> 'rule'
				   AND EXISTS (SELECT 1 FROM expired e WHERE e.customer_id = h.customer_id))
		UNION ALL
		SELECT e.customer_id, m.kind, m.segment
		FROM expired e, segment_internal.state_values(e.stats, %8$s, %4$L, %5$L, NULL, NULL, %6$L) v,
			 LATERAL (SELECT 'rfm'::pg_catalog.text, pg_catalog.unnest(%7$s.segment_set_labels(v.segments))
					  UNION ALL SELECT 'lifecycle', v.lifecycle_stage) m(kind, segment)
		WHERE (%9$s IS NULL OR m.segment = %9$s) AND m.kind = ANY (%3$L::text[])$sql$,
		a.state_table, a.history_table, coalesce(kinds, ARRAY['rfm', 'lifecycle', 'rule']),
		a.thresholds, a.cell_segments, a.lifecycle_limits, extension_schema(), at_sql, segment_sql) END $$;

COMMENT ON FUNCTION segment_internal.memberships_at_sql(@extschema@.attachments, text[], text, text) IS
	'the query of every segment membership of the customers of an attachment with history at an instant, of a segment or all (the SQL of both given), of some kinds; from the history and, for a maintained attachment, its state';

CREATE FUNCTION segment_internal.memberships_at(attachment_name text, at timestamptz, only_segment text)
	RETURNS TABLE (customer_id text, kind text, segment text)
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments := history_attachment(memberships_at.attachment_name, memberships_at.at);
BEGIN
	PERFORM snapshot_notice(a, memberships_at.at);
	RETURN QUERY EXECUTE format('SELECT m.customer_id::pg_catalog.text, m.kind, m.segment FROM (%s) m',
								memberships_at_sql(a, NULL, '$1', '$2::pg_catalog.text'))
		USING memberships_at.at, only_segment;
END
$function$;

COMMENT ON FUNCTION segment_internal.memberships_at(text, timestamptz, text) IS
	'every segment membership of every customer of an attachment at an instant, from its history (and, for a maintained attachment, its state), optionally of one segment';

CREATE FUNCTION segment_internal.snapshot_notice(a @extschema@.attachments, at timestamptz) RETURNS void
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
BEGIN
	IF a.state_table IS NULL THEN
		RAISE NOTICE 'segments of attachment "%" as of its snapshot of %', a.attachment_name,
			(SELECT max(s) FROM unnest(a.history_snapshots) s WHERE s <= at)
			USING DETAIL = 'The attachment is not maintained: its history changes only when snapshot_segments() runs.';
	END IF;
END
$function$;

COMMENT ON FUNCTION segment_internal.snapshot_notice(@extschema@.attachments, timestamptz) IS
	'raises a notice naming the snapshot that answers for an unmaintained attachment at an instant';

CREATE FUNCTION @extschema@.segment_members_at(attachment_name text, segment text, at timestamptz)
	RETURNS TABLE (customer_id text, kind text)
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $$ SELECT m.customer_id, m.kind FROM segment_internal.memberships_at(attachment_name, at, segment) m
		  WHERE segment IS NOT NULL AND m.segment = segment $$;

COMMENT ON FUNCTION @extschema@.segment_members_at(text, text, timestamptz) IS
	'the customers (keys as text) who were in a segment (RFM, lifecycle stage or stored rule) of an attachment at an instant, and its kind';

CREATE FUNCTION @extschema@.segment_transitions(attachment_name text, from_time timestamptz, to_time timestamptz)
	RETURNS TABLE (from_segment text, to_segment text, customers bigint)
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments := history_attachment(segment_transitions.attachment_name, from_time);
BEGIN
	PERFORM history_attachment(a.attachment_name, to_time);
	PERFORM snapshot_notice(a, from_time);
	PERFORM snapshot_notice(a, to_time);
	RETURN QUERY EXECUTE format($sql$
		WITH map AS (
			SELECT b.segment_name, b.priority FROM %2$s.segment_map_boxes b WHERE b.map_name = %3$L
		), before AS (
			SELECT m.customer_id, min(b.priority) AS priority
			FROM (%1$s) m LEFT JOIN map b ON m.kind = 'rfm' AND b.segment_name = m.segment
			GROUP BY m.customer_id
		), after AS (
			SELECT m.customer_id, min(b.priority) AS priority
			FROM (%4$s) m LEFT JOIN map b ON m.kind = 'rfm' AND b.segment_name = m.segment
			GROUP BY m.customer_id
		)
		SELECT fb.segment_name, tb.segment_name, count(*)
		FROM before f FULL JOIN after t ON t.customer_id = f.customer_id
			 LEFT JOIN map fb ON fb.priority = f.priority LEFT JOIN map tb ON tb.priority = t.priority
		GROUP BY 1, 2
		ORDER BY 1 NULLS FIRST, 2 NULLS FIRST$sql$,
		memberships_at_sql(a, ARRAY['rfm', 'lifecycle'], '$1', 'NULL::pg_catalog.text'), extension_schema(),
		a.map_name, memberships_at_sql(a, ARRAY['rfm', 'lifecycle'], '$2', 'NULL::pg_catalog.text'))
		USING from_time, to_time;
END
$function$;

COMMENT ON FUNCTION @extschema@.segment_transitions(text, timestamptz, timestamptz) IS
	'how many customers went from each primary segment at from_time to each at to_time; NULL: no primary segment then (not yet, or no longer, a customer)';

CREATE FUNCTION segment_internal.create_history_table(a @extschema@.attachments) RETURNS regclass
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	history text := format('%I.%I', a.view_schema, a.attachment_name || '_history');
	key_type regtype := coalesce(column_type(a.state_table, 'customer_id'),
								 column_type(format('%I.%I', a.view_schema, a.attachment_name || '_customers')::regclass,
											 'customer_id'));
BEGIN
	EXECUTE format('CREATE TABLE %s (customer_id %s NOT NULL, kind text NOT NULL, segment text NOT NULL, '
				   'entered_at timestamptz NOT NULL, left_at timestamptz, '
				   'CHECK (kind IN (''rfm'', ''lifecycle'', ''rule'')), CHECK (left_at > entered_at))',
				   history, format_type(key_type, NULL));
	-- one open interval per customer and segment, found by the close
	EXECUTE format('CREATE UNIQUE INDEX ON %s (customer_id, kind, segment) WHERE left_at IS NULL', history);
	-- the members of a segment at an instant
	EXECUTE format('CREATE INDEX ON %s (segment, entered_at) INCLUDE (left_at, kind, customer_id)', history);
	-- a customer's intervals of a kind: the latest instant of its history
	EXECUTE format('CREATE INDEX ON %s (customer_id, kind) INCLUDE (entered_at, left_at)', history);
	PERFORM comment_relation(history,
		format('the intervals over which each customer belonged to each segment (segment attachment %s)', a.attachment_name),
		'customer_id', 'the customer''s key',
		'kind', 'rfm for a segment of the map, lifecycle for a lifecycle stage, rule for a rule segment',
		'segment', 'the segment''s name (a lifecycle stage''s name for kind lifecycle)',
		'entered_at', 'when the customer entered the segment',
		'left_at', 'when the customer left it; NULL while a member');
	RETURN history::regclass;
END
$function$;

COMMENT ON FUNCTION segment_internal.create_history_table(@extschema@.attachments) IS
	'creates the history table of an attachment, with its indexes and comments';

CREATE FUNCTION segment_internal.reconcile_history(history regclass, memberships text, at timestamptz)
	RETURNS bigint
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	changes bigint;
BEGIN
	EXECUTE format($sql$
		WITH now AS MATERIALIZED (%2$s), closed AS (
			UPDATE %1$s h SET left_at = $1
			WHERE h.left_at IS NULL AND h.entered_at < $1
			  AND NOT EXISTS (SELECT 1 FROM now n WHERE n.customer_id = h.customer_id AND n.kind = h.kind
														AND n.segment = h.segment)
			RETURNING 1
		), empty AS (
			-- an interval that would end where it starts was never one
			DELETE FROM %1$s h
			WHERE h.left_at IS NULL AND h.entered_at >= $1
			  AND NOT EXISTS (SELECT 1 FROM now n WHERE n.customer_id = h.customer_id AND n.kind = h.kind
														AND n.segment = h.segment)
			RETURNING 1
		), opened AS (
			INSERT INTO %1$s (customer_id, kind, segment, entered_at)
			SELECT n.customer_id, n.kind, n.segment, $1 FROM now n
			WHERE NOT EXISTS (SELECT 1 FROM %1$s h WHERE h.left_at IS NULL AND h.customer_id = n.customer_id
														AND h.kind = n.kind AND h.segment = n.segment)
			RETURNING 1
		)
		SELECT (SELECT count(*) FROM closed) + (SELECT count(*) FROM empty) + (SELECT count(*) FROM opened)$sql$,
		history, memberships)
		INTO changes USING at;
	RETURN changes;
END
$function$;

COMMENT ON FUNCTION segment_internal.reconcile_history(regclass, text, timestamptz) IS
	'ends the open intervals of a history that a query of memberships lacks and starts those it adds, at an instant; returns how many';

CREATE FUNCTION segment_internal.start_history(attachment_name text, retention interval) RETURNS regclass
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	history regclass;
	since timestamptz;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = start_history.attachment_name;
	IF NOT owns_relation(a.state_table) THEN
		RAISE EXCEPTION 'must be owner of table %', a.state_table USING ERRCODE = 'insufficient_privilege';
	END IF;
	PERFORM lock_state_tables(a.attachment_name);
	IF a.tags_table IS NOT NULL THEN
		EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', a.customers_table);
	END IF;
	-- the history goes on (or starts) from the stored values as they are now
	PERFORM rescore_state(a.attachment_name, only_expired => true);
	since := segment_as_of();
	history := CASE WHEN relation_exists(a.history_table) THEN a.history_table ELSE create_history_table(a) END;
	PERFORM reconcile_history(history,
		format($sql$SELECT s.customer_id, m.kind, m.segment FROM %1$s s,
			LATERAL (SELECT 'rfm'::text, unnest(%3$s.segment_set_labels(s.segments))
					 UNION ALL SELECT 'lifecycle', s.lifecycle_stage WHERE s.lifecycle_stage IS NOT NULL) m(kind, segment)
		WHERE s.scored_at IS NOT NULL%2$s$sql$, a.state_table,
			CASE WHEN a.tags_table IS NULL THEN ''
				 ELSE format(' UNION ALL SELECT g.customer_id, ''rule'', unnest(%s.segment_set_labels(g.segments)) FROM %s g',
							 extension_schema(), a.tags_table) END,
			extension_schema()),
		since);
	UPDATE attachments t
	SET history_table = history, history_since = since, history_retention = coalesce(retention, t.history_retention),
		history_snapshots = NULL
	WHERE t.attachment_name = a.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'permission denied to change attachment "%"', a.attachment_name
			USING ERRCODE = 'insufficient_privilege', HINT = 'Only the owner of its orders table may.';
	END IF;
	PERFORM install_history_triggers(a.attachment_name);
	RETURN history;
END
$function$;

COMMENT ON FUNCTION segment_internal.start_history(text, interval) IS
	'creates the history table of a maintained attachment (or goes on with the one it has), brings it in line with the memberships stored now and installs the triggers that write every change';

CREATE FUNCTION @extschema@.keep_segment_history(attachment_name text, retention interval DEFAULT NULL)
	RETURNS regclass
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	history regclass;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = keep_segment_history.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'attachment "%" does not exist', keep_segment_history.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Create it with attach().';
	END IF;
	IF retention <= '0'::interval OR NOT isfinite(now() + retention) THEN
		RAISE EXCEPTION 'retention must be a positive, finite interval, not %', retention
			USING ERRCODE = 'invalid_parameter_value', HINT = 'NULL keeps the history for ever.';
	END IF;
	IF a.history_table IS NOT NULL THEN
		UPDATE attachments t SET history_retention = retention WHERE t.attachment_name = a.attachment_name;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'permission denied to change attachment "%"', a.attachment_name
				USING ERRCODE = 'insufficient_privilege', HINT = 'Only the owner of its orders table may.';
		END IF;
		PERFORM prune_segment_history(a.attachment_name);
		RETURN a.history_table;
	END IF;
	IF a.state_table IS NULL THEN
		RAISE EXCEPTION 'attachment "%" is not maintained', a.attachment_name
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'Its history is kept by snapshot_segments(), or call maintain_attachment() first.';
	END IF;
	history := start_history(a.attachment_name, retention);
	PERFORM build_attachment_views(a.attachment_name);
	RETURN history;
END
$function$;

COMMENT ON FUNCTION @extschema@.keep_segment_history(text, interval) IS
	'starts the segment history of a maintained attachment (maintain_attachment() does), or sets how long it keeps an interval after it ended (retention; NULL: for ever)';

CREATE FUNCTION @extschema@.drop_segment_history(attachment_name text) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = drop_segment_history.attachment_name;
	IF NOT FOUND OR a.history_table IS NULL THEN
		RAISE EXCEPTION 'attachment "%" keeps no segment history', drop_segment_history.attachment_name
			USING ERRCODE = 'undefined_object';
	END IF;
	PERFORM drop_history_triggers(a.attachment_name);
	UPDATE attachments t SET history_table = NULL, history_since = NULL, history_retention = NULL, history_snapshots = NULL
	WHERE t.attachment_name = a.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'permission denied to change attachment "%"', a.attachment_name
			USING ERRCODE = 'insufficient_privilege', HINT = 'Only the owner of its orders table may.';
	END IF;
	PERFORM build_attachment_views(a.attachment_name);
	IF relation_exists(a.history_table) THEN
		EXECUTE format('DROP TABLE %s', a.history_table);
	END IF;
END
$function$;

COMMENT ON FUNCTION @extschema@.drop_segment_history(text) IS
	'stops the segment history of an attachment and drops its table and snapshots';

CREATE FUNCTION @extschema@.prune_segment_history(attachment_name text) RETURNS bigint
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
	RETURN pruned;
END
$function$;

COMMENT ON FUNCTION @extschema@.prune_segment_history(text) IS
	'deletes the intervals of an attachment''s history that ended longer ago than its retention; the history then covers the instants since that horizon; returns how many';

CREATE FUNCTION @extschema@.snapshot_segments(attachment_name text) RETURNS bigint
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	at timestamptz := segment_as_of();
	last_taken timestamptz;
	history regclass;
	changes bigint;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = snapshot_segments.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'attachment "%" does not exist', snapshot_segments.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Create it with attach().';
	END IF;
	IF a.state_table IS NOT NULL THEN
		RAISE EXCEPTION 'attachment "%" is maintained: its history is written as its state changes', a.attachment_name
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'refresh_due_segments() writes the moves time alone made; keep_segment_history() starts the history.';
	END IF;
	IF NOT owns_relation(a.orders_table) THEN
		RAISE EXCEPTION 'must be owner of table %', a.orders_table USING ERRCODE = 'insufficient_privilege';
	END IF;
	history := a.history_table;
	IF history IS NULL THEN
		history := create_history_table(a);
		UPDATE attachments t SET history_table = history, history_since = at WHERE t.attachment_name = a.attachment_name;
	END IF;
	-- one snapshot at a time, each later than the last
	EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', history);
	-- read once the lock is held: a snapshot taken meanwhile counts
	SELECT max(s) INTO last_taken FROM attachments t, unnest(t.history_snapshots) s
	WHERE t.attachment_name = a.attachment_name;
	IF at <= last_taken THEN
		RAISE EXCEPTION 'a snapshot of attachment "%" at % would not follow its last one, at %', a.attachment_name,
			at, last_taken
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Snapshots follow each other in time (segment.as_of).';
	END IF;
	changes := reconcile_history(history,
		format($sql$SELECT c.customer_id, m.kind, m.segment FROM %1$s c,
			LATERAL (SELECT CASE WHEN s = ANY (%2$L::text[]) THEN 'rfm' ELSE 'rule' END, s FROM unnest(c.segments) s
					 UNION ALL
					 SELECT 'lifecycle', c.lifecycle_stage WHERE c.lifecycle_stage <> 'prospect') m(kind, segment)$sql$,
			format('%I.%I', a.view_schema, a.attachment_name || '_customers'),
			ARRAY(SELECT s.segment FROM attachment_segments(a.attachment_name) s WHERE s.kind = 'rfm')),
		at);
	UPDATE attachments t SET history_snapshots = coalesce(t.history_snapshots, '{}') || at
	WHERE t.attachment_name = a.attachment_name;
	IF a.history_table IS NULL THEN
		PERFORM build_attachment_views(a.attachment_name);
	END IF;
	PERFORM prune_segment_history(a.attachment_name);
	RETURN changes;
END
$function$;

COMMENT ON FUNCTION @extschema@.snapshot_segments(text) IS
	'records the segments every customer of an unmaintained attachment belongs to now (segment_as_of()) in its history, which is made on the first call; returns the intervals closed and opened';

CREATE FUNCTION @extschema@.attach_campaigns(attachment_name text, events regclass, customer_column name,
											 campaign_column name, sent_at_column name,
											 opened_at_column name DEFAULT NULL, clicked_at_column name DEFAULT NULL,
											 converted_at_column name DEFAULT NULL,
											 attribution_window interval DEFAULT '5 days')
	RETURNS SETOF text
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	key_type regtype;
	col record;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = attach_campaigns.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'attachment "%" does not exist', attach_campaigns.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Create it with attach().';
	END IF;
	IF a.history_table IS NULL THEN
		RAISE EXCEPTION 'attachment "%" keeps no segment history', a.attachment_name
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = 'A campaign is measured per segment its recipients were in when it was sent.',
				  HINT = CASE WHEN a.state_table IS NULL THEN 'Take snapshots with snapshot_segments().'
							  ELSE 'Start it with keep_segment_history().' END;
	END IF;
	IF events IS NULL OR customer_column IS NULL OR campaign_column IS NULL OR sent_at_column IS NULL THEN
		RAISE EXCEPTION 'events, its customer, campaign and sent_at columns must not be NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF attribution_window IS NULL OR attribution_window <= '0'::interval OR NOT isfinite(now() + attribution_window) THEN
		RAISE EXCEPTION 'attribution_window must be a positive, finite interval, not %', attribution_window
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF NOT has_table_privilege(events, 'SELECT') THEN
		RAISE EXCEPTION 'permission denied for table %', events USING ERRCODE = 'insufficient_privilege';
	END IF;
	FOR col IN
		SELECT c.name, c.role, column_type(events, c.name) AS type
		FROM (VALUES (customer_column, 'customer'), (campaign_column, 'campaign'), (sent_at_column, 'sent'),
					 (opened_at_column, 'opened'), (clicked_at_column, 'clicked'),
					 (converted_at_column, 'converted')) c(name, role)
		WHERE c.name IS NOT NULL
	LOOP
		IF col.type IS NULL THEN
			RAISE EXCEPTION 'column "%" does not exist in %', col.name, events USING ERRCODE = 'undefined_column';
		END IF;
		IF col.role IN ('sent', 'opened', 'clicked', 'converted')
		   AND col.type NOT IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype) THEN
			RAISE EXCEPTION '% time column "%" of % has type %', col.role, col.name, events, col.type
				USING ERRCODE = 'datatype_mismatch', HINT = 'It must be timestamp with time zone, timestamp or date.';
		END IF;
	END LOOP;
	key_type := column_type(a.history_table, 'customer_id');
	IF column_type(events, customer_column) <> key_type THEN
		RAISE EXCEPTION 'customer keys differ in type: %.% is %, the attachment''s are %',
			events, customer_column, column_type(events, customer_column), key_type
			USING ERRCODE = 'datatype_mismatch';
	END IF;
	UPDATE attachments t
	SET campaigns_table = events,
		campaign_columns = ARRAY[attach_campaigns.customer_column, attach_campaigns.campaign_column,
								 attach_campaigns.sent_at_column, attach_campaigns.opened_at_column,
								 attach_campaigns.clicked_at_column, attach_campaigns.converted_at_column],
		attribution_window = attach_campaigns.attribution_window
	WHERE t.attachment_name = a.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'permission denied to change attachment "%"', a.attachment_name
			USING ERRCODE = 'insufficient_privilege', HINT = 'Only the owner of its orders table may.';
	END IF;
	RETURN QUERY SELECT * FROM build_attachment_views(a.attachment_name);
END
$function$;

COMMENT ON FUNCTION @extschema@.attach_campaigns(text, regclass, name, name, name, name, name, name, interval) IS
	'binds a table of campaign events (one row per message: customer, campaign, sent time, and open, click and conversion times where known) to an attachment with history, and builds its campaign_performance view; returns the views';

CREATE FUNCTION @extschema@.detach_campaigns(attachment_name text) RETURNS SETOF text
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
BEGIN
	UPDATE attachments t SET campaigns_table = NULL, campaign_columns = NULL, attribution_window = NULL
	WHERE t.attachment_name = detach_campaigns.attachment_name AND t.campaigns_table IS NOT NULL;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'attachment "%" has no campaigns', detach_campaigns.attachment_name
			USING ERRCODE = 'undefined_object';
	END IF;
	RETURN QUERY SELECT * FROM build_attachment_views(detach_campaigns.attachment_name);
END
$function$;

COMMENT ON FUNCTION @extschema@.detach_campaigns(text) IS
	'unbinds the campaign events of an attachment and drops its campaign_performance view; returns the views';

CREATE TABLE @extschema@.segment_alert_rules (
	attachment_name text NOT NULL REFERENCES @extschema@.attachments ON UPDATE CASCADE ON DELETE CASCADE,
	segment text NOT NULL,
	change_percent double precision,
	change_period interval NOT NULL DEFAULT '1 day',
	z_score double precision,
	PRIMARY KEY (attachment_name, segment),
	CONSTRAINT segment_alert_rule_given CHECK (change_percent IS NOT NULL OR z_score IS NOT NULL),
	CONSTRAINT segment_alert_percent_positive CHECK (change_percent OPERATOR(pg_catalog.>) 0
		AND change_percent OPERATOR(pg_catalog.<) 'infinity'::pg_catalog.float8),
	CONSTRAINT segment_alert_period_positive CHECK (change_period OPERATOR(pg_catalog.>) '0'::pg_catalog.interval),
	CONSTRAINT segment_alert_z_positive CHECK (z_score OPERATOR(pg_catalog.>) 0
		AND z_score OPERATOR(pg_catalog.<) 'infinity'::pg_catalog.float8)
);

SELECT pg_catalog.pg_extension_config_dump(c.oid::pg_catalog.regclass, '') FROM pg_catalog.pg_class c
WHERE c.relname OPERATOR(pg_catalog.=) 'segment_alert_rules' AND c.relnamespace OPERATOR(pg_catalog.=)
	(SELECT e.extnamespace FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'segment');

COMMENT ON TABLE @extschema@.segment_alert_rules IS
	'when check_segment_alerts() raises an alert for a segment: set_segment_alert() writes them';

COMMENT ON COLUMN @extschema@.segment_alert_rules.attachment_name IS 'the attachment';

COMMENT ON COLUMN @extschema@.segment_alert_rules.segment IS 'the segment, of any kind, by name';

COMMENT ON COLUMN @extschema@.segment_alert_rules.change_percent IS
	'alert when the size moved by more than this many percent over change_period; NULL: no such rule';

COMMENT ON COLUMN @extschema@.segment_alert_rules.change_period IS 'the period of change_percent';

COMMENT ON COLUMN @extschema@.segment_alert_rules.z_score IS
	'alert when the last whole day''s net change is more than this many standard deviations from the mean of the 28 days before; NULL: no such rule';

CREATE TABLE @extschema@.segment_alerts (
	attachment_name text NOT NULL REFERENCES @extschema@.attachments ON UPDATE CASCADE ON DELETE CASCADE,
	segment text NOT NULL,
	kind text NOT NULL,
	rule text NOT NULL CONSTRAINT segment_alert_rule_known CHECK (rule IN ('change', 'outlier')),
	observed double precision NOT NULL,
	expected double precision NOT NULL,
	at timestamptz NOT NULL,
	acknowledged_at timestamptz,
	PRIMARY KEY (attachment_name, segment, kind, rule, at)
);

CREATE UNIQUE INDEX segment_alerts_open ON @extschema@.segment_alerts (attachment_name, segment, kind, rule)
	WHERE acknowledged_at IS NULL;

SELECT pg_catalog.pg_extension_config_dump(c.oid::pg_catalog.regclass, '') FROM pg_catalog.pg_class c
WHERE c.relname OPERATOR(pg_catalog.=) 'segment_alerts' AND c.relnamespace OPERATOR(pg_catalog.=)
	(SELECT e.extnamespace FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'segment');

COMMENT ON TABLE @extschema@.segment_alerts IS 'the alerts check_segment_alerts() raised';

COMMENT ON COLUMN @extschema@.segment_alerts.attachment_name IS 'the attachment';

COMMENT ON COLUMN @extschema@.segment_alerts.segment IS 'the segment';

COMMENT ON COLUMN @extschema@.segment_alerts.kind IS 'rfm, lifecycle or rule';

COMMENT ON COLUMN @extschema@.segment_alerts.rule IS
	'change: the size moved by more than change_percent over change_period; outlier: the last whole day''s net change against the 28 days before';

COMMENT ON COLUMN @extschema@.segment_alerts.observed IS
	'change: the size at the analysis time; outlier: the day''s net change (entered less left)';

COMMENT ON COLUMN @extschema@.segment_alerts.expected IS
	'change: the size change_period before; outlier: the mean net change of the 28 days before';

COMMENT ON COLUMN @extschema@.segment_alerts.at IS 'the analysis time of the check that raised it';

COMMENT ON COLUMN @extschema@.segment_alerts.acknowledged_at IS
	'when acknowledge_segment_alerts() closed it; NULL while open (it is not raised again meanwhile)';

ALTER TABLE @extschema@.segment_alert_rules ENABLE ROW LEVEL SECURITY;

ALTER TABLE @extschema@.segment_alerts ENABLE ROW LEVEL SECURITY;

CREATE POLICY segment_alert_rules_read ON @extschema@.segment_alert_rules FOR SELECT
	USING (EXISTS (SELECT 1 FROM @extschema@.attachments a
				   WHERE a.attachment_name OPERATOR(pg_catalog.=) segment_alert_rules.attachment_name));

CREATE POLICY segment_alert_rules_write ON @extschema@.segment_alert_rules FOR ALL
	USING (EXISTS (SELECT 1 FROM @extschema@.attachments a
				   WHERE a.attachment_name OPERATOR(pg_catalog.=) segment_alert_rules.attachment_name
					 AND segment_internal.owns_relation(a.orders_table)))
	WITH CHECK (EXISTS (SELECT 1 FROM @extschema@.attachments a
						WHERE a.attachment_name OPERATOR(pg_catalog.=) segment_alert_rules.attachment_name
						  AND segment_internal.owns_relation(a.orders_table)));

CREATE POLICY segment_alerts_read ON @extschema@.segment_alerts FOR SELECT
	USING (EXISTS (SELECT 1 FROM @extschema@.attachments a
				   WHERE a.attachment_name OPERATOR(pg_catalog.=) segment_alerts.attachment_name));

CREATE POLICY segment_alerts_write ON @extschema@.segment_alerts FOR ALL
	USING (EXISTS (SELECT 1 FROM @extschema@.attachments a
				   WHERE a.attachment_name OPERATOR(pg_catalog.=) segment_alerts.attachment_name
					 AND segment_internal.owns_relation(a.orders_table)))
	WITH CHECK (EXISTS (SELECT 1 FROM @extschema@.attachments a
						WHERE a.attachment_name OPERATOR(pg_catalog.=) segment_alerts.attachment_name
						  AND segment_internal.owns_relation(a.orders_table)));

COMMENT ON POLICY segment_alert_rules_read ON @extschema@.segment_alert_rules IS 'alert rules are visible with their attachment';

COMMENT ON POLICY segment_alert_rules_write ON @extschema@.segment_alert_rules IS
	'a role writes only alert rules of attachments of orders tables it owns';

COMMENT ON POLICY segment_alerts_read ON @extschema@.segment_alerts IS 'alerts are visible with their attachment';

COMMENT ON POLICY segment_alerts_write ON @extschema@.segment_alerts IS
	'a role raises and acknowledges only alerts of attachments of orders tables it owns';

GRANT SELECT ON @extschema@.segment_alert_rules, @extschema@.segment_alerts TO PUBLIC;

CREATE VIEW @extschema@.segment_open_alerts AS
	SELECT a.attachment_name, a.segment, a.kind, a.rule, a.observed, a.expected, a.at
	FROM @extschema@.segment_alerts a WHERE a.acknowledged_at IS NULL;

COMMENT ON VIEW @extschema@.segment_open_alerts IS 'the alerts not acknowledged yet';

DO $$
DECLARE
	open_alerts regclass := (SELECT c.oid FROM pg_catalog.pg_class c
							 WHERE c.relname OPERATOR(pg_catalog.=) 'segment_open_alerts'
							   AND c.relnamespace OPERATOR(pg_catalog.=) (SELECT e.extnamespace FROM pg_catalog.pg_extension e
																		  WHERE e.extname OPERATOR(pg_catalog.=) 'segment'));
BEGIN
	IF pg_catalog.current_setting('server_version_num')::integer OPERATOR(pg_catalog.>=) 150000 THEN
		EXECUTE pg_catalog.format('ALTER VIEW %s SET (security_invoker = true)', open_alerts);
		EXECUTE pg_catalog.format('GRANT SELECT ON %s TO PUBLIC', open_alerts);
	END IF;
END
$$;

CREATE FUNCTION @extschema@.set_segment_alert(attachment_name text, segment text,
											  change_percent double precision DEFAULT NULL,
											  change_period interval DEFAULT '1 day',
											  z_score double precision DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM attachments t WHERE t.attachment_name = set_segment_alert.attachment_name) THEN
		RAISE EXCEPTION 'attachment "%" does not exist', set_segment_alert.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Create it with attach().';
	END IF;
	IF segment IS NULL THEN
		RAISE EXCEPTION 'segment must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF change_percent IS NULL AND z_score IS NULL THEN
		DELETE FROM segment_alert_rules r
		WHERE r.attachment_name = set_segment_alert.attachment_name AND r.segment = set_segment_alert.segment;
		RETURN;
	END IF;
	IF NOT (change_percent > 0 AND change_percent < 'infinity') OR NOT (z_score > 0 AND z_score < 'infinity')
	   OR change_period IS NULL OR change_period <= '0'::interval OR NOT isfinite(now() - change_period)
	   OR now() - change_period >= now() THEN
		RAISE EXCEPTION 'change_percent, change_period and z_score must be positive and finite'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO segment_alert_rules AS r (attachment_name, segment, change_percent, change_period, z_score)
	VALUES (set_segment_alert.attachment_name, set_segment_alert.segment, set_segment_alert.change_percent,
			set_segment_alert.change_period, set_segment_alert.z_score)
	ON CONFLICT ON CONSTRAINT segment_alert_rules_pkey DO UPDATE
	SET change_percent = excluded.change_percent, change_period = excluded.change_period, z_score = excluded.z_score;
END
$function$;

COMMENT ON FUNCTION @extschema@.set_segment_alert(text, text, double precision, interval, double precision) IS
	'sets when check_segment_alerts() raises an alert for a segment: its size moved by more than change_percent over change_period, or the last whole day''s net change lies more than z_score standard deviations from the 28 days before; both NULL drop the rules';

CREATE FUNCTION @extschema@.check_segment_alerts(attachment_name text) RETURNS SETOF @extschema@.segment_alerts
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	at timestamptz := segment_as_of();
	yesterday date;
	raised segment_alerts;
	r record;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = check_segment_alerts.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'attachment "%" does not exist', check_segment_alerts.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Create it with attach().';
	END IF;
	PERFORM history_attachment(a.attachment_name, at);
	-- the days are written whole before they are read
	IF a.state_table IS NOT NULL THEN
		PERFORM refresh_due_segments(a.attachment_name);
	END IF;
	yesterday := (at AT TIME ZONE a.time_zone)::date - 1;
	FOR r IN
		-- the change rule: the size now and a period ago, per kind of the name
		-- (a kind with members at either time: a segment may empty or appear)
		SELECT c.segment, k.kind, 'change'::text AS rule, k.now::double precision AS observed,
			   k.before::double precision AS expected
		FROM segment_alert_rules c,
			 LATERAL (SELECT coalesce(n.kind, b.kind) AS kind, coalesce(n.members, 0) AS now,
							 coalesce(b.members, 0) AS before
					  FROM (SELECT m.kind, count(*) AS members FROM memberships_at(a.attachment_name, at, c.segment) m
							GROUP BY m.kind) n
						   FULL JOIN (SELECT m.kind, count(*) AS members
									  FROM memberships_at(a.attachment_name, greatest(at - c.change_period, a.history_since),
														  c.segment) m
									  GROUP BY m.kind) b ON b.kind = n.kind) k
		WHERE c.attachment_name = a.attachment_name AND c.change_percent IS NOT NULL
		  AND at - c.change_period >= a.history_since
		  AND k.now <> k.before AND (k.before = 0 OR abs(k.now - k.before) * 100.0 / k.before > c.change_percent)
		UNION ALL
		-- the outlier rule: yesterday's net change against the 28 days before
		SELECT c.segment, d.kind, 'outlier', d.observed, d.expected
		FROM segment_alert_rules c,
			 LATERAL (SELECT s.kind,
							 sum(s.entered - s."left") FILTER (WHERE s.day = yesterday)::double precision AS observed,
							 avg(s.entered - s."left") FILTER (WHERE s.day < yesterday)::double precision AS expected,
							 coalesce(stddev_samp(s.entered - s."left") FILTER (WHERE s.day < yesterday), 0) AS spread,
							 count(*) FILTER (WHERE s.day < yesterday) AS days
					  -- the history's first day counts what it started with as entered
					  FROM segment_sizes_rows(a, c.segment,
											  greatest(yesterday - 28, (a.history_since AT TIME ZONE a.time_zone)::date + 1),
											  yesterday) s
					  GROUP BY s.kind) d
		WHERE c.attachment_name = a.attachment_name AND c.z_score IS NOT NULL AND d.days >= 7
		  AND d.observed IS NOT NULL
		  AND abs(d.observed - d.expected) / greatest(d.spread, 1) > c.z_score
	LOOP
		CONTINUE WHEN EXISTS (SELECT 1 FROM segment_alerts o
							  WHERE o.attachment_name = a.attachment_name AND o.segment = r.segment AND o.kind = r.kind
								AND o.rule = r.rule AND o.acknowledged_at IS NULL);
		raised := NULL;
		INSERT INTO segment_alerts (attachment_name, segment, kind, rule, observed, expected, at)
		VALUES (a.attachment_name, r.segment, r.kind, r.rule, r.observed, r.expected, at)
		ON CONFLICT DO NOTHING
		RETURNING * INTO raised;
		-- raised meanwhile by another check, or already at this instant
		CONTINUE WHEN raised.attachment_name IS NULL;
		PERFORM pg_notify('segment_alerts',
						  json_build_object('attachment', raised.attachment_name, 'segment', raised.segment,
											'kind', raised.kind, 'rule', raised.rule, 'observed', raised.observed,
											'expected', raised.expected, 'at', raised.at)::text);
		RETURN NEXT raised;
	END LOOP;
END
$function$;

COMMENT ON FUNCTION @extschema@.check_segment_alerts(text) IS
	'judges the alert rules of an attachment''s segments at segment_as_of(), records the alerts raised in segment_alerts, sends NOTIFY segment_alerts with each as JSON, and returns them; an open alert is not raised again';

CREATE FUNCTION @extschema@.acknowledge_segment_alerts(attachment_name text, segment text DEFAULT NULL)
	RETURNS bigint
	LANGUAGE sql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $$
	WITH closed AS (
		UPDATE segment_alerts a SET acknowledged_at = segment_as_of()
		WHERE a.attachment_name = acknowledge_segment_alerts.attachment_name AND a.acknowledged_at IS NULL
		  AND (acknowledge_segment_alerts.segment IS NULL OR a.segment = acknowledge_segment_alerts.segment)
		RETURNING 1)
	SELECT count(*) FROM closed $$;

COMMENT ON FUNCTION @extschema@.acknowledge_segment_alerts(text, text) IS
	'closes the open alerts of an attachment (of one segment, if given); returns how many';

CREATE FUNCTION segment_internal.segment_sizes_rows(a @extschema@.attachments, segment_name text, first_day date,
												   last_day date)
	RETURNS TABLE (segment text, kind text, day date, members bigint, entered bigint, "left" bigint)
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
BEGIN
	RETURN QUERY EXECUTE format('SELECT s.segment, s.kind, s.day, s.members, s.entered, s."left" FROM (%s) s
								 WHERE s.segment = $1 AND s.day BETWEEN $2 AND $3',
								segment_sizes_view_query(a))
		USING segment_name, first_day, last_day;
END
$function$;

COMMENT ON FUNCTION segment_internal.segment_sizes_rows(@extschema@.attachments, text, date, date) IS
	'the rows of an attachment''s segment sizes for one segment name, between two days';

