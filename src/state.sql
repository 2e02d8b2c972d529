
-- maintained state: per-customer statistics kept current by triggers
-- (src/state_trigger.c), which the views of the attachment read

CREATE FUNCTION @extschema@.segment_state_trigger() RETURNS trigger
	AS 'MODULE_PATHNAME' LANGUAGE C;
COMMENT ON FUNCTION @extschema@.segment_state_trigger() IS
	'keeps the state table of an attachment current as orders are inserted, updated, deleted and truncated';

CREATE FUNCTION @extschema@.segments_valid_until(stats @extschema@.rfm_stats, as_of timestamptz,
												 thresholds @extschema@.rfm_thresholds)
	RETURNS timestamptz
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.segments_valid_until(@extschema@.rfm_stats, timestamptz, @extschema@.rfm_thresholds) IS
	'until when, without a new order, the customer keeps the rfm score (against these thresholds) and lifecycle stage it has at as_of; infinity if forever';

CREATE FUNCTION @extschema@.segments_valid_from(stats @extschema@.rfm_stats, as_of timestamptz,
												thresholds @extschema@.rfm_thresholds)
	RETURNS timestamptz
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.segments_valid_from(@extschema@.rfm_stats, timestamptz, @extschema@.rfm_thresholds) IS
	'since when, up to as_of, the customer has had the rfm score (against these thresholds) and lifecycle stage it has at as_of; -infinity if always';

CREATE FUNCTION @extschema@.state_columns_sql(stats_sql text, attachment_name text, cells regclass) RETURNS text
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION @extschema@.state_columns_sql(text, text, regclass) IS
	'the SQL that computes the stored scores, stage, segments and validity of a state row from its statistics, shared by the trigger and the refresh functions';

-- The RFM segments of every cell of an attachment's map, which the trigger
-- looks a customer's segments up in.  True if the cells changed.
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

-- Stores again the scores, stage, segments and validity of the customers
-- of a maintained attachment: all of them, or those whose stored values
-- have expired by segment_as_of().  Returns the number of rows rewritten.
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

CREATE FUNCTION @extschema@.maintain_attachment(attachment_name text) RETURNS regclass
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

CREATE FUNCTION @extschema@.stop_maintaining(attachment_name text, rebuild_views boolean DEFAULT true) RETURNS void
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

CREATE FUNCTION @extschema@.refresh_attachment_thresholds(attachment_name text) RETURNS @extschema@.rfm_thresholds
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
