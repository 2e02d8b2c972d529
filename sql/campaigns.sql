
-- campaigns: how each segment responded to each campaign (sql/campaigns.sql)
--
-- attach_campaigns() binds a table of campaign events (one row per message
-- sent: customer, campaign, sent time, and the times of its open, click
-- and conversion where the data has them) to an attachment with history;
-- the view <a>_campaign_performance judges each recipient's segments at the
-- time its message was sent, from the history, so a customer who moved
-- between two campaigns counts in the segment it was in for each.

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
