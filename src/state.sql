
-- maintained state: per-customer statistics kept current by triggers
-- (src/state_trigger.c), which the views of the attachment read

CREATE FUNCTION @extschema@.segment_state_trigger() RETURNS trigger
	AS 'MODULE_PATHNAME' LANGUAGE C;
COMMENT ON FUNCTION @extschema@.segment_state_trigger() IS
	'keeps the state table of an attachment current as orders are inserted, updated, deleted and truncated';

CREATE FUNCTION @extschema@.maintain_attachment(attachment_name text) RETURNS regclass
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	state text;
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
	key_type := format_type(column_type(a.orders_table, a.customer_column), NULL);
	trigger_name := 'segment_' || a.attachment_name || '_state';

	-- no order may change between filling the state and the trigger's start
	EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', a.orders_table);
	EXECUTE format('CREATE TABLE %s (customer_id %s PRIMARY KEY, stats %I.rfm_stats NOT NULL)',
				   state, key_type, (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n
									 ON n.oid = e.extnamespace WHERE e.extname = 'segment'));
	EXECUTE format('COMMENT ON TABLE %s IS %L', state,
				   format('per-customer statistics of %s, kept current by trigger %s (segment attachment %s)',
						  a.orders_table, trigger_name, a.attachment_name));
	EXECUTE format('COMMENT ON COLUMN %s.customer_id IS %L', state, 'the customer''s key');
	EXECUTE format('COMMENT ON COLUMN %s.stats IS %L', state, 'rfm_stats of all the customer''s orders');
	EXECUTE format($fill$
		INSERT INTO %s (customer_id, stats)
		SELECT o.%I, rfm_stats(o.%I::timestamptz, o.%I::numeric) FROM %s o
		WHERE o.%I IS NOT NULL GROUP BY o.%I HAVING count(o.%I) > 0$fill$,
		state, a.customer_column, a.order_time_column, a.amount_column, a.orders_table,
		a.customer_column, a.customer_column, a.order_time_column);
	EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW '
				   'EXECUTE FUNCTION segment_state_trigger(%L, %L, %L, %L)',
				   trigger_name, a.orders_table, state, a.customer_column, a.order_time_column, a.amount_column);
	EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %s FOR EACH STATEMENT '
				   'EXECUTE FUNCTION segment_state_trigger(%L, %L, %L, %L)',
				   trigger_name || '_truncate', a.orders_table, state, a.customer_column,
				   a.order_time_column, a.amount_column);
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
	PERFORM refresh_attachment_thresholds(a.attachment_name);
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
END
$function$;
COMMENT ON FUNCTION @extschema@.stop_maintaining(text, boolean) IS
	'drops the triggers and the state table of an attachment; its views read the orders again';

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
	EXECUTE format('SELECT rfm_thresholds(s.stats, $1, $2),
					   sum(total_amount(s.stats)) / sum(order_count(s.stats))
					FROM %s s', a.state_table)
		INTO result, average USING as_of, a.bins;
	UPDATE attachments t
	SET thresholds = result, population_average_order_value = average, thresholds_as_of = as_of
	WHERE t.attachment_name = a.attachment_name;
	RETURN result;
END
$function$;
COMMENT ON FUNCTION @extschema@.refresh_attachment_thresholds(text) IS
	'computes the score thresholds of a maintained attachment from its state, at segment_as_of(), and stores them: every customer is scored against them from then on';
